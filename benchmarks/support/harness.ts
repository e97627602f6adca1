/**
 * What every benchmark needs: a real daemon process (dist/, as production runs it), simulated
 * benches in a process of their own (bench/support/sim-host.ts), 24-fiber sample assemblies,
 * temp dirs, and a keep-alive HTTP client. Everything started here is stopped by its close().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DaemonProcess, root, send, writeDaemonConfig, type Reply } from '../../fixtures/harness/daemon-process.js';
import { sendControlLine } from '../../fixtures/simulators/simulated-operator.js';
import { TEST_CORDS } from '../../fixtures/harness/products.js';

export { root, sleep, tempDir, type Reply } from '../../fixtures/harness/daemon-process.js';
export const TOKEN = 'bench-token-0123456789abcdef';


export const round = (x: number, digits = 3): number => Math.round(x * 10 ** digits) / 10 ** digits;
export const progress = (msg: string): void => void process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** A 24-fiber MTP-24 OM4 trunk (two rows of 12), exact losses, written as an assembly file. */
export function mtp24Assembly(): Record<string, unknown> {
  const loss = (fiber: number, nm: number): number => round(0.12 + ((fiber * 7 + nm) % 23) / 100, 6);
  const fibers = Array.from({ length: 24 }, (_, i) => i + 1);
  return {
    name: 'mtp24-om4-good',
    description: 'MTP-24 OM4 trunk, every fiber within 0.60 dB (benchmark fixture)',
    fiberCount: 24,
    fiberType: 'OM4',
    polarity: 'B',
    lossDb: { '850': fibers.map((f) => loss(f, 850)), '1300': fibers.map((f) => loss(f, 1300)) },
  };
}

/** Writes the 24-fiber assembly to `dir` and returns its path (the simulator's DUT INSERT takes a .json path). */
export function writeMtp24(dir: string): string {
  const path = join(dir, 'mtp24-om4-good.json');
  writeFileSync(path, JSON.stringify(mtp24Assembly(), null, 2));
  return path;
}

/** Loss only (a single-meter bench cannot verify polarity), both ends, pinned limit set. */
export const PRODUCT_MTP24 = {
  kind: 'assembly',
  fiberCount: 24,
  fiberType: 'OM4',
  wavelengthsNm: [850, 1300],
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  requiredQuantities: ['insertionLoss'],
  limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' },
};

export type Endpoint = { dialect?: string } & ({ kind: 'tcp'; host: string; port: number } | { kind: 'serial'; path: string; baudRate?: number });
export interface SimBench {
  meter: Endpoint;
  switch: Endpoint;
  control: { host: string; port: number };
  /** With `multiPort`: the Santec multi-port meter and the MPO source on the same optical model. */
  multiPortMeter?: Endpoint;
  mpoSource?: Endpoint;
}

/** N simulated benches (PM100 + DiCon 1xN) in one child process. */
export class SimHost {
  child!: ChildProcess;
  benches: SimBench[] = [];

  constructor(private readonly opts: { count: number; channels: number; transport: 'tcp' | 'pty'; meterDelayMs?: number; ptyDir?: string; multiPort?: boolean }) {}

  async start(): Promise<this> {
    const args = [join(root, 'dist/benchmarks/support/sim-host.js'), JSON.stringify(this.opts)];
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.benches = await new Promise<SimBench[]>((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      this.child.once('exit', (code) => reject(new Error(`sim-host exited ${code}`)));
      lines.once('line', (line) => {
        this.child.removeAllListeners('exit');
        resolve(JSON.parse(line) as SimBench[]);
      });
    });
    return this;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await done;
  }
}

export function transportOf(e: Endpoint): Record<string, unknown> {
  const { dialect: _d, ...t } = e;
  return t;
}

export function benchEntry(id: string, sim: SimBench, opts: { fiberCount?: number; assemblies: Record<string, string>; timeoutMs?: number }): Record<string, unknown> {
  return {
    id,
    defaultProduct: 'MTP24-OM4-B',
    fiberCount: opts.fiberCount ?? 24,
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    testCords: TEST_CORDS,
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: opts.timeoutMs ?? 3000, transport: transportOf(sim.meter) },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: opts.timeoutMs ?? 3000, transport: transportOf(sim.switch) },
    ],
    operator: { kind: 'simulated', host: sim.control.host, port: sim.control.port, assemblies: opts.assemblies },
  };
}

export function writeConfig(dir: string, benches: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return writeDaemonConfig(dir, { benches, products: { 'MTP24-OM4-B': PRODUCT_MTP24 }, token: TOKEN, extra });
}



/** A keep-alive JSON request (node:http, so the client's own cost stays small and steady). */
export function api<T = Record<string, unknown>>(base: string, method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Reply<T>> {
  return send<T>(base, {
    method,
    path,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}

/** The real daemon process with the benchmarks' token. */
export class Daemon extends DaemonProcess {
  constructor(configPath: string) {
    super(configPath, { token: TOKEN });
  }
}

/** One command on a simulated bench's control port. */
export function control(sim: SimBench, line: string): Promise<string> {
  return sendControlLine(sim.control.host, sim.control.port, line);
}

export interface JobReply {
  id: string;
  state: string;
  reason?: string;
  certificateId?: number;
  verdict?: string;
}

/** Starts a job and waits for its end; throws unless it completed. */
export async function certify(d: Daemon, bench: string, serial: string): Promise<JobReply> {
  const r = await d.api<JobReply>('POST', '/jobs', { bench, operator: 'bench', serial, wait: true });
  if (r.status !== 200 || r.json.state !== 'completed') throw new Error(`job on ${bench} did not complete: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

export async function reference(d: Daemon, bench: string): Promise<void> {
  const r = await d.api('POST', `/benches/${bench}/reference`);
  if (r.status !== 200) throw new Error(`reference ${bench}: ${r.status} ${JSON.stringify(r.json)}`);
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
