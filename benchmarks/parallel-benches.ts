/**
 * Parallel benches: 1, 4 and 16 simulated benches (PM100 + DiCon 1x24 each, a realistic 20 ms per
 * meter reading) certifying MTP-24 assemblies at two wavelengths at the same time in one daemon.
 * Figure: wall time of N benches (each running the same number of jobs) over the wall time of
 * 1 bench, same daemon, same run. Target: <= 1.15 at 16.
 *
 *   npm run build && node dist/benchmarks/parallel-benches.js
 */
import { pathToFileURL } from 'node:url';
import { benchEntry, certify, Daemon, progress, reference, round, SimHost, tempDir, writeConfig, writeMtp24 } from './support/harness.js';

export interface ParallelBenchResult {
  name: string;
  target: string;
  meterDelayMs: number;
  jobsPerBench: number;
  rows: { benches: number; wallSeconds: number; ratioTo1: number; secondsPerCertificate: number }[];
}

export async function benchParallel(opts: { counts?: number[]; jobsPerBench?: number; delayMs?: number } = {}): Promise<ParallelBenchResult> {
  const counts = opts.counts ?? [1, 4, 16];
  const jobsPerBench = opts.jobsPerBench ?? 2;
  const delayMs = opts.delayMs ?? 20;
  const max = Math.max(...counts);
  const tmp = tempDir('mpocert-bench-parallel-');
  const sim = await new SimHost({ count: max, channels: 24, transport: 'tcp', meterDelayMs: delayMs }).start();
  const assemblies = { 'MTP24-GOOD': writeMtp24(tmp.dir) };
  const ids = sim.benches.map((_, i) => `b${i + 1}`);
  const daemon = new Daemon(writeConfig(tmp.dir, sim.benches.map((b, i) => benchEntry(ids[i]!, b, { assemblies }))));
  try {
    await daemon.start();
    await Promise.all(ids.map((id) => reference(daemon, id)));
    progress(`parallel: ${max} benches referenced`);
    const wall = async (n: number): Promise<number> => {
      const t0 = performance.now();
      await Promise.all(
        ids.slice(0, n).map(async (id) => {
          for (let j = 0; j < jobsPerBench; j++) await certify(daemon, id, 'MTP24-GOOD');
        }),
      );
      return (performance.now() - t0) / 1000;
    };
    await wall(max); // warm-up: every bench connected once
    // 1 bench is measured before and after the others; the better of the two is the baseline.
    const times = new Map<number, number>();
    for (const n of [...counts, counts[0]!]) {
      const t = await wall(n);
      times.set(n, Math.min(times.get(n) ?? Infinity, t));
      progress(`parallel: ${n} bench(es) x ${jobsPerBench} jobs: ${round(t, 3)} s`);
    }
    const base = times.get(counts[0]!)!;
    return {
      name: `parallel benches: MTP-24 x 2 wavelengths, ${delayMs} ms per meter reading`,
      target: 'wall(16) / wall(1) <= 1.15',
      meterDelayMs: delayMs,
      jobsPerBench,
      rows: counts.map((n) => ({ benches: n, wallSeconds: round(times.get(n)!), ratioTo1: round(times.get(n)! / base), secondsPerCertificate: round(times.get(n)! / jobsPerBench) })),
    };
  } finally {
    await daemon.stop().catch(() => undefined);
    await sim.close();
    tmp.remove();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchParallel(), null, 2) + '\n');
}
