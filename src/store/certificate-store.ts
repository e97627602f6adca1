import type Database from 'better-sqlite3';
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

/**
 * A list item as SQLite builds it. The list index stores this very expression (migration 4 in
 * database.ts), so a page of 50 items is read from the index as 50 finished strings (about 18 us)
 * instead of 500 column values turned into JS strings and serialized again (about 80 us).
 */
export const LIST_ITEM_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', bench_id, 'subjectKind', subject_kind, 'serial', serial,
  'linkId', link_id, 'verdict', verdict, 'limitSetId', limit_set_id, 'limitSetVersion', limit_set_version, 'issuedAt', issued_at)`;

/** The head of GET /certificates/:id, built by SQLite; the stored body follows it as it is. */
const RAW_HEAD_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', bench_id, 'jobId', job_id, 'verdict', verdict, 'issuedAt', issued_at,
  'limitSet', json_object('id', limit_set_id, 'version', limit_set_version),
  'signature', json_object('algorithm', 'Ed25519', 'keyId', key_id, 'value', signature, 'hash', hash, 'prevHash', prev_hash))`;

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

type Statement = Database.Statement<unknown[]>;
const CERTIFICATE_KEY = Buffer.from(',"certificate":');
const CLOSE_BRACE = Buffer.from('}');
const COUNT_CACHE_ENTRIES = 1024;

export class CertificateStore {
  /** Prepared once: preparing per call was 5 % of a GET /certificates/:id (profiled). */
  private readonly stmt: {
    prevHash: Statement;
    insert: Statement;
    byId: Statement;
    rawById: Statement;
    previousBySerial: Statement;
    previousByLink: Statement;
    dataVersion: Statement;
  };
  /** List statements by their WHERE clause (at most 2^7 filter combinations). */
  private readonly listStatements = new Map<string, { count: Statement; page: Statement }>();
  /**
   * Match counts by filter, valid while the table is unchanged. Certificates are append-only
   * (SQL triggers), so only an insert changes a count: by this store (insertsSeen) or by another
   * connection (PRAGMA data_version changes when another connection commits). Counting is a third
   * of a QA list request (about 22 us for 850 matches), and QA asks the same filter page after page.
   */
  private readonly countCache = new Map<string, number>();
  private countCacheVersion = '';
  private insertsSeen = 0;

  constructor(
    private readonly db: Db,
    private readonly key: SigningKey,
  ) {
    this.stmt = {
      prevHash: db.prepare('SELECT hash FROM certificates WHERE bench_id = ? ORDER BY id DESC LIMIT 1'),
      insert: db.prepare(
        `INSERT INTO certificates (uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
           limit_set_version, issued_at, body, prev_hash, hash, signature, key_id)
         VALUES (@uuid, @bench_id, @job_id, @subject_kind, @serial, @link_id, @verdict, @limit_set_id,
           @limit_set_version, @issued_at, @body, @prev_hash, @hash, @signature, @key_id)`,
      ),
      byId: db.prepare('SELECT * FROM certificates WHERE id = ?'),
      // Both as bytes: the reply is written without decoding 20 kB of UTF-8 into a JS string and back.
      rawById: db.prepare(`SELECT CAST(${RAW_HEAD_JSON} AS BLOB) AS head, CAST(body AS BLOB) AS body FROM certificates WHERE id = ?`),
      previousBySerial: db.prepare('SELECT * FROM certificates WHERE serial = ? ORDER BY id DESC LIMIT 1'),
      previousByLink: db.prepare('SELECT * FROM certificates WHERE link_id = ? ORDER BY id DESC LIMIT 1'),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
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
    const prev = this.stmt.prevHash.get(cert.benchId) as { hash: string } | undefined;
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
    const info = this.stmt.insert.run(row);
    this.insertsSeen++;
    return fromRow({ ...row, id: Number(info.lastInsertRowid) });
  }

  get(id: number): StoredCertificate | undefined {
    const row = this.stmt.byId.get(id) as CertificateRow | undefined;
    return row && fromRow(row);
  }

  /** The newest certificate for the same serial or link id, before the given one: for drift. */
  previousFor(subject: { serial: string | null; linkId: string | null }): StoredCertificate | undefined {
    const row = (
      subject.serial !== null ? this.stmt.previousBySerial.get(subject.serial) : this.stmt.previousByLink.get(subject.linkId ?? '')
    ) as CertificateRow | undefined;
    return row && fromRow(row);
  }

  /**
   * GET /certificates/:id's JSON reply, as bytes: the head (ids, verdict, limit set, signature)
   * and the stored canonical JSON as it is, exactly what was signed, never parsed and re-serialised.
   */
  getJsonReply(id: number): Buffer | undefined {
    const row = this.stmt.rawById.get(id) as { head: Buffer; body: Buffer } | undefined;
    if (!row) return undefined;
    return Buffer.concat([row.head.subarray(0, -1), CERTIFICATE_KEY, row.body, CLOSE_BRACE]);
  }

  /**
   * One page of certificates, newest first (by issue time, then id), as a JSON array built by
   * SQLite, with the number of matches. A verdict over a date range (QA's usual question) is
   * answered from the covering list index alone.
   */
  listJson(filter: CertificateFilter): { total: number; itemsJson: string } {
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
    let statements = this.listStatements.get(clause);
    if (!statements) {
      statements = {
        count: this.db.prepare(`SELECT count(*) FROM certificates ${clause}`).pluck(),
        page: this.db.prepare(`SELECT ${LIST_ITEM_JSON} FROM certificates ${clause} ORDER BY issued_at DESC, id DESC LIMIT @limit OFFSET @offset`).pluck(),
      };
      this.listStatements.set(clause, statements);
    }
    const items = statements.page.all({ ...params, limit: filter.limit, offset: filter.offset }) as string[];
    return { total: this.count(clause, params, statements.count), itemsJson: `[${items.join(',')}]` };
  }

  private count(clause: string, params: Record<string, string | number>, statement: Statement): number {
    const version = `${this.insertsSeen}/${String(this.stmt.dataVersion.get())}`;
    if (version !== this.countCacheVersion || this.countCache.size >= COUNT_CACHE_ENTRIES) {
      this.countCache.clear();
      this.countCacheVersion = version;
    }
    const key = `${clause}\u0000${JSON.stringify(params)}`;
    let n = this.countCache.get(key);
    if (n === undefined) {
      n = statement.get(params) as number;
      this.countCache.set(key, n);
    }
    return n;
  }

  list(filter: CertificateFilter): { total: number; items: CertificateSummary[] } {
    const { total, itemsJson } = this.listJson(filter);
    return { total, items: JSON.parse(itemsJson) as CertificateSummary[] };
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
