import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load.js';
import { MpocertError } from '../errors.js';
import { CertificateStore, type VerifyProblem } from '../store/certificate-store.js';
import { CheckpointLog, type Checkpoint } from '../store/checkpoints.js';
import { layoutOf } from '../store/data-dir.js';
import { TrustedKeys } from '../store/trusted-keys.js';
import { schemaChanges } from '../store/schema-guard.js';
import { AcknowledgementStore } from '../store/acknowledgements.js';

export interface VerifyOptions {
  id?: number;
  config: string;
  /** A database file (QA's copy); default the config's. */
  db?: string;
  /** The trusted keys QA keeps; default the config's trust.keysFile, else the data directory's. */
  trust?: string;
  /** Checkpoints QA kept; default the data directory's. Several may be given. */
  checkpoints?: string[];
}

/**
 * Checks a database strictly read-only (the daemon may be running: WAL lets us read beside it;
 * or a copy QA received): nothing is created or written, not even a key. Every certificate's
 * content, signature by a trusted key and chain link; the checkpoints against the database (a
 * removed certificate shows only there); completed jobs without their certificate.
 * Exit 0 when everything checked is intact, 1 when anything is not.
 */
export async function verifyCommand(opts: VerifyOptions): Promise<number> {
  const own = opts.db === undefined || opts.trust === undefined ? loadConfig(opts.config) : undefined;
  const layout = own ? layoutOf(own.dataDir) : undefined;
  const dbPath = opts.db ?? layout!.database;
  const trustPath = opts.trust ?? own?.trust.keysFile ?? layout!.trustedKeys;
  if (!existsSync(dbPath)) throw new MpocertError('NO_DATABASE', `no database at ${dbPath}`);
  const trust = TrustedKeys.load(trustPath);
  let db: Database.Database;
  try {
    db = new Database(dbPath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new MpocertError('DATABASE_UNREADABLE', `cannot open ${dbPath} read-only: ${(err as Error).message}`);
  }
  try {
    const store = new CertificateStore(db, undefined, trust);
    const problems: VerifyProblem[] = [];
    // Read-only: a dropped guard is reported, not put back (the daemon does that at start-up).
    problems.push(...schemaChanges(db).map((c) => ({ certificateId: 0, problem: 'schema' as const, detail: c.found })));
    // Every index agrees with its table: QA's lists are answered from indexes alone, and an index
    // rebuilt from other expressions would list what no certificate says.
    if (opts.id === undefined) {
      const check = db.prepare('PRAGMA integrity_check').pluck().all() as string[];
      if (!(check.length === 1 && check[0] === 'ok')) {
        problems.push(...check.slice(0, 20).map((detail) => ({ certificateId: 0, problem: 'schema' as const, detail: `integrity_check: ${detail}` })));
      }
    }
    let checked: number;
    if (opts.id !== undefined) {
      if (!store.exists(opts.id)) throw new MpocertError('NO_CERTIFICATE', `no certificate ${opts.id}`, { database: dbPath });
      const r = store.verify({ id: opts.id });
      checked = r.checked;
      problems.push(...r.problems);
    } else {
      const r = store.verify();
      checked = r.checked;
      problems.push(...r.problems, ...store.orphanedJobs());
      const files = opts.checkpoints ?? (layout && opts.db === undefined ? [layout.checkpoints] : []);
      // Without checkpoints nothing can show that the newest certificates were removed: say so.
      if (files.length === 0 && checked > 0) {
        problems.push({ certificateId: 0, problem: 'checkpoint', detail: `no checkpoints given for ${checked} certificate(s): removed certificates cannot be detected; pass --checkpoints FILE (QA's copy of GET /checkpoints)` });
      }
      const all: Checkpoint[] = [];
      for (const file of files) {
        const log = new CheckpointLog(file);
        if (!log.exists()) {
          if (checked > 0) problems.push({ certificateId: 0, problem: 'checkpoint', detail: `no checkpoint file at ${file} for ${checked} certificate(s)` });
          continue;
        }
        const { checkpoints, problems: lineProblems } = log.read(trust);
        problems.push(...lineProblems.map((detail) => ({ certificateId: 0, problem: 'checkpoint' as const, detail })));
        all.push(...checkpoints);
      }
      if (files.length > 0) {
        problems.push(...store.compareWithCheckpoints(all));
        const anchored = new Set(all.map((c) => c.bench));
        for (const bench of store.benches()) {
          if (!anchored.has(bench)) problems.push({ certificateId: 0, problem: 'checkpoint', bench, detail: `bench ${bench} has certificates but no checkpoint: removals from its chain cannot be detected` });
        }
      }
    }
    const hasAcks = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'custody_acknowledgements'").get() !== undefined;
    const acks = hasAcks ? new AcknowledgementStore(db).all() : [];
    for (const p of problems) {
      const ack = acks.find((a) => a.certificateId === p.certificateId && (a.problem === p.problem || a.problem === '*'));
      const note = ack ? ` (acknowledged by ${ack.by} at ${ack.at}: ${ack.reason})` : '';
      process.stdout.write(`certificate ${p.certificateId}: ${p.problem}: ${p.detail}${note}\n`);
    }
    process.stdout.write(`${checked} certificate(s) checked against ${trust.entries.length} trusted key(s), ${problems.length === 0 ? 'all intact' : `${problems.length} problem(s)`}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    db.close();
  }
}
