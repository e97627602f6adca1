/**
 * HTTP: GET /certificates/:id (JSON, random id) and the filtered list (verdict + one month),
 * with 100,000 certificates stored, against a bare fastify hello-world (its own process, like
 * the daemon) in the same run; autocannon, 50 connections. Runs alternate hello-world and daemon;
 * the hello-world's best run is the baseline.
 * Targets (issue 9): one certificate >= 0.4 x hello-world, p99 <= 20 ms; the filtered list
 * >= 0.3 x hello-world, p99 <= 10 ms.
 *
 *   npm run build && node dist/benchmarks/http.js <dataDir with the 100,000-certificate database>
 */
import { pathToFileURL } from 'node:url';
import { load, pathFor, servers, type LoadResult } from './support/load.js';
import { progress, round } from './support/harness.js';

export interface HttpRow extends LoadResult {
  route: string;
  ratioToHello: number;
  /** Issue 9's targets for QA reads: requests/s as a share of hello-world, and p99. */
  minRatio: number;
  maxP99Ms: number;
}

export interface HttpBenchResult {
  name: string;
  target: string;
  connections: number;
  secondsPerRun: number;
  hello: LoadResult;
  rows: HttpRow[];
}

export async function benchHttp(opts: { dataDir: string; count?: number; seconds?: number }): Promise<HttpBenchResult> {
  const count = opts.count ?? 100_000;
  const seconds = opts.seconds ?? 8;
  const s = await servers(opts.dataDir);
  try {
    const daemonBase = s.daemon.base;
    // Warm up both (JIT, SQLite page cache).
    await load(s.hello.base, pathFor('hello', count), 2);
    await load(daemonBase, pathFor('certificate', count), 2);
    await load(daemonBase, pathFor('list', count), 2);
    const hellos: LoadResult[] = [];
    const rows: Record<string, LoadResult> = {};
    for (const step of ['hello', 'certificate', 'list', 'hello'] as const) {
      const r = await load(step === 'hello' ? s.hello.base : daemonBase, pathFor(step, count), seconds);
      progress(`http ${step}: ${r.requestsPerSec} req/s, p99 ${r.p99Ms} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
      if (step === 'hello') hellos.push(r);
      else rows[step] = r;
    }
    const hello = hellos.reduce((a, b) => (b.requestsPerSec > a.requestsPerSec ? b : a));
    const row = (route: string, r: LoadResult, minRatio: number, maxP99Ms: number): HttpRow => ({
      route,
      ...r,
      ratioToHello: round(r.requestsPerSec / hello.requestsPerSec),
      minRatio,
      maxP99Ms,
    });
    return {
      name: `http: ${count.toLocaleString('en')} certificates stored, autocannon 50 connections`,
      target: 'certificate >= 0.4 x hello-world, p99 <= 20 ms; list >= 0.3 x hello-world, p99 <= 10 ms',
      connections: 50,
      secondsPerRun: seconds,
      hello,
      rows: [row('GET /certificates/:id', rows.certificate!, 0.4, 20), row('GET /certificates?verdict&from&to', rows.list!, 0.3, 10)],
    };
  } finally {
    await s.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchHttp({ dataDir: process.argv[2]!, count: Number(process.argv[3] ?? 100_000) }), null, 2) + '\n');
}
