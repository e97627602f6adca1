import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { withBodyCodec } from '../helpers/stored-body.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCTS, testCordsFor } from '../../fixtures/harness/products.js';
import { renderCertificatePdf, renderCertificatesPdf } from '../../src/http/pdf/certificate-pdf.js';
import { winAnsi } from '../../src/http/pdf/pdf-text.js';
import { CertificateStore, type Integrity, type StoredCertificate } from '../../src/store/certificate-store.js';
import { layoutOf } from '../../src/store/data-dir.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { benchConfig, DaemonProcess, startSimulatorProcess, tempDir, TOKEN, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

/**
 * The PDF certificate (GET /certificates/:id?format=pdf): the real daemon process (dist/) on a
 * simulated bench, certificates it issued into a real SQLite file, read back as a person would
 * read the PDF, through the real pdftotext.
 */
const run = promisify(execFile);

let sim: SimulatorProcess;
let sim24: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;
let pdfCount = 0;

/** Fiber losses of fixtures/assemblies/mtp12-om4-good.json (mtp12-om4-fiber7-0.9dB: fiber 7 at 0.90 / 0.85). */
const GOOD_850 = [0.21, 0.18, 0.33, 0.27, 0.15, 0.4, 0.24, 0.3, 0.19, 0.45, 0.26, 0.22];
const GOOD_1300 = [0.17, 0.14, 0.28, 0.23, 0.12, 0.35, 0.2, 0.26, 0.15, 0.4, 0.22, 0.18];

/** A 24-fiber trunk for the simulator: 0.20 dB on fiber 1 rising 0.01 dB a fiber at 850 nm, 0.05 dB less at 1300 nm. */
const MTP24_850 = Array.from({ length: 24 }, (_, i) => (20 + i) / 100);
const MTP24_1300 = Array.from({ length: 24 }, (_, i) => (15 + i) / 100);
const PRODUCT_MTP24 = {
  kind: 'assembly',
  fiberCount: 24,
  fiberType: 'OM4',
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  requiredQuantities: ['insertionLoss'],
  limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' },
};

const ids: Record<'good' | 'bad' | 'unicode' | 'mtp24', number> = { good: 0, bad: 0, unicode: 0, mtp24: 0 };

async function certify(bench: string, serial: string, operator: string, product?: string): Promise<number> {
  const job = await daemon.api<{ state: string; certificateId: number; reason?: string }>('POST', '/jobs', { bench, operator, serial, wait: true, ...(product ? { product } : {}) });
  expect(job.json, JSON.stringify(job.json)).toMatchObject({ state: 'completed' });
  return job.json.certificateId;
}

interface Got {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

async function get(path: string, accept?: string): Promise<Got> {
  const res = await fetch(daemon.base + path, { headers: { authorization: `Bearer ${TOKEN}`, ...(accept ? { accept } : {}) } });
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
}

async function pdfFile(bytes: Buffer): Promise<string> {
  const file = join(tmp.dir, `out-${++pdfCount}.pdf`);
  writeFileSync(file, bytes);
  return file;
}

/** The PDF's text as pdftotext -layout reads it; pages separated by form feeds. */
async function text(bytes: Buffer, pages?: { first: number; last: number }): Promise<string> {
  const range = pages ? ['-f', String(pages.first), '-l', String(pages.last)] : [];
  return (await run('pdftotext', ['-layout', ...range, await pdfFile(bytes), '-'])).stdout;
}

async function pdfinfo(bytes: Buffer): Promise<Record<string, string>> {
  const out = (await run('pdfinfo', ['-isodates', await pdfFile(bytes)])).stdout;
  return Object.fromEntries(out.split('\n').filter((l) => l.includes(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]));
}

/** The table rows as read from the page: fiber, end, wavelength, quantity, measured, limit, margin, outcome. */
function tableRows(t: string): string[] {
  const row = /^\s*(\d+)\s+([AB])\s+(\d{3,4})\s+(insertion loss|return loss)\s+(\S+)\s+(max|min) (\S+)\s+(\S+)\s+(PASS|MARGINAL|FAIL|INVALID)\s*$/;
  return t.split('\n').flatMap((l) => {
    const m = row.exec(l);
    return m ? [m.slice(1).join(' ')] : [];
  });
}

const oneLine = (t: string): string => t.replace(/\s+/g, ' ');

/** 0.60 dB (MTP multimode pair limit) minus the loss, to the hundredth. */
const margin = (loss: number): string => (Math.round((0.6 - loss) * 100) / 100).toFixed(2);
const row = (fiber: number, end: string, nm: number, loss: number, outcome = 'PASS'): string => `${fiber} ${end} ${nm} insertion loss ${loss.toFixed(2)} max 0.60 ${margin(loss)} ${outcome}`;

beforeAll(async () => {
  tmp = tempDir('mpocert-pdf-');
  const mtp24 = join(tmp.dir, 'mtp24-om4.json');
  writeFileSync(mtp24, JSON.stringify({ name: 'mtp24-om4', description: 'MTP-24 OM4 trunk', fiberCount: 24, fiberType: 'OM4', polarity: 'B', lossDb: { '850': MTP24_850, '1300': MTP24_1300 } }));
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 });
  sim24 = await startSimulatorProcess({ meter: 0, switch: 0, control: 0 }, ['--channels', '24']);
  const bench12 = benchConfig({ id: 'pdf', sim, assemblies: { 'GOOD-1': 'mtp12-om4-good', 'BAD-7': 'mtp12-om4-fiber7-0.9dB', 'ŁÓDŹ-7': 'mtp12-om4-good' } });
  // Its own launch cord: a cord's matings are counted by its id across the database.
  const bench24 = { ...benchConfig({ id: 'pdf24', sim: sim24, assemblies: { 'MTP24-1': mtp24 } }), fiberCount: 24, defaultProduct: 'MTP24-OM4-LOSS', testCords: testCordsFor('pdf24') };
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [bench12, bench24], { products: { ...PRODUCTS, 'MTP24-OM4-LOSS': PRODUCT_MTP24 } })).start();
  expect((await daemon.api('POST', '/benches/pdf/reference')).status).toBe(200);
  expect((await daemon.api('POST', '/benches/pdf24/reference')).status).toBe(200);
  ids.good = await certify('pdf', 'GOOD-1', 'ci');
  ids.bad = await certify('pdf', 'BAD-7', 'ci');
  ids.unicode = await certify('pdf', 'ŁÓDŹ-7', 'Zoë 山田');
  ids.mtp24 = await certify('pdf24', 'MTP24-1', 'ci');
}, 180_000);

afterAll(async () => {
  if (daemon) await daemon.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  sim24?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('WinAnsi-safe text for the standard fonts', () => {
  it('keeps WinAnsi (Latin-1 and the cp1252 extras), spells ≤ ≥ − in ASCII, and makes everything else one "?" per character', () => {
    expect(winAnsi('Zoë Łukasz 山田 😀 A≤B≥C−1\tx e\u0301 €Šœ—')).toEqual({ text: 'Zoë ?ukasz ?? ? A<=B>=C-1?x é €Šœ—', replaced: 5 });
    // Invisible characters would hide a difference between two serial numbers: shown as "?".
    expect(winAnsi('SN\u200b1\u00ad2')).toEqual({ text: 'SN?1?2', replaced: 2 });
    expect(winAnsi('\ud800')).toEqual({ text: '?', replaced: 1 });
  });
});

describe('GET /certificates/:id?format=pdf', () => {
  it('a PASS certificate: verdict, subject, every fiber as judged, limit, limit set, signature and how to verify', async () => {
    const res = await get(`/certificates/${ids.good}?format=pdf`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`inline; filename="certificate-${ids.good}.pdf"`);
    expect(res.headers.get('x-mpocert-integrity')).toBe('valid');
    expect(res.bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const json = (await daemon.api<{ issuedAt: string; signature: { keyId: string; hash: string; value: string } }>('GET', `/certificates/${ids.good}`)).json;
    const t = await text(res.bytes);
    const flat = oneLine(t);
    expect(flat).toContain(`Test certificate ${ids.good} PASS`);
    expect(flat).toContain('Serial number GOOD-1');
    expect(flat).toContain('Description 12-fiber OM4; end A MTP female (unpinned), end B MTP female (unpinned)');
    expect(flat).toContain('Tested ');
    expect(flat).toMatch(/Tested \S+ by ci /);
    expect(flat).toContain('Bench pdf (pdf)');
    // Type B: end-B position p carries the fiber at end-A position 13 - p, with the same loss.
    const expected = [...Array(12).keys()].flatMap((i) => [
      row(i + 1, 'A', 850, GOOD_850[i]!),
      row(i + 1, 'A', 1300, GOOD_1300[i]!),
      row(i + 1, 'B', 850, GOOD_850[11 - i]!),
      row(i + 1, 'B', 1300, GOOD_1300[11 - i]!),
    ]);
    expect(tableRows(t)).toEqual(expected);
    expect(expected[0]).toBe('1 A 850 insertion loss 0.21 max 0.60 0.39 PASS');
    expect(expected[36]).toBe('10 A 850 insertion loss 0.45 max 0.60 0.15 PASS');
    expect(flat).toContain('Limits: insertion loss <= 0.60 dB.');
    expect(flat).toContain('Limit set mtp-mpo-connector-grades version 1.1.0');
    // As the page says it: a loss-only bench cannot see where the light arrives.
    expect(flat).toContain("Polarity Declared: —. Polarity NOT verified: this bench cannot see where each fiber's light arrives; the verdict covers loss only.");
    expect(flat).toContain(`Key id ${json.signature.keyId}`);
    expect(flat).toContain(`Hash ${json.signature.hash}`);
    expect(flat).toContain('Previous hash (first certificate of this bench)');
    expect(flat).toContain(`Signature ${json.signature.value}`);
    expect(flat).toContain(`mpocert verify --id ${ids.good} (exit 0 when intact)`);
    expect(flat).toContain(`GET /certificates/${ids.good}/verify`);
    expect(flat).toContain(`trusted key with fingerprint (SHA-256 of its public key) ${json.signature.keyId}`);
    // Its dates are the certificate's: the same certificate makes the same file.
    const info = await pdfinfo(res.bytes);
    expect(info.CreationDate).toBe(json.issuedAt.replace(/\.\d{3}Z$/, 'Z'));
    expect(info.Title).toBe(`Certificate ${ids.good}`);
    expect(info['Page size']).toBe('595.28 x 841.89 pts (A4)');
  });

  it('gives the same bytes for the same certificate, and Accept: application/pdf negotiates it', async () => {
    const first = await get(`/certificates/${ids.good}?format=pdf`);
    const second = await get(`/certificates/${ids.good}?format=pdf`);
    expect(second.bytes.equals(first.bytes)).toBe(true);
    const negotiated = await get(`/certificates/${ids.good}`, 'application/pdf');
    expect(negotiated.headers.get('content-type')).toBe('application/pdf');
    expect(negotiated.bytes.equals(first.bytes)).toBe(true);
    // q values count: PDF preferred over a page, a refused PDF (q=0) is not sent.
    expect((await get(`/certificates/${ids.good}`, 'text/html;q=0.5, application/pdf')).headers.get('content-type')).toBe('application/pdf');
    expect((await get(`/certificates/${ids.good}`, 'application/pdf;q=0, text/csv')).headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect((await get(`/certificates/${ids.good}`, 'text/html, application/pdf')).headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await get(`/certificates/${ids.good}`)).headers.get('content-type')).toBe('application/json; charset=utf-8');
  });

  it('a FAIL certificate: the verdict and the failing fiber, from both ends, with value, limit and a negative margin', async () => {
    const t = await text((await get(`/certificates/${ids.bad}?format=pdf`)).bytes);
    const flat = oneLine(t);
    expect(flat).toContain(`Test certificate ${ids.bad} FAIL`);
    expect(flat).toContain('Serial number BAD-7');
    // Fiber 7 at end A is position 6 at end B (type B).
    expect(tableRows(t).filter((r) => !r.endsWith('PASS'))).toEqual([
      '6 B 850 insertion loss 0.90 max 0.60 -0.30 FAIL',
      '6 B 1300 insertion loss 0.85 max 0.60 -0.25 FAIL',
      '7 A 850 insertion loss 0.90 max 0.60 -0.30 FAIL',
      '7 A 1300 insertion loss 0.85 max 0.60 -0.25 FAIL',
    ]);
    // The reasons under the verdict name the fiber and cite the rule the limit comes from.
    expect(flat).toContain('insertion loss 0.90 dB on fiber 7 at 850 nm, end A');
  });

  it('prints text outside WinAnsi as "?" and says so, never as stray glyphs', async () => {
    // (pdftotext may break the line after a "/": joined again here.)
    const t = oneLine(await text((await get(`/certificates/${ids.unicode}?format=pdf`)).bytes)).replace(/\/ /g, '/');
    expect(t).toContain('Serial number ?ÓD?-7');
    expect(t).toMatch(/Tested \S+ by Zoë \?\? /);
    expect(t).toContain(`4 character(s) above cannot be shown in this PDF's font and are printed as "?". The certificate as signed holds the exact text: GET /certificates/${ids.unicode}?format=json.`);
    // The signed certificate keeps the exact text.
    expect((await daemon.api<{ certificate: { subject: { id: string }; job: { operator: string } } }>('GET', `/certificates/${ids.unicode}`)).json.certificate).toMatchObject({
      subject: { id: 'ŁÓDŹ-7' },
      job: { operator: 'Zoë 山田' },
    });
  });

  it('a 24-fiber certificate measured from both ends at two wavelengths (96 readings) runs over pages, the table header on each', async () => {
    const bytes = (await get(`/certificates/${ids.mtp24}?format=pdf`)).bytes;
    const t = await text(bytes);
    const rows = tableRows(t);
    expect(rows).toHaveLength(96);
    const endA = [...Array(24).keys()].flatMap((i) => [row(i + 1, 'A', 850, MTP24_850[i]!), row(i + 1, 'A', 1300, MTP24_1300[i]!)]);
    expect(rows.filter((r) => / A /.test(r))).toEqual(endA);
    expect(endA.at(-2)).toBe('24 A 850 insertion loss 0.43 max 0.60 0.17 PASS');
    // End B carries the same fibers in another order: the same values at each wavelength.
    const values = (end: string, nm: number): string[] =>
      rows.map((r) => r.split(' ')).filter(([, e, wl]) => e === end && wl === String(nm)).map((parts) => parts[5]!).sort();
    expect(values('B', 850)).toEqual(values('A', 850));
    expect(values('B', 1300)).toEqual(values('A', 1300));
    const pages = t.split('\f').filter((p) => p.trim() !== '');
    const withRows = pages.filter((p) => tableRows(p).length > 0);
    expect(withRows.length).toBeGreaterThanOrEqual(2);
    const header = /Fiber\s+End\s+Wavelength nm\s+Quantity\s+Measured dB\s+Limit dB\s+Margin dB\s+Outcome/g;
    for (const p of withRows) expect(p.match(header)).toHaveLength(1);
    for (const p of withRows.slice(1)) expect(p).toContain('Per-fiber results (continued)');
    const info = await pdfinfo(bytes);
    expect(info.Pages).toBe(String(pages.length));
    pages.forEach((p, i) => expect(p).toContain(`mpocert certificate ${ids.mtp24} · page ${i + 1} of ${pages.length}`));
  });
});

/** The daemon's database, read-only, as QA's export would read it. */
function openStore(): { store: CertificateStore; close(): void } {
  const layout = layoutOf(join(tmp.dir, 'data'));
  const db = new Database(layout.database, { readonly: true });
  return { store: new CertificateStore(db, undefined, TrustedKeys.load(layout.trustedKeys)), close: () => db.close() };
}

function served(store: CertificateStore, id: number): { certificate: StoredCertificate; integrity: Integrity } {
  const s = store.forServing(id)!;
  return { certificate: s.certificate!, integrity: s.integrity };
}

describe('renderCertificatesPdf: many certificates in one PDF', () => {
  it('starts each certificate on a new page', async () => {
    const { store, close } = openStore();
    try {
      const good = served(store, ids.good);
      const bad = served(store, ids.bad);
      const goodPages = Number((await pdfinfo(await renderCertificatePdf(good.certificate, good.integrity))).Pages);
      const badPages = Number((await pdfinfo(await renderCertificatePdf(bad.certificate, bad.integrity))).Pages);
      const both = await renderCertificatesPdf([good, bad]);
      const info = await pdfinfo(both);
      expect(info.Pages).toBe(String(goodPages + badPages));
      expect(info.Title).toBe('2 certificates');
      const firstPage = oneLine(await text(both, { first: 1, last: 1 }));
      expect(firstPage).toContain(`Test certificate ${ids.good} PASS`);
      expect(firstPage).toContain('Serial number GOOD-1');
      // The second certificate's first page is the page after the first one's last.
      const lastOfFirst = oneLine(await text(both, { first: goodPages, last: goodPages }));
      expect(lastOfFirst).not.toContain('BAD-7');
      expect(lastOfFirst).toContain(`mpocert certificate ${ids.good} · page ${goodPages} of ${goodPages}`);
      const second = oneLine(await text(both, { first: goodPages + 1, last: goodPages + 1 }));
      expect(second).toMatch(new RegExp(`^ ?Test certificate ${ids.bad} FAIL`));
      expect(second).toContain('Serial number BAD-7');
      expect(second).toContain(`mpocert certificate ${ids.bad} · page 1 of ${badPages}`);
    } finally {
      close();
    }
  });
});

describe('a certificate failing verification', () => {
  it('is never drawn from its content: the PDF says it FAILED verification and why, and nothing else', async () => {
    // Someone with the database file turns the FAIL into a PASS (the append-only guard dropped first).
    // Bodies are stored compressed: edited as an attacker would (decompressed, changed, compressed again).
    const db = withBodyCodec(new Database(join(tmp.dir, 'data', 'mpocert.db')));
    db.exec('DROP TRIGGER certificates_no_update');
    db.prepare(`UPDATE certificates SET verdict = 'PASS', body = body_replace(body, '"verdict":"FAIL"', '"verdict":"PASS"') WHERE id = ?`).run(ids.bad);
    db.exec(`CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;`);
    db.close();

    const res = await get(`/certificates/${ids.bad}?format=pdf`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('x-mpocert-integrity')).toBe('FAILED');
    const notice = [
      `Certificate ${ids.bad} FAILED verification`,
      'Do not rely on this certificate. Its stored bytes are not what the bench signed, so nothing of its content is shown here.',
      'Problems found:',
      '• content: content does not match its recorded hash',
      '• signature: signature does not match the content',
      `mpocert certificate ${ids.bad} (FAILED verification) · page 1 of 1`,
    ].join(' ');
    expect(oneLine(await text(res.bytes)).trim()).toBe(notice);
    expect((await pdfinfo(res.bytes)).Pages).toBe('1');

    // The exported function holds to the same rule for a failing item among valid ones.
    const { store, close } = openStore();
    try {
      const good = served(store, ids.good);
      const tampered = served(store, ids.bad);
      expect(tampered.integrity.valid).toBe(false);
      expect(tampered.certificate.verdict).toBe('PASS'); // what the edited body now claims
      const goodPages = Number((await pdfinfo(await renderCertificatePdf(good.certificate, good.integrity))).Pages);
      const both = await renderCertificatesPdf([good, tampered]);
      expect(oneLine(await text(both, { first: goodPages + 1, last: goodPages + 1 })).trim()).toBe(notice);
      expect(oneLine(await text(await renderCertificatePdf(tampered.certificate, tampered.integrity))).trim()).toBe(notice);
    } finally {
      close();
    }
  });
});
