/**
 * Support for the fault suite: simulated benches in this (test) process, so every injected fault
 * can be counted when a simulator actually applies it, a real daemon process from dist/, and the
 * truth every certificate is compared with.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fiberLossDb, loadAssembly } from '../../fixtures/dut/assembly-model.js';
import type { SimulatedBench } from '../../fixtures/simulators/bench.js';
import type { Fault } from '../../fixtures/simulators/faults.js';
import type { ServedDevice } from '../../fixtures/simulators/line-server.js';
import { projectRoot } from '../../src/project-root.js';

export const TOKEN = 'faults-token-0123456789abcdef';
export const root = projectRoot();

export const PRODUCT_MTP12_OM4_B = {
  kind: 'assembly',
  fiberCount: 12,
  fiberType: 'OM4',
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  polarity: { declared: 'B' },
  limitSet: { id: 'mtp-mpo-connector-grades' },
};

/** Serial number -> sample assembly the simulated operator inserts. */
export const ASSEMBLIES: Record<string, string> = {
  GOOD: 'mtp12-om4-good',
  BAD7: 'mtp12-om4-fiber7-0.9dB',
  SWAP34: 'mtp12-om4-polarity-swap-3-4',
  DARK5: 'mtp12-om4-dark-fiber-5',
  DIRTY: 'mtp12-om4-dirty-connector',
};

/** The true loss of a fiber of a serial's assembly (null: dark), exact to 1e-6 dB. */
export function truth(serial: string, fiber: number, wavelengthNm: number): number | null {
  return fiberLossDb(loadAssembly(ASSEMBLIES[serial]!), fiber, wavelengthNm);
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Deterministic randomness: failures name their seed and reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function lineBenchConfig(id: string, sim: SimulatedBench, timeoutMs: number): Record<string, unknown> {
  const t = (e: SimulatedBench['meter'] | SimulatedBench['switch']): Record<string, unknown> => {
    const { dialect: _d, ...rest } = e;
    return rest;
  };
  return {
    id,
    defaultProduct: 'MTP12-OM4-B',
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs, transport: t(sim.meter) },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs, transport: t(sim.switch) },
    ],
    operator: { kind: 'simulated', host: sim.control.host, port: sim.control.port, assemblies: ASSEMBLIES },
  };
}

export function ltsBenchConfig(id: string, sim: SimulatedBench, timeoutMs: number): Record<string, unknown> {
  const l = sim.lossTestSet!;
  return {
    id,
    defaultProduct: 'MTP12-OM4-B',
    wavelengthsNm: [850, 1300],
    method: { kind: 'loss-test-set', lossTestSet: 'lts' },
    instruments: [{ id: 'lts', dialect: 'modbus-loss-test-set', profile: l.profile, timeoutMs, transport: { kind: 'modbus-tcp', host: l.host, port: l.port, unitId: l.unitId } }],
    operator: { kind: 'simulated', host: sim.control.host, port: sim.control.port, assemblies: ASSEMBLIES },
  };
}

export function writeConfig(dir: string, benches: Record<string, unknown>[]): string {
  const path = join(dir, 'config.json');
  writeFileSync(
    path,
    JSON.stringify({ dataDir: join(dir, 'data'), logLevel: 'warn', http: { host: '127.0.0.1', port: 0, token: TOKEN }, products: { 'MTP12-OM4-B': PRODUCT_MTP12_OM4_B }, benches }, null, 2),
  );
  return path;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

export interface Reply<T> {
  status: number;
  json: T;
  text: string;
}

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

/** One HTTP request as given (node:http: no client-side JSON, any method, any body). */
export function send<T = Record<string, unknown>>(base: string, r: RawRequest, timeoutMs = 20_000): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    const req = request(base + r.path, { method: r.method, agent, headers: { ...(r.headers ?? {}), ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json: json as T, text });
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply to ${r.method} ${r.path} in ${timeoutMs} ms`)));
    req.on('error', reject);
    if (r.body !== undefined) req.write(r.body);
    req.end();
  });
}

export class Daemon {
  child!: ChildProcess;
  base!: string;
  readonly log: string[] = [];
  constructor(readonly configPath: string) {}

  async start(): Promise<this> {
    this.child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (c: Buffer) => this.log.push(c.toString()));
    // logLevel warn: the listening line is info, so wait for /healthz on the port the daemon reports via its log... it logs nothing at warn.
    this.base = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        this.log.push(line);
        const m = /"url":"(http:\/\/[^"]+)".*"msg":"mpocert listening"/.exec(line);
        if (m) resolve(m[1]!);
      });
      this.child.once('exit', (code, sig) => reject(new Error(`daemon exited ${code ?? sig}: ${this.log.join('\n')}`)));
    });
    return this;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<Reply<T>> {
    return send<T>(this.base, {
      method,
      path,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  }

  async kill(signal: NodeJS.Signals): Promise<number | string> {
    if (!this.alive) return this.child.exitCode ?? this.child.signalCode!;
    const exited = new Promise<number | string>((r) => this.child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
    this.child.kill(signal);
    return exited;
  }
}

/**
 * Counts the faults a simulated device actually applied (not merely queued) and, for
 * disconnects, when the device came back. Wraps the device's FaultPlan.take.
 */
export class FaultLedger {
  applied = 0;
  readonly byKind: Record<string, number> = {};
  /** Per device name: the times (ms since epoch) a disconnected device is back. */
  readonly returns: { device: string; at: number }[] = [];

  watch(name: string, device: Pick<ServedDevice, 'faults'>): void {
    const plan = device.faults;
    const take = plan.take.bind(plan);
    plan.take = (kinds) => {
      const f = take(kinds);
      if (f) {
        this.applied++;
        this.byKind[`${name} ${f.kind}`] = (this.byKind[`${name} ${f.kind}`] ?? 0) + 1;
        if (f.kind === 'disconnect') this.returns.push({ device: name, at: Date.now() + f.arg });
      }
      return f;
    };
  }
}

export type FaultChoice = { device: 'meter' | 'switch' | 'lts'; fault: Fault };
