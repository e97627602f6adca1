/**
 * Pipeline overhead: 24-fiber MTP assemblies certified at 850 and 1300 nm (48 readings per
 * certificate) against zero-delay simulated instruments, through the real daemon process over
 * HTTP, versus the bare protocol exchange those readings need on the same TCP port / pty
 * (bench/support/bare-client.ts), in the same run. Rounds alternate bare and pipeline; the best
 * of each is kept (noise only ever makes a run slower).
 *
 *   npm run build && node dist/benchmarks/pipeline.js
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bareReadingsPerSecond } from './support/bare-client.js';
import { benchEntry, certify, Daemon, progress, reference, round, SimHost, tempDir, writeConfig, writeMtp24 } from './support/harness.js';

export interface PipelineTransportResult {
  transport: 'tcp' | 'pty';
  certificates: number;
  readingsPerCertificate: number;
  secondsPerCertificate: number;
  pipelineReadingsPerSec: number;
  /** Readings per second inside the measuring step only (first to last reading's timestamp). */
  measureStepReadingsPerSec: number;
  bareReadingsPerSec: number;
  /** pipeline / bare, end to end per certificate (target >= 0.70). */
  ratio: number;
  /** measuring step / bare: the per-reading cost alone, without the per-certificate fixed cost. */
  measureStepRatio: number;
}

export interface PipelineBenchResult {
  name: string;
  target: string;
  results: PipelineTransportResult[];
}

async function one(transport: 'tcp' | 'pty', jobsPerRound: number, rounds: number): Promise<PipelineTransportResult> {
  const tmp = tempDir('mpocert-bench-pipeline-');
  const ptyDir = join(tmp.dir, 'pty');
  mkdirSync(ptyDir);
  const sim = await new SimHost({ count: 1, channels: 24, transport, ptyDir }).start();
  const daemon = new Daemon(writeConfig(tmp.dir, [benchEntry('p', sim.benches[0]!, { assemblies: { 'MTP24-GOOD': writeMtp24(tmp.dir) } })]));
  try {
    const b = sim.benches[0]!;
    let bare = 0;
    let best = { secs: Infinity, measure: 0 };
    let certificates = 0;
    for (let r = 0; r < rounds; r++) {
      // A pty has one host end: the bare client uses it while the daemon is stopped.
      bare = Math.max(bare, await bareReadingsPerSecond(b.meter, b.switch, Math.max(48 * jobsPerRound, 2400)));
      await daemon.start();
      if (r === 0) await reference(daemon, 'p');
      await certify(daemon, 'p', 'MTP24-GOOD'); // warm-up (connects, JIT)
      const t0 = performance.now();
      let measure = 0;
      for (let j = 0; j < jobsPerRound; j++) {
        const job = await certify(daemon, 'p', 'MTP24-GOOD');
        const cert = await daemon.api<{ certificate: { readings: { takenAt: string }[] } }>('GET', `/certificates/${job.certificateId}`);
        const times = cert.json.certificate.readings.map((x) => Date.parse(x.takenAt));
        const span = (Math.max(...times) - Math.min(...times)) / 1000;
        measure = Math.max(measure, (times.length - 1) / Math.max(span, 1e-3));
      }
      // The GETs above are outside the pipeline: subtract nothing, they are cheap, but count only jobs.
      const secs = (performance.now() - t0) / 1000 / jobsPerRound;
      certificates += jobsPerRound + 1;
      if (secs < best.secs) best = { secs, measure };
      await daemon.stop();
      progress(`pipeline ${transport} round ${r + 1}/${rounds}: ${round(secs, 4)} s/certificate, bare ${Math.round(bare)} readings/s`);
    }
    const pipeline = 48 / best.secs;
    return {
      transport,
      certificates,
      readingsPerCertificate: 48,
      secondsPerCertificate: round(best.secs, 4),
      pipelineReadingsPerSec: Math.round(pipeline),
      measureStepReadingsPerSec: Math.round(best.measure),
      bareReadingsPerSec: Math.round(bare),
      ratio: round(pipeline / bare),
      measureStepRatio: round(best.measure / bare),
    };
  } finally {
    await daemon.stop().catch(() => undefined);
    await sim.close();
    tmp.remove();
  }
}

export async function benchPipeline(opts: { jobsPerRound?: number; rounds?: number } = {}): Promise<PipelineBenchResult> {
  const jobs = opts.jobsPerRound ?? 10;
  const rounds = opts.rounds ?? 3;
  return {
    name: 'pipeline: MTP-24 x 2 wavelengths, zero-delay simulated PM100 + DiCon',
    target: 'pipeline readings/s >= 0.70 x bare',
    results: [await one('tcp', jobs, rounds), await one('pty', jobs, rounds)],
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(JSON.stringify(await benchPipeline(), null, 2) + '\n');
}
