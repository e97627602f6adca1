/**
 * Issue 14, drift across re-tests: the same serial measured at two sites by two benches (the first
 * bench sees the good trunk, the second one with fiber 7 at 0.90 dB, then the first again), merged
 * by the hub; GET /drift lists every test oldest first and each loss change between consecutive
 * tests, with the bench that measured each. Every expected value comes from
 * fixtures/assemblies/*.json, worked out below as a person would by hand.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCentral } from '../../src/central/schema.js';
import { benchConfig, DaemonProcess, root, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

class HubProcess {
  child!: ChildProcess;
  base!: string;
  readonly log: string[] = [];
  constructor(readonly configPath: string) {}
  async start(): Promise<this> {
    this.child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'hub', '--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (c: Buffer) => this.log.push(c.toString()));
    this.base = await new Promise<string>((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        this.log.push(line);
        const m = /"url":"(http:\/\/[^"]+)".*"msg":"mpocert hub listening"/.exec(line);
        if (m) resolve(m[1]!);
      });
      this.child.once('exit', (code, sig) => reject(new Error(`hub exited ${code ?? sig}: ${this.log.join('\n')}`)));
    });
    return this;
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await exited;
  }
}

async function call(url: string): Promise<{ status: number; text: string; json: any }> {
  const r = await fetch(url);
  const text = await r.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, text, json };
}

let pgc: PrivateCluster | undefined;
let pool: pg.Pool;
let tmp: ReturnType<typeof tempDir>;
const sims: SimulatorProcess[] = [];
const daemons: Record<string, DaemonProcess> = {};
let hub: HubProcess;
const tests: { site: string; bench: string; uuid: string }[] = [];

async function certify(site: string, bench: string): Promise<void> {
  const d = daemons[site]!;
  const job = await d.api<{ state: string; certificateId: number }>('POST', '/jobs', { bench, operator: 'ci', serial: 'DRIFT-1', wait: true });
  expect(job.json.state).toBe('completed');
  tests.push({ site, bench, uuid: (await d.api<{ uuid: string }>('GET', `/certificates/${job.json.certificateId}`)).json.uuid });
}

beforeAll(async () => {
  tmp = tempDir('mpocert-drift-');
  pgc = await startPostgres();
  const url = await pgc.createDatabase('central');
  pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  await migrateCentral(pool);

  const benches = [
    { site: 'plant-a', bench: 'b1', assembly: 'mtp12-om4-good' },
    { site: 'plant-b', bench: 'b2', assembly: 'mtp12-om4-fiber7-0.9dB' },
  ];
  for (const b of benches) {
    const sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
    sims.push(sim);
    const dir = join(tmp.dir, b.site);
    mkdirSync(dir);
    const config = writeConfig(dir, [benchConfig({ id: b.bench, sim, multiPort: true, assemblies: { 'DRIFT-1': b.assembly } })], { central: { site: b.site, postgresUrl: url, intervalMs: 100 } });
    daemons[b.site] = await new DaemonProcess(config).start();
    expect((await daemons[b.site]!.api('POST', `/benches/${b.bench}/reference`)).status).toBe(200);
    copyFileSync(join(dir, 'data', 'trusted-keys.json'), join(tmp.dir, `${b.site}-keys.json`));
  }
  await certify('plant-a', 'b1');
  await certify('plant-b', 'b2');
  await certify('plant-a', 'b1');

  const config = join(tmp.dir, 'hub.yaml');
  writeFileSync(
    config,
    `postgresUrl: ${url}\nhttp: { port: 0, token: hub-token-0123456789abcdef }\nmergeIntervalMs: 100\ntrust:\n  - { site: plant-a, keysFile: plant-a-keys.json }\n  - { site: plant-b, keysFile: plant-b-keys.json }\n`,
  );
  hub = await new HubProcess(config).start();
  const deadline = Date.now() + 30_000;
  while ((await call(`${hub.base}/certificates?serial=DRIFT-1`)).json?.total !== 3) {
    if (Date.now() > deadline) throw new Error(`not merged: ${hub.log.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}, 180_000);

afterAll(async () => {
  await hub?.stop();
  await Promise.all(Object.values(daemons).map((d) => d.kill('SIGTERM')));
  for (const s of sims) s.child.kill('SIGTERM');
  await pool?.end().catch(() => undefined);
  await pgc?.destroy();
  tmp?.remove();
});

/** The insertion loss a bench reads for each (fiber, end, wavelength) of a sample assembly. */
function lossesOf(assembly: string): Map<string, number> {
  const a = JSON.parse(readFileSync(join(root, 'fixtures', 'assemblies', `${assembly}.json`), 'utf8')) as { polarity: string; lossDb: Record<string, number[]> };
  expect(a.polarity).toBe('B');
  const out = new Map<string, number>();
  for (const wl of [850, 1300]) {
    for (let fiber = 1; fiber <= 12; fiber++) {
      out.set(`${fiber}/A/${wl}`, a.lossDb[wl]![fiber - 1]!);
      // Turned round, launch position p at end B is the fiber that arrives at p from end A: type B, 13 - p.
      out.set(`${fiber}/B/${wl}`, a.lossDb[wl]![13 - fiber - 1]!);
    }
  }
  return out;
}

/** The entries GET /drift should give from one test to the next, in the engine's order (fiber, end, wavelength). */
function expectedStep(from: string, to: string): { fiber: number; wavelengthNm: number; end: string; previousDb: number; currentDb: number; changeDb: number; flagged: boolean }[] {
  const before = lossesOf(from);
  const after = lossesOf(to);
  const out = [];
  for (let fiber = 1; fiber <= 12; fiber++) {
    for (const end of ['A', 'B']) {
      for (const wl of [850, 1300]) {
        const previousDb = before.get(`${fiber}/${end}/${wl}`)!;
        const currentDb = after.get(`${fiber}/${end}/${wl}`)!;
        const changeDb = Math.round((currentDb - previousDb) * 1000) / 1000;
        out.push({ fiber, wavelengthNm: wl, end, previousDb, currentDb, changeDb, flagged: Math.abs(changeDb) > 0.1 });
      }
    }
  }
  return out;
}

describe('drift of one serial across benches and sites', () => {
  it('lists every test oldest first, with the bench that measured it', async () => {
    const r = await call(`${hub.base}/drift?serial=DRIFT-1`);
    expect(r.status).toBe(200);
    expect(r.json.subject).toEqual({ kind: 'assembly', id: 'DRIFT-1' });
    expect(r.json.thresholdDb).toBe(0.1);
    expect(r.json.certificates.map((c: { uuid: string; site: string; benchId: string; verdict: string }) => [c.uuid, c.site, c.benchId, c.verdict])).toEqual([
      [tests[0]!.uuid, 'plant-a', 'b1', 'PASS'],
      [tests[1]!.uuid, 'plant-b', 'b2', 'FAIL'],
      [tests[2]!.uuid, 'plant-a', 'b1', 'PASS'],
    ]);
    expect(r.json.excluded).toEqual([]);
  });

  it('gives every loss change between consecutive tests, as worked out from the sample assemblies', async () => {
    const r = (await call(`${hub.base}/drift?serial=DRIFT-1`)).json;
    expect(r.steps).toHaveLength(2);
    const [first, second] = r.steps;
    expect([first.from.benchId, first.from.site, first.to.benchId, first.to.site]).toEqual(['b1', 'plant-a', 'b2', 'plant-b']);
    expect(first.entries).toEqual(expectedStep('mtp12-om4-good', 'mtp12-om4-fiber7-0.9dB'));
    expect(second.entries).toEqual(expectedStep('mtp12-om4-fiber7-0.9dB', 'mtp12-om4-good'));
    // By hand: fiber 7 from end A and position 6 from end B (the same fiber) grew 0.90 - 0.24 and 0.85 - 0.20; nothing else moved.
    const moved = (entries: { fiber: number; end: string; wavelengthNm: number; changeDb: number }[]) => entries.filter((e) => e.changeDb !== 0).map((e) => [e.fiber, e.end, e.wavelengthNm, e.changeDb]);
    expect(moved(first.entries)).toEqual([
      [6, 'B', 850, 0.66],
      [6, 'B', 1300, 0.65],
      [7, 'A', 850, 0.66],
      [7, 'A', 1300, 0.65],
    ]);
    expect([first.flaggedCount, first.largestChangeDb]).toEqual([4, 0.66]);
    expect(moved(second.entries)).toEqual([
      [6, 'B', 850, -0.66],
      [6, 'B', 1300, -0.65],
      [7, 'A', 850, -0.66],
      [7, 'A', 1300, -0.65],
    ]);
    expect([second.flaggedCount, second.largestChangeDb]).toEqual([4, -0.66]);
    // A higher threshold flags nothing.
    expect((await call(`${hub.base}/drift?serial=DRIFT-1&thresholdDb=0.7`)).json.steps.map((s: { flaggedCount: number }) => s.flaggedCount)).toEqual([0, 0]);
  });

  it('shows it on a page, and refuses a request that names no subject or two', async () => {
    const page = await call(`${hub.base}/qa/drift?serial=DRIFT-1`);
    expect(page.text).toContain('3 tests of assembly <b>DRIFT-1</b>, oldest first');
    expect(page.text).toContain('Test 1 (b1, plant-a) → test 2 (b2, plant-b)');
    expect(page.text).toContain('<td>7</td><td>850</td><td>A</td><td>0.24</td><td>0.90</td><td><b class="FAIL">+0.660</b></td>');
    expect((await call(`${hub.base}/drift?serial=NOPE`)).status).toBe(404);
    expect((await call(`${hub.base}/drift`)).status).toBe(400);
    expect((await call(`${hub.base}/drift?serial=DRIFT-1&linkId=L-1`)).status).toBe(400);
  });
});
