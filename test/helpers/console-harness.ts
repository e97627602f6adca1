import type { Browser, Page } from 'playwright-core';
import { BENCH_PC, launchChromium } from './browser.js';
import { benchConfig, DaemonProcess, SAMPLE_ASSEMBLIES, startSimulatorProcess, tempDir, TOKEN, writeConfig, type SimulatorProcess } from './daemon-harness.js';

/**
 * The console under test: a real simulated bench process (switch + multi-port meter, so loss and
 * polarity), the real daemon from dist/ on a loopback port with a real SQLite file, and Debian's
 * chromium driven by playwright-core. One per test file; close() stops all of it.
 */
export interface ConsoleRig {
  daemon: DaemonProcess;
  sim: SimulatorProcess;
  browser: Browser;
  base: string;
  /** A new page at the bench PC's size, signed in through the sign-in form with the suite's shared token. */
  signedInPage(name?: string): Promise<Page>;
  close(): Promise<void>;
}

export interface ConsoleRigOptions {
  /** Serial or link id -> sample assembly (fixtures/assemblies); default: the harness's samples plus DEMO-0001/0002. */
  assemblies?: Record<string, string>;
  /** The bench's operator entry beyond the simulated one (e.g. { confirmSteps: true, confirmTimeoutS: 5 }). */
  operator?: Record<string, unknown>;
  /** Extra top-level config (e.g. more products). */
  extra?: Record<string, unknown>;
  /** Changes to the bench's config. */
  bench?: Record<string, unknown>;
}

export const CONSOLE_ASSEMBLIES = { ...SAMPLE_ASSEMBLIES, 'DEMO-0001': 'mtp12-om4-good', 'DEMO-0002': 'mtp12-om4-fiber7-0.9dB' };

export async function startConsoleRig(opts: ConsoleRigOptions = {}): Promise<ConsoleRig> {
  const tmp = tempDir('mpocert-console-');
  const sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
  const base = benchConfig({ id: 'bench1', sim, multiPort: true, assemblies: opts.assemblies ?? CONSOLE_ASSEMBLIES });
  const bench = { ...base, title: 'Bench 1 (simulated)', ...opts.bench, operator: { ...(base.operator as object), ...opts.operator } };
  let daemon: DaemonProcess | undefined;
  let browser: Browser | undefined;
  try {
    daemon = await new DaemonProcess(writeConfig(tmp.dir, [bench], opts.extra)).start();
    browser = await launchChromium();
  } catch (err) {
    await daemon?.kill('SIGTERM');
    sim.child.kill('SIGTERM');
    tmp.remove();
    throw err;
  }
  const d = daemon;
  const b = browser;
  return {
    daemon: d,
    sim,
    browser: b,
    base: d.base,
    async signedInPage(name = 'Ada Operator') {
      const page = await b.newPage({ viewport: BENCH_PC });
      await page.goto(`${d.base}/sign-in`);
      await page.fill('#name', name);
      await page.fill('#token', TOKEN);
      await Promise.all([page.waitForURL(`${d.base}/`), page.press('#token', 'Enter')]);
      return page;
    },
    async close() {
      await b.close();
      await d.kill('SIGTERM');
      sim.child.kill('SIGTERM');
      tmp.remove();
    },
  };
}
