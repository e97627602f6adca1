import type { Integrity, StoredCertificate } from '../store/certificate-store.js';
import { evaluationOf, fiberRows } from './certificate-view.js';
import { csvCell } from './csv-cell.js';


/**
 * One row per judged value, as judged (0.001 dB), for spreadsheets and QA tools. A user limit set
 * is marked in the limit_set column; headroom_db is the application's channel loss minus the value.
 */
export function renderCertificateCsv(cert: StoredCertificate, integrity: Integrity = { valid: true, problems: [] }): string {
  const ev = evaluationOf(cert);
  const header = ['certificate', 'subject', 'verdict', 'limit_set', 'fiber', 'wavelength_nm', 'end', 'quantity', 'value_db', 'limit_db', 'limit_kind', 'limit_basis', 'margin_db', 'outcome', 'reason', 'headroom_db', 'integrity'];
  const check = integrity.valid ? 'valid' : `FAILED: ${integrity.problems.map((p) => `${p.problem}: ${p.detail}`).join('; ')}`;
  const subject = cert.serial ?? cert.linkId ?? '';
  const limitSet = `${cert.limitSetId}@${cert.limitSetVersion}${ev.limitSet?.origin === 'user' ? ' (user set)' : ''}`;
  const rows = fiberRows(ev.fibers).map((r) =>
    [cert.id, subject, cert.verdict, limitSet, r.fiber, r.wavelengthNm, r.end, r.quantity, r.valueDb, r.limitDb, r.limitKind, r.basis, r.marginDb, r.outcome, r.reason, r.headroomDb, check]
      .map(csvCell)
      .join(','),
  );
  return [header.join(','), ...rows].join('\r\n') + '\r\n';
}

/** A certificate failing verification: the problems only, never its (untrusted) content as values. */
export function renderIntegrityFailureCsv(id: number, integrity: Integrity): string {
  const rows = integrity.problems.map((p) => [id, p.problem, p.detail, 'FAILED'].map(csvCell).join(','));
  return ['certificate,problem,detail,integrity', ...rows].join('\r\n') + '\r\n';
}
