import { PRODUCT_LINK_MTP12_OM4 } from '../../fixtures/harness/products.js';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  benchConfig,
  DaemonProcess,
  PRODUCT_MTP12_OM4_B,
  root,
  send,
  simControl,
  startSimulatorProcess,
  tempDir,
  TOKEN,
  writeConfig,
  type SimulatorProcess,
} from '../helpers/daemon-harness.js';
import { withBodyCodec } from '../helpers/stored-body.js';

/**
 * The installer's project on the real daemon process and the simulated multi-port bench (loss
 * and polarity): a cable schedule imported over HTTP, planned links certified by POST /jobs with
 * `project`, progress, the CSV and PDF reports. In order: each step builds on the last.
 *
 * The simulated operator puts the sample assembly its id maps to in the light path: the planned
 * links are measured as those samples (12-fiber OM4 type B), judged against the plan's budget.
 */
const ASSEMBLIES = {
  'L-001': 'mtp12-om4-good',
  'L-002': 'mtp12-om4-fiber7-0.9dB',
  'L-003': 'mtp12-om4-good',
  'L-009': 'mtp12-om4-good',
};

const LINK_PRODUCT = PRODUCT_LINK_MTP12_OM4;

const SCHEDULE = [
  'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity',
  'L-001,40,2,0,OM4,12,40GBASE-SR4,B',
  'L-002,30,1,0,OM4,12,,B',
  'L-003,30,1,0,OM4,12,,B',
  'L-004,55.5,2,1,OM4,12,10GBASE-SR,B',
  'L-024,20,2,0,OM4,24,,B',
].join('\r\n');

let sim: SimulatorProcess;
let daemon: DaemonProcess;
let tmp: ReturnType<typeof tempDir>;
let configPath: string;

interface JobReply {
  state: string;
  verdict?: string;
  certificateId?: number;
  error?: string;
  message?: string;
}
interface Judgment {
  wavelengthNm: number;
  value: number;
  limit: number;
  margin: number;
  outcome: string;
}
interface CertReply {
  verdict: string;
  certificate: {
    issuedAt: string;
    project?: { id: string; planned: boolean };
    subject: { kind: string; id: string; product: string; description: Record<string, unknown> };
    evaluation: { summary: { lowestMarginDb: number }; fibers: { fiber: number; judgments: Judgment[] }[]; reasons: string[] };
  };
}

const job = (body: Record<string, unknown>) => daemon.api<JobReply>('POST', '/jobs', { bench: 'bench1', operator: 'installer', wait: true, ...body });
const cert = async (id: number) => (await daemon.api<CertReply>('GET', `/certificates/${id}`)).json;
const postCsv = (path: string, csv: string, token: string | null = TOKEN) =>
  send<{ error: string; message: string; added: string[]; updated: string[]; unchanged: string[]; planned: number }>(daemon.base, {
    method: 'POST',
    path,
    headers: { 'content-type': 'text/csv', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: csv,
  });

/** A PDF's text as pdftotext reads it (layout kept), or one line of it with runs of white space as one space. */
async function pdfText(path: string, oneLine = false): Promise<string> {
  const res = await fetch(`${daemon.base}${path}`);
  expect([res.status, res.headers.get('content-type')]).toEqual([200, 'application/pdf']);
  const file = join(tmp.dir, `read-${Date.now()}-${Math.random().toString(36).slice(2)}.pdf`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout;
  return oneLine ? text.replace(/\s+/g, ' ') : text;
}
const certificatePdfText = (id: number) => pdfText(`/certificates/${id}?format=pdf`, true);

beforeAll(async () => {
  tmp = tempDir('mpocert-projects-http-');
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
  configPath = writeConfig(tmp.dir, [benchConfig({ id: 'bench1', sim, multiPort: true, assemblies: ASSEMBLIES })], {
    products: { 'MTP12-OM4-B': PRODUCT_MTP12_OM4_B, 'LINK-MTP12-OM4': LINK_PRODUCT },
  });
  daemon = await new DaemonProcess(configPath).start();
  expect((await daemon.api('POST', '/benches/bench1/reference')).status).toBe(200);
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('an installer project on the real daemon', () => {
  it('creates a project with its cable schedule; a schedule with a bad row imports nothing and says which lines', async () => {
    expect((await daemon.api('POST', '/projects', { id: 'P-1', title: 'x' }, null)).status).toBe(401);
    const created = await daemon.api<{ project: Record<string, unknown>; imported: Record<string, unknown> }>('POST', '/projects', {
      id: 'P-1',
      title: 'Hall 3 fit-out',
      site: 'Frankfurt DC2',
      csv: SCHEDULE,
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/projects/P-1');
    expect(created.json.project).toEqual({ id: 'P-1', title: 'Hall 3 fit-out', site: 'Frankfurt DC2', createdAt: expect.stringMatching(/^\d{4}-/), createdBy: 'shared token' });
    expect(created.json.imported).toEqual({ added: ['L-001', 'L-002', 'L-003', 'L-004', 'L-024'], updated: [], unchanged: [], planned: 5 });

    const again = await daemon.api<{ error: string; message: string }>('POST', '/projects', { id: 'P-1', title: 'again' });
    expect([again.status, again.json]).toEqual([409, { error: 'PROJECT_EXISTS', message: 'project P-1 already exists: import more links into it (POST /projects/P-1/links)' }]);

    const bad = await postCsv('/projects/P-1/links', 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-005,20,2,0,OM4,12,,B\nL-006,-3,2,0,OM4,12,,B\n');
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'INPUT_INVALID', message: 'cable schedule refused, nothing imported: line 3: length_m "-3" is not a length in metres greater than 0 (e.g. 42.5)' });
    const asJson = await daemon.api<{ message: string }>('POST', '/projects/P-1/links', { csv: 'x' });
    expect([asJson.status, asJson.json.message]).toEqual([400, 'send the cable schedule as the request body with content-type: text/csv (columns link_id, length_m, connections, splices, fiber_type, fiber_count, application, polarity)']);
    expect((await postCsv('/projects/P-9/links', SCHEDULE)).status).toBe(404);
    expect((await postCsv('/projects/P-1/links', SCHEDULE, null)).status).toBe(401);
    const progress = await daemon.api<{ counts: Record<string, number> }>('GET', '/projects/P-1');
    expect(progress.json.counts).toEqual({ planned: 5, tested: 0, untested: 5, pass: 0, fail: 0, invalid: 0, unplanned: 0 });
  });

  it('certifies a planned link from the plan: its length, connections, application and polarity form the limit; the certificate says project P-1, planned', async () => {
    const done = await job({ linkId: 'L-001', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect(done.json).toMatchObject({ state: 'completed', verdict: 'PASS', certificateId: 1 });
    const c = await cert(1);
    expect(c.certificate.project).toEqual({ id: 'P-1', planned: true });
    expect(c.certificate.subject).toMatchObject({ kind: 'link', id: 'L-001', product: 'LINK-MTP12-OM4' });
    expect(c.certificate.subject.description).toMatchObject({
      lengthM: 40,
      connections: 2,
      splices: 0,
      fiberType: 'OM4',
      fiberCount: 12,
      application: '40GBASE-SR4',
      polarity: { declared: 'B' },
      limitSet: { id: 'mpocert-default', version: '1.1.0' },
    });
    // Budget 2 x 0.75 + 0.04 km x 3.5 dB/km = 1.64 dB at 850 nm (x 1.5 = 1.56 at 1300), above
    // 40GBASE-SR4's OM4 channel loss of 1.5 dB: 1.5 judges both. Worst: fiber 10, 0.45 dB at 850 nm.
    const limits = new Set(c.certificate.evaluation.fibers.flatMap((f) => f.judgments.map((j) => `${j.wavelengthNm}:${j.limit}`)));
    expect([...limits]).toEqual(['850:1.5', '1300:1.5']);
    expect(c.certificate.evaluation.summary.lowestMarginDb).toBe(1.05);
    // The certificate's page and its PDF say which project and what its plan supplied.
    const page = await send(daemon.base, { method: 'GET', path: '/certificates/1?format=html' });
    expect(page.text).toContain(
      "<dt>Project</dt><dd>P-1 (planned link: length, connections, splices, fiber type and count, polarity and application from the project's cable schedule; an application it leaves empty is the product's)</dd>",
    );
    expect(await certificatePdfText(1)).toContain(
      "Project P-1 (planned link: length, connections, splices, fiber type and count, polarity and application from the project's cable schedule (an application it leaves empty is the product's))",
    );
  });

  it('judges a planned link that fails against its own plan, and counts a retest that passes as pass', async () => {
    // 1 x 0.75 + 0.03 km x 3.5 dB/km = 0.855 dB at 850 nm; fiber 7 reads 0.90 dB: margin -0.045.
    // At 1300 nm 0.75 + 0.03 x 1.5 = 0.795 dB against 0.85 dB: margin -0.055, the worst.
    const failed = await job({ linkId: 'L-002', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect(failed.json).toMatchObject({ state: 'completed', verdict: 'FAIL', certificateId: 2 });
    const c2 = await cert(2);
    const fiber7 = c2.certificate.evaluation.fibers.find((f) => f.fiber === 7)!;
    expect(fiber7.judgments.map((j) => [j.wavelengthNm, j.value, j.limit, j.margin, j.outcome])).toEqual([
      [850, 0.9, 0.855, -0.045, 'FAIL'],
      [1300, 0.85, 0.795, -0.055, 'FAIL'],
    ]);
    expect(c2.certificate.evaluation.summary.lowestMarginDb).toBe(-0.055);

    // L-003 is tested first with L-002's faulty sample still in the path (a person who left it
    // there), then again with its own: FAIL, then PASS.
    expect(await simControl(sim, 'OPERATOR STICKY')).toBe('OK');
    const first = await job({ linkId: 'L-003', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect(await simControl(sim, 'OPERATOR NORMAL')).toBe('OK');
    expect(first.json).toMatchObject({ verdict: 'FAIL', certificateId: 3 });
    const retest = await job({ linkId: 'L-003', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect(retest.json).toMatchObject({ verdict: 'PASS', certificateId: 4 });
    // 0.855 - 0.45 = 0.405 at 850 nm, 0.795 - 0.40 = 0.395 at 1300 nm.
    expect((await cert(4)).certificate.evaluation.summary.lowestMarginDb).toBe(0.395);
  });

  it('certifies a link id not in the plan from the product alone, flagged unplanned', async () => {
    const done = await job({ linkId: 'L-009', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect(done.json).toMatchObject({ state: 'completed', verdict: 'PASS', certificateId: 5 });
    const c = await cert(5);
    expect(c.certificate.project).toEqual({ id: 'P-1', planned: false });
    expect(c.certificate.subject.description).toMatchObject({ lengthM: 100, connections: 2, splices: 0 });
    expect(c.certificate.subject.description).not.toHaveProperty('polarity');
    // 2 x 0.75 + 0.1 x 3.5 = 1.85 dB - 0.45 = 1.4; 2 x 0.75 + 0.1 x 1.5 = 1.65 dB - 0.40 = 1.25.
    expect(c.certificate.evaluation.summary.lowestMarginDb).toBe(1.25);
    // The certificate's own page says so too, not only the project's report.
    const page = await send(daemon.base, { method: 'GET', path: '/certificates/5?format=html' });
    expect(page.text).toContain("<dt>Project</dt><dd>P-1 <b>UNPLANNED</b>: not in the project's cable schedule; described by the product alone</dd>");
    // ... and its PDF, which before showed no project at all.
    expect(await certificatePdfText(5)).toContain("Project P-1 UNPLANNED: not in the project's cable schedule; described by the product alone");
  });

  it('refuses, recording nothing: a project that does not exist, a plan the product cannot measure, an assembly product, a serial', async () => {
    const before = (await daemon.api<{ total: number }>('GET', '/certificates')).json.total;
    const unknown = await job({ linkId: 'L-001', project: 'NOPE', product: 'LINK-MTP12-OM4' });
    expect([unknown.status, unknown.json.error, unknown.json.message]).toEqual([404, 'UNKNOWN_PROJECT', 'no project "NOPE": create it and import its cable schedule first (bench=bench1 project=NOPE)']);

    const wide = await job({ linkId: 'L-024', project: 'P-1', product: 'LINK-MTP12-OM4' });
    expect([wide.status, wide.json.error]).toEqual([422, 'PLAN_PRODUCT_MISMATCH']);
    expect(wide.json.message).toMatch(
      /^link L-024 of project P-1 has 24 fibers in the plan, and product LINK-MTP12-OM4 is for 12-fiber links: certify it as a 24-fiber link product, on a bench that measures 24 fibers \[rule subject-from-product: .*\] \(product=LINK-MTP12-OM4 project=P-1\)$/,
    );
    // No product named: the bench's default, an assembly product, cannot describe a planned link.
    const assembly = await job({ linkId: 'L-004', project: 'P-1' });
    expect([assembly.status, assembly.json.error]).toEqual([422, 'PLAN_PRODUCT_MISMATCH']);
    expect(assembly.json.message).toMatch(/^link L-004 of project P-1 is a planned installed link, and product MTP12-OM4-B is an assembly: name a link product with the job \(LINK-MTP12-OM4\)/);
    const serial = await job({ serial: 'L-004', project: 'P-1' });
    expect([serial.status, serial.json.message]).toEqual([400, 'project P-1 plans installed links: certify one by linkId, not serial (bench=bench1 project=P-1)']);
    expect((await daemon.api<{ total: number }>('GET', '/certificates')).json.total).toBe(before);
  });

  it('imports again: a tested link\'s plan cannot change; new links are added', async () => {
    const changed = await postCsv('/projects/P-1/links', 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-005,25,2,0,OM4,12,,B\nL-002,30,2,0,OM4,12,,B\n');
    expect(changed.status).toBe(400);
    expect(changed.json.message).toBe(
      'cable schedule refused, nothing imported: line 3: link L-002 was tested (certificate 2); its plan cannot change (connections 1 -> 2): a certificate was judged against it',
    );
    const added = await postCsv('/projects/P-1/links', 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-005,25,2,0,OM4,12,,B\nL-002,30,1,0,OM4,12,,B\n');
    expect([added.status, added.json]).toEqual([200, { project: 'P-1', added: ['L-005'], updated: [], unchanged: ['L-002'], planned: 6 }]);
  });

  it('shows progress: planned, tested, pass, fail, untested, and the unplanned result apart', async () => {
    const p = await daemon.api<{
      counts: Record<string, number>;
      links: { plan: { linkId: string }; status: string; tests: number; latest?: { certificateId: number; verdict: string } }[];
      unplanned: { linkId: string; tests: number; latest: { certificateId: number; verdict: string } }[];
    }>('GET', '/projects/P-1');
    expect(p.json.counts).toEqual({ planned: 6, tested: 3, untested: 3, pass: 2, fail: 1, invalid: 0, unplanned: 1 });
    expect(p.json.links.map((l) => [l.plan.linkId, l.status, l.tests, l.latest?.certificateId ?? null, l.latest?.verdict ?? null])).toEqual([
      ['L-001', 'pass', 1, 1, 'PASS'],
      ['L-002', 'fail', 1, 2, 'FAIL'],
      ['L-003', 'pass', 2, 4, 'PASS'],
      ['L-004', 'untested', 0, null, null],
      ['L-024', 'untested', 0, null, null],
      ['L-005', 'untested', 0, null, null],
    ]);
    expect(p.json.unplanned.map((u) => [u.linkId, u.tests, u.latest.certificateId, u.latest.verdict])).toEqual([['L-009', 1, 5, 'PASS']]);
    const list = await daemon.api<{ items: { id: string; counts: Record<string, number> }[] }>('GET', '/projects');
    expect(list.json.items.map((i) => [i.id, i.counts.pass, i.counts.fail, i.counts.untested])).toEqual([['P-1', 2, 1, 3]]);
  });

  it('reports as CSV: one row per planned link, then the unplanned one', async () => {
    const issued = await Promise.all([1, 2, 4, 5].map(async (id) => (await cert(id)).certificate.issuedAt));
    const csv = await send(daemon.base, { method: 'GET', path: '/projects/P-1/report.csv' });
    expect(csv.status).toBe(200);
    expect(csv.type).toBe('text/csv; charset=utf-8');
    expect(csv.headers['content-disposition']).toBe('attachment; filename="project-P-1.csv"');
    expect(csv.text.split('\r\n')).toEqual([
      'link_id,planned,length_m,connections,splices,fiber_type,fiber_count,application,polarity,status,verdict,certificate,issued_at,bench,worst_loss_margin_db',
      `L-001,yes,40,2,0,OM4,12,40GBASE-SR4,B,pass,PASS,1,${issued[0]},bench1,1.05`,
      `L-002,yes,30,1,0,OM4,12,,B,fail,FAIL,2,${issued[1]},bench1,-0.055`,
      `L-003,yes,30,1,0,OM4,12,,B,pass,PASS,4,${issued[2]},bench1,0.395`,
      'L-004,yes,55.5,2,1,OM4,12,10GBASE-SR,B,untested,,,,,',
      'L-024,yes,20,2,0,OM4,24,,B,untested,,,,,',
      'L-005,yes,25,2,0,OM4,12,,B,untested,,,,,',
      `L-009,no,,,,,,,,unplanned,PASS,5,${issued[3]},bench1,1.25`,
      '',
    ]);
  });

  it('reports as one PDF carrying the project, its counts, every link and its verdict', async () => {
    const pdf = await new Promise<Buffer>((resolve, reject) => {
      void import('node:http').then(({ get }) =>
        get(`${daemon.base}/projects/P-1/report.pdf`, (res) => {
          expect(res.statusCode).toBe(200);
          expect(res.headers['content-type']).toBe('application/pdf');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        }).on('error', reject),
      );
    });
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(tmp.dir, 'report.pdf');
    writeFileSync(file, pdf);
    const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout;
    expect(text).toContain('Project P-1: Hall 3 fit-out');
    expect(text).toContain('Site: Frankfurt DC2');
    expect(text).toMatch(/Planned 6\s+Tested 3\s+Pass 2\s+Fail 1\s+Invalid 0\s+Untested 3\s+Unplanned 1/);
    const lineOf = (id: string) => text.split('\n').find((l) => new RegExp(`\\b${id}\\b`).test(l)) ?? '';
    expect(lineOf('L-001')).toMatch(/^\s*1\s+L-001\s+40\s+2\s+0\s+OM4\s+12\s+40GBASE-SR4\s+B\s+pass\s+PASS\s+1\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\s+bench1\s+1\.05\s*$/);
    expect(lineOf('L-002')).toMatch(/\bfail\s+FAIL\s+2\s+.*bench1\s+-0\.055\s*$/);
    expect(lineOf('L-003')).toMatch(/\bpass\s+PASS\s+4\s+.*bench1\s+0\.395\s*$/);
    expect(lineOf('L-004')).toMatch(/^\s*4\s+L-004\s+55\.5\s+2\s+1\s+OM4\s+12\s+10GBASE-SR\s+B\s+untested\s*$/);
    expect(lineOf('L-009')).toMatch(/^\s*L-009\s+unplanned\s+PASS\s+5\s+.*bench1\s+1\.25\s+1\s*$/);
  });

  it('serves the project page with the console CSP: links to certificates, reports and each bench', async () => {
    const page = await send(daemon.base, { method: 'GET', path: '/projects/P-1', headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    for (const href of ['/certificates/1?format=html', '/certificates/4?format=html', '/certificates/5?format=html', '/projects/P-1/report.pdf', '/projects/P-1/report.csv', '/benches/bench1?project=P-1']) {
      expect(page.text).toContain(`href="${href}"`);
    }
    expect(page.text).not.toContain('/certificates/3?format=html'); // superseded by the retest
    const missing = await send(daemon.base, { method: 'GET', path: '/projects/P-404', headers: { accept: 'text/html' } });
    expect([missing.status, missing.headers['content-security-policy'] !== undefined]).toEqual([404, true]);
  });

  it('keeps the version an import replaces and shows it under Plan changes; refuses a plan no job could use', async () => {
    const updated = await postCsv('/projects/P-1/links', `link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-005,26,2,0,OM4,12,,B\n`);
    expect([updated.status, updated.json.updated]).toEqual([200, ['L-005']]);
    const p = await daemon.api<{ links: { plan: { linkId: string; lengthM: number }; history?: Record<string, unknown>[] }[] }>('GET', '/projects/P-1');
    const l005 = p.json.links.find((l) => l.plan.linkId === 'L-005')!;
    expect(l005.plan.lengthM).toBe(26);
    expect(l005.history).toEqual([
      { lengthM: 25, connections: 2, splices: 0, fiberType: 'OM4', fiberCount: 12, polarity: 'B', importedAt: expect.stringMatching(/^\d{4}-/), importedBy: 'shared token', replacedAt: expect.stringMatching(/^\d{4}-/), replacedBy: 'shared token' },
    ]);
    const page = await send(daemon.base, { method: 'GET', path: '/projects/P-1', headers: { accept: 'text/html' } });
    const history = /<table id="plan-history">.*?<\/table>/s.exec(page.text)?.[0] ?? '';
    expect(history.replace(/<time[^>]*>[^<]*<\/time>/g, 'T').replace(/<[^>]+>/g, '|').replace(/\|+/g, '|')).toBe(
      '|Link|Version|Length m|Conn.|Spl.|Fiber|Count|Application|Pol.|Imported (UTC)|Replaced (UTC)|L-005|1|25|2|0|OM4|12|B|T by shared token|T by shared token|',
    );

    const absurd = await postCsv('/projects/P-1/links', 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-006,2000,9999,9999,OM4,12,,B\nL-007,99999.9,2,0,OM4,12,,B\n L-008,10,2,0,OM4,12,,B\n');
    expect([absurd.status, absurd.json.message]).toEqual([
      400,
      'cable schedule refused, nothing imported: ' +
        [
          'line 2: connections 9999 is more than 8: at 0.75 dB per mated pair (TIA-568.3-E) 8 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
          'line 2: splices 9999 is more than 20: at 0.3 dB per splice (TIA-568.3-E) 20 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
          'line 3: length_m: 99999.9 m is longer than any multimode link (2000 m)',
          'line 4: link_id " L-008" begins with U+0020 (SPACE): an id has no space before it',
        ].join('; '),
    ]);
  });

  it('lets only an admin write a plan (it sets the limits), never an operator or QA, and the shared token no more once people have tokens', async () => {
    const add = (name: string, role: string, ...more: string[]) => {
      const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'users', 'add', name, '--role', role, ...more, '--config', configPath], { encoding: 'utf8' });
      const m = /(mpc_[A-Za-z0-9_-]{43})/.exec(r.stdout);
      if (!m) throw new Error(`no token: ${r.stdout}${r.stderr}`);
      return m[1]!;
    };
    const installer = add('ina', 'operator', '--bench', 'bench1');
    const quinn = add('quinn', 'qa');
    const ada = add('ada', 'admin');
    const forbidden = (who: string, role: string) =>
      `${who} (${role}) may not create projects or import cable schedules: an admin does, since a plan sets the limit each planned link is judged against (its length, connections, splices, fiber type, polarity and application)`;
    const qa = await daemon.api<{ message: string }>('POST', '/projects', { id: 'P-2', title: 'QA tries' }, quinn);
    expect([qa.status, qa.json.message]).toEqual([403, forbidden('quinn', 'qa')]);
    expect((await postCsv('/projects/P-1/links', SCHEDULE, quinn)).status).toBe(403);
    // The installer certifies links; the limits they are judged against are not theirs to write.
    const op = await daemon.api<{ message: string }>('POST', '/projects', { id: 'P-2', title: 'Installer tries' }, installer);
    expect([op.status, op.json.message]).toEqual([403, forbidden('ina', 'operator')]);
    const opImport = await postCsv('/projects/P-1/links', 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\nL-005,100,2,0,OM4,12,,B\n', installer);
    expect([opImport.status, opImport.json.message]).toEqual([403, forbidden('ina', 'operator')]);
    const shared = await daemon.api('POST', '/projects', { id: 'P-2', title: 'shared' }, TOKEN);
    expect(shared.status).toBe(403);
    const ok = await daemon.api<{ project: { createdBy: string } }>('POST', '/projects', { id: 'P-2', title: 'Hall 4' }, ada);
    expect([ok.status, ok.json.project.createdBy]).toEqual([201, 'ada']);
    const page = await send(daemon.base, { method: 'GET', path: '/projects', headers: { accept: 'text/html' } });
    expect(page.text).toContain("Creating a project and importing its cable schedule is an admin's decision: the plan sets the limit each planned link is judged against.");
  });

  it('verifies every certificate a report names as it is made: a FAIL edited into a PASS shows INTEGRITY FAILED on the first request, counts invalid, and custody records it', async () => {
    // Someone with the database file turns L-002's FAIL (certificate 2) into a PASS.
    const db = withBodyCodec(new Database(join(tmp.dir, 'data', 'mpocert.db')));
    db.exec('DROP TRIGGER IF EXISTS certificates_no_update');
    db.prepare(`UPDATE certificates SET verdict = 'PASS', body = body_replace(body, '"verdict":"FAIL"', '"verdict":"PASS"') WHERE id = 2`).run();
    db.exec(`CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;`);
    db.close();
    const status = async () => (await daemon.api<{ custody: { problems: number; brokenBenches: { bench: string; why: string }[] } }>('GET', '/status')).json.custody;
    expect(await status()).toMatchObject({ problems: 0, brokenBenches: [] });

    // The first request after the edit, the certificate not served since: the CSV report.
    const csv = await send(daemon.base, { method: 'GET', path: '/projects/P-1/report.csv' });
    const l002 = csv.text.split('\r\n').find((l) => l.startsWith('L-002,'))!;
    expect(l002).toMatch(/^L-002,yes,30,1,0,OM4,12,,B,invalid,INTEGRITY FAILED,2,\S+,bench1,-0\.055$/);
    // Recorded with custody, as serving the certificate would: its bench certifies nothing more until QA looks.
    expect(await status()).toMatchObject({ problems: 2, brokenBenches: [{ bench: 'bench1', why: 'certificate 2: content' }] });

    const p = await daemon.api<{ counts: Record<string, number>; links: { plan: { linkId: string }; status: string; latest?: { integrity?: string; verdict: string } }[] }>('GET', '/projects/P-1');
    expect(p.json.counts).toMatchObject({ tested: 3, pass: 2, fail: 0, invalid: 1 });
    expect(p.json.links.find((l) => l.plan.linkId === 'L-002')).toMatchObject({ status: 'invalid', latest: { integrity: 'FAILED', verdict: 'PASS' } });
    const list = await daemon.api<{ items: { id: string; counts: Record<string, number> }[] }>('GET', '/projects');
    expect(list.json.items.find((i) => i.id === 'P-1')!.counts).toMatchObject({ pass: 2, fail: 0, invalid: 1 });
    const page = await send(daemon.base, { method: 'GET', path: '/projects/P-1', headers: { accept: 'text/html' } });
    expect(page.text).toContain('<span class="INVALID">INTEGRITY FAILED</span>');

    const pdf = await pdfText('/projects/P-1/report.pdf');
    const line = pdf.split('\n').find((l) => /\bL-002\b/.test(l)) ?? '';
    expect(line).toMatch(/\binvalid\s+INTEGRITY\s+2\b/);
    expect(pdf).toMatch(/Planned 6\s+Tested 3\s+Pass 2\s+Fail 0\s+Invalid 1\s+Untested 3\s+Unplanned 1/);
    const flat = pdf.replace(/\s+/g, ' ');
    expect(flat).toContain('Every certificate named here was verified (its content against its hash, its signature by a trusted key, its bench\'s chain) as this report was generated');
    expect(flat).toContain('One that failed shows INTEGRITY FAILED and counts as invalid: its stored verdict is not shown');
  });
});
