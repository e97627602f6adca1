import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BODY, BODY_INDEXES } from './certificate-sql.js';
import { MpocertError } from '../errors.js';
import { compressBodyBytes } from './compact-body.js';
import { signedPayload, type SignedRow } from './signed-payload.js';
import { sha256Hex } from './signing-key.js';

export type Db = Database.Database;

/**
 * Where the compact-bodies migration (the last below, for now) hands over to convertCertificateBodies:
 * its SQL before this line runs, then the conversion, then the rest. Replayed as plain SQL (the
 * schema guard rebuilds each version's schema in an empty database) it is a comment.
 */
const COMPACT_BODIES_STEP = '-- mpocert: convertCertificateBodies fills temp.certificates_compact here';

/**
 * Schema migrations, applied in order; PRAGMA user_version records how many have run. A
 * migration is never edited once released: add a new one. Each runs in its own transaction.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE certificates (
    id                INTEGER PRIMARY KEY,
    uuid              TEXT NOT NULL UNIQUE,
    bench_id          TEXT NOT NULL,
    job_id            TEXT NOT NULL UNIQUE,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('assembly', 'link')),
    serial            TEXT,
    link_id           TEXT,
    verdict           TEXT NOT NULL,
    limit_set_id      TEXT NOT NULL,
    limit_set_version TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    body              TEXT NOT NULL,
    prev_hash         TEXT,
    hash              TEXT NOT NULL UNIQUE,
    signature         TEXT NOT NULL,
    key_id            TEXT NOT NULL
  );
  CREATE INDEX certificates_serial ON certificates (serial);
  CREATE INDEX certificates_link ON certificates (link_id);
  CREATE INDEX certificates_bench ON certificates (bench_id, id);
  CREATE INDEX certificates_issued ON certificates (issued_at, verdict);
  -- Certificates are append-only: an edit must go around the daemon, and verify will see it.
  CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;
  CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;

  CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    bench_id       TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('running', 'completed', 'aborted', 'interrupted')),
    request        TEXT NOT NULL,
    operator       TEXT NOT NULL,
    started_at     TEXT NOT NULL,
    ended_at       TEXT,
    reason         TEXT,
    certificate_id INTEGER REFERENCES certificates (id)
  );
  CREATE INDEX jobs_bench ON jobs (bench_id, started_at);

  -- Every key that ever signed a certificate, so old certificates stay verifiable after a new key.
  CREATE TABLE signing_keys (
    key_id         TEXT PRIMARY KEY,
    public_key_pem TEXT NOT NULL,
    first_used_at  TEXT NOT NULL
  );

  CREATE TABLE bench_references (
    id        INTEGER PRIMARY KEY,
    bench_id  TEXT NOT NULL,
    taken_at  TEXT NOT NULL,
    body      TEXT NOT NULL
  );
  CREATE INDEX bench_references_latest ON bench_references (bench_id, id);
  `,
  `
  -- Matings of each test cord and bench port with a device under test, and when it was last
  -- re-verified (wear counts from there).
  CREATE TABLE cord_matings (
    cord_id                     TEXT PRIMARY KEY,
    mating_count                INTEGER NOT NULL DEFAULT 0,
    reverified_at_mating_count  INTEGER,
    reverified_at               TEXT,
    reverified_by               TEXT,
    updated_at                  TEXT NOT NULL
  );
  `,
  `
  -- QA's list query (a verdict over a date range): the verdict first narrows to an exact range.
  CREATE INDEX certificates_verdict_issued ON certificates (verdict, issued_at);
  `,
  `
  -- What QA's lists, filters and the chains read of a certificate comes from its signed body,
  -- through expression indexes (certificate-sql.ts): the list of a verdict over a date range is
  -- answered from an index alone, already in page order, and editing a column shows nowhere.
  DROP INDEX certificates_verdict_issued;
  DROP INDEX certificates_serial;
  DROP INDEX certificates_link;
  DROP INDEX certificates_bench;
  DROP INDEX certificates_issued;
  ${BODY_INDEXES}
  `,
  `
  -- Each verification of a test cord as reference grade, measured by the bench against its
  -- reference plug: what a certificate relies on (rule cord-verified). Append-only.
  CREATE TABLE cord_verifications (
    id            TEXT PRIMARY KEY,
    bench_id      TEXT NOT NULL,
    cord_id       TEXT NOT NULL,
    at            TEXT NOT NULL,
    mating_count  INTEGER NOT NULL,
    against       TEXT NOT NULL,
    by            TEXT NOT NULL,
    body          TEXT NOT NULL
  );
  CREATE INDEX cord_verifications_latest ON cord_verifications (cord_id, at);
  CREATE TRIGGER cord_verifications_no_update BEFORE UPDATE ON cord_verifications
    BEGIN SELECT RAISE(ABORT, 'cord verifications are append-only'); END;
  `,
  `
  -- People and their roles (operator: reference, certify and confirm on named benches; qa: read,
  -- verify, export; admin: everything). Only a hash of each token is stored.
  CREATE TABLE users (
    name        TEXT PRIMARY KEY,
    role        TEXT NOT NULL CHECK (role IN ('operator', 'qa', 'admin')),
    benches     TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL,
    disabled_at TEXT
  );
  `,
  `
  -- QA's acknowledgement that they looked at a certificate failing verification: the bench may
  -- issue again; the certificate still fails verification. Append-only.
  CREATE TABLE custody_acknowledgements (
    certificate_id INTEGER NOT NULL,
    problem        TEXT NOT NULL,
    by             TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL
  );
  CREATE TRIGGER custody_acknowledgements_no_update BEFORE UPDATE ON custody_acknowledgements
    BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
  CREATE TRIGGER custody_acknowledgements_no_delete BEFORE DELETE ON custody_acknowledgements
    BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END;
  `,
  `
  -- An installer's project (site): the links planned for it, as imported from a cable schedule.
  -- A certificate names its project in its signed body ($.project.id, indexed below); the plan
  -- says what was to be tested, the certificates what was.
  CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    site        TEXT,
    created_at  TEXT NOT NULL,
    created_by  TEXT NOT NULL
  );
  CREATE TABLE planned_links (
    project_id   TEXT NOT NULL REFERENCES projects (id),
    link_id      TEXT NOT NULL,
    position     INTEGER NOT NULL,
    body         TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    imported_by  TEXT NOT NULL,
    PRIMARY KEY (project_id, link_id)
  );
  CREATE INDEX certificates_body_project ON certificates (${BODY.projectId}, id);
  `,
  `
  -- What the central QA store still has to receive (replication to PostgreSQL): one row per
  -- certificate, job abort and signing key, written in the same transaction that creates it, so
  -- nothing can be created without being queued. It names what to ship (the row stays where it
  -- is) and is deleted once the central store has committed it: the table holds the backlog only.
  CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('certificate', 'job-aborted', 'signing-key')),
    bench_id    TEXT,
    ref         TEXT NOT NULL,
    created_at  TEXT NOT NULL
  );
  -- Rows already in the database when replication was added are queued too: the central store
  -- gets every bench's whole history, in order.
  INSERT INTO outbox (kind, bench_id, ref, created_at)
    SELECT 'signing-key', NULL, key_id, first_used_at FROM signing_keys ORDER BY first_used_at, key_id;
  INSERT INTO outbox (kind, bench_id, ref, created_at)
    SELECT 'certificate', bench_id, uuid, issued_at FROM certificates ORDER BY id;
  INSERT INTO outbox (kind, bench_id, ref, created_at)
    SELECT 'job-aborted', bench_id, id, COALESCE(ended_at, started_at) FROM jobs WHERE state IN ('aborted', 'interrupted') ORDER BY COALESCE(ended_at, started_at), id;
  `,
  `
  -- Certificate bodies stored compressed (compact-body.ts: a format byte, then brotli: the 38 kB
  -- of canonical JSON of a 24-fiber, two-wavelength certificate in 2.4 kB). The hash and the
  -- signature still cover the canonical JSON: every certificate verifies exactly as before. SQL
  -- cannot read a compressed body, so lists, filters and chain lookups read the columns, which
  -- verification compares with the body (certificate-sql.ts); project_id is new, the project the
  -- body names. The table is rebuilt through a staging table that convertCertificateBodies fills
  -- (brotli is not in SQLite), after every body was checked against its hash: an altered
  -- certificate QA has not acknowledged stops the migration, which then changes nothing.
  CREATE TEMP TABLE certificates_compact (
    id INTEGER PRIMARY KEY, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
    limit_set_version, issued_at, project_id, prev_hash, hash, signature, key_id, body
  );
  ${COMPACT_BODIES_STEP}
  -- The jobs rows keep pointing at their certificates: checked at commit, once every row is back.
  PRAGMA defer_foreign_keys = ON;
  DROP TABLE certificates;
  CREATE TABLE certificates (
    id                INTEGER PRIMARY KEY,
    uuid              TEXT NOT NULL UNIQUE,
    bench_id          TEXT NOT NULL,
    job_id            TEXT NOT NULL UNIQUE,
    subject_kind      TEXT NOT NULL CHECK (subject_kind IN ('assembly', 'link')),
    serial            TEXT,
    link_id           TEXT,
    verdict           TEXT NOT NULL,
    limit_set_id      TEXT NOT NULL,
    limit_set_version TEXT NOT NULL,
    issued_at         TEXT NOT NULL,
    project_id        TEXT,
    prev_hash         TEXT,
    hash              TEXT NOT NULL UNIQUE,
    signature         TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    body              BLOB NOT NULL CHECK (typeof(body) = 'blob')
  );
  INSERT INTO certificates (id, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
      limit_set_version, issued_at, project_id, prev_hash, hash, signature, key_id, body)
    SELECT id, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
      limit_set_version, issued_at, project_id, prev_hash, hash, signature, key_id, body
    FROM temp.certificates_compact ORDER BY id;
  DROP TABLE temp.certificates_compact;
  -- QA's list of a verdict over a date range, its items and its count, from this index alone.
  CREATE INDEX certificates_list ON certificates (verdict, issued_at, id, uuid, bench_id, subject_kind, serial, link_id,
    limit_set_id, limit_set_version, project_id);
  CREATE INDEX certificates_issued ON certificates (issued_at, id);
  CREATE INDEX certificates_bench ON certificates (bench_id, id);
  CREATE INDEX certificates_serial ON certificates (serial, id) WHERE serial IS NOT NULL;
  CREATE INDEX certificates_link ON certificates (link_id, id) WHERE link_id IS NOT NULL;
  CREATE INDEX certificates_project ON certificates (project_id, id) WHERE project_id IS NOT NULL;
  -- Certificates are append-only: an edit must go around the daemon, and verify will see it.
  CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;
  CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The first schema of the custody release (trusted keys file, checkpoints): a database below it
 * was written by an mpocert that kept neither, and is adopted on its first start (see custody.ts).
 */
export const FIRST_CUSTODY_SCHEMA = 4;

/** The first schema that stores certificate bodies compressed (compact-body.ts); below it they are JSON text. */
export const COMPACT_BODY_SCHEMA = MIGRATIONS.findIndex((m) => m.includes(COMPACT_BODIES_STEP)) + 1;

/**
 * A new database's page size. A compressed certificate row is about 3 kB (a 24-fiber,
 * two-wavelength certificate): five fill a 16 kB page, where at SQLite's default 4 kB each would
 * take a page of its own (4.1 kB a certificate before its indexes). An existing database keeps
 * its page size (a WAL database cannot change it; VACUUM in rollback mode can).
 */
export const PAGE_SIZE = 16384;

/** The schema version of a database file, read without migrating it (0 for a new file). */
export function schemaVersionOf(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

/**
 * Opens (creating) a database and brings its schema up to date. `migrate: false` leaves that to
 * the caller (migrateDatabase): the daemon first reports and restores the schema's guards.
 */
export function openDatabase(path: string, opts: { migrate?: boolean } = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  if ((db.pragma('page_count', { simple: true }) as number) === 0) db.pragma(`page_size = ${PAGE_SIZE}`);
  // WAL: readers (HTTP) never block the writer (jobs); synchronous=FULL so a committed
  // certificate survives a power cut, not just a process crash.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  if (opts.migrate !== false) {
    try {
      migrateDatabase(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }
  return db;
}

/** Applies the migrations the database has not had, each in its own transaction. */
export function migrateDatabase(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this mpocert understands (${MIGRATIONS.length}); upgrade mpocert`,
    );
  }
  // The compact-bodies migration refuses a database with an altered certificate: found before
  // any migration runs, so a refused database is left exactly as it was.
  if (current < COMPACT_BODY_SCHEMA - 1) inspectForCompaction(db, current);
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const sql = MIGRATIONS[v]!;
      const at = sql.indexOf(COMPACT_BODIES_STEP);
      if (at < 0) db.exec(sql);
      else {
        db.exec(sql.slice(0, at));
        convertCertificateBodies(db, v);
        db.exec(sql.slice(at + COMPACT_BODIES_STEP.length));
      }
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/**
 * The compact-bodies migration's conversion (inside its transaction): every certificate row into
 * temp.certificates_compact, its body compressed byte for byte as stored, its project read from
 * the body. First inspectForCompaction: nothing is converted if one body fails its hash.
 */
function convertCertificateBodies(db: Db, version: number): void {
  const { acknowledged } = inspectForCompaction(db, version);
  const insert = db.prepare(
    `INSERT INTO temp.certificates_compact (id, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id,
       limit_set_version, issued_at, project_id, prev_hash, hash, signature, key_id, body)
     VALUES (@id, @uuid, @bench_id, @job_id, @subject_kind, @serial, @link_id, @verdict, @limit_set_id,
       @limit_set_version, @issued_at, @project_id, @prev_hash, @hash, @signature, @key_id, @body)`,
  );
  for (const rows of legacyRows(db)) {
    for (const row of rows) {
      // Checked again as converted (the same transaction as the inspection: nothing changed since).
      if (hashFailure(row) !== undefined && !acknowledged.has(row.id)) throw new Error(`certificate ${row.id} fails its hash: not converted`);
      insert.run({ ...row, body: compressBodyBytes(row.body, 'conversion') });
    }
  }
}

/** A certificate row from before the compact-bodies migration: the signed fields, and what the old schema stored beside them. */
interface LegacyRow extends Omit<SignedRow, 'body'> {
  id: number;
  /** What the body names as its project, read by SQLite from the JSON text (null: none, or not JSON). */
  project_id: string | null;
  hash: string;
  signature: string;
  key_id: string;
  /** The stored body's bytes, exactly (TEXT read as its UTF-8 bytes; a BLOB as it is). */
  body: Buffer;
}

/** Every row of a certificates table from before the compact-bodies migration, 500 at a time. */
function* legacyRows(db: Db): Generator<LegacyRow[]> {
  const page = db.prepare(
    `SELECT id, uuid, bench_id, job_id, subject_kind, serial, link_id, verdict, limit_set_id, limit_set_version, issued_at,
       CASE WHEN typeof(body) = 'text' THEN CASE WHEN json_valid(body) THEN
         CASE WHEN json_type(body, '$.project.id') = 'text' THEN json_extract(body, '$.project.id') END END END AS project_id,
       prev_hash, hash, signature, key_id, CAST(body AS BLOB) AS body
     FROM certificates WHERE id > ? ORDER BY id LIMIT 500`,
  );
  for (let last = -Infinity; ; ) {
    const rows = page.all(last) as LegacyRow[];
    if (rows.length === 0) return;
    yield rows;
    last = rows[rows.length - 1]!.id;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Why a legacy row's stored body and columns do not match its recorded hash, or undefined. */
function hashFailure(row: LegacyRow): string | undefined {
  let text: string;
  try {
    text = strictUtf8.decode(row.body);
  } catch {
    return 'its body is not UTF-8 text';
  }
  return sha256Hex(signedPayload({ ...row, body: text })) === row.hash ? undefined : 'its content does not match its recorded hash';
}

/**
 * What the compact-bodies migration refuses to convert, as an auditor expects of a migration
 * that rewrites how every certificate is stored: it must never be the moment evidence is lost.
 *
 * - A certificate whose stored body and columns fail its recorded hash (altered outside
 *   mpocert): refused, unless QA has acknowledged its `content` problem (custody_acknowledgements,
 *   `mpocert custody acknowledge`): then QA has looked, and it is converted with its stored bytes
 *   exactly as they are, so it keeps failing verification, with the acknowledgement beside it.
 * - The certificates table's triggers and indexes changed from what mpocert created (a guard
 *   dropped, a trigger added): rebuilding the table would silently put them back or drop them.
 *   The daemon reports and restores them before it migrates (openCustody); anything else that
 *   opens the database first is refused.
 *
 * A refusal changes nothing (the migrations have not started, or their transaction rolls back).
 * Signatures and chains are not judged here (the trusted keys are not known to the database):
 * they verify after the migration exactly as before it, since hash, signature and the canonical
 * bytes are unchanged.
 */
function inspectForCompaction(db: Db, version: number): { acknowledged: Set<number> } {
  const acknowledged = new Set<number>();
  const hasTable = (name: string): boolean => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
  if (!hasTable('certificates')) return { acknowledged };
  if (hasTable('custody_acknowledgements')) {
    for (const id of db.prepare("SELECT DISTINCT certificate_id FROM custody_acknowledgements WHERE problem IN ('content', '*')").pluck().all() as number[]) acknowledged.add(id);
  }
  const guards = certificateGuardChanges(db, version);
  const altered: string[] = [];
  let count = 0;
  for (const rows of legacyRows(db)) {
    for (const row of rows) {
      count++;
      const why = hashFailure(row);
      if (why !== undefined && !acknowledged.has(row.id)) altered.push(`certificate ${row.id} (bench ${row.bench_id}): ${why}`);
    }
  }
  if (altered.length === 0 && guards.length === 0) return { acknowledged };
  const file = db.name;
  const parts: string[] = [];
  if (altered.length > 0) {
    parts.push(
      `${altered.length} of its ${count} certificate(s) were altered outside mpocert (${altered.slice(0, 10).join('; ')}${altered.length > 10 ? `; and ${altered.length - 10} more` : ''}). ` +
        `Audit the database as it is (read-only): mpocert verify --db ${file} --trust QA-TRUSTED-KEYS --checkpoints QA-CHECKPOINTS, and keep a copy as evidence. ` +
        'To go on with this database, QA acknowledges each one with the mpocert release that wrote it (mpocert custody acknowledge --certificate N --problem content --reason "..."): ' +
        'an acknowledged certificate is converted with its stored bytes as they are and keeps failing verification. Or restore the database from a backup made before the alteration',
    );
  }
  if (guards.length > 0) {
    parts.push(`the certificates table's guards were changed outside mpocert (${guards.join('; ')}): start the daemon (mpocert serve), which reports and restores them before it upgrades the database`);
  }
  throw new MpocertError(
    'MIGRATION_REFUSED',
    `cannot convert the database ${file} to compact certificate bodies (schema ${COMPACT_BODY_SCHEMA}); nothing was changed, it stays at schema ${db.pragma('user_version', { simple: true }) as number}: ${parts.join('. ')}`,
    { database: file },
  );
}

/** The certificates table's triggers and indexes that differ from what the migrations up to `version` create. */
function certificateGuardChanges(db: Db, version: number): string[] {
  const query = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'certificates' AND type IN ('index', 'trigger') AND sql IS NOT NULL";
  const fresh = new Database(':memory:');
  let want: Map<string, string>;
  try {
    for (const sql of MIGRATIONS.slice(0, version)) fresh.exec(sql);
    want = new Map((fresh.prepare(query).all() as { name: string; sql: string }[]).map((o) => [o.name, o.sql]));
  } finally {
    fresh.close();
  }
  const have = new Map((db.prepare(query).all() as { type: string; name: string; sql: string }[]).map((o) => [o.name, o]));
  const changes: string[] = [];
  for (const [name, sql] of want) {
    const found = have.get(name);
    if (found?.sql !== sql) changes.push(`${name} ${found ? 'altered' : 'dropped'}`);
  }
  for (const [name, o] of have) if (!want.has(name)) changes.push(`a ${o.type} ${name} added`);
  return changes;
}
