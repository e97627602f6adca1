import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimulatorProcess, type SimulatedEndpoint, type SimulatorProcess } from '../../src/cli/demo.js';
import { projectRoot } from '../../src/project-root.js';

/**
 * A real daemon process (dist/, as production runs it) on a real simulated bench process, a real
 * SQLite file in a temporary directory and HTTP on an ephemeral loopback port.
 */
export const TOKEN = 'test-token-0123456789abcdef';
export const root = projectRoot();

export const PRODUCT_MTP12_OM4_B = {
  kind: 'assembly',
  fiberCount: 12,
  fiberType: 'OM4',
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  polarity: { declared: 'B' },
  limitSet: { id: 'mtp-mpo-connector-grades' },
};

export const SAMPLE_ASSEMBLIES = {
  'GOOD-1': 'mtp12-om4-good',
  'GOOD-2': 'mtp12-om4-good',
  'BAD-7': 'mtp12-om4-fiber7-0.9dB',
  'SWAP-34': 'mtp12-om4-polarity-swap-3-4',
  'DARK-5': 'mtp12-om4-dark-fiber-5',
};

export interface ApiReply<T> {
  status: number;
  json: T;
  text: string;
  type: string;
}

export class DaemonProcess {
  child!: ChildProcess;
  base!: string;
  readonly log: string[] = [];

  constructor(
    readonly configPath: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  async start(): Promise<this> {
    this.child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--config', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.env },
    });
    this.child.stderr!.on('data', (c: Buffer) => this.log.push(c.toString()));
    this.base = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      lines.on('line', (line) => {
        this.log.push(line);
        const m = /"url":"(http:\/\/[^"]+)".*"msg":"mpocert listening"/.exec(line);
        if (m) resolve(m[1]!);
      });
      this.child.once('exit', (code) => reject(new Error(`daemon exited ${code}: ${this.log.join('\n')}`)));
    });
    return this;
  }

  async api<T = Record<string, unknown>>(method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<ApiReply<T>> {
    const res = await fetch(this.base + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json: json as T, text, type: res.headers.get('content-type') ?? '' };
  }

  /** Sends a signal and resolves with the exit code (or the signal name). */
  async kill(signal: NodeJS.Signals): Promise<number | string> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode ?? this.child.signalCode!;
    const exited = new Promise<number | string>((r) => this.child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
    this.child.kill(signal);
    return exited;
  }
}

export interface BenchOptions {
  id: string;
  sim: SimulatorProcess;
  assemblies?: Record<string, string>;
}

/** The simulator's endpoint as an instrument's transport config (TCP or a socat pty, as it was started). */
export function transportOf(endpoint: SimulatedEndpoint): Record<string, unknown> {
  const { dialect: _dialect, ...transport } = endpoint as SimulatedEndpoint & { profile?: string };
  delete (transport as { profile?: string }).profile;
  return transport;
}

/** A switch-and-meter bench on the simulator's meter and switch, over whatever transport they run on. */
export function benchConfig({ id, sim, assemblies = SAMPLE_ASSEMBLIES }: BenchOptions): Record<string, unknown> {
  const e = sim.endpoints;
  return {
    id,
    defaultProduct: 'MTP12-OM4-B',
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: 1000, transport: transportOf(e.meter) },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: 1000, transport: transportOf(e.switch) },
    ],
    operator: { kind: 'simulated', host: e.control.host, port: e.control.port, assemblies },
  };
}

export function writeConfig(dir: string, benches: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  const config = {
    dataDir: join(dir, 'data'),
    logLevel: 'info',
    http: { host: '127.0.0.1', port: 0, token: TOKEN },
    products: { 'MTP12-OM4-B': PRODUCT_MTP12_OM4_B },
    benches,
    ...extra,
  };
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return path;
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export { startSimulatorProcess, type SimulatorProcess };

/** One command on the simulated bench's control port (the stand-in for a person, and fault injection). */
export function simControl(sim: SimulatorProcess, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = new Socket();
    let buf = '';
    s.setTimeout(5000, () => {
      s.destroy();
      reject(new Error(`control ${line}: no reply`));
    });
    s.on('error', reject);
    s.on('data', (c) => {
      buf += c.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        s.end();
        resolve(buf.slice(0, i).trim());
      }
    });
    s.connect(sim.endpoints.control.port, sim.endpoints.control.host, () => s.write(`${line}\n`));
  });
}
