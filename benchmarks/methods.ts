/**
 * Bench methods compared on the same simulated optical bench and the same MTP-24 OM4 trunk
 * (24 fibers x 850 + 1300 nm, both ends), every meter reading taking 20 ms (integration time):
 *   switch-and-meter                  DiCon 1x24 lights one fiber at a time, a PM100 reads it:
 *                                     24 x 2 readings per end.
 *   mpo-source-and-multiport-meter    an MPO source lights coded subsets of the fibers (7 for 24,
 *                                     each fiber in 3) and the Santec MPM-210H reads every port
 *                                     (6 modules) in one reading: 7 readings per wavelength, 14
 *                                     per end, for loss and polarity.
 * Figure: wall time of one certificate (best of `rounds`, each the mean of `jobs` jobs), the
 * coded bench over the switched one. The reading counts allow 14 / 48 = 0.292, plus the fixed
 * costs both pay (operator steps, connect, judge, sign, store).
 *
 *   npm run build && node dist/benchmarks/methods.js
 */
import { pathToFileURL } from 'node:url';
import { codeWords } from '../src/pipeline/all-fibers-lit.js';
import { benchEntry, certify, Daemon, progress, reference, round, SimHost, tempDir, transportOf, writeConfig, writeMtp24 } from './support/harness.js';

export interface MethodsBenchResult {
  name: string;
  meterDelayMs: number;
  jobs: number;
  switchedSecondsPerCertificate: number;
  allLitSecondsPerCertificate: number;
  ratio: number;
  readingsPerEnd: { switched: number; allLit: number };
}

export async function benchMethods(opts: { jobs?: number; rounds?: number; delayMs?: number } = {}): Promise<MethodsBenchResult> {
  const jobs = opts.jobs ?? 3;
  const rounds = opts.rounds ?? 3;
  const delayMs = opts.delayMs ?? 20;
  const tmp = tempDir('mpocert-bench-methods-');
  const sim = await new SimHost({ count: 1, channels: 24, transport: 'tcp', meterDelayMs: delayMs, multiPort: true }).start();
  const b = sim.benches[0]!;
  const assemblies = { 'MTP24-GOOD': writeMtp24(tmp.dir) };
  const switched = benchEntry('switched', b, { assemblies });
  const allLit = {
    ...benchEntry('alllit', b, { assemblies }),
    method: { kind: 'mpo-source-and-multiport-meter', mpoSource: 'src', multiPortMeter: 'mpm' },
    instruments: [
      { id: 'mpm', dialect: 'santec-mpm-210h', timeoutMs: 3000, transport: transportOf(b.multiPortMeter!) },
      { id: 'src', dialect: 'mpocert-mpo-source', timeoutMs: 3000, transport: transportOf(b.mpoSource!) },
    ],
    // Its own launch cord id: matings are counted per cord.
    testCords: { ...(switched.testCords as Record<string, unknown>), launchCord: { id: 'LC-ALLLIT', connector: { family: 'MTP', gender: 'male' } } },
  };
  const daemon = new Daemon(writeConfig(tmp.dir, [switched, allLit]));
  try {
    await daemon.start();
    // One bench at a time: they share the simulated optical bench.
    await reference(daemon, 'switched');
    await certify(daemon, 'switched', 'MTP24-GOOD'); // warm-up
    await reference(daemon, 'alllit');
    await certify(daemon, 'alllit', 'MTP24-GOOD');
    const perCertificate = async (bench: string): Promise<number> => {
      let best = Infinity;
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        for (let j = 0; j < jobs; j++) await certify(daemon, bench, 'MTP24-GOOD');
        best = Math.min(best, (performance.now() - t0) / 1000 / jobs);
      }
      progress(`methods: ${bench}: ${round(best, 3)} s per certificate`);
      return best;
    };
    const s = await perCertificate('switched');
    const a = await perCertificate('alllit');
    return {
      name: `MTP-24 x 2 wavelengths, both ends, ${delayMs} ms per meter reading: coded subsets of fibers lit at once vs a switch`,
      meterDelayMs: delayMs,
      jobs,
      switchedSecondsPerCertificate: round(s),
      allLitSecondsPerCertificate: round(a),
      ratio: round(a / s),
      readingsPerEnd: { switched: 48, allLit: 2 * codeWords(Array.from({ length: 24 }, (_, i) => i + 1)).bits },
    };
  } finally {
    await daemon.stop().catch(() => undefined);
    await sim.close();
    tmp.remove();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchMethods(), null, 2) + '\n');
}
