import { pathToFileURL } from 'node:url';
import { evaluateRecord, fiberPositions, loadLimitLibrary, parseTestRecord, type AssemblyRecord, type Reading } from '../src/evaluation/index.js';

export interface EvaluationBenchResult {
  name: string;
  records: number;
  fibersPerRecord: number;
  wavelengths: number;
  judgments: number;
  /** evaluateRecord only: the pipeline's cost per certificate. */
  evaluateMs: number;
  /** parseTestRecord (ajv + semantic checks) as `mpocert evaluate` adds it. */
  parseMs: number;
  evaluateRecordsPerSecond: number;
}

const RECORDS = 10_000;
const WAVELENGTHS = [850, 1300] as const;

/** Deterministic, varied records: mostly passing, some marginal, failing and invalid fibers. */
function makeRecords(count: number): AssemblyRecord[] {
  const positions = fiberPositions(24);
  return Array.from({ length: count }, (_, i) => {
    const readings: Reading[] = [];
    for (const fiber of positions) {
      for (const wavelengthNm of WAVELENGTHS) {
        const lossDb = 0.1 + (((i * 31 + fiber * 7 + wavelengthNm) % 57) / 100);
        readings.push({ fiber, wavelengthNm, lossDb, returnLossDb: 27 + (fiber % 5) });
      }
    }
    return {
      kind: 'assembly',
      serialNumber: `BENCH-${i}`,
      limitSet: { id: 'mtp-mpo-connector-grades', version: '1.0.0' },
      fiberCount: 24,
      fiberType: 'OM4',
      connectors: { A: { family: 'MTP', gender: 'male' }, B: { family: i % 10 === 0 ? 'MPO' : 'MTP', gender: 'male' } },
      wavelengthsNm: [...WAVELENGTHS],
      readings,
    };
  });
}

export async function benchEvaluation(): Promise<EvaluationBenchResult> {
  const library = loadLimitLibrary();
  const records = makeRecords(RECORDS);
  const json = records.map((r) => JSON.parse(JSON.stringify(r)) as unknown);
  // Warm up the JIT on a slice so the figure is the steady state a daemon runs in.
  for (const record of records.slice(0, 500)) evaluateRecord(record, library);

  const parseStart = performance.now();
  for (const raw of json) parseTestRecord(raw);
  const parseMs = performance.now() - parseStart;

  let judgments = 0;
  const start = performance.now();
  for (const record of records) {
    const evaluation = evaluateRecord(record, library);
    judgments += evaluation.fibers.reduce((n, f) => n + f.judgments.length, 0);
  }
  const evaluateMs = performance.now() - start;
  return {
    name: 'evaluation: 10,000 records, 24 fibers x 2 wavelengths (IL + RL)',
    records: RECORDS,
    fibersPerRecord: 24,
    wavelengths: WAVELENGTHS.length,
    judgments,
    evaluateMs: Math.round(evaluateMs * 10) / 10,
    parseMs: Math.round(parseMs * 10) / 10,
    evaluateRecordsPerSecond: Math.round(RECORDS / (evaluateMs / 1000)),
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchEvaluation();
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
