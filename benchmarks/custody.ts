/**
 * Custody at 100,000 certificates: how long a daemon takes to open its data directory (lock, schema
 * guards, trust, checkpoints against the database, and verification of what came after the last
 * checkpoint), and how many certificates per second the full background check verifies. Each
 * beside a bare baseline in the same run on the same file:
 *
 * - start-up: openCustody vs opening the same database bare and counting its rows.
 * - full check: Custody.checkEverything (parse, canonical JSON, SHA-256, Ed25519 verify, chain
 *   lookup per certificate) vs reading the same rows and hashing their bodies with SHA-256 alone.
 *
 *   npm run build && node dist/benchmarks/custody.js   (fills its own 100,000-certificate directory)
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { openCustody } from '../src/daemon/custody.js';
import { layoutOf } from '../src/store/data-dir.js';
import { captureTemplate, fillDatabase } from './support/dataset.js';
import { progress, round, tempDir } from './support/harness.js';

export interface CustodyBenchResult {
  certificates: number;
  startUp: { medianSeconds: number; bareMedianSeconds: number; problems: number };
  fullCheck: { certificatesPerSec: number; bareHashesPerSec: number; ratio: number; seconds: number; problems: number };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

/** Expects a data directory a daemon could start on (certificates, key, trusted keys, checkpoints) and no daemon running. */
export async function benchCustody(opts: { dataDir: string; rounds?: number }): Promise<CustodyBenchResult> {
  const logger = pino({ level: 'silent' });
  const rounds = opts.rounds ?? 5;
  const layout = layoutOf(opts.dataDir);
  const starts: number[] = [];
  const bareStarts: number[] = [];
  let problems = 0;
  let certificates = 0;
  for (let r = 0; r < rounds; r++) {
    let t = process.hrtime.bigint();
    const bare = new Database(layout.database);
    certificates = bare.prepare('SELECT count(*) FROM certificates').pluck().get() as number;
    bare.close();
    bareStarts.push(seconds(t));
    t = process.hrtime.bigint();
    const custody = openCustody({ dataDir: opts.dataDir, logger });
    starts.push(seconds(t));
    problems = custody.problems.length;
    custody.close();
  }

  const custody = openCustody({ dataDir: opts.dataDir, logger });
  let t = process.hrtime.bigint();
  await custody.checkEverything();
  const checkSeconds = seconds(t);
  const checked = custody.fullCheck.checked;
  const checkProblems = custody.fullCheck.problems;
  custody.close();

  const db = new Database(layout.database, { readonly: true });
  t = process.hrtime.bigint();
  let hashed = 0;
  const page = db.prepare('SELECT * FROM certificates WHERE id > ? ORDER BY id LIMIT 500');
  for (let last = 0; ; ) {
    const rows = page.all(last) as { id: number; body: string }[];
    if (rows.length === 0) break;
    for (const row of rows) createHash('sha256').update(row.body, 'utf8').digest('hex');
    hashed += rows.length;
    last = rows[rows.length - 1]!.id;
  }
  const bareSeconds = seconds(t);
  db.close();

  const perSec = Math.round(checked / checkSeconds);
  const barePerSec = Math.round(hashed / bareSeconds);
  return {
    certificates,
    startUp: { medianSeconds: round(median(starts)), bareMedianSeconds: round(median(bareStarts), 4), problems },
    fullCheck: { certificatesPerSec: perSec, bareHashesPerSec: barePerSec, ratio: round(perSec / barePerSec), seconds: round(checkSeconds, 1), problems: checkProblems },
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 100_000);
  const data = tempDir('mpocert-bench-custody-');
  try {
    const dataDir = join(data.dir, 'data');
    progress(`filling ${count} certificates`);
    fillDatabase(dataDir, await captureTemplate(), count);
    progress('custody');
    process.stdout.write(JSON.stringify(await benchCustody({ dataDir }), null, 2) + '\n');
  } finally {
    data.remove();
  }
}
