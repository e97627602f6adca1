/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { BENCH_PC, screenshot } from '../helpers/browser.js';
import { startConsoleRig, type ConsoleRig } from '../helpers/console-harness.js';
import { TOKEN } from '../helpers/daemon-harness.js';

/**
 * The bench operator's console in Debian's chromium against the real daemon and simulated bench:
 * a guided reference, scan-to-certify with every physical step confirmed by scanning the serial
 * again (keyboard only), live progress, the verdict, and a confirmation timeout.
 */
let rig: ConsoleRig;
let page: Page;

/** What the scanner does: the serial's characters, then Enter, into whatever has the focus. */
async function scanText(p: Page, text: string): Promise<void> {
  await p.keyboard.type(text);
  await p.keyboard.press('Enter');
}

/** The guided reference as a person does it: the button, then Enter at each of the two prompts. */
async function referenceThroughThePage(p: Page): Promise<void> {
  await p.click('#reference-btn');
  await p.locator('#prompt-text', { hasText: 'remove any device; connect launch cord LC-1 from the source straight to the detector' }).waitFor();
  await p.keyboard.press('Enter');
  await p.locator('#prompt-text', { hasText: 'mate launch cord LC-1 to reference plug RP-1' }).waitFor();
  await p.keyboard.press('Enter');
  await p.locator('#reference-result .chip.ok').waitFor();
}

async function certificateCount(): Promise<number> {
  const res = await rig.daemon.api<{ total: number }>('GET', '/certificates?limit=1');
  return res.json.total;
}

describe('bench console: guided reference and scan to certify', () => {
  beforeAll(async () => {
    rig = await startConsoleRig({ operator: { confirmSteps: true, confirmTimeoutS: 120 } });
    page = await rig.signedInPage('Ada Operator');
  }, 60_000);
  afterAll(async () => rig?.close());

  it('signs in without the token ever being in a page or readable by a script', async () => {
    expect(await page.evaluate(() => document.cookie)).toBe('');
    expect(await page.content()).not.toContain(TOKEN);
    await page.goto(`${rig.base}/benches/bench1`);
    expect(await page.content()).not.toContain(TOKEN);
    await expect(page.locator('header .who b').textContent()).resolves.toBe('Ada Operator');
    // The scan field has the focus as soon as the page opens.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('scan');
  });

  it('after signing in goes only to a page of this daemon, whatever next= says', async () => {
    const p = await rig.browser.newPage({ viewport: BENCH_PC });
    for (const [next, landed] of [
      ['/\\evil.example/phish', '/'],
      ['/\t/evil.example/phish', '/'],
      ['//evil.example/x', '/'],
      ['https://evil.example/', '/'],
      ['/benches/bench1?x=1', '/benches/bench1?x=1'],
    ] as const) {
      await p.goto(`${rig.base}/sign-in?next=${encodeURIComponent(next)}`);
      await p.fill('#name', 'Ada Operator');
      await p.fill('#token', TOKEN);
      await Promise.all([p.waitForURL((u) => u.href !== `${rig.base}/sign-in?next=${encodeURIComponent(next)}`), p.press('#token', 'Enter')]);
      expect(p.url()).toBe(`${rig.base}${landed}`);
    }
    await p.close();
  });

  it('references the bench step by step: each prompt is confirmed with Enter, then the values and checks show', async () => {
    await referenceThroughThePage(page);
    expect(await page.locator('#reference-values tbody tr').count()).toBe(12);
    expect(await page.locator('#reference-values thead th').allTextContents()).toEqual(['Fiber', '850 nm (dBm)', '1300 nm (dBm)']);
    expect(await page.locator('#prompt').isHidden()).toBe(true);
    await page.locator('#bench-state .chip.ok', { hasText: 'valid' }).waitFor();
    await screenshot(page, 'console-bench-reference');
  });

  it('certifies DEMO-0001 by scanning: each physical step is confirmed by scanning the serial again, progress fills every cell, PASS stays up', async () => {
    const before = await certificateCount();
    await scanText(page, 'DEMO-0001');
    await page.locator('#prompt-text', { hasText: 'connect end A of DEMO-0001 to launch cord LC-1, end B to the detector. Then scan DEMO-0001 again.' }).waitFor();
    expect(await page.locator('#confirm-btn').isHidden()).toBe(true);
    // Enter alone does not confirm a step that names the assembly: the scan is the proof.
    await page.keyboard.press('Enter');
    await page.locator('#notice', { hasText: 'scan DEMO-0001 to confirm' }).waitFor();
    await screenshot(page, 'console-bench-prompt');
    await scanText(page, 'DEMO-0001');
    await page.locator('#prompt-text', { hasText: 'turn DEMO-0001 round: end B to launch cord LC-1, end A to the detector' }).waitFor();
    // End A's 24 readings (12 fibers x 2 wavelengths) arrived while the page watched.
    expect(await page.locator('#grid td.done').count()).toBe(24);
    expect(await page.locator('#cell-7-A-850').textContent()).toMatch(/^0\.\d\d$/);
    await scanText(page, 'DEMO-0001');
    await page.locator('.verdict[data-verdict="PASS"]').waitFor();
    expect(await page.locator('#grid td.done').count()).toBe(48);
    expect(await page.locator('#failures').count()).toBe(0);
    expect(await page.evaluate(() => document.body.dataset.cue)).toBe('PASS');
    expect(await certificateCount()).toBe(before + 1);
    const verdictText = await page.locator('.verdict small').textContent();
    expect(verdictText).toBe(`DEMO-0001 · certificate ${before + 1}`);
    // The verdict is the stored, signed certificate's: the page links it, and its PDF.
    expect(await page.locator('#verdict-area a').first().getAttribute('href')).toBe(`/certificates/${before + 1}?format=html`);
    await page.locator('#recent td', { hasText: 'DEMO-0001' }).waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('scan');
    await screenshot(page, 'console-bench-pass');
  });

  it('certifies DEMO-0002 FAIL and shows fiber 7 with its values, limits and margins', async () => {
    await scanText(page, 'DEMO-0002');
    // The PASS stayed up until this scan; it is gone now.
    await page.locator('.verdict').waitFor({ state: 'detached' });
    await page.locator('#prompt-text', { hasText: 'connect end A of DEMO-0002' }).waitFor();
    await scanText(page, 'DEMO-0002');
    await page.locator('#prompt-text', { hasText: 'turn DEMO-0002 round' }).waitFor();
    await scanText(page, 'DEMO-0002');
    await page.locator('.verdict[data-verdict="FAIL"]').waitFor();
    expect(await page.locator('.verdict small').textContent()).toMatch(/^DEMO-0002 · certificate \d+ · end A fiber 7 · end B fiber 6$/);
    const rows = await page.locator('#failures tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    // Fiber 7 is 0.90 dB at 850 nm and 0.85 dB at 1300 nm through the trunk (the sample's
    // figures); the far end is on the detector, so each reading holds one MTP connector, judged
    // at 0.60 dB (MTP multimode grade): margins -0.30 and -0.25 dB. From end B the same glass
    // is launch position 6 (polarity type B maps 7 to 6).
    expect(rows).toEqual([
      ['6', 'B', '850', 'insertion loss', '0.90 dB', '≤ 0.60 dB', '-0.30 dB', 'FAIL'],
      ['6', 'B', '1300', 'insertion loss', '0.85 dB', '≤ 0.60 dB', '-0.25 dB', 'FAIL'],
      ['7', 'A', '850', 'insertion loss', '0.90 dB', '≤ 0.60 dB', '-0.30 dB', 'FAIL'],
      ['7', 'A', '1300', 'insertion loss', '0.85 dB', '≤ 0.60 dB', '-0.25 dB', 'FAIL'],
    ]);
    expect(await page.locator('#grid td.bad').evaluateAll((tds) => tds.map((td) => `${td.id}=${td.textContent}`))).toEqual([
      'cell-6-B-850=0.90',
      'cell-6-B-1300=0.85',
      'cell-7-A-850=0.90',
      'cell-7-A-1300=0.85',
    ]);
    expect(await page.evaluate(() => document.body.dataset.cue)).toBe('FAIL');
    await screenshot(page, 'console-bench-fail');
  });

  it('fits the bench PC and a tablet: no sideways scrolling, the scan field and the verdict above the fold', async () => {
    for (const size of [BENCH_PC, { width: 800, height: 1280 }]) {
      await page.setViewportSize(size);
      const fit = await page.evaluate(() => ({
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        scanBottom: document.getElementById('scan')!.getBoundingClientRect().bottom,
        verdictBottom: document.querySelector('.verdict')!.getBoundingClientRect().bottom,
      }));
      expect(fit.overflow).toBeLessThanOrEqual(0);
      expect(fit.verdictBottom).toBeLessThanOrEqual(size.height);
      expect(fit.scanBottom).toBeLessThan(fit.verdictBottom);
    }
    await screenshot(page, 'console-bench-tablet');
    await page.setViewportSize(BENCH_PC);
  });

  it('refuses a scan of another assembly at a confirmation and keeps waiting for the right one', async () => {
    await scanText(page, 'DEMO-0001');
    await page.locator('#prompt-text', { hasText: 'connect end A of DEMO-0001' }).waitFor();
    await scanText(page, 'DEMO-0002');
    await page.locator('#notice', { hasText: 'scanned serial "DEMO-0002" is not the assembly under test (DEMO-0001)' }).waitFor();
    expect(await page.locator('#prompt').isVisible()).toBe(true);
    await scanText(page, 'DEMO-0001');
    await page.locator('#prompt-text', { hasText: 'turn DEMO-0001 round' }).waitFor();
    await scanText(page, 'DEMO-0001');
    await page.locator('.verdict[data-verdict="PASS"]').waitFor();
  });
});

describe('benches overview', () => {
  let over: ConsoleRig;
  beforeAll(async () => {
    over = await startConsoleRig({ operator: { confirmSteps: true, confirmTimeoutS: 120 } });
  }, 60_000);
  afterAll(async () => over?.close());

  it('loads everything from the daemon itself (no CDN), in a few kB, and follows a bench live', async () => {
    const overview = await over.signedInPage('Ada Operator');
    const requests: { url: string; bytes: number }[] = [];
    overview.on('response', async (res) => {
      if (res.url().includes('/events')) return;
      requests.push({ url: res.url(), bytes: (await res.body()).length });
    });
    await overview.goto(`${over.base}/`, { waitUntil: 'load' });
    const card = overview.locator('section.bench[data-bench="bench1"]');
    expect(await card.locator('.chip.online').allTextContents()).toEqual(['mpm online', 'switch online']);
    await card.locator('.chip.bad', { hasText: 'none' }).waitFor();
    expect(requests.every((r) => r.url.startsWith(over.base))).toBe(true);
    expect(requests.map((r) => new URL(r.url).pathname).sort()).toEqual(['/', '/assets/console.css', '/assets/console.js', '/assets/overview.js']);
    const bytes = requests.reduce((n, r) => n + r.bytes, 0);
    console.log(`GET / transferred ${bytes} bytes in ${requests.length} responses`);
    expect(bytes).toBeLessThan(40_000);

    // A second screen at the bench: its reference and first prompt show on the overview as they happen.
    const bench = await over.browser.newPage({ viewport: BENCH_PC });
    await bench.context().addCookies(await overview.context().cookies());
    await bench.goto(`${over.base}/benches/bench1`);
    await referenceThroughThePage(bench);
    await card.locator('.chip.ok', { hasText: 'valid' }).waitFor();
    await bench.keyboard.type('DEMO-0001');
    await bench.keyboard.press('Enter');
    await overview.locator('section.bench[data-bench="bench1"] .chip.warn', { hasText: 'waiting for the operator' }).waitFor();
    expect(await overview.locator('section.bench[data-bench="bench1"]').textContent()).toContain('connect end A of DEMO-0001 to launch cord LC-1');
    await screenshot(overview, 'console-overview');
  });
});

describe('bench console: a confirmation nobody gives', () => {
  let slow: ConsoleRig;
  beforeAll(async () => {
    slow = await startConsoleRig({ operator: { confirmSteps: true, confirmTimeoutS: 5 } });
  }, 60_000);
  afterAll(async () => slow?.close());

  it('aborts cleanly after the timeout: says why, stores no certificate, and the bench takes the next scan', async () => {
    const p = await slow.signedInPage('Bob Operator');
    await p.goto(`${slow.base}/benches/bench1`);
    await referenceThroughThePage(p);
    await scanText(p, 'DEMO-0001');
    await p.locator('#prompt-text', { hasText: 'connect end A of DEMO-0001' }).waitFor();
    await p.locator('.verdict[data-verdict="ABORTED"]').waitFor({ timeout: 15_000 });
    expect(await p.locator('.verdict small').textContent()).toMatch(/^no certificate: nobody confirmed "connect end A of DEMO-0001 to launch cord LC-1, end B to the detector" within 5 s/);
    expect(await p.locator('#prompt').isHidden()).toBe(true);
    const certs = await slow.daemon.api<{ total: number }>('GET', '/certificates?limit=1');
    expect(certs.json.total).toBe(0);
    await screenshot(p, 'console-bench-timeout');
    await p.locator('#bench-state .chip.ok', { hasText: 'idle' }).waitFor();
  }, 40_000);
});
