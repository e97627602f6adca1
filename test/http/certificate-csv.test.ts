import { describe, expect, it } from 'vitest';
import { renderCertificateCsv } from '../../src/http/certificate-csv.js';
import type { CertificateDocument, StoredCertificate } from '../../src/store/certificate-store.js';

const judgment = { quantity: 'insertionLoss', wavelengthNm: 850, end: 'A', value: 0.21, limit: 0.6, limitKind: 'max', margin: 0.39, outcome: 'PASS', basis: 'MTP mated pair 0.60 dB (multimode)' };

function cert(serial: string): StoredCertificate {
  return {
    id: 7,
    uuid: 'u',
    benchId: 'b',
    jobId: 'j',
    subjectKind: 'assembly',
    serial,
    linkId: null,
    verdict: 'PASS',
    limitSetId: 'mtp-mpo-connector-grades',
    limitSetVersion: '1.0.0',
    issuedAt: '2026-11-24T08:00:00.000Z',
    // Only what the CSV reads of a certificate document.
    document: { evaluation: { fibers: [{ fiber: 1, outcome: 'PASS', judgments: [judgment] }] } } as unknown as CertificateDocument,
    prevHash: null,
    hash: 'h',
    signature: 's',
    keyId: 'k',
  };
}

describe('certificate CSV', () => {
  it('writes one row per judged value, numbers as numbers', () => {
    expect(renderCertificateCsv(cert('SN-1')).split('\r\n')[1]).toBe(
      '7,SN-1,PASS,mtp-mpo-connector-grades@1.0.0,1,850,A,insertion loss,0.21,0.6,max,MTP mated pair 0.60 dB (multimode),0.39,PASS,,,valid',
    );
  });

  it('defuses a serial number that a spreadsheet would run as a formula, and quotes commas', () => {
    const row = renderCertificateCsv(cert('=HYPERLINK("http://x","y")')).split('\r\n')[1]!;
    expect(row.startsWith(`7,"'=HYPERLINK(""http://x"",""y"")",PASS,`)).toBe(true);
  });
});
