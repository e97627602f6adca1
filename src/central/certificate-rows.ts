import type { CertificateDocument, Integrity, ProblemKind, ShippedCertificate, StoredCertificate, SubjectKind, VerifyProblem } from '../store/certificate-store.js';
import { replyHead } from '../store/certificate-store.js';
import { decompressBody } from '../store/compact-body.js';
import { projectIdOfBody, verifyShipped, type CentralTrust } from './merge.js';

/**
 * A merged certificate as the hub reads it from PostgreSQL, verified as it is read: against QA's
 * pinned keys for its site and against its merged predecessor (the same check the merge made),
 * so a row changed in PostgreSQL after the merge is served as FAILED, never as what it claims.
 */
export interface CentralRow {
  uuid: string;
  site: string;
  bench_id: string;
  /** bigint columns arrive as decimal strings. */
  bench_seq: string;
  id_on_bench: string;
  job_id: string;
  subject_kind: SubjectKind;
  serial: string | null;
  link_id: string | null;
  project_id: string | null;
  verdict: string;
  limit_set_id: string;
  limit_set_version: string;
  issued_at: string;
  prev_hash: Buffer | null;
  hash: Buffer;
  signature: Buffer;
  key_id: Buffer;
}

/** A row with its compressed body and the hash of the certificate merged before it in its bench's chain. */
export interface CentralRowWithBody extends CentralRow {
  body: Buffer;
  merged_prev_hash: Buffer | null;
}

const COLUMNS = ['uuid', 'site', 'bench_id', 'bench_seq', 'id_on_bench', 'job_id', 'subject_kind', 'serial', 'link_id', 'project_id', 'verdict', 'limit_set_id', 'limit_set_version', 'issued_at', 'prev_hash', 'hash', 'signature', 'key_id'];

/** The columns, qualified with a table alias. */
export const columnsOf = (alias: string): string => COLUMNS.map((c) => `${alias}.${c}`).join(', ');

/**
 * Rows with body and predecessor hash, from a subquery `c` that selects certificates: the
 * predecessor is found by the unique (site, bench_id, bench_seq) index.
 */
export function withBodies(inner: string): string {
  return `SELECT ${columnsOf('c')}, c.body, p.hash AS merged_prev_hash
    FROM (${inner}) c LEFT JOIN certificates p ON p.site = c.site AND p.bench_id = c.bench_id AND p.bench_seq = c.bench_seq - 1`;
}

const hex = (b: Buffer | null): string | null => (b === null ? null : b.toString('hex'));

/** The shipped fields, as the bench signed them (hash and signature cover these and the body). */
export function shippedFields(r: CentralRow): Omit<ShippedCertificate, 'body'> {
  return {
    idOnBench: Number(r.id_on_bench),
    uuid: r.uuid,
    benchId: r.bench_id,
    jobId: r.job_id,
    subjectKind: r.subject_kind,
    serial: r.serial,
    linkId: r.link_id,
    verdict: r.verdict,
    limitSetId: r.limit_set_id,
    limitSetVersion: r.limit_set_version,
    issuedAt: r.issued_at,
    prevHash: hex(r.prev_hash),
    hash: r.hash.toString('hex'),
    signature: r.signature.toString('base64'),
    keyId: r.key_id.toString('hex'),
    benchSequence: Number(r.bench_seq),
  };
}

/** What the merge's check says, as a problem kind the bench's verify also uses. */
function kindOf(detail: string): ProblemKind {
  if (/not pinned|rotated away/.test(detail)) return 'untrusted-key';
  if (/^signature/.test(detail)) return 'signature';
  if (/previous-certificate link/.test(detail)) return 'chain';
  return 'content';
}

export const VALID: Integrity = Object.freeze({ valid: true, problems: [] }) as unknown as Integrity;

/**
 * The project column is the merge's reading of the signed body (search, export, drift and the
 * re-judge selection filter on it): an edit in PostgreSQL that moves a certificate into or out of
 * a project must fail verification like any other column edit.
 */
function projectColumnProblem(r: CentralRowWithBody): string | undefined {
  let signed: string | null;
  try {
    signed = projectIdOfBody(decompressBody(r.body));
  } catch {
    return undefined; // an unreadable body is reported by verifyShipped
  }
  return (r.project_id ?? null) === signed ? undefined : `columns disagree with the signed body: projectId (column ${JSON.stringify(r.project_id ?? null)}, body ${JSON.stringify(signed)})`;
}

/** Verifies one row against the pinned keys and the hash its merged predecessor has now. */
export function verifyRow(r: CentralRowWithBody, trust: CentralTrust, previousHash: string | null = hex(r.merged_prev_hash)): Integrity {
  const detail = verifyShipped({ site: r.site, bench_id: r.bench_id, ref: r.uuid, body: r.body }, shippedFields(r), trust, previousHash) ?? projectColumnProblem(r);
  if (detail === undefined) return VALID;
  const problem: VerifyProblem = { certificateId: Number(r.id_on_bench), problem: kindOf(detail), detail, bench: r.bench_id };
  return { valid: false, problems: [problem] };
}

/** A certificate as the hub serves it: what verifying it found, its JSON reply, its parsed content. */
export interface ServedCertificate {
  row: CentralRow;
  integrity: Integrity;
  /** Byte for byte what the bench's GET /certificates/<id> serves; undefined when the body is not a JSON object. */
  json: Buffer | undefined;
  /** Parsed, for the renderers; only for a certificate that verified. */
  certificate: StoredCertificate | undefined;
  /** The stored body as text (for a failing certificate's page), or why it cannot be read. */
  storedBody: string;
}

export function serve(r: CentralRowWithBody, trust: CentralTrust): ServedCertificate {
  const integrity = verifyRow(r, trust);
  let body: string | undefined;
  let storedBody: string;
  try {
    body = decompressBody(r.body);
    storedBody = body;
  } catch (err) {
    storedBody = `(the stored body cannot be read: ${(err as Error).message}; ${r.body.length} bytes, base64 ${r.body.toString('base64')})`;
  }
  let document: CertificateDocument | undefined;
  try {
    const d = body === undefined ? undefined : (JSON.parse(body) as unknown);
    if (typeof d === 'object' && d !== null && !Array.isArray(d)) document = d as CertificateDocument;
  } catch {
    document = undefined;
  }
  const f = shippedFields(r);
  // A valid certificate's columns are what its signed body says (verification compared them); a
  // failing one's head says what its body says, as the bench's reply does.
  const head = integrity.valid ? headFields(f) : document ? headFields(fieldsFromDocument(document, f)) : undefined;
  const json = head && body !== undefined ? Buffer.from(`${replyHead({ id: f.idOnBench, uuid: f.uuid, key_id: f.keyId, signature: f.signature, hash: f.hash, prev_hash: f.prevHash }, head, integrity)},"certificate":${body}}`) : undefined;
  const certificate: StoredCertificate | undefined =
    integrity.valid && document
      ? {
          id: f.idOnBench,
          uuid: f.uuid,
          benchId: f.benchId,
          jobId: f.jobId,
          subjectKind: f.subjectKind,
          serial: f.serial,
          linkId: f.linkId,
          verdict: f.verdict,
          limitSetId: f.limitSetId,
          limitSetVersion: f.limitSetVersion,
          issuedAt: f.issuedAt,
          document,
          prevHash: f.prevHash,
          hash: f.hash,
          signature: f.signature,
          keyId: f.keyId,
        }
      : undefined;
  return { row: r, integrity, json, certificate, storedBody };
}

type Head = { benchId: unknown; jobId: unknown; verdict: unknown; issuedAt: unknown; limitSetId: unknown; limitSetVersion: unknown };

const headFields = (f: Head): Head => ({ benchId: f.benchId, jobId: f.jobId, verdict: f.verdict, issuedAt: f.issuedAt, limitSetId: f.limitSetId, limitSetVersion: f.limitSetVersion });

function fieldsFromDocument(d: CertificateDocument, f: Omit<ShippedCertificate, 'body'>): Head {
  const doc = d as unknown as { bench?: { id?: unknown }; job?: { id?: unknown }; verdict?: unknown; issuedAt?: unknown; limitSet?: { id?: unknown; version?: unknown } };
  return {
    benchId: doc.bench?.id ?? f.benchId,
    jobId: doc.job?.id ?? f.jobId,
    verdict: doc.verdict ?? f.verdict,
    issuedAt: doc.issuedAt ?? f.issuedAt,
    limitSetId: doc.limitSet?.id ?? f.limitSetId,
    limitSetVersion: doc.limitSet?.version ?? f.limitSetVersion,
  };
}


/** One search result: the columns (verified equal to the signed body at merge) and what verifying it now found. */
export interface CentralSummary {
  uuid: string;
  site: string;
  benchId: string;
  benchSequence: number;
  idOnBench: number;
  subjectKind: SubjectKind;
  serial: string | null;
  linkId: string | null;
  projectId: string | null;
  verdict: string;
  limitSetId: string;
  limitSetVersion: string;
  issuedAt: string;
  integrity: 'valid' | 'FAILED';
}

export function summaryOf(r: CentralRow, integrity: Integrity): CentralSummary {
  return {
    uuid: r.uuid,
    site: r.site,
    benchId: r.bench_id,
    benchSequence: Number(r.bench_seq),
    idOnBench: Number(r.id_on_bench),
    subjectKind: r.subject_kind,
    serial: r.serial,
    linkId: r.link_id,
    projectId: r.project_id,
    verdict: r.verdict,
    limitSetId: r.limit_set_id,
    limitSetVersion: r.limit_set_version,
    issuedAt: r.issued_at,
    integrity: integrity.valid ? 'valid' : 'FAILED',
  };
}
