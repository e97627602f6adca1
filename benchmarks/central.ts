/**
 * The central QA store at scale, each figure beside a baseline from the same run, on a private
 * PostgreSQL cluster (Debian's postgresql, started for the run and removed after it):
 *
 * - ingest: B simulated benches (each its own SQLite store with N signed certificates, as a
 *   daemon's, and its own Replicator with its own connection) ship at once into one PostgreSQL:
 *   certificates/s committed into the central inbox, against a bare `INSERT ... ON CONFLICT DO
 *   NOTHING` of the same rows (same batches, same number of concurrent connections).
 * - merge: the hub's merge (verify each certificate against the pinned keys and the chain, then
 *   insert it): certificates/s; and the full chain verification of every bench (GET-side check).
 * - scale: S certificates in PostgreSQL (1,000,000 with --large), filled by SQL from the genuine
 *   certificate's stored row (so rows have real sizes; they are not verifiable, their uuid and
 *   serial differ from what was signed): QA search p50/p99 over HTTP from the hub (by serial, by
 *   verdict over a month, by project, by site + bench) against the bare SQL of the same search;
 *   a CSV export of 100,000 through the hub (each row read and checked, as QA gets it); re-judging
 *   100,000 stored certificates against a new limit set version; bytes per certificate.
 *
 *   npm run build && node dist/benchmarks/central.js [--large]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import pino from 'pino';
import { startHub } from '../src/central/hub.js';
import { mergeInbox } from '../src/central/merge.js';
import { Replicator } from '../src/central/replicator.js';
import { migrateCentral } from '../src/central/schema.js';
import { rejudgeDocument } from '../src/central/rejudge.js';
import { verifyChain } from '../src/central/chain-verify.js';
import { loadCentralTrust } from '../src/central/central-trust.js';
import { loadLimitLibrary } from '../src/evaluation/index.js';
import { CertificateStore, type CertificateDocument } from '../src/store/certificate-store.js';
import { decompressBody } from '../src/store/compact-body.js';
import { openDatabase, type Db } from '../src/store/database.js';
import { JobStore } from '../src/store/job-store.js';
import { Outbox } from '../src/store/outbox.js';
import { loadOrCreateSigningKey } from '../src/store/signing-key.js';
import { TrustedKeys, writeTrustedKeys } from '../src/store/trusted-keys.js';
import { startPostgres } from '../fixtures/harness/postgres.js';
import { captureTemplate, nthCertificate, type TemplateCertificate } from './support/dataset.js';
import { percentile, progress, round, tempDir } from './support/harness.js';

export interface CentralBenchResult {
  ingest: { benches: number; certificates: number; seconds: number; perSec: number; bareSeconds: number; barePerSec: number; ratio: number };
  merge: { certificates: number; seconds: number; perSec: number };
  chainVerification: { certificates: number; seconds: number; perSec: number };
  scale: {
    certificates: number;
    fillSeconds: number;
    bytesPerCertificate: number;
    tableBytes: number;
    indexBytes: number;
    search: { kind: string; queries: number; p50Ms: number; p99Ms: number; bareP50Ms: number; bareP99Ms: number }[];
    export: { certificates: number; seconds: number; perSec: number; bytes: number };
    rejudge: { certificates: number; seconds: number; perSec: number; changedVerdicts: number };
  };
}

interface Bench {
  site: string;
  dir: string;
  db: Db;
  store: CertificateStore;
  outbox: Outbox;
}

/** One bench's store filled as its daemon would: each certificate in its own job transaction. */
function fillBench(dir: string, site: string, t: TemplateCertificate, base: number, n: number, total: number): Bench {
  mkdirSync(dir, { recursive: true });
  const db = openDatabase(join(dir, 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(dir, 'key.pem'));
  const pinned = TrustedKeys.pin(key, '2025-01-01T00:00:00.000Z');
  writeTrustedKeys(join(dir, 'trusted-keys.json'), pinned);
  const store = new CertificateStore(db, key, new TrustedKeys(pinned, site));
  const jobs = new JobStore(db, store);
  for (let k = 0; k < n; k++) {
    const c = nthCertificate(t, base + k, total);
    const cert = { ...c, benchId: 'b1', document: { ...c.document, bench: { ...(c.document as { bench: Record<string, unknown> }).bench, id: 'b1' } } };
    jobs.start({ id: cert.jobId, benchId: 'b1', request: { serial: cert.serial }, operator: 'bench', startedAt: cert.issuedAt });
    jobs.complete(cert.jobId, cert, cert.issuedAt);
  }
  return { site, dir, db, store, outbox: new Outbox(db) };
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export async function benchCentral(opts: { benches?: number; perBench?: number; scale?: number; queries?: number } = {}): Promise<CentralBenchResult> {
  const B = opts.benches ?? 100;
  const N = opts.perBench ?? 20;
  const S = opts.scale ?? 100_000;
  const Q = opts.queries ?? 200;
  const tmp = tempDir('mpocert-bench-central-');
  const cluster = await startPostgres();
  const pools: pg.Pool[] = [];
  try {
    const url = await cluster.createDatabase('central');
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pools.push(pool);
    await migrateCentral(pool);
    progress(`central: capturing a real MTP-24 certificate, then ${B} bench stores of ${N} certificates each`);
    const t = await captureTemplate();
    const benches: Bench[] = [];
    for (let i = 0; i < B; i++) benches.push(fillBench(join(tmp.dir, `bench-${i}`), `site-${i}`, t, i * N, N, B * N));

    // Ingest: every bench's replicator at once.
    progress(`central: ${B} replicators shipping ${B * N} certificates at once`);
    const replicators = benches.map((b) => {
      const p = new pg.Pool({ connectionString: url, max: 1 });
      pools.push(p);
      return new Replicator({ site: b.site, pool: p, db: b.db, outbox: b.outbox, certificates: b.store, batchSize: 200, intervalMs: 20 });
    });
    const t0 = performance.now();
    for (const r of replicators) r.start();
    while (benches.some((b) => b.outbox.lag().count > 0)) await new Promise((r) => setTimeout(r, 5));
    const ingestSeconds = (performance.now() - t0) / 1000;
    await Promise.all(replicators.map((r) => r.stop()));

    // The bare baseline: the same rows, the same batches, as many connections at once.
    const rows = (await pool.query<{ kind: string; ref: string; site: string; bench_id: string | null; bench_seq: string | null; fields: unknown; body: Buffer | null }>('SELECT kind, ref, site, bench_id, bench_seq, fields, body FROM inbox ORDER BY id')).rows;
    await pool.query('CREATE TABLE inbox_bare (LIKE inbox INCLUDING ALL)');
    const bySite = new Map<string, typeof rows>();
    for (const r of rows) bySite.set(r.site, [...(bySite.get(r.site) ?? []), r]);
    const bareSeconds = await timeIt(() =>
      Promise.all(
        [...bySite.values()].map(async (siteRows, i) => {
          const p = pools[1 + (i % (pools.length - 1))]!;
          for (let k = 0; k < siteRows.length; k += 200) {
            const batch = siteRows.slice(k, k + 200);
            const values: unknown[] = [];
            const tuples = batch.map((r, j) => {
              values.push(r.kind, r.ref, r.site, r.bench_id, r.bench_seq, JSON.stringify(r.fields), r.body);
              return `($${j * 7 + 1}, $${j * 7 + 2}, $${j * 7 + 3}, $${j * 7 + 4}, $${j * 7 + 5}, $${j * 7 + 6}::jsonb, $${j * 7 + 7})`;
            });
            await p.query(`INSERT INTO inbox_bare (kind, ref, site, bench_id, bench_seq, fields, body) VALUES ${tuples.join(', ')} ON CONFLICT (kind, ref) DO NOTHING`, values);
          }
        }),
      ),
    );
    const shippedCerts = rows.filter((r) => r.kind === 'certificate').length;

    // Merge: verify against the pinned keys and the chain, then insert.
    const trustEntries = benches.map((b) => ({ site: b.site, keysFile: join(b.dir, 'trusted-keys.json') }));
    const trust = loadCentralTrust(trustEntries, 'benchmark');
    progress('central: merging (verify + insert)');
    let merged = 0;
    const mergeSeconds = await timeIt(async () => {
      merged = (await mergeInbox(pool, trust)).merged;
    });
    if (merged !== B * N) throw new Error(`merged ${merged} of ${B * N}: the benchmark's data is wrong`);
    const verifySeconds = await timeIt(async () => {
      for (const b of benches) {
        const v = await verifyChain(pool, trust, b.site, 'b1');
        if (v.problems.length > 0) throw new Error(`chain of ${b.site} fails: ${JSON.stringify(v.problems[0])}`);
      }
    });

    // Scale: S rows filled from one genuine row.
    progress(`central: filling ${S.toLocaleString('en')} certificates by SQL`);
    const fillSeconds = await timeIt(() =>
      pool.query(
        `INSERT INTO certificates (uuid, site, bench_id, bench_seq, id_on_bench, job_id, subject_kind, serial, link_id, project_id, verdict, limit_set_id, limit_set_version, issued_at, prev_hash, hash, signature, key_id, body)
         SELECT md5('fill' || s)::uuid, 'fill-site-' || (s % 20), 'b' || (s % 5 + 1), s, s, md5('job' || s), 'assembly', 'FILL-' || lpad(s::text, 7, '0'), NULL,
                CASE WHEN s % 7 = 0 THEN 'P-' || (s % 997) END,
                CASE WHEN s % 20 = 0 THEN 'FAIL' WHEN s % 50 = 1 THEN 'INVALID' WHEN s % 10 = 3 THEN 'MARGINAL' ELSE 'PASS' END,
                t.limit_set_id, t.limit_set_version,
                to_char(timestamptz '2025-01-01 00:00:00+00' + (s * (interval '1 year' / $1::int)), 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                sha256(('p' || s)::bytea), sha256(('h' || s)::bytea), sha512(('s' || s)::bytea), t.key_id, t.body
         FROM generate_series(1, $1::int) AS s, (SELECT limit_set_id, limit_set_version, key_id, body FROM certificates LIMIT 1) AS t`,
        [S],
      ),
    );
    await pool.query('VACUUM ANALYZE certificates');
    const total = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM certificates')).rows[0]!.n);
    const sizes = (await pool.query<{ table: string; indexes: string; all: string }>(
      `SELECT pg_table_size('certificates') AS table, pg_indexes_size('certificates') AS indexes, pg_total_relation_size('certificates') AS all`,
    )).rows[0]!;

    // The hub, as QA uses it (HTTP on loopback), and the bare SQL of each search.
    const hubDir = join(tmp.dir, 'hub');
    mkdirSync(hubDir);
    const hub = await startHub(
      { postgresUrl: url, logLevel: 'warn', http: { host: '127.0.0.1', port: 0, token: 'bench-hub-token-0123456789' }, trust: trustEntries, mergeIntervalMs: 3_600_000, limits: {}, source: join(hubDir, 'hub.yaml') },
      pino({ level: 'warn' }),
    );
    const search: CentralBenchResult['scale']['search'] = [];
    try {
      const rnd = (n: number): number => 1 + Math.floor(Math.random() * n);
      const month = (): { from: string; to: string } => {
        const m = rnd(11);
        return { from: `2025-${String(m).padStart(2, '0')}-01`, to: `2025-${String(m + 1).padStart(2, '0')}-01` };
      };
      const kinds: { kind: string; http: () => string; bare: () => [string, unknown[]] }[] = [
        {
          kind: 'by serial',
          http: () => `/certificates?serial=FILL-${String(rnd(S)).padStart(7, '0')}`,
          bare: () => [`SELECT uuid FROM certificates WHERE serial = $1 ORDER BY issued_at DESC LIMIT 50`, [`FILL-${String(rnd(S)).padStart(7, '0')}`]],
        },
        {
          kind: 'FAIL over a month',
          http: () => {
            const r = month();
            return `/certificates?verdict=FAIL&from=${r.from}&to=${r.to}`;
          },
          bare: () => {
            const r = month();
            return [`SELECT uuid FROM certificates WHERE verdict = 'FAIL' AND issued_at >= $1 AND issued_at < $2 ORDER BY issued_at DESC LIMIT 50`, [r.from, r.to]];
          },
        },
        {
          kind: 'by project',
          http: () => `/certificates?project=P-${rnd(996)}`,
          bare: () => [`SELECT uuid FROM certificates WHERE project_id = $1 ORDER BY issued_at DESC LIMIT 50`, [`P-${rnd(996)}`]],
        },
        {
          kind: 'site + bench, newest',
          http: () => `/certificates?site=fill-site-${rnd(19)}&bench=b${rnd(5)}`,
          bare: () => [`SELECT uuid FROM certificates WHERE site = $1 AND bench_id = $2 ORDER BY bench_seq DESC LIMIT 50`, [`fill-site-${rnd(19)}`, `b${rnd(5)}`]],
        },
      ];
      for (const k of kinds) {
        const took: number[] = [];
        const bare: number[] = [];
        // Warm both paths (connections, plans, the first index pages) before measuring.
        for (let i = 0; i < 10; i++) {
          await (await fetch(`${hub.url}${k.http()}`)).arrayBuffer();
          const [sql, params] = k.bare();
          await pool.query(sql, params);
        }
        for (let i = 0; i < Q; i++) {
          let t1 = performance.now();
          const res = await fetch(`${hub.url}${k.http()}`);
          if (!res.ok) throw new Error(`${k.kind}: HTTP ${res.status} ${await res.text()}`);
          await res.arrayBuffer();
          took.push(performance.now() - t1);
          const [sql, params] = k.bare();
          t1 = performance.now();
          await pool.query(sql, params);
          bare.push(performance.now() - t1);
        }
        took.sort((a, b) => a - b);
        bare.sort((a, b) => a - b);
        search.push({ kind: k.kind, queries: Q, p50Ms: round(percentile(took, 50), 2), p99Ms: round(percentile(took, 99), 2), bareP50Ms: round(percentile(bare, 50), 2), bareP99Ms: round(percentile(bare, 99), 2) });
      }

      progress('central: CSV export of 100,000');
      const exportCount = Math.min(100_000, S);
      // Whole days, both included: the days holding the first ~100,000 of the year's certificates.
      const to = new Date(Date.parse('2025-01-01T00:00:00Z') + Math.floor((exportCount * 365 * 86_400_000) / S) - 86_400_000).toISOString().slice(0, 10);
      let exportBytes = 0;
      let exported = 0;
      const exportSeconds = await timeIt(async () => {
        const res = await fetch(`${hub.url}/export?format=csv&from=2025-01-01&to=${to}`);
        if (!res.ok) throw new Error(`export: HTTP ${res.status} ${await res.text()}`);
        const body = Buffer.from(await res.arrayBuffer());
        exportBytes = body.length;
        exported = body.toString('utf8').split('\r\n').length - 2;
      });

      progress('central: re-judging 100,000 against a new limit set version');
      const library = loadLimitLibrary();
      const target = { id: 'mtp-mpo-connector-grades', version: '1.0.0' };
      const toRejudge = Math.min(100_000, S);
      let changed = 0;
      let judged = 0;
      const rejudgeSeconds = await timeIt(async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(`DECLARE c NO SCROLL CURSOR FOR SELECT body FROM certificates WHERE site LIKE 'fill-site-%' LIMIT ${toRejudge}`);
          for (;;) {
            const batch = await client.query<{ body: Buffer }>('FETCH 1000 FROM c');
            if (batch.rows.length === 0) break;
            for (const r of batch.rows) {
              const doc = JSON.parse(decompressBody(r.body)) as CertificateDocument;
              if (rejudgeDocument(doc, target, library).verdictChanged) changed++;
              judged++;
            }
          }
          await client.query('COMMIT');
        } finally {
          client.release();
        }
      });

      return {
        ingest: { benches: B, certificates: shippedCerts, seconds: round(ingestSeconds), perSec: round(shippedCerts / ingestSeconds, 0), bareSeconds: round(bareSeconds), barePerSec: round(shippedCerts / bareSeconds, 0), ratio: round(bareSeconds / ingestSeconds) },
        merge: { certificates: merged, seconds: round(mergeSeconds), perSec: round(merged / mergeSeconds, 0) },
        chainVerification: { certificates: merged, seconds: round(verifySeconds), perSec: round(merged / verifySeconds, 0) },
        scale: {
          certificates: total,
          fillSeconds: round(fillSeconds, 1),
          bytesPerCertificate: Math.round(Number(sizes.all) / total),
          tableBytes: Number(sizes.table),
          indexBytes: Number(sizes.indexes),
          search,
          export: { certificates: exported, seconds: round(exportSeconds), perSec: round(exported / exportSeconds, 0), bytes: exportBytes },
          rejudge: { certificates: judged, seconds: round(rejudgeSeconds), perSec: round(judged / rejudgeSeconds, 0), changedVerdicts: changed },
        },
      };
    } finally {
      await hub.stop('benchmark done');
    }
  } finally {
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await cluster.destroy();
    tmp.remove();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const large = process.argv.includes('--large');
  const result = await benchCentral(large ? { scale: 1_000_000 } : {});
  const out = JSON.stringify(result, null, 2);
  process.stdout.write(`${out}\n`);
  writeFileSync(join(process.cwd(), `benchmarks/results/central${large ? '-large' : ''}.json`), out);
}
