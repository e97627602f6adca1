/** autocannon runs shared by the HTTP and memory figures. */
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monthRange } from '../storage.js';
import { benchEntry, Daemon, SimHost, tempDir, writeConfig, writeMtp24 } from './harness.js';
import { startChild } from './dataset.js';

export type Target = 'hello' | 'certificate' | 'list';

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  requests: number;
}

export function pathFor(target: Target, count: number): () => string {
  if (target === 'hello') return () => '/';
  if (target === 'certificate') return () => `/certificates/${1 + Math.floor(Math.random() * count)}`;
  return () => {
    const { from, to } = monthRange(Math.floor(Math.random() * 12));
    return `/certificates?verdict=${Math.random() < 0.5 ? 'FAIL' : 'MARGINAL'}&from=${from}&to=${to}`;
  };
}

export async function load(base: string, next: () => string, seconds: number, connections = 50): Promise<LoadResult> {
  const r = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: next() }) }],
  });
  return {
    requestsPerSec: Math.round(r.requests.average),
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    requests: r.requests.total,
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Samples a process's RSS every 100 ms; peak() is the largest seen. */
export class RssSampler {
  private max = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(private readonly pid: number) {
    this.sample();
    this.timer = setInterval(() => this.sample(), 100);
  }
  private sample(): void {
    try {
      this.max = Math.max(this.max, rssBytes(this.pid));
    } catch {
      /* exited */
    }
  }
  peak(): number {
    this.sample();
    return this.max;
  }
  stop(): number {
    clearInterval(this.timer);
    return this.peak();
  }
}

/** The daemon process serving an existing data directory (one simulated bench configured), plus the hello-world. */
async function fullCheckDone(daemon: Daemon): Promise<void> {
  for (;;) {
    const status = await daemon.api<{ custody: { fullCheck: { state: string } } }>('GET', '/status');
    if (status.json.custody.fullCheck.state === 'done') return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export async function servers(dataDir: string): Promise<{ daemon: Daemon; hello: { base: string; pid: number }; close(): Promise<void> }> {
  const tmp = tempDir('mpocert-bench-http-');
  const sim = await new SimHost({ count: 1, channels: 24, transport: 'tcp' }).start();
  const daemon = new Daemon(writeConfig(tmp.dir, [benchEntry('b1', sim.benches[0]!, { assemblies: { 'MTP24-GOOD': writeMtp24(tmp.dir) } })], { dataDir }));
  const hello = await startChild('dist/benchmarks/support/hello-server.js');
  try {
    await daemon.start();
    // Measure the daemon as it runs, not while it verifies every stored certificate after start
    // (about 45 s at 100,000 on the development machine, reported by the custody benchmark).
    await fullCheckDone(daemon);
  } catch (err) {
    await hello.stop();
    await sim.close();
    tmp.remove();
    throw err;
  }
  return {
    daemon,
    hello: { base: `http://127.0.0.1:${hello.info.port as number}`, pid: hello.pid },
    close: async () => {
      await daemon.stop().catch(() => undefined);
      await hello.stop();
      await sim.close();
      tmp.remove();
    },
  };
}

export const dataDirOf = (dir: string): string => join(dir, 'data');
