import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { migrateCentral } from '../../src/central/schema.js';
import { benchConfig, DaemonProcess, root, startSimulatorProcess, tempDir, writeConfig, type SimulatorProcess } from './daemon-harness.js';
import { startPostgres, type PrivateCluster } from './postgres.js';

/**
 * The central QA store under test, on real processes: a private PostgreSQL with the central
 * schema, one real bench daemon per site (each on its own simulated bench, replicating to that
 * database) and `mpocert hub` as production runs it. One per test file; stop() ends all of it,
 * however far start got.
 */

/** The token the tests' hubs are configured with. */
export const HUB_TOKEN = 'hub-token-0123456789abcdef';

/** `mpocert hub` as production runs it; resolves once it logs where it listens. */
export class HubProcess {
  child!: ChildProcess;
  base!: string;
  readonly log: string[] = [];
  constructor(readonly configPath: string) {}
  async start(): Promise<this> {
    this.child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'hub', '--config', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (c: Buffer) => this.log.push(c.toString()));
    this.base = await new Promise<string>((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        this.log.push(line);
        const m = /"url":"(http:\/\/[^"]+)".*"msg":"mpocert hub listening"/.exec(line);
        if (m) resolve(m[1]!);
      });
      this.child.once('exit', (code, sig) => reject(new Error(`hub exited ${code ?? sig}: ${this.log.join('\n')}`)));
    });
    return this;
  }
  /** SIGTERM, and the exit code (or the signal's name) once it has exited. */
  async stop(): Promise<number | string> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode ?? this.child.signalCode!;
    const exited = new Promise<number | string>((r) => this.child.once('exit', (code, sig) => r(code ?? sig ?? -1)));
    this.child.kill('SIGTERM');
    return exited;
  }
}

/** A reply read whole: the bytes, as text, and as JSON when it parses. */
export interface FetchedReply {
  status: number;
  headers: Headers;
  bytes: Buffer;
  text: string;
  json: any;
}

/** fetch() that does not follow redirects and reads the whole reply. */
export async function fetchReply(url: string, init: RequestInit = {}): Promise<FetchedReply> {
  const r = await fetch(url, { redirect: 'manual', ...init });
  const bytes = Buffer.from(await r.arrayBuffer());
  const text = bytes.toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: r.status, headers: r.headers, bytes, text, json };
}

/** Polls `probe` every 100 ms (a probe that throws counts as not yet) until it returns a value. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A certificate a bench issued: its id on the bench, its verdict and its uuid. */
export interface Certified {
  id: number;
  verdict: string;
  uuid: string;
}

export class CentralRig {
  readonly tmp: { dir: string; remove(): void };
  /** The central database's URL (set by startCentralStore). */
  url!: string;
  pool!: pg.Pool;
  /** Each site's bench daemon, by site. */
  readonly daemons: Record<string, DaemonProcess> = {};
  hub: HubProcess | undefined;
  private cluster: PrivateCluster | undefined;
  private readonly sims: SimulatorProcess[] = [];

  /** Makes the temporary directory everything else lives in. */
  constructor(tempPrefix: string) {
    this.tmp = tempDir(tempPrefix);
  }

  /** A private PostgreSQL with the central schema already migrated. */
  async startCentralStore(): Promise<void> {
    this.cluster = await startPostgres();
    this.url = await this.cluster.createDatabase('central');
    this.pool = new pg.Pool({ connectionString: this.url, max: 2 });
    this.pool.on('error', () => undefined);
    // The hub migrates at start too; done first here so the benches' replicators find the inbox at once.
    await migrateCentral(this.pool);
  }

  /**
   * A real bench daemon for `site`, on its own simulated bench (multi-port meter), replicating to
   * the central store every 100 ms, with its reference taken. QA's copy of the site's trusted keys
   * file, taken as when the bench was commissioned, is `<site>-keys.json` in the temporary directory.
   */
  async startSite(site: string, bench: { id: string; assemblies?: Record<string, string> }): Promise<DaemonProcess> {
    const sim = await startSimulatorProcess({ meter: 0, switch: 0, control: 0, multiPortMeter: 0 });
    this.sims.push(sim);
    const dir = join(this.tmp.dir, site);
    mkdirSync(dir);
    const config = writeConfig(dir, [benchConfig({ id: bench.id, sim, multiPort: true, assemblies: bench.assemblies })], {
      central: { site, postgresUrl: this.url, intervalMs: 100 },
    });
    const daemon = await new DaemonProcess(config).start();
    this.daemons[site] = daemon;
    const reference = await daemon.api('POST', `/benches/${bench.id}/reference`);
    if (reference.status !== 200) throw new Error(`${site}: reference refused (${reference.status}): ${JSON.stringify(reference.json)}`);
    copyFileSync(join(dir, 'data', 'trusted-keys.json'), join(this.tmp.dir, `${site}-keys.json`));
    return daemon;
  }

  /** Certifies `serial` on `site`'s bench and waits for the job; throws unless it completed. */
  async certify(site: string, bench: string, serial: string): Promise<Certified> {
    const d = this.daemons[site]!;
    const job = await d.api<{ state: string; certificateId: number; verdict: string }>('POST', '/jobs', { bench, operator: 'ci', serial, wait: true });
    if (job.json.state !== 'completed') throw new Error(`${site}/${bench} ${serial}: job ${job.json.state}: ${JSON.stringify(job.json)}`);
    const uuid = (await d.api<{ uuid: string }>('GET', `/certificates/${job.json.certificateId}`)).json.uuid;
    return { id: job.json.certificateId, verdict: job.json.verdict, uuid };
  }

  /** Writes the hub's config file (`name`, in the temporary directory, so keysFile paths are relative to it) and starts the hub. */
  async startHub(name: string, config: string): Promise<HubProcess> {
    const path = join(this.tmp.dir, name);
    writeFileSync(path, config);
    this.hub = new HubProcess(path);
    return this.hub.start();
  }

  /** Polls the hub until `probe` returns a value; the timeout's error carries the hub's log. */
  async waitForHub<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
    try {
      return await waitFor(what, probe, ms);
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${this.hub?.log.join('\n') ?? 'no hub'}`);
    }
  }

  /** Stops the hub, the daemons, the simulators and PostgreSQL, and removes the temporary directory. */
  async stop(): Promise<void> {
    await this.hub?.stop();
    await Promise.all(Object.values(this.daemons).map((d) => d.kill('SIGTERM')));
    for (const s of this.sims) s.child.kill('SIGTERM');
    await this.pool?.end().catch(() => undefined);
    await this.cluster?.destroy();
    this.tmp.remove();
  }
}
