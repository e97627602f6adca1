import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { BODY, BODY_INDEXES } from './certificate-sql.js';

export type Db = Database.Database;

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
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The first schema of the custody release (trusted keys file, checkpoints): a database below it
 * was written by an mpocert that kept neither, and is adopted on its first start (see custody.ts).
 */
export const FIRST_CUSTODY_SCHEMA = 4;

/** The schema version of a database file, read without migrating it (0 for a new file). */
export function schemaVersionOf(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

export function openDatabase(path: string): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // WAL: readers (HTTP) never block the writer (jobs); synchronous=FULL so a committed
  // certificate survives a power cut, not just a process crash.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this mpocert understands (${MIGRATIONS.length}); upgrade mpocert`,
    );
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
