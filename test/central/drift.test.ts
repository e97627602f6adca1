/**
 * Issue 14, drift across re-tests: the same serial measured at two sites by two benches (the first
 * bench sees the good trunk, the second one with fiber 7 at 0.90 dB, then the first again), merged
 * by the hub; GET /drift lists every test oldest first and each loss change between consecutive
 * tests, with the bench that measured each. Every expected value comes from
 * fixtures/assemblies/*.json, worked out below as a person would by hand.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CentralRig, fetchReply, HUB_TOKEN, type HubProcess } from '../helpers/central-rig.js';
import { root } from '../helpers/daemon-harness.js';

let rig: CentralRig;
let hub: HubProcess;
const tests: { site: string; bench: string; uuid: string }[] = [];

async function certify(site: string, bench: string): Promise<void> {
  tests.push({ site, bench, uuid: (await rig.certify(site, bench, 'DRIFT-1')).uuid });
}

beforeAll(async () => {
  rig = new CentralRig('mpocert-drift-');
  await rig.startCentralStore();
  const benches = [
    { site: 'plant-a', bench: 'b1', assembly: 'mtp12-om4-good' },
    { site: 'plant-b', bench: 'b2', assembly: 'mtp12-om4-fiber7-0.9dB' },
  ];
  for (const b of benches) await rig.startSite(b.site, { id: b.bench, assemblies: { 'DRIFT-1': b.assembly } });
  await certify('plant-a', 'b1');
  await certify('plant-b', 'b2');
  await certify('plant-a', 'b1');

  hub = await rig.startHub(
    'hub.yaml',
    `postgresUrl: ${rig.url}\nhttp: { port: 0, token: ${HUB_TOKEN} }\nmergeIntervalMs: 100\ntrust:\n  - { site: plant-a, keysFile: plant-a-keys.json }\n  - { site: plant-b, keysFile: plant-b-keys.json }\n`,
  );
  await rig.waitForHub('all three tests merged', async () => ((await fetchReply(`${hub.base}/certificates?serial=DRIFT-1`)).json?.total === 3 ? true : undefined));
}, 180_000);

afterAll(() => rig?.stop());

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
    const r = await fetchReply(`${hub.base}/drift?serial=DRIFT-1`);
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
    const r = (await fetchReply(`${hub.base}/drift?serial=DRIFT-1`)).json;
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
    expect((await fetchReply(`${hub.base}/drift?serial=DRIFT-1&thresholdDb=0.7`)).json.steps.map((s: { flaggedCount: number }) => s.flaggedCount)).toEqual([0, 0]);
  });

  it('shows it on a page, and refuses a request that names no subject or two', async () => {
    const page = await fetchReply(`${hub.base}/qa/drift?serial=DRIFT-1`);
    expect(page.text).toContain('3 tests of assembly <b>DRIFT-1</b>, oldest first');
    expect(page.text).toContain('Test 1 (b1, plant-a) → test 2 (b2, plant-b)');
    expect(page.text).toContain('<td>7</td><td>850</td><td>A</td><td>0.24</td><td>0.90</td><td><b class="FAIL">+0.660</b></td>');
    expect((await fetchReply(`${hub.base}/drift?serial=NOPE`)).status).toBe(404);
    expect((await fetchReply(`${hub.base}/drift`)).status).toBe(400);
    expect((await fetchReply(`${hub.base}/drift?serial=DRIFT-1&linkId=L-1`)).status).toBe(400);
  });
});
