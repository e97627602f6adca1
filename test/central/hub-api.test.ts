/**
 * Issue 14: the central QA hub, end to end on real processes. Two sites, each a real bench daemon
 * on its own simulated bench, both with a bench called "b1"; they certify sample assemblies and
 * their replicators ship to a private PostgreSQL; `mpocert hub` (a real process on port 0) merges
 * and serves QA's API and pages. Every value asserted is what the benches signed.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/http/web/html.js';
import { CentralRig, fetchReply, HUB_TOKEN, waitFor, type HubProcess } from '../helpers/central-rig.js';
import { root, SAMPLE_ASSEMBLIES } from '../helpers/daemon-harness.js';

const run = promisify(execFile);

let rig: CentralRig;
let hub: HubProcess;
/** Certificates by serial: the site that issued each, its id there, its verdict and its uuid. */
const certified: Record<string, { site: string; id: number; verdict: string; uuid: string }> = {};

async function certify(site: string, serial: string): Promise<void> {
  certified[serial] = { site, ...(await rig.certify(site, 'b1', serial)) };
}

beforeAll(async () => {
  rig = new CentralRig('mpocert-hub-api-');
  await rig.startCentralStore();
  const assemblies = { ...SAMPLE_ASSEMBLIES, '=SUM-1': 'mtp12-om4-good' };
  for (const site of ['plant-a', 'plant-b']) await rig.startSite(site, { id: 'b1', assemblies });
  await certify('plant-a', 'GOOD-1');
  await certify('plant-a', 'BAD-7');
  await certify('plant-b', 'GOOD-2');
  await certify('plant-b', 'SWAP-34');
  await certify('plant-b', '=SUM-1');

  hub = await rig.startHub(
    'hub.yaml',
    [
      `postgresUrl: ${rig.url}`,
      'http: { host: 127.0.0.1, port: 0, token: ' + HUB_TOKEN + ' }',
      'mergeIntervalMs: 100',
      'trust:',
      '  - { site: plant-a, keysFile: plant-a-keys.json }',
      '  - { site: plant-b, keysFile: plant-b-keys.json }',
      '',
    ].join('\n'),
  );
  await rig.waitForHub('both benches merged', async () => {
    const b = (await fetchReply(`${hub.base}/benches`)).json as { benches: { site: string; headSequence: number }[] };
    const heads = Object.fromEntries(b.benches.map((x) => [x.site, x.headSequence]));
    // The hub logs a merge just after committing it: wait for the line too, not only the rows.
    return heads['plant-a'] === 2 && heads['plant-b'] === 3 && hub.log.some((l) => l.includes('"msg":"merged the inbox"')) ? true : undefined;
  });
}, 240_000);

afterAll(() => rig?.stop());

type Item = { uuid: string; site: string; benchId: string; benchSequence: number; idOnBench: number; serial: string | null; verdict: string; limitSetId: string; limitSetVersion: string; issuedAt: string; integrity: string };
const search = async (query: string): Promise<{ total: number; items: Item[] }> => {
  const r = await fetchReply(`${hub.base}/certificates?${query}`);
  expect(r.status, r.text).toBe(200);
  return r.json as { total: number; items: Item[] };
};

describe('the hub: merged from two sites, searched across them', () => {
  it('logs where it listens and the merge it did', () => {
    expect(hub.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(hub.log.join('\n')).toMatch(/"merged":[1-5].*"msg":"merged the inbox"/);
  });

  it('lists each bench as (site, bench): merged heads, nothing refused, nothing waiting', async () => {
    const r = await fetchReply(`${hub.base}/benches`);
    expect(r.json.benches.map((b: Record<string, unknown>) => ({ site: b.site, benchId: b.benchId, headSequence: b.headSequence, quarantined: b.quarantined, waiting: b.waiting, broken: b.broken }))).toEqual([
      { site: 'plant-a', benchId: 'b1', headSequence: 2, quarantined: 0, waiting: 0, broken: null },
      { site: 'plant-b', benchId: 'b1', headSequence: 3, quarantined: 0, waiting: 0, broken: null },
    ]);
  });

  it('searches by serial, verdict, site, bench, limit set and dates, newest first, with the total', async () => {
    const good = await search('serial=GOOD-1');
    expect(good.total).toBe(1);
    expect(good.items[0]).toMatchObject({ uuid: certified['GOOD-1']!.uuid, site: 'plant-a', benchId: 'b1', benchSequence: 1, idOnBench: certified['GOOD-1']!.id, serial: 'GOOD-1', verdict: 'PASS', limitSetId: 'mtp-mpo-connector-grades', limitSetVersion: '1.1.0', integrity: 'valid' });

    const fails = await search('verdict=FAIL');
    expect(fails.items.map((i) => i.serial).sort()).toEqual(['BAD-7', 'SWAP-34']);
    expect((await search('verdict=FAIL&site=plant-b')).items.map((i) => i.serial)).toEqual(['SWAP-34']);

    const all = await search('bench=b1');
    expect(all.total).toBe(5);
    // Newest first: the order they were certified, reversed.
    expect(all.items.map((i) => i.serial)).toEqual(['=SUM-1', 'SWAP-34', 'GOOD-2', 'BAD-7', 'GOOD-1']);
    expect(all.items.map((i) => i.issuedAt)).toEqual([...all.items.map((i) => i.issuedAt)].sort().reverse());

    expect((await search('site=plant-a&bench=b1')).items.map((i) => i.serial)).toEqual(['BAD-7', 'GOOD-1']);
    expect((await search('site=plant-c')).total).toBe(0);
    expect((await search('limitSet=mtp-mpo-connector-grades')).total).toBe(5);
    expect((await search('limitSet=tia-568.3-e')).total).toBe(0);
    const page = await search('bench=b1&limit=2&offset=1');
    expect([page.total, page.items.map((i) => i.serial)]).toEqual([5, ['SWAP-34', 'GOOD-2']]);

    const day = all.items[0]!.issuedAt.slice(0, 10);
    expect((await search(`from=${day}`)).total).toBe(5);
    // `to` is exclusive, as on a bench: nothing was issued before the day they all were.
    expect((await search(`to=${day}`)).total).toBe(0);
    expect((await search(`from=${all.items[1]!.issuedAt}`)).items.map((i) => i.serial)).toEqual(['=SUM-1', 'SWAP-34']);
    expect((await fetchReply(`${hub.base}/certificates?verdict=GOOD`)).status).toBe(400);
    expect((await fetchReply(`${hub.base}/certificates?colour=red`)).status).toBe(400);
  });

  it("serves each certificate's JSON byte for byte as its bench does, verified against the pinned keys", async () => {
    for (const [serial, c] of Object.entries(certified)) {
      const benchReply = await fetchReply(`${rig.daemons[c.site]!.base}/certificates/${c.id}`);
      const hubReply = await fetchReply(`${hub.base}/certificates/${c.uuid}`);
      expect([serial, hubReply.status, hubReply.headers.get('x-mpocert-integrity'), hubReply.headers.get('x-mpocert-site')]).toEqual([serial, 200, 'valid', c.site]);
      expect(hubReply.bytes.equals(benchReply.bytes), serial).toBe(true);
    }
    const v = await fetchReply(`${hub.base}/certificates/${certified['BAD-7']!.uuid}/verify`);
    expect(v.json).toEqual({ uuid: certified['BAD-7']!.uuid, site: 'plant-a', benchId: 'b1', benchSequence: 2, idOnBench: certified['BAD-7']!.id, valid: true, problems: [] });
    expect((await fetchReply(`${hub.base}/certificates/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
    expect((await fetchReply(`${hub.base}/certificates/1`)).status).toBe(400);
  });

  it('renders the page, CSV and PDF with the bench renderers', async () => {
    const uuid = certified['BAD-7']!.uuid;
    const html = await fetchReply(`${hub.base}/certificates/${uuid}?format=html`);
    expect(html.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(html.headers.get('content-security-policy')).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html.text).toContain('<p class="verdict">FAIL</p>');
    expect(html.text).toContain('BAD-7');
    // Links go to this certificate on the hub (by uuid), not to an id that names nothing here.
    expect(html.text).toContain(`href="/certificates/${uuid}/verify"`);
    expect(html.text).not.toMatch(/href="\/certificates\/\d+[/?"]/);

    const csv = await fetchReply(`${hub.base}/certificates/${uuid}?format=csv`);
    const lines = csv.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('certificate,subject,verdict,limit_set,fiber,wavelength_nm,end,quantity,value_db,limit_db,limit_kind,limit_basis,margin_db,outcome,reason,headroom_db,integrity');
    expect(lines).toHaveLength(1 + 12 * 2 * 2);
    // limit_basis may be quoted (it holds commas): a failing row is the one whose margin is negative and outcome FAIL.
    expect(lines.filter((l) => /,-[0-9.]+,FAIL,/.test(l)).map((l) => l.split(',').slice(4, 9).join(' '))).toEqual(['6 850 B insertion loss 0.9', '6 1300 B insertion loss 0.85', '7 850 A insertion loss 0.9', '7 1300 A insertion loss 0.85']);

    const pdf = await fetchReply(`${hub.base}/certificates/${uuid}?format=pdf`);
    expect([pdf.status, pdf.headers.get('content-type'), pdf.bytes.subarray(0, 5).toString()]).toEqual([200, 'application/pdf', '%PDF-']);
    const file = join(rig.tmp.dir, 'bad-7.pdf');
    writeFileSync(file, pdf.bytes);
    const text = (await run('pdftotext', ['-layout', file, '-'])).stdout;
    expect(text).toContain(`Test certificate ${certified['BAD-7']!.id}`);
    expect(text).toContain('BAD-7');
    expect(text).toMatch(/\bFAIL\b/);
  });

  it("re-verifies each bench's whole merged chain in order", async () => {
    const a = await fetchReply(`${hub.base}/benches/plant-a/b1/verify`);
    expect(a.json).toMatchObject({ site: 'plant-a', benchId: 'b1', checked: 2, valid: true, problemCount: 0, problems: [] });
    expect(a.json.head.sequence).toBe(2);
    expect(a.json.perSecond).toBeGreaterThan(0);
    expect((await fetchReply(`${hub.base}/benches/plant-b/b1/verify`)).json).toMatchObject({ checked: 3, valid: true, problems: [] });
    expect((await fetchReply(`${hub.base}/benches/plant-c/b1/verify`)).status).toBe(404);
  });

  it('exports CSV (formula-safe) and JSON lines (each as signed), and the pages', async () => {
    const csv = await fetchReply(`${hub.base}/export?format=csv&site=plant-b`);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="certificates-.*\.csv"$/);
    const rows = csv.text.trimEnd().split('\r\n');
    expect(rows[0]).toBe('uuid,site,bench,bench_sequence,id_on_bench,issued_at,subject_kind,serial,link_id,project,verdict,limit_set_id,limit_set_version,integrity');
    expect(rows.slice(1).map((r) => r.split(',').slice(1, 5).concat(r.split(',').slice(7, 8), r.split(',').slice(10, 11), r.split(',').slice(13)))).toEqual([
      ['plant-b', 'b1', '3', String(certified['=SUM-1']!.id), "'=SUM-1", 'PASS', 'valid'],
      ['plant-b', 'b1', '2', String(certified['SWAP-34']!.id), 'SWAP-34', 'FAIL', 'valid'],
      ['plant-b', 'b1', '1', String(certified['GOOD-2']!.id), 'GOOD-2', 'PASS', 'valid'],
    ]);

    const jsonl = await fetchReply(`${hub.base}/export?format=jsonl&bench=b1`);
    const lines = jsonl.text.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(5);
    for (const line of lines) {
      const uuid = (JSON.parse(line) as { uuid: string }).uuid;
      expect(line).toBe((await fetchReply(`${hub.base}/certificates/${uuid}`)).text);
    }
    expect((await fetchReply(`${hub.base}/export?format=pdf`)).status).toBe(400);

    const page = await fetchReply(`${hub.base}/qa?serial=GOOD-2`);
    expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
    expect(page.text).toContain('1 certificate matches');
    expect(page.text).toContain(`href="/certificates/${certified['GOOD-2']!.uuid}?format=pdf"`);
    expect(page.text).toContain('<td>plant-b</td>');
    expect((await fetchReply(`${hub.base}/qa?from=2026-02-31`)).text).toContain('from: &quot;2026-02-31&quot; is not a date');
    const bench = await fetchReply(`${hub.base}/qa/benches/plant-a/b1`);
    expect(bench.text).toContain('href="/qa/benches/plant-a/b1?verify=1"');
    expect((await fetchReply(`${hub.base}/qa/benches/plant-a/b1?verify=1`)).text).toContain('Intact: 2 certificates checked in order');
    expect((await fetchReply(`${hub.base}/qa/benches`)).text).toContain('<a href="/qa/benches/plant-a/b1">b1</a>');
    expect((await fetchReply(`${hub.base}/`)).headers.get('location')).toBe('/qa');
    expect((await fetchReply(`${hub.base}/assets/console.css`)).status).toBe(200);
  });

  it('serves a certificate edited in PostgreSQL after the merge as FAILED, and the chain check names it', async () => {
    const uuid = certified['BAD-7']!.uuid;
    await rig.pool.query(`UPDATE certificates SET verdict = 'PASS' WHERE uuid = $1`, [uuid]);
    try {
      const served = await fetchReply(`${hub.base}/certificates/${uuid}`);
      expect(served.headers.get('x-mpocert-integrity')).toBe('FAILED');
      expect(served.json.integrity.problems.map((p: { problem: string }) => p.problem)).toEqual(['content']);
      const page = await fetchReply(`${hub.base}/certificates/${uuid}?format=html`);
      expect(page.text).toContain('INTEGRITY CHECK FAILED');
      expect(page.text).not.toContain('<p class="verdict">PASS</p>');
      expect((await search('serial=BAD-7')).items[0]!.integrity).toBe('FAILED');
      const chain = await fetchReply(`${hub.base}/benches/plant-a/b1/verify`);
      expect(chain.json).toMatchObject({ checked: 2, valid: false, problemCount: 1 });
      expect(chain.json.problems[0]).toMatchObject({ benchSequence: 2, uuid, problem: 'content', detail: 'content does not match its recorded hash' });
    } finally {
      await rig.pool.query(`UPDATE certificates SET verdict = 'FAIL' WHERE uuid = $1`, [uuid]);
    }
    expect((await fetchReply(`${hub.base}/certificates/${uuid}`)).headers.get('x-mpocert-integrity')).toBe('valid');
  });

  it('serves a certificate whose project column was edited after the merge as FAILED: a FAIL cannot be moved into or out of a project', async () => {
    const uuid = certified['BAD-7']!.uuid;
    await rig.pool.query(`UPDATE certificates SET project_id = 'PRJ-OTHER' WHERE uuid = $1`, [uuid]);
    try {
      const found = await search('project=PRJ-OTHER');
      expect(found.items.map((i) => [i.serial, i.integrity])).toEqual([['BAD-7', 'FAILED']]);
      const served = await fetchReply(`${hub.base}/certificates/${uuid}`);
      expect(served.headers.get('x-mpocert-integrity')).toBe('FAILED');
      expect(served.json.integrity.problems.map((p: { detail: string }) => p.detail)).toEqual(['columns disagree with the signed body: projectId (column "PRJ-OTHER", body null)']);
    } finally {
      await rig.pool.query(`UPDATE certificates SET project_id = NULL WHERE uuid = $1`, [uuid]);
    }
  });

  it('quarantines a tampered shipment with its reason: never searchable; the genuine next certificate still merges', async () => {
    // A shipment for plant-a's next sequence that claims BAD-7's body says PASS.
    const row = (await rig.pool.query<Record<string, unknown>>('SELECT * FROM certificates WHERE uuid = $1', [certified['BAD-7']!.uuid])).rows[0]!;
    const forged = '11111111-2222-4333-8444-555555555555';
    const fields = {
      idOnBench: 99,
      uuid: forged,
      benchId: 'b1',
      jobId: row.job_id,
      subjectKind: 'assembly',
      serial: 'FORGED-1',
      linkId: null,
      verdict: 'PASS',
      limitSetId: row.limit_set_id,
      limitSetVersion: row.limit_set_version,
      issuedAt: row.issued_at,
      prevHash: (row.hash as Buffer).toString('hex'),
      hash: (row.hash as Buffer).toString('hex'),
      signature: (row.signature as Buffer).toString('base64'),
      keyId: (row.key_id as Buffer).toString('hex'),
      benchSequence: 3,
    };
    await rig.pool.query(`INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields, body) VALUES ('certificate', $1, 'plant-a', 'b1', 3, $2, $3)`, [forged, JSON.stringify(fields), row.body]);
    const q = await waitFor('the forged shipment quarantined', async () => {
      const r = (await fetchReply(`${hub.base}/quarantine`)).json as { total: number; items: { ref: string; problem: string; site: string; benchSequence: number; claimed: { serial: string } }[] };
      return r.total === 1 ? r : undefined;
    });
    expect(q.items[0]).toMatchObject({ ref: forged, site: 'plant-a', benchSequence: 3, problem: 'content does not match its recorded hash', claimed: { serial: 'FORGED-1' } });
    expect((await search('serial=FORGED-1')).total).toBe(0);
    expect((await fetchReply(`${hub.base}/certificates/${forged}`)).status).toBe(404);
    expect(hub.log.join('\n')).toContain('"reason":"content does not match its recorded hash"');
    const benches = (await fetchReply(`${hub.base}/benches`)).json.benches as { site: string; quarantined: number; broken: string | null }[];
    expect(benches.find((b) => b.site === 'plant-a')).toMatchObject({ quarantined: 1, broken: expect.stringContaining('sequence 3 was refused (content does not match its recorded hash)') });
    expect((await fetchReply(`${hub.base}/qa/quarantine`)).text).toContain('content does not match its recorded hash');

    // The bench's own third certificate is the genuine sequence 3: it merges, and the bench is whole again.
    await certify('plant-a', 'GOOD-2');
    await waitFor('plant-a sequence 3 merged', async () => ((await search('site=plant-a')).total === 3 ? true : undefined));
    const a = (await fetchReply(`${hub.base}/benches`)).json.benches.find((b: { site: string }) => b.site === 'plant-a');
    expect(a).toMatchObject({ headSequence: 3, quarantined: 1, broken: null });
    expect((await fetchReply(`${hub.base}/benches/plant-a/b1/verify`)).json).toMatchObject({ checked: 3, valid: true });
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await hub.stop()).toBe(0);
    expect(hub.log.join('\n')).toContain('"reason":"SIGTERM","msg":"hub stopping"');
  });

  it('`mpocert hub merge` merges once and says what it did (for scripts)', async () => {
    await certify('plant-b', 'GOOD-1');
    await waitFor('the certificate shipped', async () => ((await rig.pool.query<{ n: string }>("SELECT count(*) AS n FROM inbox WHERE kind = 'certificate'")).rows[0]!.n === '1' ? true : undefined));
    const r = await run(process.execPath, [join(root, 'dist/src/cli/main.js'), 'hub', 'merge', '--config', hub.configPath]);
    expect(r.stdout).toBe('merged 1, quarantined 0, duplicates 0, other 0, waiting 0\n');
    const merged = await rig.pool.query<{ serial: string; bench_seq: string }>("SELECT serial, bench_seq FROM certificates WHERE site = 'plant-b' ORDER BY bench_seq DESC LIMIT 1");
    expect(merged.rows[0]).toEqual({ serial: 'GOOD-1', bench_seq: '4' });
  });
});
