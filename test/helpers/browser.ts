import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { root } from './daemon-harness.js';

/** Debian's chromium (scripts/install-test-deps.sh installs it): never a browser download. */
export const CHROMIUM = process.env.MPOCERT_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The flags a root, offline CI machine needs: no sandbox (root), no GPU, and none of the
 * background connections a closed network refuses at every start. Playwright gives every launch
 * a fresh, empty profile directory of its own and removes it on close.
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

/** The bench PC the console is designed for. */
export const BENCH_PC = { width: 1366, height: 768 };

/** Screenshots are kept under test-results/ (CI keeps that folder). */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = join(root, 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
