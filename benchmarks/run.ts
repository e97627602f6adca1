/**
 * `npm run bench`: every benchmark in sequence, each figure beside its baseline from the same run,
 * as a ratio. Prints a table and writes benchmarks/results/latest.json and benchmarks/results/latest.md
 * (the table BENCHMARKS.md shows). About 5 minutes on the 2-core development machine; progress on
 * stderr. Not part of `npm test`.
 *
 *   npm run bench                 (builds first)
 *   node dist/benchmarks/run.js --quick (smaller counts and shorter runs: a smoke run, not figures to publish)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release, platform } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { benchCentral } from './central.js';
import { benchCustody } from './custody.js';
import { benchEvaluation } from './evaluation.js';
import { benchHttp } from './http.js';
import { benchMemory } from './memory.js';
import { benchMethods } from './methods.js';
import { benchParallel } from './parallel-benches.js';
import { benchPipeline } from './pipeline.js';
import { benchStorage } from './storage.js';
import { benchTransport } from './transport.js';
import { progress, root, round, tempDir } from './support/harness.js';
import { captureTemplate } from './support/dataset.js';

export interface TableRow {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  met: 'met' | 'MISSED' | '-';
}

function machine(): Record<string, unknown> {
  const c = cpus();
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memoryGiB: round(totalmem() / 2 ** 30, 1),
    os: `${platform()} ${release()}`,
    node: process.version,
    commit,
  };
}

export async function runAll(quick = false): Promise<{ results: Record<string, unknown>; table: TableRow[] }> {
  const started = Date.now();
  const count = quick ? 5_000 : 100_000;
  const results: Record<string, unknown> = { date: new Date().toISOString(), command: quick ? 'node dist/benchmarks/run.js --quick' : 'npm run bench', machine: machine() };
  const table: TableRow[] = [];
  const row = (figure: string, value: string, baseline: string, ratio: number | string, target: string, met?: boolean): void =>
    void table.push({ figure, value, baseline, ratio: typeof ratio === 'number' ? ratio.toFixed(3) : ratio, target, met: met === undefined ? '-' : met ? 'met' : 'MISSED' });

  progress('transport (bare serialport vs LineTransport on one pty)');
  const transport = await benchTransport(quick ? { roundTrips: 300, rounds: 1 } : {});
  results.transport = transport;
  row('transport round trips/s (pty)', `${transport.transportRoundTripsPerSec}`, `${transport.bareRoundTripsPerSec} bare serialport`, transport.ratio, '>= 0.9', transport.ratio >= 0.9);

  progress('evaluation engine');
  const evaluation = await benchEvaluation();
  results.evaluation = evaluation;
  row('evaluation records/s (24 fibers x 2 wl)', `${evaluation.evaluateRecordsPerSecond}`, '-', '-', '-');

  progress('pipeline overhead');
  const pipeline = await benchPipeline(quick ? { jobsPerRound: 3, rounds: 1 } : {});
  results.pipeline = pipeline;
  for (const p of pipeline.results) {
    row(`pipeline ${p.transport}: s per certificate (48 readings)`, `${p.secondsPerCertificate}`, '-', '-', '-');
    row(`pipeline ${p.transport}: readings/s end to end`, `${p.pipelineReadingsPerSec}`, `${p.bareReadingsPerSec} bare`, p.ratio, '>= 0.70', p.ratio >= 0.7);
    row(`pipeline ${p.transport}: readings/s in the measuring step`, `${p.measureStepReadingsPerSec}`, `${p.bareReadingsPerSec} bare`, p.measureStepRatio, '-');
  }

  progress('bench methods (coded subsets of fibers lit at once vs a switch)');
  const methods = await benchMethods(quick ? { jobs: 1, rounds: 1 } : {});
  results.methods = methods;
  row(
    'methods: s per MTP-24 certificate, MPO source + multi-port meter (20 ms/reading)',
    `${methods.allLitSecondsPerCertificate}`,
    `${methods.switchedSecondsPerCertificate} switch + meter`,
    methods.ratio,
    `report (readings ${methods.readingsPerEnd.allLit}/${methods.readingsPerEnd.switched} = ${(methods.readingsPerEnd.allLit / methods.readingsPerEnd.switched).toFixed(3)})`,
  );

  progress('parallel benches');
  const parallel = await benchParallel(quick ? { counts: [1, 4], jobsPerBench: 1 } : {});
  results.parallel = parallel;
  const base = parallel.rows[0]!;
  for (const r of parallel.rows) {
    row(`parallel: ${r.benches} bench(es), wall s`, `${r.wallSeconds}`, `${base.wallSeconds} (1 bench)`, r.ratioTo1, r.benches === 16 ? '<= 1.15' : '-', r.benches === 16 ? r.ratioTo1 <= 1.15 : undefined);
  }

  const data = tempDir('mpocert-bench-data-');
  try {
    const dataDir = join(data.dir, 'data');
    progress(`storage (${count} certificates)`);
    const template = await captureTemplate();
    const storage = await benchStorage({ dataDir, count, template });
    results.storage = storage;
    row('storage: certificates/s, one job commit each', `${storage.perJob.storedPerSec}`, `${storage.perJob.bareInsertsPerSec} bare INSERT`, storage.perJob.ratio, '-');
    row('storage: certificates/s, bulk (5,000 per transaction)', `${storage.bulk.storedPerSec}`, `${storage.bulk.bareInsertsPerSec} bare INSERT`, storage.bulk.ratio, '-');
    row('storage: SQLite bytes per certificate (24 fibers x 2 wl, both ends, with indexes)', `${storage.bytes.databaseBytesPerCertificate}`, `${storage.bytes.bodyBytesPerCertificate} JSON body`, storage.bytes.ratio, '<= 4,000', storage.bytes.databaseBytesPerCertificate <= 4000);
    row(`storage: QA list query p99 ms (month + verdict, ${storage.qaQuery.matchedPerQuery} match)`, `${storage.qaQuery.p99Ms}`, `${storage.qaQuery.bareP99Ms} bare SQL`, storage.qaQuery.p99Ratio, '-');

    progress('http');
    const http = await benchHttp({ dataDir, count, ...(quick ? { seconds: 2 } : {}) });
    results.http = http;
    for (const r of http.rows) {
      row(`http ${r.route}: requests/s`, `${r.requestsPerSec}`, `${http.hello.requestsPerSec} hello-world`, r.ratioToHello, `>= ${r.minRatio}`, r.ratioToHello >= r.minRatio);
      row(`http ${r.route}: p99 ms`, `${r.p99Ms}`, `${http.hello.p99Ms} hello-world`, round(r.p99Ms / Math.max(http.hello.p99Ms, 1), 2), `<= ${r.maxP99Ms} ms`, r.p99Ms <= r.maxP99Ms);
    }

    progress('memory');
    const memory = await benchMemory({ dataDir, count, ...(quick ? { seconds: 2 } : {}) });
    results.memory = memory;
    row('memory: daemon RSS under HTTP load, MiB', `${memory.daemonPeakUnderLoadMiB} (idle ${memory.daemonIdleMiB})`, `${memory.helloPeakUnderLoadMiB} hello-world`, memory.ratioToHello, '-');

    progress('custody (start-up and full verification)');
    const custody = await benchCustody({ dataDir, ...(quick ? { rounds: 1 } : {}) });
    results.custody = custody;
    row(
      `custody: start-up s at ${custody.certificates} certificates (lock, guards, checkpoints, verify since)`,
      `${custody.startUp.medianSeconds}`,
      `${custody.startUp.bareMedianSeconds} bare open + count`,
      round(custody.startUp.medianSeconds / Math.max(custody.startUp.bareMedianSeconds, 1e-4), 1),
      '< 2 s',
      custody.startUp.medianSeconds < 2,
    );
    row('custody: full verification, certificates/s', `${custody.fullCheck.certificatesPerSec}`, `${custody.fullCheck.bareHashesPerSec} bare read + SHA-256`, custody.fullCheck.ratio, '-');
  } finally {
    data.remove();
  }

  // The central QA store on a private PostgreSQL (1,000,000 certificates: node dist/benchmarks/central.js --large).
  progress('central QA store (PostgreSQL)');
  const central = await benchCentral(quick ? { benches: 10, perBench: 5, scale: 20_000, queries: 20 } : {});
  results.central = central;
  row(`central: ingest, ${central.ingest.benches} benches replicating at once, certificates/s`, `${central.ingest.perSec}`, `${central.ingest.barePerSec} bare INSERT ON CONFLICT`, central.ingest.ratio, '-');
  row('central: merge (verify against pinned keys + chain, insert), certificates/s', `${central.merge.perSec}`, '-', '-', '-');
  row('central: full chain verification, certificates/s', `${central.chainVerification.perSec}`, '-', '-', '-');
  for (const q of central.scale.search) {
    row(`central: QA search p99 ms at ${central.scale.certificates.toLocaleString('en')} (${q.kind}, HTTP)`, `${q.p99Ms}`, `${q.bareP99Ms} bare SQL`, round(q.p99Ms / Math.max(q.bareP99Ms, 0.01), 1), '<= 20 ms', q.p99Ms <= 20);
  }
  row(`central: CSV export of ${central.scale.export.certificates.toLocaleString('en')}, s`, `${central.scale.export.seconds}`, '-', '-', '-');
  row(`central: re-judging ${central.scale.rejudge.certificates.toLocaleString('en')}, certificates/s`, `${central.scale.rejudge.perSec}`, '-', '-', '-');
  row('central: PostgreSQL bytes per certificate (with indexes)', `${central.scale.bytesPerCertificate}`, '-', '-', '<= 4,000', central.scale.bytesPerCertificate <= 4000);
  results.seconds = Math.round((Date.now() - started) / 1000);
  results.table = table;
  return { results, table };
}

export function markdownTable(table: TableRow[]): string {
  const lines = ['| figure | value | baseline (same run) | ratio | target | |', '|---|---:|---|---:|---|---|'];
  for (const r of table) lines.push(`| ${r.figure} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met === '-' ? '' : r.met} |`);
  return lines.join('\n');
}

function textTable(table: TableRow[]): string {
  const cols: (keyof TableRow)[] = ['figure', 'value', 'baseline', 'ratio', 'target', 'met'];
  const w = cols.map((c) => Math.max(c.length, ...table.map((r) => r[c].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(w[i]!)).join('  ');
  return [line(cols), line(w.map((n) => '-'.repeat(n))), ...table.map((r) => line(cols.map((c) => r[c])))].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const quick = process.argv.includes('--quick');
  const { results, table } = await runAll(quick);
  process.stdout.write(textTable(table) + '\n');
  const m = results.machine as Record<string, unknown>;
  if (quick) {
    progress(`smoke run done in ${results.seconds as number} s (results not written: --quick figures are not for publishing)`);
    process.exit(0);
  }
  const outDir = join(root, 'benchmarks', 'results');
  mkdirSync(outDir, { recursive: true });
  const name = 'latest';
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(
    join(outDir, `${name}.md`),
    `Run ${results.date as string} with \`${results.command as string}\` in ${results.seconds as number} s on ${m.cpu as string} (${m.cores as number} cores), ` +
      `${m.memoryGiB as number} GiB, ${m.os as string}, Node ${m.node as string}, commit ${m.commit as string}.\n\n${markdownTable(table)}\n`,
  );
  progress(`wrote benchmarks/results/${name}.json and ${name}.md (${results.seconds as number} s)`);
  process.exit(0);
}
