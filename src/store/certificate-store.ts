import { randomUUID } from 'node:crypto';
import type { Db } from './database.js';
import { canonicalJson } from './canonical-json.js';
import { sha256Hex, signBytes, verifyBytes, type SigningKey } from './signing-key.js';

export type SubjectKind = 'assembly' | 'link';

export interface NewCertificate {
  benchId: string;
  jobId: string;
  subjectKind: SubjectKind;
  serial: string | null;
  linkId: string | null;
  verdict: string;
  limitSetId: string;
  limitSetVersion: string;
  issuedAt: string;
  /** The whole certificate as an auditor reads it; stored as canonical JSON and signed. */
  document: Record<string, unknown>;
}

export interface StoredCertificate extends Omit<NewCertificate, 'document'> {
  id: number;
  uuid: string;
  document: Record<string, unknown>;
  prevHash: string | null;
  hash: string;
  signature: string;
  keyId: string;
}

/** What a list shows of each certificate. */
export type CertificateSummary = Pick<
  StoredCertificate,
  'id' | 'uuid' | 'benchId' | 'subjectKind' | 'serial' | 'linkId' | 'verdict' | 'limitSetId' | 'limitSetVersion' | 'issuedAt'
>;

const SUMMARY_COLUMNS = 'id, uuid, bench_id, subject_kind, serial, link_id, verdict, limit_set_id, limit_set_version, issued_at';

export interface CertificateFilter {
  serial?: string;
  linkId?: string;
  verdict?: string;
  benchId?: string;
  limitSetId?: string;
  issuedFrom?: string;
  issuedTo?: string;
  limit: number;
  offset: number;
}

export interface VerifyProblem {
  certificateId: number;
  problem: 'content' | 'signature' | 'chain' | 'unknown-key' | 'missing';
  detail: string;
}

interface CertificateRow {
  id: number;
  uuid: string;
  bench_id: string;
  job_id: string;
  subject_kind: SubjectKind;
  serial: string | null;
  link_id: string | null;
  verdict: string;
  limit_set_id: string;
  limit_set_version: string;
  issued_at: string;
  body: string;
  prev_hash: string | null;
  hash: string;
  signature: string;
  key_id: string;
}

/**
 * What is signed: the certificate's indexed fields, its document and the hash of the previous
 * certificate of the same bench. Indexed columns are inside the signature too, so editing the
 * verdict column alone (what a list query shows) is caught, not only editing the JSON.
 */
function signedPayload(row: Omit<CertificateRow, 'id' | 'hash' | 'signature' | 'key_id'>): string {
  return canonicalJson({ ...indexedFields(row), document: JSON.parse(row.body) as unknown, prevHash: row.prev_hash });
}

/** The columns that are both indexed for queries and covered by the signature. */
function indexedFields(row: Omit<CertificateRow, 'id' | 'body' | 'prev_hash' | 'hash' | 'signature' | 'key_id'>) {
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

function fromRow(row: CertificateRow): StoredCertificate {
  return {
    id: row.id,
    ...indexedFields(row),
    document: JSON.parse(row.body) as Record<string, unknown>,
    prevHash: row.prev_hash,
    hash: row.hash,
    signature: row.signature,
    keyId: row.key_id,
  };
}

export class CertificateStore {
  constructor(
    private readonly db: Db,
    private readonly key: SigningKey,
  ) {
    db.prepare('INSERT OR IGNORE INTO signing_keys (key_id, public_key_pem, first_used_at) VALUES (?, ?, ?)').run(
      key.keyId,
      key.publicKeyPem,
      new Date().toISOString(),
    );
  }

  /**
   * Signs, chains and inserts. Call inside the caller's transaction when the job's own row must
   * change in the same commit (see JobStore.complete), so a crash leaves both or neither.
   */
  insert(cert: NewCertificate): StoredCertificate {
    const prev = this.db
      .prepare('SELECT hash FROM certificates WHERE bench_id = ? ORDER BY id DESC LIMIT 1')
      .get(cert.benchId) as { hash: string } | undefined;
    const base = {
      uuid: randomUUID(),
      bench_id: cert.benchId,
      job_id: cert.jobId,
      subject_kind: cert.subjectKind,
      serial: cert.serial,
      link_id: cert.linkId,
      verdict: cert.verdict,
      limit_set_id: cert.limitSetId,
      limit_set_version: cert.limitSetVersion,
      issued_at: cert.issuedAt,
      body: canonicalJson(cert.document),
      prev_hash: prev?.hash ?? null,
    };
    const payload = signedPayload(base);
    const row = { ...base, hash: sha256Hex(payload), signature: signBytes(this.key, payload), key_id: this.key.keyId };
    const info = this.db
      .prepare(
        `INSERT INTO certificates (uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
           limit_set_version, issued_at, body, prev_hash, hash, signature, key_id)
         VALUES (@uuid, @bench_id, @job_id, @subject_kind, @serial, @link_id, @verdict, @limit_set_id,
           @limit_set_version, @issued_at, @body, @prev_hash, @hash, @signature, @key_id)`,
      )
      .run(row);
    return fromRow({ ...row, id: Number(info.lastInsertRowid) });
  }

  get(id: number): StoredCertificate | undefined {
    const row = this.db.prepare('SELECT * FROM certificates WHERE id = ?').get(id) as CertificateRow | undefined;
    return row && fromRow(row);
  }

  /** The newest certificate for the same serial or link id, before the given one: for drift. */
  previousFor(subject: { serial: string | null; linkId: string | null }): StoredCertificate | undefined {
    const row = (
      subject.serial !== null
        ? this.db.prepare('SELECT * FROM certificates WHERE serial = ? ORDER BY id DESC LIMIT 1').get(subject.serial)
        : this.db.prepare('SELECT * FROM certificates WHERE link_id = ? ORDER BY id DESC LIMIT 1').get(subject.linkId)
    ) as CertificateRow | undefined;
    return row && fromRow(row);
  }

  /**
   * The indexed columns and the stored canonical JSON as text: the HTTP JSON reply embeds the
   * text as it is, instead of parsing and re-serialising a 20 kB document per request.
   */
  getRaw(id: number): (Omit<StoredCertificate, 'document'> & { body: string }) | undefined {
    const row = this.db.prepare('SELECT * FROM certificates WHERE id = ?').get(id) as CertificateRow | undefined;
    if (!row) return undefined;
    const { document: _parsed, ...rest } = fromRow({ ...row, body: 'null' });
    return { ...rest, body: row.body };
  }

  list(filter: CertificateFilter): { total: number; items: CertificateSummary[] } {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    const add = (clause: string, name: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    add('serial = @serial', 'serial', filter.serial);
    add('link_id = @linkId', 'linkId', filter.linkId);
    add('verdict = @verdict', 'verdict', filter.verdict);
    add('bench_id = @benchId', 'benchId', filter.benchId);
    add('limit_set_id = @limitSetId', 'limitSetId', filter.limitSetId);
    add('issued_at >= @issuedFrom', 'issuedFrom', filter.issuedFrom);
    add('issued_at < @issuedTo', 'issuedTo', filter.issuedTo);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.db.prepare(`SELECT count(*) AS n FROM certificates ${clause}`).get(params) as { n: number }).n;
    // Two steps: the page's ids come from an index alone (no table row is read to sort them),
    // then only those rows' summary columns are read. Sorting whole 20 kB rows made this 20x slower.
    const ids = (
      this.db.prepare(`SELECT id FROM certificates ${clause} ORDER BY id DESC LIMIT @limit OFFSET @offset`).all({
        ...params,
        limit: filter.limit,
        offset: filter.offset,
      }) as { id: number }[]
    ).map((r) => r.id);
    const rows = ids.length
      ? (this.db
          .prepare(`SELECT ${SUMMARY_COLUMNS} FROM certificates WHERE id IN (${ids.map(() => '?').join(',')}) ORDER BY id DESC`)
          .all(...ids) as Omit<CertificateRow, 'body' | 'prev_hash' | 'hash' | 'signature' | 'key_id' | 'job_id'>[])
      : [];
    return {
      total,
      items: rows.map((r) => {
        const { jobId: _job, ...summary } = indexedFields({ ...r, job_id: '' });
        return { id: r.id, ...summary };
      }),
    };
  }

  publicKeys(): { keyId: string; publicKeyPem: string; firstUsedAt: string }[] {
    return (
      this.db.prepare('SELECT key_id, public_key_pem, first_used_at FROM signing_keys ORDER BY first_used_at').all() as {
        key_id: string;
        public_key_pem: string;
        first_used_at: string;
      }[]
    ).map((r) => ({ keyId: r.key_id, publicKeyPem: r.public_key_pem, firstUsedAt: r.first_used_at }));
  }

  /**
   * Checks content hash, signature and chain link of one certificate, or of every certificate
   * when id is omitted. Returns every problem found; an empty list means all verified.
   */
  verify(id?: number): { checked: number; problems: VerifyProblem[] } {
    const keys = new Map(this.publicKeys().map((k) => [k.keyId, k.publicKeyPem]));
    const rows = (
      id === undefined
        ? this.db.prepare('SELECT * FROM certificates ORDER BY id').all()
        : this.db.prepare('SELECT * FROM certificates WHERE id = ?').all(id)
    ) as CertificateRow[];
    const problems: VerifyProblem[] = [];
    for (const row of rows) {
      let payload: string;
      try {
        payload = signedPayload(row);
      } catch (err) {
        problems.push({ certificateId: row.id, problem: 'content', detail: `body is not valid JSON: ${String(err)}` });
        continue;
      }
      if (sha256Hex(payload) !== row.hash) {
        problems.push({ certificateId: row.id, problem: 'content', detail: 'content does not match its recorded hash' });
      }
      const pem = keys.get(row.key_id);
      if (pem === undefined) {
        problems.push({ certificateId: row.id, problem: 'unknown-key', detail: `signing key ${row.key_id} is not on record` });
      } else if (!verifyBytes(pem, payload, row.signature)) {
        problems.push({ certificateId: row.id, problem: 'signature', detail: 'signature does not match the content' });
      }
      const prev = this.db
        .prepare('SELECT hash FROM certificates WHERE bench_id = ? AND id < ? ORDER BY id DESC LIMIT 1')
        .get(row.bench_id, row.id) as { hash: string } | undefined;
      if ((prev?.hash ?? null) !== row.prev_hash) {
        problems.push({
          certificateId: row.id,
          problem: 'chain',
          detail: `previous-certificate link of bench ${row.bench_id} does not match (a certificate before it was changed or removed)`,
        });
      }
    }
    if (id === undefined) {
      // The chain cannot show that a bench's newest certificate was removed; its job row can.
      const orphans = this.db
        .prepare(
          `SELECT j.id AS job, j.certificate_id AS cert FROM jobs j
           WHERE j.state = 'completed' AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = j.certificate_id)`,
        )
        .all() as { job: string; cert: number | null }[];
      for (const o of orphans) {
        problems.push({ certificateId: o.cert ?? 0, problem: 'missing', detail: `job ${o.job} completed with this certificate, which is not in the database` });
      }
    }
    return { checked: rows.length, problems };
  }
}
