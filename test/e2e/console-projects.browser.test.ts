import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCT_LINK_MTP12_OM4, PRODUCTS } from '../../fixtures/harness/products.js';
import { screenshot } from '../helpers/browser.js';
import { startConsoleRig, type ConsoleRig } from '../helpers/console-harness.js';
import { root, tempDir } from '../helpers/daemon-harness.js';

/**
 * The installer's project pages in Debian's chromium against the real daemon and simulated bench:
 * a project created from the keyboard with its schedule pasted (a bad row first, refused with its
 * line), more links imported from a file, progress after links are certified, the reports opened
 * from their links.
 */
let rig: ConsoleRig;
let page: Page;
let tmp: ReturnType<typeof tempDir>;

const LINK_PRODUCT = PRODUCT_LINK_MTP12_OM4;

const HEADER = 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity';

/** The id of the element with the focus (a string expression: the test's own types know no DOM). */
const focused = (): Promise<unknown> => page.evaluate('document.activeElement && document.activeElement.id');

describe('installer projects in the console', () => {
  beforeAll(async () => {
    tmp = tempDir('mpocert-console-projects-');
    rig = await startConsoleRig({
      assemblies: { 'L-001': 'mtp12-om4-good', 'L-002': 'mtp12-om4-fiber7-0.9dB', 'L-009': 'mtp12-om4-good' },
      extra: { products: { ...PRODUCTS, 'LINK-MTP12-OM4': LINK_PRODUCT } },
    });
    page = await rig.signedInPage('Ina Installer');
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    tmp?.remove();
  });

  it('creates a project from the keyboard with its schedule pasted; a bad row is refused with its line and nothing is created', async () => {
    await page.goto(`${rig.base}/projects`);
    expect(await page.locator('main').textContent()).toContain('No projects yet.');
    await page.focus('#p-id');
    await page.keyboard.type('P-7');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Hall 7 fit-out');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Frankfurt DC2');
    await page.keyboard.press('Tab'); // the file input
    expect(await focused()).toBe('p-file');
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('p-csv');
    await page.keyboard.type(`${HEADER}\nL-001,40,2,0,OM4,12,40GBASE-SR4,B\nL-002,30,1,0,OM4,13,,B\n`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('#notice', { hasText: 'line 3: fiber_count "13" is not one of 8, 12, 16, 24' }).waitFor();
    expect(await page.locator('#notice').textContent()).toBe('cable schedule refused, nothing imported: line 3: fiber_count "13" is not one of 8, 12, 16, 24');
    await screenshot(page, 'console-projects-refused');
    expect((await rig.daemon.api('GET', '/projects/P-7')).status).toBe(404);

    // Fixed in the text area, submitted again from the keyboard.
    await page.focus('#p-csv');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(`${HEADER}\nL-001,40,2,0,OM4,12,40GBASE-SR4,B\nL-002,30,1,0,OM4,12,,B\nL-003,30,1,0,OM4,12,,B\n`);
    await page.keyboard.press('Tab');
    await Promise.all([page.waitForURL(`${rig.base}/projects/P-7?added=3&updated=0&unchanged=0`), page.keyboard.press('Enter')]);
    expect(await page.locator('h1').textContent()).toBe('Project P-7: Hall 7 fit-out');
    expect(await page.locator('.notice.info').textContent()).toBe('Cable schedule imported: 3 link(s) added, 0 updated, 0 unchanged.');
    expect(await page.locator('#planned-links tbody tr td:nth-child(2)').allTextContents()).toEqual(['L-001', 'L-002', 'L-003']);
  });

  it('imports more links from a CSV file', async () => {
    const file = join(tmp.dir, 'schedule-part-2.csv');
    writeFileSync(file, `${HEADER}\r\nL-003,30,1,0,OM4,12,,B\r\nL-004,55.5,2,1,OM4,12,10GBASE-SR,B\r\n`);
    await page.setInputFiles('#i-file', file);
    await page.focus('#import-form button[type=submit]');
    await Promise.all([page.waitForURL(`${rig.base}/projects/P-7?added=1&updated=0&unchanged=1`), page.keyboard.press('Enter')]);
    expect(await page.locator('#planned-links tbody tr td:nth-child(2)').allTextContents()).toEqual(['L-001', 'L-002', 'L-003', 'L-004']);
    expect(await page.locator('.counts').textContent()).toBe('Planned 4Tested 0Pass 0Fail 0Invalid 0Untested 4Unplanned 0');
    expect(await page.locator('a[href="/benches/bench1?project=P-7"]').textContent()).toBe('Certify on Bench 1 (simulated)');

    // An untested link's plan changed by a later file: the version it replaces is shown under Plan changes.
    expect(await page.locator('#plan-history').count()).toBe(0);
    const change = join(tmp.dir, 'schedule-part-3.csv');
    writeFileSync(change, `${HEADER}\r\nL-004,56,2,1,OM4,12,10GBASE-SR,B\r\n`);
    await page.setInputFiles('#i-file', change);
    await page.focus('#import-form button[type=submit]');
    await Promise.all([page.waitForURL(`${rig.base}/projects/P-7?added=0&updated=1&unchanged=0`), page.keyboard.press('Enter')]);
    const version = await page.locator('#plan-history tbody tr td').allTextContents();
    expect(version.slice(0, 9)).toEqual(['L-004', '1', '55.5', '2', '1', 'OM4', '12', '10GBASE-SR', 'B']);
    expect(version.slice(9)).toEqual([expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} by Ina Installer$/), expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} by Ina Installer$/)]);
    expect(await page.locator('#planned-links tbody tr').nth(3).locator('td').nth(2).textContent()).toBe('56');
  });

  it('shows the progress once links are certified, each linked to its certificate, the unplanned one flagged', async () => {
    expect((await rig.daemon.api('POST', '/benches/bench1/reference')).status).toBe(200);
    const certify = async (linkId: string) =>
      (await rig.daemon.api<{ certificateId: number; verdict: string }>('POST', '/jobs', { bench: 'bench1', operator: 'Ina Installer', linkId, project: 'P-7', product: 'LINK-MTP12-OM4', wait: true })).json;
    // L-001 by scanning on the bench page the project links to: the project and its link
    // product are preselected; the scanned link id is certified against the plan.
    await page.goto(`${rig.base}/projects/P-7`);
    await Promise.all([page.waitForURL(`${rig.base}/benches/bench1?project=P-7`), page.click('a[href="/benches/bench1?project=P-7"]')]);
    expect(await page.locator('#product').inputValue()).toBe('LINK-MTP12-OM4');
    expect(await page.locator('#scan-label').textContent()).toBe('Scan the link id (or type it) and press Enter');
    await page.keyboard.type('L-001');
    await page.keyboard.press('Enter');
    await page.locator('.verdict[data-verdict="PASS"]').waitFor();
    expect(await page.locator('.verdict small').textContent()).toBe('L-001 · certificate 1');
    const first = await rig.daemon.api<{ certificate: { project: unknown; subject: { kind: string; id: string } } }>('GET', '/certificates/1');
    expect([first.json.certificate.project, first.json.certificate.subject.kind]).toEqual([{ id: 'P-7', planned: true }, 'link']);
    expect(await certify('L-002')).toMatchObject({ certificateId: 2, verdict: 'FAIL' });
    expect((await rig.daemon.api('POST', '/projects', { id: 'x', title: 'x' }, null)).status).toBe(401);
    // L-009 is not in P-7's plan: certified from the product alone, flagged unplanned.
    expect(await certify('L-009')).toMatchObject({ certificateId: 3, verdict: 'PASS' });

    await page.goto(`${rig.base}/projects/P-7`);
    expect(await page.locator('.counts').textContent()).toBe('Planned 4Tested 2Pass 1Fail 1Invalid 0Untested 2Unplanned 1');
    const rows: string[][] = [];
    for (let i = 0; i < (await page.locator('#planned-links tbody tr').count()); i++) {
      rows.push(await page.locator('#planned-links tbody tr').nth(i).locator('td').allTextContents());
    }
    expect(rows.map((r) => [r[1], r[9], r[10], r[11], r[14]])).toEqual([
      ['L-001', 'pass', 'PASS', '1', '1.05'],
      ['L-002', 'fail', 'FAIL', '2', '-0.055'],
      ['L-003', 'untested', '', '', ''],
      ['L-004', 'untested', '', '', ''],
    ]);
    expect(await page.locator('#unplanned-links tbody tr td:first-child').allTextContents()).toEqual(['L-009']);
    await screenshot(page, 'console-projects-progress');

    await Promise.all([page.waitForURL(`${rig.base}/certificates/2?format=html`), page.click('#planned-links a[href="/certificates/2?format=html"]')]);
    expect(await page.locator('body').textContent()).toContain('L-002');
    await page.goBack();
  });

  it('opens the CSV and PDF reports from their links', async () => {
    await page.goto(`${rig.base}/projects/P-7`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-csv')]);
    expect(download.suggestedFilename()).toBe('project-P-7.csv');
    const csv = readFileSync((await download.path())!, 'utf8').split('\r\n');
    expect(csv[0]).toBe('link_id,planned,length_m,connections,splices,fiber_type,fiber_count,application,polarity,status,verdict,certificate,issued_at,bench,worst_loss_margin_db');
    expect(csv.slice(1).map((l) => l.split(',').filter((_, k) => [0, 1, 9, 10, 11, 13, 14].includes(k)).join(','))).toEqual([
      'L-001,yes,pass,PASS,1,bench1,1.05',
      'L-002,yes,fail,FAIL,2,bench1,-0.055',
      'L-003,yes,untested,,,,',
      'L-004,yes,untested,,,,',
      'L-009,no,unplanned,PASS,3,bench1,1.25',
      '',
    ]);

    // The PDF opens in the browser (served inline).
    const [res] = await Promise.all([page.waitForResponse((r) => r.url() === `${rig.base}/projects/P-7/report.pdf`), page.click('#report-pdf')]);
    await page.waitForURL(`${rig.base}/projects/P-7/report.pdf`);
    expect([res.status(), res.headers()['content-type'], res.headers()['content-disposition']]).toEqual([200, 'application/pdf', 'inline; filename="project-P-7.pdf"']);
    // The viewer keeps the bytes to itself: the same URL fetched through the page's own context.
    const bytes = await (await page.request.get(page.url())).body();
    expect(bytes.subarray(0, 5).toString()).toBe('%PDF-');
    const file = join(tmp.dir, 'report.pdf');
    writeFileSync(file, bytes);
    const text = spawnSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' }).stdout;
    // Headless chromium's viewer draws nothing a screenshot keeps: the report's first page, as
    // poppler renders it, is kept beside the screenshots instead.
    spawnSync('pdftoppm', ['-png', '-r', '80', '-singlefile', file, join(root, 'test-results', 'screenshots', 'console-projects-report-pdf')]);
    expect(text).toContain('Project P-7: Hall 7 fit-out');
    expect(text).toMatch(/Planned 4\s+Tested 2\s+Pass 1\s+Fail 1\s+Invalid 0\s+Untested 2\s+Unplanned 1/);
    expect(text).toMatch(/L-001\s+40\s+2\s+0\s+OM4\s+12\s+40GBASE-SR4\s+B\s+pass\s+PASS\s+1\b/);
    expect(text).toMatch(/L-002\s+30\s+1\s+0\s+OM4\s+12\s+B\s+fail\s+FAIL\s+2\b/);
    expect(text).toMatch(/L-009\s+unplanned\s+PASS\s+3\b/);

    // The list of projects, with the counts.
    await page.goto(`${rig.base}/projects`);
    expect(await page.locator('#projects tbody tr td').allTextContents()).toEqual(['P-7', 'Hall 7 fit-out', 'Frankfurt DC2', '4', '2', '1', '1', '0', '2', '1', expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/)]);
    await screenshot(page, 'console-projects-list');
  });
});
