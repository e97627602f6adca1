import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildHttpServer, type HttpDeps } from '../../src/http/server.js';
import { CertificateStore, type NewCertificate, type VerifyProblem } from '../../src/store/certificate-store.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { tempDir } from '../helpers/daemon-harness.js';

/**
 * The project filter and the export limits, through the real routes on a real certificate store
 * (a SQLite file, signed certificates). In-process: the daemon cannot yet certify for a project
 * (that arrives with the projects work), and the limits need 10,001 certificates, which are
 * signed straight into the store here in seconds rather than measured on a bench for hours.
 */
const refused = (what: string) => (): never => {
  throw new Error(`the test did not expect ${what}`);
};

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let store: CertificateStore;
let app: FastifyInstance;
const failing = new Set<number>();
const problems: VerifyProblem[] = [];

function cert(job: string, subject: { kind: 'assembly' | 'link'; id: string }, verdict: string, issuedAt: string, project?: string, bench = 'site-bench'): NewCertificate {
  return {
    benchId: bench,
    jobId: job,
    subjectKind: subject.kind,
    serial: subject.kind === 'assembly' ? subject.id : null,
    linkId: subject.kind === 'link' ? subject.id : null,
    verdict,
    limitSetId: 'tia-568.3-e',
    limitSetVersion: '1.0.0',
    issuedAt,
    document: { issuedAt, job: { id: job }, bench: { id: bench }, subject, limitSet: { id: 'tia-568.3-e', version: '1.0.0' }, verdict, ...(project ? { project: { id: project, planned: true } } : {}) },
  };
}

function deps(): HttpDeps {
  return {
    token: 'qa-routes-test-token-0123456789',
    logger: pino({ level: 'silent' }),
    referenceMaxAgeMs: 3_600_000,
    users: { authenticate: () => undefined, hasUsers: () => false },
    benches: new Map(),
    jobEvents: new EventEmitter(),
    runner: {
      latestReference: () => undefined,
      busyWith: () => undefined,
      waitingFor: () => undefined,
      runningJobs: () => [],
      start: refused('a job'),
      waitFor: refused('a job'),
      view: () => undefined,
      reference: refused('a reference'),
      confirm: refused('a confirmation'),
    },
    certificates: store,
    custody: {
      problems,
      failing,
      brokenBenches: new Map(),
      fullCheck: { state: 'running', checked: 40, problems: 1 },
      checkpoints: { path: '/nonexistent/checkpoints.jsonl' },
      checkStorage: () => undefined,
      record: (found) => {
        for (const p of found) {
          problems.push(p);
          failing.add(p.certificateId);
        }
      },
    },
    parseSubject: refused('a subject'),
    metrics: { registry: { contentType: 'text/plain', metrics: async () => '' }, httpLatency: { observe: () => undefined } },
    cords: { get: refused('a cord'), latestVerification: refused('a cord verification') },
  };
}

const uuid = (id: number): string => store.get(id)!.uuid;
const HEADER = 'id,uuid,issued_at,subject_kind,serial,link_id,project,bench,verdict,limit_set_id,limit_set_version,integrity';

beforeAll(async () => {
  tmp = tempDir('mpocert-qa-routes-');
  db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  store = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-01-01T00:00:00.000Z'), 'test trust'));
  store.insert(cert('j1', { kind: 'link', id: 'L-101' }, 'PASS', '2026-11-02T08:00:00.000Z', 'SITE-7')); // 1
  store.insert(cert('j2', { kind: 'link', id: '-L-102, east' }, 'FAIL', '2026-11-03T08:00:00.000Z', 'SITE-7')); // 2
  store.insert(cert('j3', { kind: 'assembly', id: 'T-1' }, 'PASS', '2026-11-04T08:00:00.000Z')); // 3: factory, no project
  store.insert(cert('j4', { kind: 'link', id: 'L-900' }, 'PASS', '2026-11-05T08:00:00.000Z', 'SITE-9')); // 4
  store.insert(cert('j5', { kind: 'link', id: 'L-103' }, 'MARGINAL', '2026-11-01T08:00:00.000Z', 'SITE-7')); // 5
  // A bulk project for the limits: 10,000 certificates from 2026-10-01 on, and one the day before.
  db.transaction(() => {
    store.insert(cert('bulk-0', { kind: 'link', id: 'B-0' }, 'PASS', '2026-09-30T12:00:00.000Z', 'BULK', 'bulk-0'));
    for (let i = 1; i <= 10_000; i++) {
      const at = new Date(Date.parse('2026-10-01T00:00:00.000Z') + i * 60_000).toISOString();
      store.insert(cert(`bulk-${i}`, { kind: 'link', id: `B-${i}` }, 'PASS', at, 'BULK', `bulk-${i % 50}`));
    }
  })();
  app = await buildHttpServer(deps());
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  db?.close();
  tmp?.remove();
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

describe('the project filter on the routes', () => {
  it('GET /certificates?project= lists the certificates naming that project, newest first', async () => {
    const r = await get('/certificates?project=SITE-7');
    expect(r.statusCode).toBe(200);
    const body = r.json<{ total: number; items: { id: number; linkId: string | null; verdict: string }[] }>();
    expect(body.total).toBe(3);
    expect(body.items.map((i) => [i.id, i.linkId, i.verdict])).toEqual([
      [2, '-L-102, east', 'FAIL'],
      [1, 'L-101', 'PASS'],
      [5, 'L-103', 'MARGINAL'],
    ]);
    expect((await get('/certificates?project=SITE-7&verdict=FAIL')).json()).toMatchObject({ total: 1, items: [{ id: 2 }] });
    expect((await get('/certificates?project=' + 'x'.repeat(129))).json()).toEqual({ error: 'bad-request', message: 'querystring/project must NOT have more than 128 characters' });
  });

  it('GET /qa shows each row\'s project and subject, and finds a project\'s certificates', async () => {
    const r = await get('/qa?project=SITE-7');
    expect(r.statusCode).toBe(200);
    expect([...r.body.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([2, 1, 5]);
    expect(r.body).toContain('<td>2</td><td class="issued">2026-11-03 08:00:00Z</td><td class="subject">link -L-102, east</td><td>SITE-7</td><td>site-bench</td>');
    expect(r.body).toContain('<input id="q-project" name="project" type="text" value="SITE-7" maxlength="128">');
    // While the background check runs, a row says how far it has got.
    expect(r.body).toContain('<span class="muted">not failing (last full check: running, 40 checked so far)</span>');
    const any = await get('/qa?verdict=PASS&from=2026-11-01&to=2026-11-04');
    expect([...any.body.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]))).toEqual([3, 1]);
    expect(any.body).toContain('<td>3</td><td class="issued">2026-11-04 08:00:00Z</td><td class="subject">T-1</td><td></td>');
  });

  it('exports a project as CSV with its project and link ids, a link id a spreadsheet would compute defused', async () => {
    const r = await get('/qa/export?format=csv&project=SITE-7');
    expect(r.statusCode).toBe(200);
    expect(r.body.split('\r\n')).toEqual([
      HEADER,
      `2,${uuid(2)},2026-11-03T08:00:00.000Z,link,,"'-L-102, east",SITE-7,site-bench,FAIL,tia-568.3-e,1.0.0,valid`,
      `1,${uuid(1)},2026-11-02T08:00:00.000Z,link,,L-101,SITE-7,site-bench,PASS,tia-568.3-e,1.0.0,valid`,
      `5,${uuid(5)},2026-11-01T08:00:00.000Z,link,,L-103,SITE-7,site-bench,MARGINAL,tia-568.3-e,1.0.0,valid`,
      '',
    ]);
  });

  it('says FAILED for a certificate custody knows fails even when its bytes verify (a checkpoint it contradicts)', async () => {
    const problem: VerifyProblem = { certificateId: 4, problem: 'checkpoint', bench: 'site-bench', detail: 'checkpoint of 2026-11-05T08:00:01.000Z names hash abc for certificate 4; the database holds def: it was replaced' };
    problems.push(problem);
    failing.add(4);
    try {
      const csv = await get('/qa/export?format=csv&project=SITE-9');
      // The problem text holds a semicolon: quoted, so a spreadsheet splitting on ';' keeps one cell.
      expect(csv.body.split('\r\n')[1]).toBe(`4,${uuid(4)},2026-11-05T08:00:00.000Z,link,,L-900,SITE-9,site-bench,PASS,tia-568.3-e,1.0.0,"FAILED: checkpoint: ${problem.detail}"`);
      const page = await get('/qa?project=SITE-9');
      expect(page.body).toContain('<tr data-id="4" class="failed">');
      expect(page.body).toContain('<td class="verification"><span class="chip bad">FAILED verification</span></td>');
      expect(page.body).toContain('<td class="verdict-cell"><span class="muted">PASS (not trusted)</span></td>');
    } finally {
      problems.length = 0;
      failing.clear();
    }
  });
});

describe('export limits', () => {
  it('refuses a search matching more than an export holds, with the count, before reading any certificate', async () => {
    const cases: [string, string][] = [
      ['csv', '10,001 certificates match; a CSV export holds at most 10,000: narrow the search (a date range, a bench, a verdict) and export in parts'],
      ['jsonl', '10,001 certificates match; a JSON lines export holds at most 10,000: narrow the search (a date range, a bench, a verdict) and export in parts'],
      ['pdf', '10,001 certificates match; a PDF export holds at most 500: narrow the search (a date range, a bench, a verdict) and export in parts'],
    ];
    for (const [format, message] of cases) {
      const r = await get(`/qa/export?format=${format}&project=BULK`);
      expect([format, r.statusCode, r.json()]).toEqual([format, 400, { error: 'too-many', message }]);
    }
    // The page offers only the exports that fit.
    const page = await get('/qa?project=BULK&from=2026-10-01');
    expect(page.body).toContain('<p class="exports">Export all matching (10000): <a class="button secondary" id="export-all-csv" href="/qa/export?project=BULK&amp;from=2026-10-01&amp;format=csv">CSV</a>');
    expect(page.body).toContain('<span class="muted">PDF: more than 500, narrow the search</span>');
  });

  it('exports exactly 10,000 as CSV, newest first, giving the event loop back as it goes', async () => {
    // Reading and verifying 10,000 certificates takes seconds (2.8 s in one block, before the
    // export was paced); a bench's job must keep getting its instrument replies meanwhile
    // (timeouts of about a second). The longest stretch left is the one query that lists the
    // matches (about 150 ms here: a project's matches are sorted by issue time from their bodies).
    let last = performance.now();
    let longest = 0;
    const tick = setInterval(() => {
      longest = Math.max(longest, performance.now() - last);
      last = performance.now();
    }, 5);
    const r = await get('/qa/export?format=csv&project=BULK&from=2026-10-01');
    // A tick held back by a last block fires now, and counts.
    await new Promise((resolve) => setTimeout(resolve, 30));
    clearInterval(tick);
    expect(longest).toBeLessThan(500);
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-mpocert-certificates']).toBe('10000');
    const lines = r.body.split('\r\n');
    expect(lines).toHaveLength(10_002);
    expect(lines[1]).toMatch(/^10006,[0-9a-f-]{36},2026-10-07T22:40:00\.000Z,link,,B-10000,BULK,bulk-0,PASS,tia-568\.3-e,1\.0\.0,valid$/);
    expect(lines[10_000]).toMatch(/^7,[0-9a-f-]{36},2026-10-01T00:01:00\.000Z,link,,B-1,BULK,bulk-1,PASS,tia-568\.3-e,1\.0\.0,valid$/);
    expect(lines[10_001]).toBe('');
  }, 60_000);

  it('refuses a selection larger than its format holds', async () => {
    const ids = Array.from({ length: 501 }, (_, i) => i + 6).join(',');
    const r = await get(`/qa/export?format=pdf&ids=${ids}`);
    expect([r.statusCode, r.json()]).toEqual([400, { error: 'bad-request', message: '501 certificates selected; a PDF export holds at most 500: export them in parts (field=ids)' }]);
  });
});
