import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { MpocertError } from '../errors.js';

/**
 * What lives in a data directory, and the rules that keep it whole: created 0700 with the
 * database and key 0600; one daemon at a time (an exclusive lock file); and never a fresh start
 * over the remains of another (a key or checkpoints without their database means the database
 * was lost, not that this is a new bench).
 */
export interface DataDirLayout {
  readonly dir: string;
  readonly database: string;
  readonly signingKey: string;
  readonly checkpoints: string;
  /** The trusted keys file when the config names none (a production bench names one outside). */
  readonly trustedKeys: string;
  readonly lock: string;
}

export function layoutOf(dataDir: string): DataDirLayout {
  return {
    dir: dataDir,
    database: join(dataDir, 'mpocert.db'),
    signingKey: join(dataDir, 'signing-key.pem'),
    checkpoints: join(dataDir, 'checkpoints.jsonl'),
    trustedKeys: join(dataDir, 'trusted-keys.json'),
    lock: join(dataDir, 'mpocert.lock'),
  };
}

export class DataDirError extends MpocertError {
  constructor(code: string, message: string, dir: string) {
    super(code, message, { dataDir: dir });
  }
}

/** Creates the directory 0700 (or tightens an existing one the daemon owns). */
export function prepareDataDir(layout: DataDirLayout): void {
  mkdirSync(layout.dir, { recursive: true, mode: 0o700 });
  const mode = statSync(layout.dir).mode & 0o777;
  if ((mode & 0o077) !== 0) chmodSync(layout.dir, 0o700);
}

/** Database, key and checkpoints readable by the daemon's user only. */
export function tightenFiles(layout: DataDirLayout): void {
  for (const f of [layout.database, `${layout.database}-wal`, `${layout.database}-shm`, layout.signingKey, layout.checkpoints]) {
    if (existsSync(f) && (statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
  }
}

/**
 * Refuses to start over a lost database: its signing key or checkpoints are still here, so
 * starting afresh would create an empty database that verifies as "0 certificates, all intact".
 */
export function assertNotOrphaned(layout: DataDirLayout): void {
  if (existsSync(layout.database)) return;
  const left = [layout.signingKey, layout.checkpoints].filter((f) => existsSync(f));
  if (left.length > 0) {
    throw new DataDirError(
      'DATABASE_MISSING',
      `the database ${layout.database} is missing, but ${left.join(' and ')} ${left.length > 1 ? 'are' : 'is'} still here: the certificates were lost or moved. Restore the database from a backup (mpocert backup), or move the data directory aside to start a new bench; nothing was created`,
      layout.dir,
    );
  }
}

/**
 * One daemon per data directory: a second one would interleave switch commands with the first on
 * the same bench and mark the first one's running job interrupted. The lock file holds the owner's
 * pid; a lock whose process is gone (kill -9, power cut) is taken over.
 */
export class DataDirLock {
  private constructor(private readonly path: string) {}

  static acquire(layout: DataDirLayout): DataDirLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(layout.lock, 'wx', 0o600);
        writeSync(fd, JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString() }));
        closeSync(fd);
        return new DataDirLock(layout.lock);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = readOwner(layout.lock);
        if (owner && owner.host === hostname() && processAlive(owner.pid)) {
          throw new DataDirError(
            'DATA_DIR_LOCKED',
            `another mpocert (pid ${owner.pid}, since ${owner.since}) is using the data directory ${layout.dir}: one daemon per data directory; nothing was changed`,
            layout.dir,
          );
        }
        if (owner && owner.host !== hostname()) {
          throw new DataDirError(
            'DATA_DIR_LOCKED',
            `the data directory ${layout.dir} is locked by mpocert on host ${owner.host} (pid ${owner.pid}): a data directory belongs to one machine; remove ${layout.lock} only if that daemon is gone`,
            layout.dir,
          );
        }
        // The owner is gone: the lock is stale.
        unlinkSync(layout.lock);
      }
    }
    throw new DataDirError('DATA_DIR_LOCKED', `could not lock the data directory ${layout.dir}`, layout.dir);
  }

  release(): void {
    try {
      const owner = readOwner(this.path);
      if (owner?.pid === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function readOwner(path: string): { pid: number; host: string; since: string } | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as { pid: number; host: string; since: string };
    return Number.isInteger(o.pid) ? o : undefined;
  } catch {
    return undefined; // half-written or garbage: treated as stale
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Notices when the database file the daemon has open is removed or replaced underneath it: the
 * path then names another file (or none), and every later commit would go to a file nobody will
 * ever read. The daemon stops accepting jobs when this reports a change.
 */
export class DatabaseFileWatch {
  private readonly identity: string;

  constructor(private readonly path: string) {
    this.identity = DatabaseFileWatch.identityOf(path) ?? 'missing';
  }

  private static identityOf(path: string): string | undefined {
    try {
      const s = statSync(path);
      return `${s.dev}:${s.ino}`;
    } catch {
      return undefined;
    }
  }

  /** Undefined while the path still names the file that was opened; else what happened. */
  problem(): string | undefined {
    const now = DatabaseFileWatch.identityOf(this.path);
    if (now === undefined) return `the database file ${this.path} was removed while the daemon had it open`;
    if (now !== this.identity) return `the database file ${this.path} was replaced by another file while the daemon had it open`;
    return undefined;
  }
}
