import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { withBodyCodec } from '../helpers/stored-body.js';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { startConsoleRig, type ConsoleRig } from '../helpers/console-harness.js';

/**
 * QA's search in Debian's chromium against the real daemon and simulated bench: a search by
 * verdict and by serial through the form, Verify on a row (a valid one, and one whose stored
 * bytes were edited), two rows ticked and exported as CSV, a search exported as JSON lines; the
 * downloads read back through playwright's download API.
 */
let rig: ConsoleRig;
let page: Page;
const ids: Record<string, number> = {};
let items: { id: number; uuid: string; serial: string; verdict: string; issuedAt: string }[] = [];

const HEADER = 'id,uuid,issued_at,subject_kind,serial,link_id,project,bench,verdict,limit_set_id,limit_set_version,integrity';
const csvRow = (serial: string, integrity = 'valid'): string => {
  const i = items.find((x) => x.serial === serial)!;
  return `${i.id},${i.uuid},${i.issuedAt},assembly,${serial},,,bench1,${i.verdict},mtp-mpo-connector-grades,1.1.0,${integrity}`;
};

const rowIds = async (): Promise<number[]> => (await page.locator('#qa-results tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-id')))));
const row = (id: number) => page.locator(`#qa-results tbody tr[data-id="${id}"]`);

/** A download the page starts, read back as text. */
async function download(start: () => Promise<unknown>): Promise<{ name: string; text: string }> {
  const [d] = (await Promise.all([page.waitForEvent('download'), start()])) as [Download, unknown];
  const path = await d.path();
  return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8') };
}

describe('QA search console', () => {
  beforeAll(async () => {
    rig = await startConsoleRig();
    expect((await rig.daemon.api('POST', '/benches/bench1/reference', { operator: 'ci' })).status).toBe(200);
    for (const serial of ['GOOD-1', 'BAD-7', 'DEMO-0001', 'DEMO-0002']) {
      const job = await rig.daemon.api<{ state: string; certificateId: number }>('POST', '/jobs', { bench: 'bench1', operator: 'ci', serial, wait: true });
      expect(job.json).toMatchObject({ state: 'completed' });
      ids[serial] = job.json.certificateId;
    }
    items = (await rig.daemon.api<{ items: typeof items }>('GET', '/certificates')).json.items;
    page = await rig.signedInPage('Quinn QA');
  }, 120_000);
  afterAll(async () => rig?.close());

  it('searches by verdict through the form: FAIL finds exactly the failing assemblies, and the search is a URL', async () => {
    await page.goto(`${rig.base}/qa`);
    await expect(page.locator('header .who b').textContent()).resolves.toBe('Quinn QA');
    expect(await rowIds()).toEqual([ids['DEMO-0002'], ids['DEMO-0001'], ids['BAD-7'], ids['GOOD-1']]);
    await page.selectOption('#q-verdict', 'FAIL');
    await Promise.all([page.waitForURL(/\/qa\?/), page.click('#search-btn')]);
    expect(new URL(page.url()).searchParams.get('verdict')).toBe('FAIL');
    expect(await rowIds()).toEqual([ids['DEMO-0002'], ids['BAD-7']]);
    expect(await page.locator('#qa-results tbody td.subject').allTextContents()).toEqual(['DEMO-0002', 'BAD-7']);
    expect(await page.locator('#qa-results tbody td.verdict-cell').allTextContents()).toEqual(['FAIL', 'FAIL']);
    await expect(page.locator('#qa-summary').textContent()).resolves.toMatch(/^2 certificates match\./);
    await screenshot(page, 'console-qa-search-fail');
  });

  it('filters by serial; the form keeps what was typed', async () => {
    await page.goto(`${rig.base}/qa`);
    await page.fill('#q-serial', 'DEMO-0001');
    await Promise.all([page.waitForURL(/serial=DEMO-0001/), page.press('#q-serial', 'Enter')]);
    expect(await rowIds()).toEqual([ids['DEMO-0001']]);
    await expect(page.locator('#q-serial').inputValue()).resolves.toBe('DEMO-0001');
    expect(await row(ids['DEMO-0001']!).locator('td.actions a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual([
      `/certificates/${ids['DEMO-0001']}?format=html`,
      `/certificates/${ids['DEMO-0001']}?format=pdf`,
    ]);
  });

  it('verifies a row in the page: valid; and a certificate edited behind the daemon shows invalid, then FAILED in the search', async () => {
    const good = ids['DEMO-0001']!;
    await row(good).locator('button.verify').click();
    await expect(row(good).locator('.verify-result').textContent()).resolves.toBe('valid');
    await expect(row(good).locator('td.verification').textContent()).resolves.toBe('valid verified just now');

    const edited = ids['GOOD-1']!;
    // Bodies are stored compressed: edited as an attacker would (decompressed, changed, compressed again).
    const db = withBodyCodec(new Database(join(rig.daemon.configPath, '..', 'data', 'mpocert.db')));
    db.exec('DROP TRIGGER IF EXISTS certificates_no_update');
    db.prepare(`UPDATE certificates SET body = body_replace(body, '"operator":"ci"', '"operator":"cj"') WHERE id = ?`).run(edited);
    db.close();
    await page.goto(`${rig.base}/qa?serial=GOOD-1`);
    // Nothing has checked it since: the page does not pretend to know.
    await expect(row(edited).locator('td.verification').textContent()).resolves.toBe('not failing (last full check: done, 0 checked, 0 problems)');
    await row(edited).locator('button.verify').click();
    await expect(row(edited).locator('.verify-result').textContent()).resolves.toBe('invalid');
    expect(await row(edited).locator('.problems li').allTextContents()).toEqual(['content: content does not match its recorded hash', 'signature: signature does not match the content']);
    await screenshot(page, 'console-qa-verify-invalid');
    await page.reload();
    await expect(row(edited).locator('td.verification').textContent()).resolves.toBe('FAILED verification');
    expect(await row(edited).getAttribute('class')).toBe('failed');
    await expect(row(edited).locator('td.verdict-cell').textContent()).resolves.toBe('PASS (not trusted)');
  });

  it('exports two ticked rows as CSV: exactly their rows, the edited one flagged', async () => {
    await page.goto(`${rig.base}/qa`);
    // Nothing ticked: nothing to export.
    expect(await page.locator('#export-selected-csv').isDisabled()).toBe(true);
    await row(ids['BAD-7']!).locator('input[name=ids]').check();
    await row(ids['GOOD-1']!).locator('input[name=ids]').check();
    await expect(page.locator('#selected-count').textContent()).resolves.toBe('2');
    expect(await page.locator('#export-selected-csv').isEnabled()).toBe(true);
    await screenshot(page, 'console-qa-selection');
    const csv = await download(() => page.click('#export-selected-csv'));
    expect(csv.name).toMatch(/^certificates-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.csv$/);
    expect(csv.text.split('\r\n')).toEqual([
      HEADER,
      csvRow('BAD-7'),
      csvRow('GOOD-1', '"FAILED: content: content does not match its recorded hash; signature: signature does not match the content"'),
      '',
    ]);
    // Ticking every row and none again.
    await page.check('#select-all');
    await expect(page.locator('#selected-count').textContent()).resolves.toBe('4');
    await page.uncheck('#select-all');
    await expect(page.locator('#selected-count').textContent()).resolves.toBe('0');
  });

  it('exports a search as JSON lines: each certificate as GET /certificates/<id> serves it', async () => {
    await page.goto(`${rig.base}/qa?verdict=FAIL`);
    const jsonl = await download(() => page.click('#export-all-jsonl'));
    expect(jsonl.name).toMatch(/^certificates-.*Z\.jsonl$/);
    const served = await Promise.all([ids['DEMO-0002'], ids['BAD-7']].map(async (id) => (await rig.daemon.api('GET', `/certificates/${id}`, undefined, null)).text));
    expect(jsonl.text).toBe(`${served[0]}\n${served[1]}\n`);
    expect(jsonl.text.trimEnd().split('\n').map((l) => (JSON.parse(l) as { certificate: { subject: { id: string }; verdict: string } }).certificate)).toMatchObject([
      { subject: { id: 'DEMO-0002' }, verdict: 'FAIL' },
      { subject: { id: 'BAD-7' }, verdict: 'FAIL' },
    ]);
    await screenshot(page, 'console-qa-export');
  });
});
