/**
 * Issue 14, re-judging: QA re-evaluates stored certificates against a stricter limit set version
 * on the hub, without changing them, and gets a report of what would change, fiber by fiber,
 * kept as its own record. Real bench daemon on the simulated bench, real PostgreSQL, `mpocert hub`
 * as a process; the expected changes are worked out by hand from fixtures/assemblies/*.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CentralRig, fetchReply, HUB_TOKEN, type HubProcess } from '../helpers/central-rig.js';
import { root } from '../helpers/daemon-harness.js';

const post = (url: string, body: unknown, token: string | null = HUB_TOKEN) =>
  fetchReply(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });

let rig: CentralRig;
let hub: HubProcess;
const uuids: Record<string, string> = {};

beforeAll(async () => {
  rig = new CentralRig('mpocert-rejudge-');
  await rig.startCentralStore();
  await rig.startSite('plant-a', { id: 'b1' });
  for (const serial of ['GOOD-1', 'BAD-7']) uuids[serial] = (await rig.certify('plant-a', 'b1', serial)).uuid;

  // QA's stricter set: the MTP grade at 0.35 dB a mated pair instead of 0.60 dB, the rest as shipped.
  mkdirSync(join(rig.tmp.dir, 'qa-limits'));
  const shipped = JSON.parse(readFileSync(join(root, 'limits', 'mtp-mpo-connector-grades@1.1.0.json'), 'utf8')) as Record<string, any>;
  const strict: Record<string, any> = { ...shipped, id: 'qa-strict-grades', version: '1.0.0', title: 'QA strict MTP grade (0.35 dB multimode)', source: 'QA test' };
  strict.connectorGrades.MTP.insertionLossDb.multimode = 0.35;
  writeFileSync(join(rig.tmp.dir, 'qa-limits', 'qa-strict-grades@1.0.0.json'), JSON.stringify(strict, null, 2));

  hub = await rig.startHub(
    'hub.json',
    JSON.stringify({ postgresUrl: rig.url, http: { host: '127.0.0.1', port: 0, token: HUB_TOKEN }, mergeIntervalMs: 100, trust: [{ site: 'plant-a', keysFile: 'plant-a-keys.json' }], limits: { userDir: 'qa-limits' } }),
  );
  await rig.waitForHub('both certificates merged', async () => ((await fetchReply(`${hub.base}/certificates?site=plant-a`)).json?.total === 2 ? true : undefined));
}, 180_000);

afterAll(() => rig?.stop());

/**
 * mtp12-om4-good at 850 / 1300 nm (fiber 1 first): 0.21 0.18 0.33 0.27 0.15 0.40 0.24 0.30 0.19 0.45
 * 0.26 0.22 / 0.17 0.14 0.28 0.23 0.12 0.35 0.20 0.26 0.15 0.40 0.22 0.18. Each reading holds one MTP
 * connector: 0.60 dB passes all (largest margin used 0.15 > the 0.05 dB guard band). Against
 * 0.35 dB: above it FAIL, within 0.05 dB of it (margin 0 to 0.05, both included) MARGINAL. From
 * end B (type B) position p is fiber 13 - p. Both assemblies change in the same twelve judgments:
 * BAD-7 differs only in fiber 7 (end A) / position 6 (end B), which fail under both sets.
 */
const EXPECTED_CHANGES = [
  [3, 'A', 850, 0.33, 'MARGINAL'],
  [3, 'B', 850, 0.45, 'FAIL'],
  [3, 'B', 1300, 0.4, 'FAIL'],
  [5, 'B', 850, 0.3, 'MARGINAL'],
  [6, 'A', 850, 0.4, 'FAIL'],
  [6, 'A', 1300, 0.35, 'MARGINAL'],
  [7, 'B', 850, 0.4, 'FAIL'],
  [7, 'B', 1300, 0.35, 'MARGINAL'],
  [8, 'A', 850, 0.3, 'MARGINAL'],
  [10, 'A', 850, 0.45, 'FAIL'],
  [10, 'A', 1300, 0.4, 'FAIL'],
  [10, 'B', 850, 0.33, 'MARGINAL'],
];

type Change = { fiber: number; end: string; wavelengthNm: number; quantity: string; valueDb: number; old: { limitDb: number; outcome: string }; new: { limitDb: number; outcome: string; marginDb: number } };
type Entry = { uuid: string; subject: { id: string }; oldVerdict: string; newVerdict: string; verdictChanged: boolean; reproduced: boolean; changes: Change[]; limitChanges: { old: { limitDb: number }; new: { limitDb: number } }[] };

describe('re-judging stored certificates on the hub', () => {
  it('needs the token, and stores nothing without it', async () => {
    const refused = await post(`${hub.base}/rejudge`, { filters: {}, limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, by: 'qa-anna' }, null);
    expect(refused.status).toBe(401);
    expect((await post(`${hub.base}/rejudge`, { filters: {}, limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, by: 'qa-anna' }, 'wrong-token-0123456789')).status).toBe(401);
    expect((await fetchReply(`${hub.base}/rejudgements`)).json).toEqual({ rejudgements: [] });
  });

  it('reports exactly the judgments a stricter limit set changes, fiber by fiber, and changes no certificate', async () => {
    const before = await Promise.all(Object.values(uuids).map(async (u) => (await fetchReply(`${hub.base}/certificates/${u}`)).text));
    const started = await post(`${hub.base}/rejudge`, { filters: { site: 'plant-a' }, limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, by: 'qa-anna' });
    expect(started.status, started.text).toBe(201);
    expect(started.json).toEqual({
      id: 1,
      url: '/rejudgements/1',
      summary: { certificates: 2, rejudged: 2, verdictChanged: 1, judgmentsChanged: 24, errors: 0, skipped: 0, notReproduced: 0, transitions: { 'PASS -> FAIL': 1 } },
    });

    const r = await fetchReply(`${hub.base}/rejudgements/1`);
    expect(r.json).toMatchObject({ id: 1, createdBy: 'qa-anna', limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, selection: { site: 'plant-a' } });
    expect(r.json.report.limitSet).toMatchObject({ id: 'qa-strict-grades', version: '1.0.0', origin: 'user' });
    expect(r.json.report.assumptions.join(' ')).toContain('evaluation.settings');
    const entries = r.json.report.certificates as Entry[];
    expect(entries.map((e) => [e.subject.id, e.oldVerdict, e.newVerdict, e.verdictChanged, e.reproduced])).toEqual([
      ['BAD-7', 'FAIL', 'FAIL', false, true],
      ['GOOD-1', 'PASS', 'FAIL', true, true],
    ]);
    for (const e of entries) {
      expect(e.changes.map((c) => [c.fiber, c.end, c.wavelengthNm, c.valueDb, c.new.outcome]), e.subject.id).toEqual(EXPECTED_CHANGES);
      for (const c of e.changes) {
        expect([c.quantity, c.old.limitDb, c.old.outcome, c.new.limitDb]).toEqual(['insertionLoss', 0.6, 'PASS', 0.35]);
        expect(c.new.marginDb).toBe(Math.round((0.35 - c.valueDb) * 1000) / 1000);
      }
      // Every insertion-loss limit changes, each (wavelength, end) listed once.
      expect(e.limitChanges.map((l) => [l.old.limitDb, l.new.limitDb])).toEqual([[0.6, 0.35], [0.6, 0.35], [0.6, 0.35], [0.6, 0.35]]);
    }

    // The certificates are what they were, byte for byte, and still say what their benches judged.
    const after = await Promise.all(Object.values(uuids).map(async (u) => (await fetchReply(`${hub.base}/certificates/${u}`)).text));
    expect(after).toEqual(before);
    expect((await fetchReply(`${hub.base}/certificates?serial=GOOD-1`)).json.items[0].verdict).toBe('PASS');
  });

  it('re-judged against its own limit set version a certificate changes nothing (the rebuilt record is the one the bench judged)', async () => {
    const r = await post(`${hub.base}/rejudge`, { uuids: [uuids['GOOD-1'], uuids['BAD-7']], limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' }, by: 'qa-anna' });
    expect(r.status).toBe(201);
    expect(r.json.summary).toEqual({ certificates: 2, rejudged: 2, verdictChanged: 0, judgmentsChanged: 0, errors: 0, skipped: 0, notReproduced: 0, transitions: {} });
    const report = (await fetchReply(`${hub.base}/rejudgements/${r.json.id}`)).json.report;
    expect(report.certificates.map((c: Entry) => [c.subject.id, c.changes, c.limitChanges, c.reproduced])).toEqual([
      ['GOOD-1', [], [], true],
      ['BAD-7', [], [], true],
    ]);
  });

  it('refuses a limit set the hub does not have, and a selection that matches nothing', async () => {
    const unknown = await post(`${hub.base}/rejudge`, { filters: {}, limitSet: { id: 'qa-strict-grades', version: '9.0.0' }, by: 'qa-anna' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.message).toMatch(/^limitSet: qa-strict-grades@9\.0\.0 is not in the hub's limit library \(.*qa-strict-grades@1\.0\.0/);
    const none = await post(`${hub.base}/rejudge`, { filters: { serial: 'NOPE' }, limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, by: 'qa-anna' });
    expect([none.status, none.json.message]).toEqual([400, 'no certificate matches the selection: nothing to re-judge']);
    expect((await post(`${hub.base}/rejudge`, { limitSet: { id: 'qa-strict-grades', version: '1.0.0' }, by: 'qa-anna' })).status).toBe(400);
    expect((await fetchReply(`${hub.base}/rejudgements`)).json.rejudgements.map((x: { id: number }) => x.id)).toEqual([2, 1]);
  });

  it('runs from the page: the token is typed into the form, checked, and never shown back', async () => {
    const form = await fetchReply(`${hub.base}/qa/rejudge`);
    expect(form.text).toContain('<option value="qa-strict-grades@1.0.0"');
    const body = (token: string) => new URLSearchParams({ serial: 'GOOD-1', verdict: '', site: '', target: 'qa-strict-grades@1.0.0', by: 'qa-ben', token }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    const wrong = await fetchReply(`${hub.base}/qa/rejudge`, { method: 'POST', headers, body: body('not-the-hub-token-123') });
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('the hub token is not right');
    expect(wrong.text).not.toContain('not-the-hub-token-123');
    expect(wrong.text).toContain('value="GOOD-1"');

    const done = await fetchReply(`${hub.base}/qa/rejudge`, { method: 'POST', headers, body: body(HUB_TOKEN) });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/qa/rejudgements/3');
    const page = await fetchReply(`${hub.base}/qa/rejudgements/3`);
    expect(page.text).not.toContain(HUB_TOKEN);
    expect(page.text).toContain('1 certificate: 1 verdict would change (PASS -&gt; FAIL: 1), 12 judgments');
    expect(page.text).toContain('<span class="PASS">PASS</span> → <span class="FAIL">FAIL</span>');
    expect((page.text.match(/<tr><td>\d+<\/td><td>IL<\/td>/g) ?? []).length).toBe(12);
  });
});
