import pg from 'pg';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeInbox, type CentralTrust } from '../../src/central/merge.js';
import { migrateCentral } from '../../src/central/schema.js';
import { compressBody, decompressBody } from '../../src/store/compact-body.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { benchConfig, DaemonProcess, sleep, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

/**
 * Store and forward into a real PostgreSQL: two sites, three benches (site A runs two in one
 * daemon), real daemons on simulated benches. PostgreSQL stopped mid-stream, a daemon killed with
 * -9 with a backlog, the same certificate delivered twice, a forged certificate injected, and a
 * site whose key QA has not pinned. Every genuine certificate of a trusted site arrives exactly
 * once, byte for byte as signed; nothing else is merged.
 */
let cluster: PrivateCluster | undefined;
let pool: pg.Pool;
let url: string;
const sims: SimulatorProcess[] = [];
let siteA: DaemonProcess;
let siteB: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;
let configA: string;

interface Status {
  replication: { state: string; backlog: number; oldestAgeSeconds: number | null; shipped: number; lastError: string | null } | null;
}

/** QA pins site A's key (its trusted keys file, as QA keeps a copy); site B's is pinned nowhere. */
const trust: CentralTrust = {
  forSite: (site) => (site === 'factory-a' ? TrustedKeys.load(join(tmp.dir, 'a-data', 'trusted-keys.json')) : undefined),
};

async function certify(d: DaemonProcess, bench: string, serial: string): Promise<{ certificateId: number; verdict: string }> {
  const r = await d.api<{ certificateId: number; verdict: string; state: string }>('POST', '/jobs', { bench, operator: 'ci', serial, wait: true });
  expect(r.json.state).toBe('completed');
  return r.json;
}

async function replication(d: DaemonProcess): Promise<NonNullable<Status['replication']>> {
  return (await d.api<Status>('GET', '/status')).json.replication!;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await sleep(100);
  }
}

async function centralCount(sql: string, params: unknown[] = []): Promise<number> {
  return Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
}

beforeAll(async () => {
  tmp = tempDir('mpocert-replication-');
  for (const d of ['a', 'b']) mkdirSync(join(tmp.dir, d));
  cluster = await startPostgres();
  url = await cluster.createDatabase('central');
  pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  await migrateCentral(pool);
  sims.push(...(await Promise.all([0, 1, 2].map(() => startSimulatorProcess({ meter: 0, switch: 0, control: 0 })))));
  const central = (site: string) => ({ central: { site, postgresUrl: url, intervalMs: 100 } });
  configA = writeConfig(join(tmp.dir, 'a'), [benchConfig({ id: 'bench1', sim: sims[0]! }), benchConfig({ id: 'bench2', sim: sims[1]! })], { ...central('factory-a'), dataDir: join(tmp.dir, 'a-data') });
  // Site B also calls its bench "bench1": centrally a bench is (site, bench id).
  const configB = writeConfig(join(tmp.dir, 'b'), [benchConfig({ id: 'bench1', sim: sims[2]! })], { ...central('factory-b'), dataDir: join(tmp.dir, 'b-data') });
  siteA = await new DaemonProcess(configA).start();
  siteB = await new DaemonProcess(configB).start();
  for (const [d, b] of [[siteA, 'bench1'], [siteA, 'bench2'], [siteB, 'bench1']] as const) expect((await d.api('POST', `/benches/${b}/reference`)).status).toBe(200);
}, 90_000);

afterAll(async () => {
  await siteA?.kill('SIGTERM');
  await siteB?.kill('SIGTERM');
  for (const s of sims) s.child.kill('SIGTERM');
  await pool?.end();
  await cluster?.destroy();
  tmp?.remove();
});

describe('replication to the central QA store', () => {
  it('ships every certificate once, in chain order, byte for byte as signed; QA merges only what a pinned key signed', async () => {
    const a1 = [await certify(siteA, 'bench1', 'GOOD-1'), await certify(siteA, 'bench1', 'BAD-7')];
    const a2 = [await certify(siteA, 'bench2', 'GOOD-2')];
    await certify(siteB, 'bench1', 'GOOD-1');
    await until('site A to ship', () => replication(siteA), (r) => r.backlog === 0);
    await until('site B to ship', () => replication(siteB), (r) => r.backlog === 0);
    const merged = await mergeInbox(pool, trust);
    // Site A: 3 certificates and its signing key; site B: its key (informational) and 1
    // certificate, waiting: QA pinned no key for factory-b (yet), so it is neither merged nor refused.
    expect(merged).toEqual({ merged: 3, duplicates: 0, quarantined: 0, waiting: 1, other: 2 });
    const rows = (await pool.query<{ site: string; bench_id: string; bench_seq: string; serial: string; verdict: string; id_on_bench: string; body: Buffer }>(
      'SELECT site, bench_id, bench_seq, serial, verdict, id_on_bench, body FROM certificates ORDER BY site, bench_id, bench_seq',
    )).rows;
    expect(rows.map((r) => [r.site, r.bench_id, Number(r.bench_seq), r.serial, r.verdict])).toEqual([
      ['factory-a', 'bench1', 1, 'GOOD-1', 'PASS'],
      ['factory-a', 'bench1', 2, 'BAD-7', 'FAIL'],
      ['factory-a', 'bench2', 1, 'GOOD-2', 'PASS'],
    ]);
    // The central body is the bench's signed canonical JSON, exactly.
    for (const [i, r] of rows.entries()) {
      const id = [...a1, ...a2][i]!.certificateId;
      expect(Number(r.id_on_bench)).toBe(id);
      const served = await siteA.api('GET', `/certificates/${id}`);
      // The bench serves the stored canonical JSON verbatim as `certificate`, the last member.
      expect(served.text.endsWith(`"certificate":${decompressBody(r.body)}}`)).toBe(true);
    }
    expect(await centralCount('SELECT count(*) AS n FROM quarantine')).toBe(0);
    expect((await pool.query<{ site: string; serial: string }>(`SELECT site, fields->>'serial' AS serial FROM inbox`)).rows).toEqual([{ site: 'factory-b', serial: 'GOOD-1' }]);
  });

  it('keeps certifying with PostgreSQL down, shows the backlog in /status and /metrics, and drains it when PostgreSQL returns', async () => {
    await cluster!.stop();
    await certify(siteA, 'bench1', 'GOOD-2');
    await certify(siteA, 'bench2', 'BAD-7');
    const down = await until('site A to notice', () => replication(siteA), (r) => r.state === 'unreachable' && r.backlog === 2);
    expect(down.lastError).not.toBeNull();
    const metrics = (await siteA.api('GET', '/metrics')).text;
    expect(metrics).toMatch(/^mpocert_replication_backlog 2$/m);
    expect(metrics).toMatch(/^mpocert_replication_oldest_age_seconds \d+(\.\d+)?$/m);
    await cluster!.start();
    await until('site A to drain', () => replication(siteA), (r) => r.backlog === 0 && r.state !== 'unreachable');
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 2, quarantined: 0, waiting: 1 });
    expect(await centralCount(`SELECT count(*) AS n FROM certificates WHERE site = 'factory-a'`)).toBe(5);
  }, 60_000);

  it('loses nothing when the daemon is killed with -9 holding a backlog: the restarted daemon ships it', async () => {
    await cluster!.stop();
    await certify(siteA, 'bench2', 'GOOD-1');
    expect(await siteA.kill('SIGKILL')).toBe('SIGKILL');
    await cluster!.start();
    siteA = await new DaemonProcess(configA).start();
    await until('the restarted daemon to ship', () => replication(siteA), (r) => r.backlog === 0);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1, quarantined: 0 });
    const bench2 = (await pool.query<{ serial: string }>(`SELECT serial FROM certificates WHERE site = 'factory-a' AND bench_id = 'bench2' ORDER BY bench_seq`)).rows.map((r) => r.serial);
    expect(bench2).toEqual(['GOOD-2', 'BAD-7', 'GOOD-1']);
  }, 60_000);

  it('takes the same certificate delivered twice as a duplicate, and quarantines a forged one without blocking the genuine chain', async () => {
    const one = (await pool.query('SELECT * FROM certificates WHERE site = $1 AND bench_id = $2 AND bench_seq = 1', ['factory-a', 'bench1'])).rows[0] as Record<string, unknown>;
    const shipped = {
      idOnBench: Number(one.id_on_bench), uuid: one.uuid, benchId: one.bench_id, jobId: one.job_id, subjectKind: one.subject_kind, serial: one.serial, linkId: one.link_id,
      verdict: one.verdict, limitSetId: one.limit_set_id, limitSetVersion: one.limit_set_version, issuedAt: one.issued_at, prevHash: null,
      hash: (one.hash as Buffer).toString('hex'), signature: (one.signature as Buffer).toString('base64'), keyId: (one.key_id as Buffer).toString('hex'), benchSequence: 1,
    };
    const insert = (ref: string, seq: number, fields: Record<string, unknown>, body: Buffer) =>
      pool.query(`INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields, body) VALUES ('certificate', $1, 'factory-a', 'bench1', $2, $3, $4)`, [ref, seq, JSON.stringify(fields), body]);
    await insert(String(one.uuid), 1, shipped, one.body as Buffer);
    // A forged FAIL-into-PASS for bench1's next sequence, with the genuine head as its link.
    const head = (await pool.query<{ seq: string; hash: Buffer }>(`SELECT seq, hash FROM bench_heads WHERE site = 'factory-a' AND bench_id = 'bench1'`)).rows[0]!;
    const body = JSON.parse(decompressBody(one.body as Buffer)) as Record<string, unknown>;
    const forgedUuid = '00000000-0000-4000-8000-00000000f0f0';
    await insert(forgedUuid, Number(head.seq) + 1, { ...shipped, uuid: forgedUuid, benchSequence: Number(head.seq) + 1, prevHash: head.hash.toString('hex') }, compressBody(JSON.stringify({ ...body, verdict: 'PASS' })));
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, duplicates: 1, quarantined: 1, waiting: 1 });
    const forged = (await pool.query<{ problem: string }>('SELECT problem FROM quarantine WHERE ref = $1', [forgedUuid])).rows;
    expect(forged.map((f) => f.problem)).toEqual(['content does not match its recorded hash']);
    expect(await centralCount('SELECT count(*) AS n FROM certificates WHERE uuid = $1', [forgedUuid])).toBe(0);
    // The bench's genuine next certificate still merges after the forged one was refused.
    await certify(siteA, 'bench1', 'GOOD-1');
    await until('site A to ship', () => replication(siteA), (r) => r.backlog === 0);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1, quarantined: 0 });
    // Exactly once: every certificate site A issued is in the central store, once.
    const issued = (await siteA.api<{ total: number; items: { uuid: string }[] }>('GET', '/certificates?limit=100')).json;
    const central = (await pool.query<{ uuid: string }>(`SELECT uuid FROM certificates WHERE site = 'factory-a'`)).rows.map((r) => r.uuid);
    expect(central.sort()).toEqual(issued.items.map((i) => i.uuid).sort());
    expect(issued.total).toBe(7);
  }, 60_000);

  it('merges the other benches while one waits for a missing certificate with hundreds queued behind the gap', async () => {
    // A bench whose sequence 1 never arrived, with 2..601 waiting: more than a merge batch, and
    // sorted before the others (the batch is ordered by site and bench).
    await pool.query(
      `INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields, body)
       SELECT 'certificate', 'gap-' || s, 'factory-a', 'a-gap-bench', s, '{}'::jsonb, NULL FROM generate_series(2, 601) AS s`,
    );
    await certify(siteA, 'bench2', 'GOOD-2');
    await until('site A to ship', () => replication(siteA), (r) => r.backlog === 0);
    expect(await mergeInbox(pool, trust)).toEqual({ merged: 1, duplicates: 0, quarantined: 0, waiting: 601, other: 0 });
    await pool.query(`DELETE FROM inbox WHERE bench_id = 'a-gap-bench'`);
  }, 60_000);
});
