import { PRODUCT_LINK_MTP12_OM4 } from '../../fixtures/harness/products.js';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { withBodyCodec } from '../helpers/stored-body.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderCertificatesPdf } from '../../src/http/pdf/certificate-pdf.js';
import { CertificateStore } from '../../src/store/certificate-store.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { CONSOLE_ASSEMBLIES } from '../helpers/console-harness.js';
import { benchConfig, DaemonProcess, PRODUCT_MTP12_OM4_B, send, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from '../helpers/daemon-harness.js';

/**
 * QA's search and export on the real daemon (dist/), a simulated multi-port bench and a real
 * SQLite file: assemblies and an installer project's planned links certified through POST /jobs,
 * searched on GET /qa and GET /certificates (by project too), exported as CSV,
 * JSON lines and PDF by search and by selection; serials a spreadsheet would run as formulas; a
 * certificate whose stored bytes were edited behind the daemon's back, flagged everywhere and
 * never left out; and every mistake a person can make answered in words.
 */
let sim: SimulatorProcess;
let tmp: ReturnType<typeof tempDir>;
let daemon: DaemonProcess;
let dataDir: string;

/** Serials an operator or a scanner could produce that a spreadsheet would run as formulas. */
const FORMULA = '=HYPERLINK("http://evil.example","x")';
const AT_SUM = '@SUM(1)';

interface Item {
  id: number;
  uuid: string;
  serial: string | null;
  linkId: string | null;
  verdict: string;
  issuedAt: string;
  integrity?: string;
}

const ids: Record<string, number> = {};
let items: Item[] = [];

const get = (path: string, headers: Record<string, string> = {}) => send(daemon.base, { method: 'GET', path, headers });

/** The CSV row the export must give a valid certificate of this bench, by hand. */
const row = (i: Item, serialCell: string, integrity = 'valid'): string =>
  `${i.id},${i.uuid},${i.issuedAt},assembly,${serialCell},,,bench1,${i.verdict},mtp-mpo-connector-grades,1.1.0,${integrity}`;
/** The same for a planned link of project P-1 (its limit set is the link product's). */
const linkRow = (linkId: string): string => {
  const i = byLink(linkId);
  return `${i.id},${i.uuid},${i.issuedAt},link,,${linkId},P-1,bench1,${i.verdict},mpocert-default,1.1.0,valid`;
};

const LINK_PRODUCT = PRODUCT_LINK_MTP12_OM4;
const SCHEDULE = 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity\r\nL-001,40,2,0,OM4,12,40GBASE-SR4,B\r\nL-002,30,1,0,OM4,12,,B\r\n';
const HEADER = 'id,uuid,issued_at,subject_kind,serial,link_id,project,bench,verdict,limit_set_id,limit_set_version,integrity';
const by = (serial: string): Item => items.find((i) => i.serial === serial)!;
const byLink = (linkId: string): Item => items.find((i) => i.linkId === linkId)!;
const lines = (text: string): string[] => text.split('\r\n');

beforeAll(async () => {
  sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
  tmp = tempDir('mpocert-qa-export-');
  dataDir = join(tmp.dir, 'data');
  // Planned links are measured as the sample assembly their id maps to (a good one, and fiber 7 at 0.9 dB).
  const assemblies = { ...CONSOLE_ASSEMBLIES, [FORMULA]: 'mtp12-om4-good', [AT_SUM]: 'mtp12-om4-good', 'L-001': 'mtp12-om4-good', 'L-002': 'mtp12-om4-fiber7-0.9dB' };
  const bench = { ...benchConfig({ id: 'bench1', sim, multiPort: true, assemblies }), title: 'Bench 1' };
  daemon = await new DaemonProcess(writeConfig(tmp.dir, [bench], { products: { 'MTP12-OM4-B': PRODUCT_MTP12_OM4_B, 'LINK-MTP12-OM4': LINK_PRODUCT } })).start();
  expect((await daemon.api('POST', '/benches/bench1/reference', { operator: 'ci' })).status).toBe(200);
  for (const serial of ['GOOD-1', 'BAD-7', 'DEMO-0001', 'DEMO-0002', FORMULA, AT_SUM]) {
    const job = await daemon.api<{ state: string; certificateId: number }>('POST', '/jobs', { bench: 'bench1', operator: 'ci', serial, wait: true });
    expect(job.json).toMatchObject({ state: 'completed' });
    ids[serial] = job.json.certificateId;
  }
  expect((await daemon.api('POST', '/projects', { id: 'P-1', title: 'Hall 3 fit-out', csv: SCHEDULE })).status).toBe(201);
  for (const linkId of ['L-001', 'L-002']) {
    const job = await daemon.api<{ state: string; certificateId: number }>('POST', '/jobs', { bench: 'bench1', operator: 'installer', linkId, project: 'P-1', product: 'LINK-MTP12-OM4', wait: true });
    expect(job.json).toMatchObject({ state: 'completed' });
    ids[linkId] = job.json.certificateId;
  }
  items = (await daemon.api<{ items: Item[] }>('GET', '/certificates?limit=50')).json.items;
}, 120_000);

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  sim?.child.kill('SIGTERM');
  tmp?.remove();
});

describe('QA search and export on the real daemon', () => {
  it('certified six assemblies and two links of project P-1: the three with fiber 7 at 0.9 dB FAIL, the rest PASS', () => {
    expect(items.map((i) => [i.id, i.serial ?? i.linkId, i.verdict])).toEqual([
      [8, 'L-002', 'FAIL'],
      [7, 'L-001', 'PASS'],
      [6, AT_SUM, 'PASS'],
      [5, FORMULA, 'PASS'],
      [4, 'DEMO-0002', 'FAIL'],
      [3, 'DEMO-0001', 'PASS'],
      [2, 'BAD-7', 'FAIL'],
      [1, 'GOOD-1', 'PASS'],
    ]);
  });

  it('exports a search as CSV: one row per certificate, newest first, RFC 4180 quoting, formulas defused', async () => {
    const all = await get('/qa/export?format=csv');
    expect(all.status).toBe(200);
    expect(all.type).toBe('text/csv; charset=utf-8');
    expect(all.headers['content-disposition']).toMatch(/^attachment; filename="certificates-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.csv"$/);
    expect(all.headers['x-mpocert-certificates']).toBe('8');
    expect(lines(all.text)).toEqual([
      HEADER,
      linkRow('L-002'),
      linkRow('L-001'),
      // A leading apostrophe makes a spreadsheet show the text; a cell with a quote or comma is quoted, its quotes doubled.
      row(by(AT_SUM), "'@SUM(1)"),
      row(by(FORMULA), `"'=HYPERLINK(""http://evil.example"",""x"")"`),
      row(by('DEMO-0002'), 'DEMO-0002'),
      row(by('DEMO-0001'), 'DEMO-0001'),
      row(by('BAD-7'), 'BAD-7'),
      row(by('GOOD-1'), 'GOOD-1'),
      '',
    ]);
    const fails = await get('/qa/export?format=csv&verdict=FAIL&bench=bench1');
    expect(lines(fails.text)).toEqual([HEADER, linkRow('L-002'), row(by('DEMO-0002'), 'DEMO-0002'), row(by('BAD-7'), 'BAD-7'), '']);
    const serial = await get('/qa/export?format=csv&serial=%20GOOD-1%20');
    expect(lines(serial.text)).toEqual([HEADER, row(by('GOOD-1'), 'GOOD-1'), '']);
    const today = new Date().toISOString().slice(0, 10);
    expect(lines((await get(`/qa/export?format=csv&from=${today}&to=${today}&verdict=FAIL`)).text)).toHaveLength(5);
    expect(lines((await get('/qa/export?format=csv&to=2020-01-01')).text)).toEqual([HEADER, '']);
  });

  it('exports a selection in the order given, each certificate once, from repeated or comma-separated ids', async () => {
    const a = ids['BAD-7']!;
    const b = ids['GOOD-1']!;
    const r = await get(`/qa/export?format=csv&ids=&ids=${a}&ids=${b},${a}`);
    expect(r.status).toBe(200);
    expect(r.headers['x-mpocert-certificates']).toBe('2');
    expect(lines(r.text)).toEqual([HEADER, row(by('BAD-7'), 'BAD-7'), row(by('GOOD-1'), 'GOOD-1'), '']);
  });

  it('exports JSON lines: each certificate exactly as GET /certificates/<id> serves it, one line each', async () => {
    const r = await get('/qa/export?format=jsonl&verdict=PASS');
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/jsonl; charset=utf-8');
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="certificates-.*Z\.jsonl"$/);
    const served = await Promise.all([ids['L-001'], ids[AT_SUM], ids[FORMULA], ids['DEMO-0001'], ids['GOOD-1']].map(async (id) => (await get(`/certificates/${id}`)).text));
    expect(r.text).toBe(served.map((s) => `${s}\n`).join(''));
    const parsed = r.text.trimEnd().split('\n').map((l) => JSON.parse(l) as { id: number; integrity: { valid: boolean } });
    expect(parsed.map((l) => [l.id, l.integrity.valid])).toEqual([
      [7, true],
      [6, true],
      [5, true],
      [3, true],
      [1, true],
    ]);
  });

  it('exports one PDF of the selection: the bytes the PDF module draws for those certificates', async () => {
    const r = await get(`/qa/export?format=pdf&ids=${ids['BAD-7']},${ids['GOOD-1']}`);
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/pdf');
    expect(r.headers['content-disposition']).toMatch(/^attachment; filename="certificates-.*Z\.pdf"$/);
    const bytes = (await sendRaw(`/qa/export?format=pdf&ids=${ids['BAD-7']},${ids['GOOD-1']}`)).body;
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    // The same certificates drawn here from a read-only copy of the daemon's store give the same bytes.
    expect(bytes.equals(await expectedPdf([ids['BAD-7']!, ids['GOOD-1']!]))).toBe(true);
  });

  it('answers every mistake in words: JSON for a script, a page for a browser', async () => {
    const cases: [string, number, string][] = [
      ['/qa/export', 400, 'format: say which, csv, jsonl or pdf (field=format)'],
      ['/qa/export?format=xlsx', 400, 'format: "xlsx" is not one of csv, jsonl, pdf (field=format)'],
      ['/qa/export?format=csv&ids=', 400, 'no certificates selected: tick the rows to export, or export all that match the search'],
      ['/qa/export?format=csv&ids=1,x', 400, 'ids: "x" is not a certificate id (field=ids)'],
      ['/qa/export?format=csv&ids=99', 404, 'no certificate 99: nothing was exported'],
      ['/qa/export?format=csv&ids=1&serial=GOOD-1', 400, 'give ids or a search (serial), not both: a selection is exported as selected (field=ids)'],
      ['/qa/export?format=csv&from=2026-02-31', 400, 'from: "2026-02-31" is not a date; use YYYY-MM-DD (field=from)'],
      ['/qa/export?format=csv&from=2026-12-01&to=2026-11-30', 400, 'from 2026-12-01 is after to 2026-11-30: no day is in that range (field=from)'],
      ['/qa/export?format=csv&verdict=GOOD', 400, 'verdict: "GOOD" is not one of PASS, MARGINAL, FAIL, INVALID (field=verdict)'],
      ['/qa/export?format=csv&colour=red', 400, 'querystring must NOT have additional properties'],
    ];
    for (const [path, status, message] of cases) {
      const r = await get(path);
      expect([path, r.status, r.json]).toEqual([path, status, { error: status === 404 ? 'not-found' : 'bad-request', message }]);
      expect(r.text).not.toMatch(/\s+at /);
    }
    const page = await get('/qa/export?format=csv&ids=', { accept: 'text/html,application/xhtml+xml' });
    expect(page.status).toBe(400);
    expect(page.type).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.text).toContain('<div id="notice" class="notice error" role="alert">no certificates selected: tick the rows to export, or export all that match the search</div>');
    const search = await get('/qa?from=2026-13-01&serial=%3Cb%3E');
    expect(search.status).toBe(400);
    expect(search.text).toContain('role="alert">from: &quot;2026-13-01&quot; is not a date; use YYYY-MM-DD (field=from)</div>');
    // The form comes back as typed (escaped), to be corrected.
    expect(search.text).toContain('<input id="q-serial" name="serial" type="text" value="&lt;b&gt;" maxlength="128">');
    expect(search.text).not.toContain('id="qa-results"');
    const unknown = await get('/qa?colour=red');
    expect([unknown.status, unknown.type]).toEqual([400, 'text/html; charset=utf-8']);
    expect(unknown.text).toContain('role="alert">querystring must NOT have additional properties</div>');
  });

  it('searches on GET /qa: the rows of a search, their verification state, open / PDF / verify, paging', async () => {
    const r = await get('/qa?verdict=FAIL');
    expect(r.status).toBe(200);
    expect(r.headers['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    expect(r.text).toContain('<script src="/assets/qa.js" defer></script>');
    expect(r.text).toContain('<p id="qa-summary">3 certificates match.');
    expect(rowIds(r.text)).toEqual([ids['L-002'], ids['DEMO-0002'], ids['BAD-7']]);
    expect(r.text).toContain(`<a href="/certificates/${ids['BAD-7']}?format=html">Open</a> <a href="/certificates/${ids['BAD-7']}?format=pdf">PDF</a>`);
    // Nothing has found a problem, and the full check ran when the database was empty: said as such.
    expect(r.text).toContain('<td class="verification"><span class="muted">not failing (last full check: done, 0 checked, 0 problems)</span></td>');
    expect(r.text).toContain('<a class="button secondary" id="export-all-csv" href="/qa/export?verdict=FAIL&amp;format=csv">CSV</a>');
    const paged = await get('/qa?limit=2&offset=2');
    expect(rowIds(paged.text)).toEqual([ids[AT_SUM], ids[FORMULA]]);
    expect(paged.text).toContain('<a href="/qa?limit=2" rel="prev">&larr; Newer</a> <span>3&ndash;4 of 8</span> <a href="/qa?offset=4&amp;limit=2" rel="next">Older &rarr;</a>');
    // Stored text is escaped in the page.
    const formula = await get(`/qa?serial=${encodeURIComponent(FORMULA)}`);
    expect(formula.text).toContain('<td class="subject">=HYPERLINK(&quot;http://evil.example&quot;,&quot;x&quot;)</td>');
  });

  it("finds a project's certificates: GET /certificates?project=, the search page's project column, its CSV", async () => {
    const list = await daemon.api<{ total: number; items: Item[] }>('GET', '/certificates?project=P-1');
    expect(list.json.total).toBe(2);
    expect(list.json.items.map((i) => [i.id, i.linkId, i.verdict])).toEqual([
      [ids['L-002'], 'L-002', 'FAIL'],
      [ids['L-001'], 'L-001', 'PASS'],
    ]);
    expect((await daemon.api<{ total: number }>('GET', '/certificates?project=P-2')).json.total).toBe(0);
    const page = await get('/qa?project=P-1&verdict=PASS');
    expect(rowIds(page.text)).toEqual([ids['L-001']]);
    expect(page.text).toContain(`<td>${ids['L-001']}</td><td class="issued">${byLink('L-001').issuedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</td><td class="subject">link L-001</td><td>P-1</td><td>bench1</td>`);
    // A factory certificate names no project: its cell is empty.
    expect((await get('/qa?serial=GOOD-1')).text).toContain('<td class="subject">GOOD-1</td><td></td><td>bench1</td>');
    const csv = await get('/qa/export?format=csv&project=P-1');
    expect(lines(csv.text)).toEqual([HEADER, linkRow('L-002'), linkRow('L-001'), '']);
  });

  it('flags a certificate whose stored body was edited: FAILED in the exports (never left out) and then in the search', async () => {
    const id = ids['DEMO-0001']!;
    // Bodies are stored compressed: edited as an attacker would (decompressed, changed, compressed again).
    const db = withBodyCodec(new Database(join(dataDir, 'mpocert.db')));
    db.exec('DROP TRIGGER IF EXISTS certificates_no_update');
    // The operator's name, changed behind the daemon's back: the verdict and serial still read as before.
    expect(db.prepare(`UPDATE certificates SET body = body_replace(body, '"operator":"ci"', '"operator":"cj"') WHERE id = ?`).run(id).changes).toBe(1);
    db.close();
    // Not yet checked by anyone: the page says only what is known.
    expect(verification(await get('/qa?serial=DEMO-0001'), id)).toBe('<span class="muted">not failing (last full check: done, 0 checked, 0 problems)</span>');
    const failed = '"FAILED: content: content does not match its recorded hash; signature: signature does not match the content"'; // quoted: it holds a semicolon
    const csv = await get('/qa/export?format=csv&verdict=PASS');
    expect(lines(csv.text)).toEqual([HEADER, linkRow('L-001'), row(by(AT_SUM), "'@SUM(1)"), row(by(FORMULA), `"'=HYPERLINK(""http://evil.example"",""x"")"`), row(by('DEMO-0001'), 'DEMO-0001', failed), row(by('GOOD-1'), 'GOOD-1'), '']);
    const jsonl = await get(`/qa/export?format=jsonl&ids=${id}`);
    const served = await get(`/certificates/${id}`);
    expect(served.headers['x-mpocert-integrity']).toBe('FAILED');
    expect(jsonl.text).toBe(`${served.text}\n`);
    expect((JSON.parse(jsonl.text) as { integrity: unknown }).integrity).toEqual({
      valid: false,
      problems: [
        { certificateId: id, problem: 'content', detail: 'content does not match its recorded hash', bench: 'bench1' },
        { certificateId: id, problem: 'signature', detail: 'signature does not match the content', bench: 'bench1' },
      ],
    });
    const pdf = await sendRaw(`/qa/export?format=pdf&ids=${id},${ids['GOOD-1']}`);
    expect(pdf.status).toBe(200);
    expect(pdf.body.equals(await expectedPdf([id, ids['GOOD-1']!]))).toBe(true);
    // Now custody knows: the search says so.
    const page = await get('/qa?serial=DEMO-0001');
    expect(verification(page, id)).toBe('<span class="chip bad">FAILED verification</span>');
    expect(page.text).toContain(`<tr data-id="${id}" class="failed">`);
    // Its verdict is what the altered body says: never shown as a trusted PASS.
    expect(page.text).toContain('<td class="verdict-cell"><span class="muted">PASS (not trusted)</span></td>');
    expect((await get(`/certificates/${id}/verify`)).json).toMatchObject({ id, valid: false });
  });

  it('refuses a PDF of a certificate whose stored body is not a certificate, naming it, and still exports it as JSON lines', async () => {
    const id = ids['DEMO-0002']!;
    const db = withBodyCodec(new Database(join(dataDir, 'mpocert.db')));
    db.prepare('UPDATE certificates SET body = compress_body(substr(body_text(body), 1, 40)) WHERE id = ?').run(id);
    db.close();
    const broken = `${id},,,,,,,,,,,FAILED: content: the stored body is not valid JSON: it was altered`;
    // Searches read the columns, so it is still found as the FAIL it was, exported FAILED with nothing from its body.
    expect(lines((await get('/qa/export?format=csv&verdict=FAIL')).text)).toEqual([HEADER, linkRow('L-002'), broken, row(by('BAD-7'), 'BAD-7'), '']);
    const pdf = await get(`/qa/export?format=pdf&ids=${ids['BAD-7']},${id}`);
    expect([pdf.status, pdf.json]).toEqual([
      409,
      { error: 'not-exportable', message: `certificate ${id} cannot be put in a PDF: its stored body is not a certificate (it was altered); export it as JSON lines, which carry its stored bytes and its failure` },
    ]);
    const csv = await get(`/qa/export?format=csv&ids=${id}`);
    expect(lines(csv.text)).toEqual([HEADER, broken, '']);
    const jsonl = await get(`/qa/export?format=jsonl&ids=${id}`);
    expect(jsonl.text).toBe(`${(await get(`/certificates/${id}`)).text}\n`);
    expect(JSON.parse(jsonl.text)).toMatchObject({ id, integrity: { valid: false }, storedBody: expect.any(String) });
  });
});

/** The ids of the result rows of a search page, in order. */
function rowIds(html: string): number[] {
  return [...html.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
}

/** The verification cell of a certificate's row. */
function verification(r: { text: string }, id: number): string | undefined {
  const tr = new RegExp(`<tr data-id="${id}"[^>]*>[\\s\\S]*?<td class="verification">([\\s\\S]*?)</td>`).exec(r.text);
  return tr?.[1];
}

/** A GET whose body is kept as bytes (a PDF). */
async function sendRaw(path: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(daemon.base + path);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

/** What the PDF module draws for these certificates, read from the daemon's database (read-only) and trusted keys. */
async function expectedPdf(certIds: number[]): Promise<Buffer> {
  const db = new Database(join(dataDir, 'mpocert.db'), { readonly: true });
  try {
    const store = new CertificateStore(db, undefined, TrustedKeys.load(join(dataDir, 'trusted-keys.json')));
    return await renderCertificatesPdf(
      certIds.map((id) => {
        const served = store.forServing(id)!;
        return { certificate: served.certificate!, integrity: served.integrity };
      }),
    );
  } finally {
    db.close();
  }
}
