/**
 * Memory: the daemon's resident set while it serves the 100,000-certificate database under the
 * HTTP load (autocannon, 50 connections: certificate by id, then the filtered list), sampled
 * every 100 ms, beside the bare fastify hello-world's resident set under its own load in the same
 * run. Also the daemon's idle RSS after start-up.
 *
 *   npm run build && node dist/benchmarks/memory.js <dataDir>
 */
import { pathToFileURL } from 'node:url';
import { load, pathFor, rssBytes, RssSampler, servers } from './support/load.js';
import { progress, round, sleep } from './support/harness.js';

export interface MemoryBenchResult {
  name: string;
  daemonIdleMiB: number;
  daemonPeakUnderLoadMiB: number;
  helloPeakUnderLoadMiB: number;
  ratioToHello: number;
}

const mib = (b: number): number => round(b / 1048576, 1);

export async function benchMemory(opts: { dataDir: string; count?: number; seconds?: number }): Promise<MemoryBenchResult> {
  const count = opts.count ?? 100_000;
  const seconds = opts.seconds ?? 6;
  const s = await servers(opts.dataDir);
  try {
    await sleep(1000);
    const idle = rssBytes(s.daemon.pid);
    const hs = new RssSampler(s.hello.pid);
    await load(s.hello.base, pathFor('hello', count), seconds);
    const hello = hs.stop();
    const ds = new RssSampler(s.daemon.pid);
    await load(s.daemon.base, pathFor('certificate', count), seconds);
    await load(s.daemon.base, pathFor('list', count), seconds);
    const daemon = ds.stop();
    progress(`memory: daemon idle ${mib(idle)} MiB, under load ${mib(daemon)} MiB; hello-world ${mib(hello)} MiB`);
    return {
      name: `memory: daemon RSS serving ${count.toLocaleString('en')} certificates under load`,
      daemonIdleMiB: mib(idle),
      daemonPeakUnderLoadMiB: mib(daemon),
      helloPeakUnderLoadMiB: mib(hello),
      ratioToHello: round(daemon / hello, 2),
    };
  } finally {
    await s.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchMemory({ dataDir: process.argv[2]!, count: Number(process.argv[3] ?? 100_000) }), null, 2) + '\n');
}
