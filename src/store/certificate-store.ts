import type Database from 'better-sqlite3';
import { createHash, randomUUID } from 'node:crypto';
import type { Evaluation, TestRecord } from '../evaluation/index.js';
import type { MeasuredReading } from '../evaluation/measured-reading.js';
import { COMPACT_BODY_SCHEMA, type Db } from './database.js';
import { Outbox } from './outbox.js';
import { canonicalJson } from './canonical-json.js';
import { BODY_SQL, COLUMN_SQL, LIST_ITEM_JSON, type CertificateSql } from './certificate-sql.js';
import { BodyFormatError, compressBody, decompressBody, decompressBodyBytes } from './compact-body.js';
import { columnFields, fieldsFromDocument, projectIdOf, signedPayload } from './signed-payload.js';
import { latestOf, type Checkpoint } from './checkpoints.js';
import { sha256Hex, signBytes, verifyBytes, type SigningKey } from './signing-key.js';
import type { TrustedKeys } from './trusted-keys.js';

/** The schema that added the outbox (migration 9, database.ts). */
const OUTBOX_SCHEMA = 9;

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
  /**
   * The whole certificate as an auditor reads it; stored as canonical JSON and signed. It must say
   * the fields above itself (bench.id, job.id, subject, verdict, limitSet, issuedAt): lists and
   * filters read them from here, and insert refuses a document that disagrees with them.
   */
  document: Record<string, unknown>;
}

/** An instrument as it identified itself for the certificate (`raw`: its identification reply, verbatim). */
export type CertifiedInstrument = { manufacturer: string; model: string; serialNumber: string; firmware: string; raw: string };

/** One reading as measured (launch position and end, wavelength, powers, loss; null: no usable power, see condition). */
export type CertifiedReading = MeasuredReading;

/**
 * The signed certificate document (formatVersion 1) as the job runner writes it and every reader
 * (the JSON, HTML and CSV replies, drift) reads it back. A type only: the store parses the stored
 * bytes without checking their shape beyond the fields it compares with its columns, and a
 * document that fails verification is never rendered from its content. Optional members are
 * absent from certificates issued before they were added. A `type`, not an interface, so it
 * stays assignable to Record<string, unknown>.
 */
export type CertificateDocument = {
  kind: 'mpocert-certificate';
  formatVersion: 1;
  issuedAt: string;
  /** Which software judged it. */
  software: { name: string; version: string; node: string };
  /** `authenticatedAs`: whose token started the job (a person, or "shared token"). */
  job: { id: string; operator: string; authenticatedAs?: string; testedAt: string };
  bench: { id: string; title: string; method: string; instruments: CertifiedInstrument[] };
  /** `acceptedDespite`: a person overrode a plausibility check of this reference, and why. */
  reference: { takenAt: string; powerDbm: Record<string, number[]>; instruments: CertifiedInstrument[]; acceptedDespite?: { reason: string; checks: string[] } };
  /** `description`: the test record of the configured product, without readings. */
  subject: { kind: SubjectKind; id: string; product?: string; description: TestRecord };
  /** The installer's project; `planned`: the description came from its plan (false: a link id not in the plan). */
  project?: { id: string; planned: boolean };
  readings: CertifiedReading[];
  limitSet: { id: string; version: string };
  /** Whether the bench could see where each fiber's light arrived (a PASS covers polarity only then). */
  polarityMeasured?: boolean;
  verdict: string;
  evaluation: Evaluation;
};

export interface StoredCertificate extends Omit<NewCertificate, 'document'> {
  id: number;
  uuid: string;
  document: CertificateDocument;
  prevHash: string | null;
  hash: string;
  signature: string;
  keyId: string;
}

/** What a list shows of each certificate (`projectId` only when the filter asked for it: `withProject`). */
export type CertificateSummary = Pick<
  StoredCertificate,
  'id' | 'uuid' | 'benchId' | 'subjectKind' | 'serial' | 'linkId' | 'verdict' | 'limitSetId' | 'limitSetVersion' | 'issuedAt'
> & { projectId?: string | null };

export { LIST_ITEM_JSON };

export interface CertificateFilter {
  serial?: string;
  linkId?: string;
  verdict?: string;
  benchId?: string;
  limitSetId?: string;
  /** The installer's project the signed body names ($.project.id). */
  projectId?: string;
  issuedFrom?: string;
  issuedTo?: string;
  /** Each item also says its project (`projectId`, null for none). */
  withProject?: boolean;
  limit: number;
  offset: number;
}

export type ProblemKind = 'content' | 'signature' | 'chain' | 'untrusted-key' | 'missing' | 'checkpoint' | 'schema';

export interface VerifyProblem {
  certificateId: number;
  problem: ProblemKind;
  detail: string;
  /** The bench whose chain it concerns, when known. */
  bench?: string;
  /** When the row's bench column and its body name different benches: the other one (both are suspect). */
  otherBench?: string;
}

/** What serving a certificate found about its stored bytes. */
export interface Integrity {
  valid: boolean;
  problems: VerifyProblem[];
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
  /** The project the body names (since the compact-bodies migration; absent in an older database). */
  project_id?: string | null;
  /** The canonical JSON text (decoded from its stored form, see StoredRow). */
  body: string;
  prev_hash: string | null;
  hash: string;
  signature: string;
  key_id: string;
}

/**
 * A row as SQLite returns it: the body compressed (a BLOB, compact-body.ts), or, in a database
 * from before the compact-bodies migration (read as it is: QA's verify), canonical JSON text.
 */
export type StoredRow = Omit<CertificateRow, 'body'> & { body: Buffer | string };

type Unsigned = Omit<CertificateRow, 'id' | 'hash' | 'signature' | 'key_id' | 'project_id'>;

/** A certificate as shipped to the central store (forShipping): the signed fields, body as canonical JSON text. */
export interface ShippedCertificate extends Omit<NewCertificate, 'document'> {
  idOnBench: number;
  uuid: string;
  body: string;
  prevHash: string | null;
  hash: string;
  signature: string;
  keyId: string;
  /** 1 for the bench's first certificate. */
  benchSequence: number;
}

/**
 * What a shipped certificate's hash and signature cover, computed exactly as the bench did: the
 * central store checks a certificate with this and its own pinned keys, never with the bench's word.
 */
export function shippedPayload(c: ShippedCertificate): string {
  return signedPayload({
    uuid: c.uuid,
    bench_id: c.benchId,
    job_id: c.jobId,
    subject_kind: c.subjectKind,
    serial: c.serial,
    link_id: c.linkId,
    verdict: c.verdict,
    limit_set_id: c.limitSetId,
    limit_set_version: c.limitSetVersion,
    issued_at: c.issuedAt,
    body: c.body,
    prev_hash: c.prevHash,
  });
}

/** Column names whose value differs from what the signed body says. */
function columnsDisagreeing(row: CertificateRow, document: Record<string, unknown>): string[] {
  const columns = columnFields(row);
  const body = fieldsFromDocument(document);
  return (Object.keys(body) as (keyof typeof body)[]).filter((k) => (body[k] ?? null) !== (columns[k] ?? null)).map((k) => `${k} (column ${JSON.stringify(columns[k])}, body ${JSON.stringify(body[k] ?? null)})`);
}

/** Columns of a shipped certificate that its signed body contradicts (a bench's own key can sign a lie). */
export function shippedColumnsDisagreeing(c: ShippedCertificate, document: Record<string, unknown>): string[] {
  return columnsDisagreeing(
    { id: c.idOnBench, uuid: c.uuid, bench_id: c.benchId, job_id: c.jobId, subject_kind: c.subjectKind, serial: c.serial, link_id: c.linkId, verdict: c.verdict, limit_set_id: c.limitSetId, limit_set_version: c.limitSetVersion, issued_at: c.issuedAt, body: c.body, prev_hash: c.prevHash, hash: c.hash, signature: c.signature, key_id: c.keyId },
    document,
  );
}

function fromRow(row: CertificateRow): StoredCertificate {
  const document = JSON.parse(row.body) as CertificateDocument;
  // Shown as the signed body says, never as a column says (an edited column shows nowhere).
  const f = fieldsFromDocument(document);
  return {
    id: row.id,
    uuid: row.uuid,
    benchId: String(f.benchId ?? row.bench_id),
    jobId: String(f.jobId ?? row.job_id),
    subjectKind: (f.subjectKind as SubjectKind | undefined) ?? row.subject_kind,
    serial: (f.serial as string | null | undefined) ?? null,
    linkId: (f.linkId as string | null | undefined) ?? null,
    verdict: String(f.verdict ?? row.verdict),
    limitSetId: String(f.limitSetId ?? row.limit_set_id),
    limitSetVersion: String(f.limitSetVersion ?? row.limit_set_version),
    issuedAt: String(f.issuedAt ?? row.issued_at),
    document,
    prevHash: row.prev_hash,
    hash: row.hash,
    signature: row.signature,
    keyId: row.key_id,
  };
}

/** The head of GET /certificates/:id's JSON (without its closing brace), in its documented key order. */
/**
 * The head of GET /certificates/:id before `"certificate":<body>`, in its fixed key order. The
 * central hub builds its replies with it too: they are byte for byte the bench's.
 */
export function replyHead(
  row: Pick<CertificateRow, 'id' | 'uuid' | 'key_id' | 'signature' | 'hash' | 'prev_hash'>,
  f: { benchId: unknown; jobId: unknown; verdict: unknown; issuedAt: unknown; limitSetId: unknown; limitSetVersion: unknown },
  integrity: Integrity,
): string {
  const head = {
    id: row.id,
    uuid: row.uuid,
    benchId: f.benchId,
    jobId: f.jobId,
    verdict: f.verdict,
    issuedAt: f.issuedAt,
    limitSet: { id: f.limitSetId, version: f.limitSetVersion },
    signature: { algorithm: 'Ed25519', keyId: row.key_id, value: row.signature, hash: row.hash, prevHash: row.prev_hash },
    integrity,
  };
  return JSON.stringify(head).slice(0, -1);
}

type Statement = Database.Statement<unknown[]>;
const COUNT_CACHE_ENTRIES = 1024;
/** Every certificate of a large bench: about 80 bytes each (a 22-character digest and a shared VALID). */
const INTEGRITY_CACHE_ENTRIES = 1_000_000;
const VALID: Integrity = Object.freeze({ valid: true, problems: [] }) as Integrity;

export class CertificateStore {
  /** Prepared once: preparing per call was 5 % of a GET /certificates/:id (profiled). */
  private readonly stmt: {
    prevOfBench: Statement;
    countOfBench: Statement;
    insert: Statement;
    byId: Statement;
    rawById: Statement;
    allHashes: Statement;
    previousBySerial: Statement;
    previousByLink: Statement;
    prevBefore: Statement;
    dataVersion: Statement;
  };
  /** List statements by their WHERE clause and item shape (at most 2^8 filter combinations, two shapes). */
  private readonly listStatements = new Map<string, { count: Statement; page: Statement }>();
  /**
   * Match counts and served-certificate verifications, valid while the table is unchanged.
   * Certificates are append-only (SQL triggers), so only an insert changes a count: by this store
   * (insertsSeen) or by another connection (PRAGMA data_version changes when another connection
   * commits; a tampering edit is such a commit, so it also clears the integrity cache).
   */
  private readonly countCache = new Map<string, number>();
  private readonly integrityCache = new Map<number, { digest: string; integrity: Integrity }>();
  private cacheVersion = '';
  private insertsSeen = 0;
  /**
   * Whether bodies are stored compressed (the compact-bodies migration ran): lists, filters and
   * chains then read the columns (COLUMN_SQL); in an older database, read as it is (QA's verify
   * of a copy), the JSON body (BODY_SQL).
   */
  private readonly compact: boolean;
  private readonly sql: CertificateSql;

  constructor(
    private readonly db: Db,
    /** Signs new certificates; absent for a read-only store (verify). */
    private readonly key: SigningKey | undefined,
    /** The keys a certificate may be signed with: from outside the database. */
    private readonly trust: TrustedKeys,
  ) {
    this.compact = (db.pragma('user_version', { simple: true }) as number) >= COMPACT_BODY_SCHEMA;
    const sql = (this.sql = this.compact ? COLUMN_SQL : BODY_SQL);
    const project = this.compact ? ['project_id'] : [];
    const stored = ['uuid', 'bench_id', 'job_id', 'subject_kind', 'serial', 'link_id', 'verdict', 'limit_set_id', 'limit_set_version', 'issued_at', ...project, 'body', 'prev_hash', 'hash', 'signature', 'key_id'];
    this.stmt = {
      prevOfBench: db.prepare(`SELECT hash FROM certificates WHERE ${sql.benchId} = ? ORDER BY id DESC LIMIT 1`),
      countOfBench: db.prepare(`SELECT count(*) FROM certificates WHERE ${sql.benchId} = ? AND id <= ?`).pluck(),
      // The layout the database has (an older one only in tests that build one, and in QA's verify, which never inserts).
      insert: db.prepare(`INSERT INTO certificates (${stored.join(', ')}) VALUES (${stored.map((c) => `@${c}`).join(', ')})`),
      byId: db.prepare('SELECT * FROM certificates WHERE id = ?'),
      // The stored body as bytes (compressed; JSON text in an older database): the reply is
      // written from the decompressed bytes, without decoding 40 kB of UTF-8 into a string and back.
      rawById: db.prepare(
        `SELECT id, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id, limit_set_version, issued_at,
           ${project.map((c) => `${c}, `).join('')}prev_hash, hash, signature, key_id, CAST(body AS BLOB) AS body FROM certificates WHERE id = ?`,
      ),
      // Answered from the hash's UNIQUE index (a covering scan), never the table's rows; no
      // INDEXED BY: verify must also read a database of another schema (a QA copy).
      allHashes: db.prepare('SELECT id, hash FROM certificates'),
      previousBySerial: db.prepare(`SELECT * FROM certificates WHERE ${sql.where.serial} ORDER BY id DESC LIMIT 1`),
      previousByLink: db.prepare(`SELECT * FROM certificates WHERE ${sql.where.linkId} ORDER BY id DESC LIMIT 1`),
      prevBefore: db.prepare(`SELECT hash FROM certificates WHERE ${sql.benchId} = ? AND id < ? ORDER BY id DESC LIMIT 1`),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    if (key && !db.readonly) {
      // Informational: which keys this database saw sign. Trust comes from the trusted keys file.
      const at = new Date().toISOString();
      db.transaction(() => {
        const added = db.prepare('INSERT OR IGNORE INTO signing_keys (key_id, public_key_pem, first_used_at) VALUES (?, ?, ?)').run(key.keyId, key.publicKeyPem, at).changes;
        // A key rotation goes to the central store with the certificates (where QA pins it or not).
        // (A database of a schema before the outbox, which only tests build and write, has none.)
        if (added === 1 && (db.pragma('user_version', { simple: true }) as number) >= OUTBOX_SCHEMA) new Outbox(db).enqueue('signing-key', null, key.keyId, at);
      })();
    }
  }

  /**
   * Signs, chains and inserts. Call inside the caller's transaction when the job's own row must
   * change in the same commit (see JobStore.complete), so a crash leaves both or neither.
   */
  insert(cert: NewCertificate): StoredCertificate & { benchSequence: number } {
    if (!this.key) throw new Error('this certificate store is read-only (no signing key)');
    const base: Unsigned = {
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
      prev_hash: null,
    };
    const disagree = columnsDisagreeing({ ...base, id: 0, hash: '', signature: '', key_id: '' }, cert.document);
    if (disagree.length > 0) throw new Error(`certificate document disagrees with its fields: ${disagree.join(', ')}`);
    base.prev_hash = (this.stmt.prevOfBench.get(cert.benchId) as { hash: string } | undefined)?.hash ?? null;
    // Hash and signature over the canonical JSON; the row stores it compressed (compact-body.ts).
    const payload = signedPayload(base);
    const row = { ...base, hash: sha256Hex(payload), signature: signBytes(this.key, payload), key_id: this.key.keyId };
    const storedRow = this.compact ? { ...row, project_id: projectIdOf(cert.document), body: compressBody(row.body) } : row;
    const id = Number(this.stmt.insert.run(storedRow).lastInsertRowid);
    this.insertsSeen++;
    const benchSequence = this.stmt.countOfBench.get(cert.benchId, id) as number;
    return { ...fromRow({ ...row, id }), benchSequence };
  }

  get(id: number): StoredCertificate | undefined {
    const row = this.stmt.byId.get(id) as StoredRow | undefined;
    if (!row) return undefined;
    try {
      return fromRow(this.decoded(row));
    } catch {
      return undefined; // a body that cannot be read or is not JSON: see forServing / verify
    }
  }

  /** The canonical JSON a stored body holds (BodyFormatError: it cannot be read, it was altered). */
  private bodyText(stored: Buffer | string): string {
    if (!this.compact) return typeof stored === 'string' ? stored : stored.toString('utf8');
    if (typeof stored === 'string') throw new BodyFormatError('the stored body is text, not a compressed body');
    return decompressBody(stored);
  }

  /** The canonical JSON's bytes of a stored body (not checked to be UTF-8: for replies of verified bodies). */
  private bodyBytes(stored: Buffer | string): Buffer {
    if (!this.compact) return typeof stored === 'string' ? Buffer.from(stored, 'utf8') : stored;
    if (typeof stored === 'string') throw new BodyFormatError('the stored body is text, not a compressed body');
    return decompressBodyBytes(stored);
  }

  private decoded(row: StoredRow): CertificateRow {
    return { ...row, body: this.bodyText(row.body) };
  }

  /**
   * A certificate as the central store receives it: every signed field, the stored body as text
   * (canonical JSON: what the signature covers) and its place in its bench's chain. Read from the
   * row as stored, not re-verified here: the central store verifies against its own pinned keys.
   */
  forShipping(uuid: string): (ShippedCertificate & { storedBody: Buffer }) | undefined {
    const found = this.db.prepare('SELECT id FROM certificates WHERE uuid = ?').get(uuid) as { id: number } | undefined;
    if (!found) return undefined;
    const row = this.stmt.byId.get(found.id) as StoredRow;
    let body: string;
    try {
      body = this.bodyText(row.body);
    } catch {
      body = ''; // a stored body that cannot be read (altered): not JSON, the central store's verification refuses it
    }
    return {
      idOnBench: row.id,
      ...columnFields(row),
      subjectKind: row.subject_kind,
      body,
      prevHash: row.prev_hash,
      hash: row.hash,
      signature: row.signature,
      keyId: row.key_id,
      benchSequence: this.sequenceOf(row.bench_id, row.id),
      // The stored bytes go as they are (the same codec centrally): compressing again costs 8 ms
      // a certificate, and an altered blob arrives as it is stored, for the merge to refuse.
      storedBody: Buffer.isBuffer(row.body) ? row.body : compressBody(String(row.body)),
    };
  }

  /** Whether a row with this id exists, whatever its body holds. */
  exists(id: number): boolean {
    return this.stmt.byId.get(id) !== undefined;
  }

  /** The newest certificate of the same serial or link id (by its signed body): for drift. */
  previousFor(subject: { serial: string | null; linkId: string | null }): StoredCertificate | undefined {
    const row = (subject.serial !== null ? this.stmt.previousBySerial.get({ serial: subject.serial }) : this.stmt.previousByLink.get({ linkId: subject.linkId ?? '' })) as StoredRow | undefined;
    if (!row) return undefined;
    try {
      return fromRow(this.decoded(row));
    } catch {
      return undefined;
    }
  }

  /**
   * A certificate to serve, read ONCE: what verifying these very bytes found, and the reply built
   * from the same read (so a row changed between a check and the send cannot go out as checked).
   * `json`: GET /certificates/:id's JSON reply as bytes: the head (ids, verdict, limit set,
   * signature, integrity) and the stored canonical JSON (decompressed from the same read), exactly
   * what was signed. `certificate`: parsed, for the page and CSV; undefined when the body cannot be
   * read or does not parse.
   */
  forServing(id: number): { integrity: Integrity; json: Buffer | undefined; certificate: StoredCertificate | undefined; storedBody: string } | undefined {
    const raw = this.stmt.rawById.get(id) as StoredRow | undefined;
    if (!raw) return undefined;
    const cached = this.integrityCache.get(id);
    let integrity: Integrity;
    if (cached && cached.digest === this.digestOf(raw, raw.body)) integrity = cached.integrity;
    else {
      const problems = this.verifyRows([raw]);
      integrity = problems.length === 0 ? VALID : { valid: false, problems };
    }
    // The canonical JSON's bytes, decompressed once (undefined: the stored body cannot be read).
    let bytes: Buffer | undefined;
    try {
      bytes = this.bodyBytes(raw.body);
    } catch {
      bytes = undefined;
    }
    let row: CertificateRow | undefined | null;
    const parsedRow = (): CertificateRow | undefined => {
      if (row === undefined) {
        try {
          row = this.decoded(raw);
        } catch {
          row = null;
        }
      }
      return row ?? undefined;
    };
    // A valid certificate's columns are what its signed body says (verification compared them),
    // so the head is built from them; a failing one's head shows what its body says, if it parses.
    let head: ReturnType<typeof columnFields> | undefined = integrity.valid ? columnFields(raw) : undefined;
    if (!integrity.valid) {
      try {
        const d = JSON.parse(parsedRow()!.body) as unknown;
        if (typeof d === 'object' && d !== null && !Array.isArray(d)) head = fromRow(parsedRow()!);
      } catch {
        head = undefined;
      }
    }
    const json = head && bytes
      ? Buffer.concat([Buffer.from(`${replyHead(raw, head, integrity)},"certificate":`), bytes, Buffer.from('}')])
      : undefined;
    let certificate: StoredCertificate | undefined;
    return {
      integrity,
      json,
      get certificate() {
        if (certificate === undefined) {
          try {
            certificate = fromRow(parsedRow()!);
          } catch {
            certificate = undefined;
          }
        }
        return certificate;
      },
      // What is stored, for a page that shows a failing certificate's bytes: the body as text, or,
      // when it cannot even be decompressed, the stored bytes themselves.
      get storedBody() {
        if (bytes) return bytes.toString('utf8');
        const stored = typeof raw.body === 'string' ? Buffer.from(raw.body, 'utf8') : raw.body;
        return `(the stored body cannot be read; its ${stored.length} bytes, base64) ${stored.toString('base64')}`;
      },
    };
  }

  /**
   * One page of certificates, newest first (by issue time, then id), as a JSON array built by
   * SQLite from the signed bodies, with the number of matches. A verdict over a date range (QA's
   * usual question) is answered from the covering list index alone.
   */
  listJson(filter: CertificateFilter): { total: number; itemsJson: string } {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    const add = (clause: string, name: string, value: string | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      params[name] = value;
    };
    const w = this.sql.where;
    add(w.serial, 'serial', filter.serial);
    add(w.linkId, 'linkId', filter.linkId);
    add(w.verdict, 'verdict', filter.verdict);
    add(w.benchId, 'benchId', filter.benchId);
    add(w.limitSetId, 'limitSetId', filter.limitSetId);
    // Matched through certificates_project, whose count is answered from that index alone; a page
    // reads each match's row (about 3 kB, no body decoded) to order it by issue time.
    add(w.projectId, 'projectId', filter.projectId);
    add(w.issuedFrom, 'issuedFrom', filter.issuedFrom);
    add(w.issuedTo, 'issuedTo', filter.issuedTo);
    const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const item = filter.withProject ? this.sql.listItemWithProject : this.sql.listItem;
    const key = `${filter.withProject ? 'p' : ''}${clause}`;
    let statements = this.listStatements.get(key);
    if (!statements) {
      statements = {
        count: this.db.prepare(`SELECT count(*) FROM certificates ${clause}`).pluck(),
        page: this.db.prepare(`SELECT ${item} FROM certificates ${clause} ORDER BY ${this.sql.issuedAt} DESC, id DESC LIMIT @limit OFFSET @offset`).pluck(),
      };
      this.listStatements.set(key, statements);
    }
    const items = statements.page.all({ ...params, limit: filter.limit, offset: filter.offset }) as string[];
    return { total: this.count(clause, params, statements.count), itemsJson: `[${items.join(',')}]` };
  }

  list(filter: CertificateFilter): { total: number; items: CertificateSummary[] } {
    const { total, itemsJson } = this.listJson(filter);
    return { total, items: JSON.parse(itemsJson) as CertificateSummary[] };
  }

  /** Clears the caches when the table may have changed (an insert here, or any other connection's commit). */
  private freshCaches(): void {
    const version = `${this.insertsSeen}/${String(this.stmt.dataVersion.get())}`;
    if (version !== this.cacheVersion) {
      this.countCache.clear();
      this.cacheVersion = version;
    }
  }

  private count(clause: string, params: Record<string, string | number>, statement: Statement): number {
    this.freshCaches();
    if (this.countCache.size >= COUNT_CACHE_ENTRIES) this.countCache.clear();
    const key = `${clause}\u0000${JSON.stringify(params)}`;
    let n = this.countCache.get(key);
    if (n === undefined) {
      n = statement.get(params) as number;
      this.countCache.set(key, n);
    }
    return n;
  }

  /** The trusted keys (from outside the database), for GET /signing-keys. */
  trustedKeys(): TrustedKeys['entries'] {
    return this.trust.entries;
  }

  /**
   * Checks certificates: the body parses and says what the columns say, the content matches its
   * hash, the key is trusted (pinned or rotated to, from outside the database) and the signature
   * is by it, and the link to the previous certificate of its bench holds. `id` checks one;
   * `afterId` checks those after it (start-up, since the last checkpoint); neither checks all,
   * in chunks of `chunk` rows. Returns every problem found.
   */
  verify(opts: { id?: number; afterId?: number } = {}): { checked: number; problems: VerifyProblem[] } {
    if (opts.id !== undefined) {
      const row = this.stmt.byId.get(opts.id) as StoredRow | undefined;
      return { checked: row ? 1 : 0, problems: row ? this.verifyRows([row]) : [] };
    }
    let checked = 0;
    const problems: VerifyProblem[] = [];
    for (const rows of this.chunks(opts.afterId ?? 0)) {
      checked += rows.length;
      problems.push(...this.verifyRows(rows));
    }
    return { checked, problems };
  }

  /** Rows after `afterId`, 1,000 at a time (bounded memory at any table size). */
  *chunks(afterId: number, size = 1000): Generator<StoredRow[]> {
    const page = this.db.prepare('SELECT * FROM certificates WHERE id > ? ORDER BY id LIMIT ?');
    for (let last = afterId; ; ) {
      const rows = page.all(last, size) as StoredRow[];
      if (rows.length === 0) return;
      yield rows;
      last = rows[rows.length - 1]!.id;
    }
  }

  verifyRows(rows: readonly StoredRow[]): VerifyProblem[] {
    const problems: VerifyProblem[] = [];
    for (const row of rows) {
      if (!row) continue;
      const found = this.verifyRow(row);
      this.remember(row, found);
      problems.push(...found);
    }
    return problems;
  }

  private verifyRow(stored: StoredRow): VerifyProblem[] {
    const problems: VerifyProblem[] = [];
    // The body as signed: decompressed (compact-body.ts refuses anything it did not write), then parsed.
    let row: CertificateRow | undefined;
    let unreadable: string | undefined;
    try {
      row = this.decoded(stored);
    } catch (err) {
      unreadable = (err as Error).message;
    }
    let document: unknown;
    try {
      document = row ? JSON.parse(row.body) : undefined;
    } catch {
      document = undefined;
    }
    const isObject = typeof document === 'object' && document !== null && !Array.isArray(document);
    const bodyBench = isObject ? (document as { bench?: { id?: unknown } }).bench?.id : undefined;
    // Problems are filed under the bench the body names and, when the column names another, both:
    // an attacker who edits the bench column must not move a failing certificate off its bench.
    const bench = typeof bodyBench === 'string' ? bodyBench : stored.bench_id;
    const other = bench !== stored.bench_id ? stored.bench_id : undefined;
    const problem = (kind: ProblemKind, detail: string): void =>
      void problems.push({ certificateId: stored.id, problem: kind, detail, bench, ...(other !== undefined ? { otherBench: other } : {}) });
    if (!row || !isObject) {
      problem('content', unreadable !== undefined ? `${unreadable}: it was altered` : document === undefined ? 'the stored body is not valid JSON: it was altered' : 'the stored body is not a JSON object: it was altered');
      return problems;
    }
    const payload = signedPayload(row);
    const disagree = columnsDisagreeing(row, document as Record<string, unknown>);
    // The project column (not signed as a column: certificates before it existed were signed
    // without it) says what the body says, as every other column a list or filter reads.
    if (this.compact) {
      const project = projectIdOf(document as Record<string, unknown>);
      if ((row.project_id ?? null) !== project) disagree.push(`projectId (column ${JSON.stringify(row.project_id ?? null)}, body ${JSON.stringify(project)})`);
    }
    if (disagree.length > 0) problem('content', `columns disagree with the signed body: ${disagree.join('; ')}`);
    if (sha256Hex(payload) !== row.hash) problem('content', 'content does not match its recorded hash');
    const pem = this.trust.publicKeyPem(row.key_id);
    if (pem === undefined) {
      problem('untrusted-key', `signing key ${row.key_id} is not a trusted key (${this.trust.source})`);
    } else if (!verifyBytes(pem, payload, row.signature)) {
      problem('signature', 'signature does not match the content');
    } else {
      const retired = this.trust.retiredAt(row.key_id);
      if (retired !== undefined && row.issued_at > retired) {
        problem('untrusted-key', `signed by key ${row.key_id} at ${row.issued_at}, after it was rotated away at ${retired}: a retired key signs nothing new`);
      }
    }
    const prev = this.stmt.prevBefore.get(bench, row.id) as { hash: string } | undefined;
    if ((prev?.hash ?? null) !== row.prev_hash) {
      problem('chain', `previous-certificate link of bench ${bench} does not match (a certificate before it was changed or removed)`);
    }
    return problems;
  }

  /**
   * Remembers what verifying a row found, under a digest of everything the verification read
   * (every stored field and the hash of the certificate before it): serving it again costs a
   * SHA-256 of the row instead of a full verification, and any change to the row, or to the
   * chain before it, makes the digest differ and the row verified afresh.
   */
  private remember(row: StoredRow, problems: VerifyProblem[]): void {
    if (this.integrityCache.size >= INTEGRITY_CACHE_ENTRIES) this.integrityCache.clear();
    this.integrityCache.set(row.id, { digest: this.digestOf(row, row.body), integrity: problems.length === 0 ? VALID : { valid: false, problems } });
  }

  private digestOf(row: Omit<StoredRow, 'body'>, body: Buffer | string): string {
    // The chain link as of now, found by the bench column: for a certificate that verified, the
    // column is what its signed body says; for any other, a change anywhere re-verifies it.
    const bench = row.bench_id;
    const prev = (this.stmt.prevBefore.get(bench, row.id) as { hash: string } | undefined)?.hash ?? '';
    const h = createHash('sha256');
    for (const v of [row.id, row.uuid, row.bench_id, row.job_id, row.subject_kind, row.serial, row.link_id, row.verdict, row.limit_set_id, row.limit_set_version, row.issued_at, row.project_id ?? null, row.prev_hash, row.hash, row.signature, row.key_id, prev]) {
      const text = v === null ? '\u0000null' : String(v);
      h.update(`${text.length}:`).update(text);
    }
    // The body as stored (compressed): any change to the stored bytes re-verifies.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    h.update(`${bytes.length}:`).update(bytes);
    return h.digest('base64').slice(0, 22);
  }

  /** Completed jobs whose certificate is not in the database. */
  orphanedJobs(): VerifyProblem[] {
    const orphans = this.db
      .prepare(`SELECT j.id AS job, j.certificate_id AS cert FROM jobs j WHERE j.state = 'completed' AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = j.certificate_id)`)
      .all() as { job: string; cert: number | null }[];
    return orphans.map((o) => ({ certificateId: o.cert ?? 0, problem: 'missing', detail: `job ${o.job} completed with this certificate, which is not in the database` }));
  }

  /**
   * The database against checkpoints: EVERY checkpointed certificate is there with the hash the
   * checkpoint names (an id deleted and then reused by a new certificate shows as replaced);
   * no two checkpoints of a bench give one sequence number two hashes (a rewritten chain); and
   * each bench has, up to its newest checkpoint, exactly as many certificates as it says.
   * Deleted newest certificates, or emptied tables, show here and nowhere else.
   */
  compareWithCheckpoints(checkpoints: readonly Checkpoint[]): VerifyProblem[] {
    const problems: VerifyProblem[] = [];
    const bySequence = new Map<string, Checkpoint>();
    const reported = new Set<number>();
    // Every hash in one pass of the primary key: at 100,000 checkpoints, 100,000 single lookups
    // were most of the start-up time.
    const wanted = new Set(checkpoints.map((c) => c.certificateId));
    const hashes = new Map<number, string>();
    for (const r of this.stmt.allHashes.iterate() as Iterable<{ id: number; hash: string }>) if (wanted.has(r.id)) hashes.set(r.id, r.hash);
    for (const c of checkpoints) {
      const key = `${c.bench}\u0000${c.sequence}`;
      const twin = bySequence.get(key);
      if (twin && twin.headHash !== c.headHash) {
        problems.push({ certificateId: c.certificateId, problem: 'checkpoint', bench: c.bench, detail: `two checkpoints give bench ${c.bench} #${c.sequence} different certificates (${twin.certificateId} ${twin.headHash.slice(0, 12)}…, ${c.certificateId} ${c.headHash.slice(0, 12)}…): the chain was rewritten` });
      }
      bySequence.set(key, c);
      if (reported.has(c.certificateId)) continue;
      const hash = hashes.get(c.certificateId);
      if (hash === undefined) {
        reported.add(c.certificateId);
        problems.push({ certificateId: c.certificateId, problem: 'missing', bench: c.bench, detail: `checkpoint of ${c.at} names certificate ${c.certificateId} (bench ${c.bench} #${c.sequence}); it is not in the database: certificates were removed` });
      } else if (hash !== c.headHash) {
        reported.add(c.certificateId);
        problems.push({ certificateId: c.certificateId, problem: 'checkpoint', bench: c.bench, detail: `checkpoint of ${c.at} names hash ${c.headHash} for certificate ${c.certificateId}; the database holds ${hash}: it was replaced` });
      }
    }
    for (const [bench, c] of latestOf(checkpoints)) {
      if (reported.has(c.certificateId)) continue;
      const upTo = this.stmt.countOfBench.get(bench, c.certificateId) as number;
      if (upTo !== c.sequence) {
        problems.push({
          certificateId: c.certificateId,
          problem: 'missing',
          bench,
          detail: `checkpoint of ${c.at} says bench ${bench} had ${c.sequence} certificate(s) up to certificate ${c.certificateId}; the database holds ${upTo}: certificates were removed`,
        });
      }
    }
    return problems;
  }

  /** The hash of the newest certificate of a bench (by its signed body), or null. */
  headOf(benchId: string): string | null {
    return (this.stmt.prevOfBench.get(benchId) as { hash: string } | undefined)?.hash ?? null;
  }

  /** A bench's certificates after `afterId` (by the signed body), oldest first. */
  afterOf(benchId: string, afterId: number): { id: number; hash: string; issuedAt: string }[] {
    return this.db
      .prepare(`SELECT id, hash, issued_at AS issuedAt FROM certificates WHERE ${this.sql.benchId} = ? AND id > ? ORDER BY id`)
      .all(benchId, afterId) as { id: number; hash: string; issuedAt: string }[];
  }

  /** How many certificates the bench has up to and including this one: its checkpoint sequence. */
  sequenceOf(benchId: string, id: number): number {
    return this.stmt.countOfBench.get(benchId, id) as number;
  }

  /** Benches that have certificates (by the signed body). */
  benches(): string[] {
    return this.db.prepare(`SELECT DISTINCT ${this.sql.benchId} FROM certificates`).pluck().all() as string[];
  }
}
