import type { CertificateStore, Integrity } from '../store/certificate-store.js';
import { csvCell } from './csv-cell.js';

/**
 * What QA exports of a selection of certificates (GET /qa/export): a CSV of one row per
 * certificate, the signed JSON of each as JSON lines, or one PDF. Each certificate is read and
 * verified once, as GET /certificates/:id serves it (CertificateStore.forServing), and exported
 * with what that found: a certificate failing verification is exported flagged, never left out.
 */

/**
 * The most certificates one export holds. CSV and JSON lines are streamed a certificate at a time
 * (memory stays flat), but each certificate is read and verified: 10,000 is about 7 s of the
 * daemon's time (the full check's 1,500 a second) and 200 MB of JSON lines at 20 kB each, months
 * of a busy bench. A PDF is built whole in memory, a page or more per certificate, about 14 ms
 * each to draw (measured): 500 is about 7 s and tens of MB. Above these the export is refused
 * with the count, and QA narrows the search (a date range, a bench) and exports in parts.
 */
export const EXPORT_LIMITS = { csv: 10_000, jsonl: 10_000, pdf: 500 } as const;
export type ExportFormat = keyof typeof EXPORT_LIMITS;
export const EXPORT_FORMATS = Object.keys(EXPORT_LIMITS) as ExportFormat[];
export const FORMAT_NAMES: Record<ExportFormat, string> = { csv: 'CSV', jsonl: 'JSON lines', pdf: 'PDF' };

/** What serving one certificate found: its integrity, its reply bytes, its parsed content. */
export type Served = NonNullable<ReturnType<CertificateStore['forServing']>>;

export const CSV_COLUMNS = ['id', 'uuid', 'issued_at', 'subject_kind', 'serial', 'link_id', 'project', 'bench', 'verdict', 'limit_set_id', 'limit_set_version', 'integrity'] as const;

export { csvCell };

/** "valid", or "FAILED: " and every problem, as the certificate's own CSV says it. */
export function integrityText(integrity: Integrity): string {
  return integrity.valid ? 'valid' : `FAILED: ${integrity.problems.map((p) => `${p.problem}: ${p.detail}`).join('; ')}`;
}

/** A certificate that was listed when the export began and could not be read when its turn came. */
export function missingIntegrity(id: number): Integrity {
  return { valid: false, problems: [{ certificateId: id, problem: 'missing', detail: `certificate ${id} is no longer in the database (it was when the export began)` }] };
}

const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The project a certificate's body names, if any. */
export function projectOf(document: unknown): string | null {
  const project = (document as { project?: { id?: unknown } | null } | null)?.project;
  return text(project?.id);
}

/**
 * One certificate's CSV row. The values are what its signed body says; for a certificate failing
 * verification they are what its (untrusted) body says, and the integrity cell says so. A body
 * that is not even JSON gives its id and its failure only.
 */
export function csvRow(id: number, served: Served | undefined, integrity: Integrity): string {
  const c = served?.certificate;
  const cells = c
    ? [c.id, c.uuid, c.issuedAt, c.subjectKind, c.serial, c.linkId, projectOf(c.document), c.benchId, c.verdict, c.limitSetId, c.limitSetVersion]
    : [id, null, null, null, null, null, null, null, null, null, null];
  return [...cells, integrityText(integrity)].map(csvCell).join(',');
}

export const CSV_HEADER = CSV_COLUMNS.join(',');

/**
 * One certificate's JSON line: exactly the bytes GET /certificates/:id serves (the head with the
 * integrity it found, and the stored canonical JSON as signed), so anyone can verify it offline.
 * Canonical JSON has no line breaks (JSON escapes them inside strings). A body that is not JSON
 * goes out as that route sends it ({id, integrity, storedBody}); a certificate gone since the
 * export began as {id, integrity}.
 */
export function jsonLine(id: number, served: Served | undefined, integrity: Integrity): Buffer {
  if (served?.json) return Buffer.concat([served.json, Buffer.from('\n')]);
  const reply = served ? { id, integrity, storedBody: served.storedBody } : { id, integrity };
  return Buffer.from(`${JSON.stringify(reply)}\n`);
}

/** certificates-2026-11-30T14-05-09Z.csv: sorts by time, and no character a file system refuses. */
export function exportFilename(format: ExportFormat, now = new Date()): string {
  return `certificates-${now.toISOString().slice(0, 19).replace(/:/g, '-')}Z.${format}`;
}

export const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/jsonl; charset=utf-8',
  pdf: 'application/pdf',
};
