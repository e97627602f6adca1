import { canonicalJson } from './canonical-json.js';

/**
 * What a certificate's hash and signature cover, apart from the store that keeps it (the store,
 * the migration that converts old databases and the central store all compute it the same way).
 */

/** The signed fields of a certificate row; `body`: the canonical JSON text (not its stored form). */
export interface SignedRow {
  uuid: string;
  bench_id: string;
  job_id: string;
  subject_kind: string;
  serial: string | null;
  link_id: string | null;
  verdict: string;
  limit_set_id: string;
  limit_set_version: string;
  issued_at: string;
  body: string;
  prev_hash: string | null;
}

const DOCUMENT_SLOT = ',"document":0,';

/**
 * What is signed: canonical JSON of the certificate's columns, its document and the hash of the
 * previous certificate of the same bench, with the document as the STORED CANONICAL BYTES (which
 * insert wrote as canonical JSON; stored compressed, see compact-body.ts, the signature is over
 * the JSON, never over the compressed form). A signature thus vouches for exactly the bytes every
 * reader sees: an edit that parses to the same value in one parser and to another in a second (a
 * duplicate key JSON.parse resolves to the last and SQLite to the first, a "__proto__" key) fails.
 * The slot is found by its exact text: inside a JSON string every quote is escaped, so
 * `,"document":0,` can only be the key itself (sorted, it is never first or last).
 */
export function signedPayload(row: SignedRow): string {
  const frame = canonicalJson({ ...columnFields(row), document: 0, prevHash: row.prev_hash });
  const at = frame.indexOf(DOCUMENT_SLOT);
  return `${frame.slice(0, at)},"document":${row.body},${frame.slice(at + DOCUMENT_SLOT.length)}`;
}

export function columnFields(row: Omit<SignedRow, 'body' | 'prev_hash'>) {
  return {
    uuid: row.uuid,
    benchId: row.bench_id,
    jobId: row.job_id,
    subjectKind: row.subject_kind,
    serial: row.serial,
    linkId: row.link_id,
    verdict: row.verdict,
    limitSetId: row.limit_set_id,
    limitSetVersion: row.limit_set_version,
    issuedAt: row.issued_at,
  };
}

/** The columns as the signed body says them. */
export function fieldsFromDocument(document: Record<string, unknown>) {
  const d = document as { bench?: { id?: unknown }; job?: { id?: unknown }; subject?: { kind?: unknown; id?: unknown }; verdict?: unknown; limitSet?: { id?: unknown; version?: unknown }; issuedAt?: unknown };
  const kind = d.subject?.kind;
  return {
    benchId: d.bench?.id,
    jobId: d.job?.id,
    subjectKind: kind,
    serial: kind === 'assembly' ? d.subject?.id : null,
    linkId: kind === 'link' ? d.subject?.id : null,
    verdict: d.verdict,
    limitSetId: d.limitSet?.id,
    limitSetVersion: d.limitSet?.version,
    issuedAt: d.issuedAt,
  };
}

/**
 * The installer's project the signed body names ($.project.id), as the `project_id` column holds
 * it: a string, else null. Not signed as a column (certificates before the column existed were
 * signed without it); verification compares the column with the body.
 */
export function projectIdOf(document: Record<string, unknown>): string | null {
  const id = (document as { project?: { id?: unknown } | null }).project?.id;
  return typeof id === 'string' ? id : null;
}
