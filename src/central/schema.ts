import type { Pool, PoolClient } from 'pg';

/**
 * The central QA store's schema in PostgreSQL, as migrations applied in order (a migration is
 * never edited once released; add one). Applied under an advisory lock, so a hub and a hundred
 * benches starting at once migrate once.
 *
 * - `inbox`: what benches ship (replicator.ts), as received, at least once: idempotent on
 *   (kind, ref) = the certificate's uuid, the job's id, the key's id. Benches only ever INSERT here.
 * - `certificates`: what the merge (merge.ts) verified against QA's pinned keys and the bench's
 *   chain: one row per certificate, unique on its uuid and on (site, bench, sequence). The body is
 *   the bench's canonical JSON in the compact codec (store/compact-body.ts): hash and signature
 *   are over the canonical bytes, so the row verifies exactly as it did on the bench.
 * - `quarantine`: what arrived and was not merged, with the reason (unpinned key, broken chain
 *   link, a second certificate for a sequence, a body that is not what was signed). Never merged.
 * - `job_aborts`, `signing_keys`: what benches report besides certificates (informational: trust
 *   comes from the hub's pinned keys, never from this table).
 * - `bench_heads`: each bench's merged chain head (sequence, hash, signing key, issue time).
 * - `rejudgements`: QA's re-evaluations of stored certificates against another limit set, kept as
 *   their own records (the certificates never change).
 *
 * A bench is (site, bench id): two factories may both have a "bench1".
 */
export const CENTRAL_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE inbox (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('certificate', 'job-aborted', 'signing-key')),
    ref          text NOT NULL,
    site         text NOT NULL,
    bench_id     text,
    bench_seq    bigint,
    fields       jsonb NOT NULL,
    body         bytea,
    received_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, ref)
  );
  CREATE INDEX inbox_chain ON inbox (site, bench_id, bench_seq) WHERE kind = 'certificate';

  CREATE TABLE certificates (
    uuid               uuid PRIMARY KEY,
    site               text NOT NULL,
    bench_id           text NOT NULL,
    bench_seq          bigint NOT NULL,
    id_on_bench        bigint NOT NULL,
    job_id             text NOT NULL,
    subject_kind       text NOT NULL,
    serial             text,
    link_id            text,
    project_id         text,
    verdict            text NOT NULL,
    limit_set_id       text NOT NULL,
    limit_set_version  text NOT NULL,
    issued_at          text NOT NULL,
    prev_hash          bytea,
    hash               bytea NOT NULL,
    signature          bytea NOT NULL,
    key_id             bytea NOT NULL,
    body               bytea NOT NULL,
    merged_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (site, bench_id, bench_seq)
  );
  -- The body is compressed already: stored as it is, out of line, no second compression attempt.
  ALTER TABLE certificates ALTER COLUMN body SET STORAGE EXTERNAL;
  CREATE INDEX certificates_serial ON certificates (serial, issued_at) WHERE serial IS NOT NULL;
  CREATE INDEX certificates_link ON certificates (link_id, issued_at) WHERE link_id IS NOT NULL;
  CREATE INDEX certificates_project ON certificates (project_id, issued_at) WHERE project_id IS NOT NULL;
  CREATE INDEX certificates_verdict_issued ON certificates (verdict, issued_at);
  CREATE INDEX certificates_issued ON certificates (issued_at);

  CREATE TABLE quarantine (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    ref             text NOT NULL,
    site            text NOT NULL,
    bench_id        text,
    bench_seq       bigint,
    fields          jsonb NOT NULL,
    body            bytea,
    problem         text NOT NULL,
    received_at     timestamptz NOT NULL,
    quarantined_at  timestamptz NOT NULL DEFAULT now()
  );
  CREATE INDEX quarantine_bench ON quarantine (site, bench_id, bench_seq);

  CREATE TABLE job_aborts (
    job_id    text PRIMARY KEY,
    site      text NOT NULL,
    bench_id  text NOT NULL,
    state     text NOT NULL,
    reason    text,
    operator  text NOT NULL,
    started_at text NOT NULL,
    ended_at  text
  );

  CREATE TABLE signing_keys (
    key_id          text PRIMARY KEY,
    site            text NOT NULL,
    public_key_pem  text NOT NULL,
    first_used_at   text NOT NULL
  );

  CREATE TABLE bench_heads (
    site       text NOT NULL,
    bench_id   text NOT NULL,
    seq        bigint NOT NULL,
    hash       bytea NOT NULL,
    PRIMARY KEY (site, bench_id)
  );

  CREATE TABLE rejudgements (
    id                 bigserial PRIMARY KEY,
    created_at         timestamptz NOT NULL DEFAULT now(),
    created_by         text NOT NULL,
    limit_set_id       text NOT NULL,
    limit_set_version  text NOT NULL,
    selection          jsonb NOT NULL,
    report             jsonb NOT NULL
  );
  `,
  // 2: QA's search by bench (any site) and by the limit set that judged. Few distinct values
  // each: B-tree deduplication keeps them to a few bytes a certificate (about 8), where
  // (bench_id, issued_at) and (limit_set_id, issued_at) took 90 and 98 (measured: 24-fiber
  // certificates must stay within 4,000 bytes with every index, test/central/storage.test.ts).
  // A page of the newest is read through certificates_issued, filtered, or these and a sort.
  `
  CREATE INDEX certificates_bench ON certificates (bench_id);
  CREATE INDEX certificates_limit_set ON certificates (limit_set_id);
  `,
  // 3: a bench's chain is signed by one key and its rotation successors, in time order: the head
  // remembers the key and issue time of the bench's newest merged certificate.
  `
  ALTER TABLE bench_heads ADD COLUMN key_id bytea, ADD COLUMN issued_at text;
  UPDATE bench_heads h SET key_id = c.key_id, issued_at = c.issued_at
    FROM certificates c WHERE c.site = h.site AND c.bench_id = h.bench_id AND c.bench_seq = h.seq;
  `,
];

/** An arbitrary, fixed advisory-lock key: "mpocert central schema". */
const MIGRATION_LOCK = 7_351_420_011;

/** Brings the central database to the current schema; safe to call from many processes at once. */
export async function migrateCentral(pool: Pool): Promise<number> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS mpocert_schema (version integer NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM mpocert_schema')).rows[0];
    let version = row?.version ?? 0;
    if (!row) await client.query('INSERT INTO mpocert_schema (version) VALUES (0)');
    if (version > CENTRAL_MIGRATIONS.length) {
      throw new Error(`the central database is at schema ${version}, newer than this mpocert knows (${CENTRAL_MIGRATIONS.length}): upgrade mpocert`);
    }
    for (; version < CENTRAL_MIGRATIONS.length; version++) await client.query(CENTRAL_MIGRATIONS[version]!);
    await client.query('UPDATE mpocert_schema SET version = $1', [version]);
    await client.query('COMMIT');
    return version;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
