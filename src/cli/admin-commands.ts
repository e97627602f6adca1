import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../config/load.js';
import { MpocertError } from '../errors.js';
import { DataDirLock, layoutOf } from '../store/data-dir.js';
import { openDatabase } from '../store/database.js';
import { loadOrCreateSigningKey } from '../store/signing-key.js';
import { signRotation, TrustedKeys, writeTrustedKeys } from '../store/trusted-keys.js';
import { UserStore, type Role } from '../store/user-store.js';
import { AcknowledgementStore } from '../store/acknowledgements.js';

const out = (s: string): void => void process.stdout.write(s + '\n');

function usersOf(configPath: string): { users: UserStore; close(): void } {
  const cfg = loadConfig(configPath);
  const layout = layoutOf(cfg.dataDir);
  if (!existsSync(layout.database)) throw new MpocertError('NO_DATABASE', `no database at ${layout.database}: start the daemon once first`);
  const db = openDatabase(layout.database);
  return { users: new UserStore(db), close: () => db.close() };
}

/** Adds a person; prints their token once (it is not stored, only its hash). */
export async function usersAddCommand(opts: { config: string; name: string; role: Role; bench?: string[] }): Promise<number> {
  if (opts.role === 'operator' && (opts.bench ?? []).length === 0) throw new MpocertError('NO_BENCHES', 'an operator needs the benches they may use: --bench ID (repeat), or --bench "*" for all');
  const benches = opts.bench?.includes('*') || opts.role !== 'operator' ? '*' : opts.bench!;
  const { users, close } = usersOf(opts.config);
  try {
    const { user, token } = users.add(opts.name, opts.role, benches, new Date().toISOString());
    out(`added ${user.name} (${user.role}${user.role === 'operator' ? `, benches ${benches === '*' ? 'all' : benches.join(', ')}` : ''})`);
    out(`token (shown once; give it to ${user.name} only): ${token}`);
    return 0;
  } finally {
    close();
  }
}

export async function usersListCommand(opts: { config: string }): Promise<number> {
  const { users, close } = usersOf(opts.config);
  try {
    for (const u of users.list()) out(`${u.name}\t${u.role}\t${u.benches === '*' ? '*' : u.benches.join(',')}\t${u.disabledAt ? `disabled ${u.disabledAt}` : 'active'}`);
    return 0;
  } finally {
    close();
  }
}

export async function usersDisableCommand(opts: { config: string; name: string }): Promise<number> {
  const { users, close } = usersOf(opts.config);
  try {
    if (!users.disable(opts.name, new Date().toISOString())) throw new MpocertError('NO_USER', `no active user ${opts.name}`);
    out(`${opts.name} disabled: their token no longer works`);
    return 0;
  } finally {
    close();
  }
}

/**
 * A consistent online copy of the data directory's evidence (SQLite's backup API, so the daemon
 * may keep running): the database, the checkpoints and the trusted (public) keys. The private
 * signing key is not copied: it is backed up on its own, kept apart from the evidence it signs.
 * The copy is a self-contained database (not WAL), so `mpocert verify --db` reads it read-only.
 */
export async function backupCommand(opts: { config: string; dest: string }): Promise<number> {
  const cfg = loadConfig(opts.config);
  const layout = layoutOf(cfg.dataDir);
  if (!existsSync(layout.database)) throw new MpocertError('NO_DATABASE', `no database at ${layout.database}`);
  mkdirSync(opts.dest, { recursive: true, mode: 0o700 });
  if (readdirSync(opts.dest).length > 0) throw new MpocertError('BACKUP_NOT_EMPTY', `${opts.dest} is not empty: back up into a new directory`);
  const dbCopy = join(opts.dest, 'mpocert.db');
  // Checkpoints first: every checkpoint copied then names a certificate the database copy holds.
  if (existsSync(layout.checkpoints)) copyFileSync(layout.checkpoints, join(opts.dest, 'checkpoints.jsonl'));
  const source = new Database(layout.database, { readonly: true, fileMustExist: true });
  try {
    await source.backup(dbCopy);
  } finally {
    source.close();
  }
  const copy = new Database(dbCopy);
  copy.pragma('journal_mode = DELETE');
  const certificates = copy.prepare('SELECT count(*) FROM certificates').pluck().get() as number;
  copy.close();
  const trustPath = cfg.trust.keysFile ?? layout.trustedKeys;
  if (existsSync(trustPath)) copyFileSync(trustPath, join(opts.dest, 'trusted-keys.json'));
  out(`backed up ${certificates} certificate(s) to ${opts.dest} (mpocert.db, checkpoints.jsonl, trusted-keys.json)`);
  out(`prove it: mpocert verify --db ${dbCopy} --trust ${join(opts.dest, 'trusted-keys.json')} --checkpoints ${join(opts.dest, 'checkpoints.jsonl')}`);
  return 0;
}

/**
 * Replaces the bench's signing key with a new one, by a rotation statement signed with the old
 * key (the daemon must be stopped: the data directory is locked for it). The statement is added
 * to the trusted keys file when it is writable here; otherwise it is printed for the person who
 * keeps that file. The old PRIVATE key is destroyed: its certificates verify with its public half
 * (in the trusted keys file), and a retired key that still exists could sign a backdated forgery.
 */
export async function keysRotateCommand(opts: { config: string }): Promise<number> {
  const cfg = loadConfig(opts.config);
  const layout = layoutOf(cfg.dataDir);
  if (!existsSync(layout.signingKey)) throw new MpocertError('SIGNING_KEY_MISSING', `no signing key at ${layout.signingKey} to rotate from`);
  const lock = DataDirLock.acquire(layout);
  try {
    const trustPath = cfg.trust.keysFile ?? layout.trustedKeys;
    const trust = TrustedKeys.load(trustPath);
    const oldKey = loadOrCreateSigningKey(layout.signingKey);
    if (trust.publicKeyPem(oldKey.keyId) === undefined) throw new MpocertError('KEY_NOT_TRUSTED', `the current key ${oldKey.keyId} is not trusted in ${trustPath}: it cannot vouch for a new one`);
    // The new key is made beside the old one, and replaces it only once the rotation is recorded.
    const staged = join(layout.dir, 'signing-key.new.pem');
    rmSync(staged, { force: true });
    const newKey = loadOrCreateSigningKey(staged);
    const rotation = signRotation(oldKey, newKey, new Date().toISOString());
    const updated = { ...trust.file, rotations: [...trust.file.rotations, rotation] };
    let recorded = true;
    try {
      writeTrustedKeys(trustPath, updated, 'w');
    } catch (err) {
      recorded = false;
      out(`${trustPath} is not writable here (${(err as NodeJS.ErrnoException).code}): add this rotation to its "rotations" list, then give QA the file:`);
      out(JSON.stringify(rotation, null, 2));
    }
    renameSync(staged, layout.signingKey);
    out(`rotated to key ${newKey.keyId}; the rotation, signed by ${oldKey.keyId}, ${recorded ? `is in ${trustPath}: give QA the new file` : 'is printed above: the daemon starts once the file has it'}`);
    out(`the old private key is destroyed: its certificates verify with its public key in the trusted keys file`);
    return 0;
  } finally {
    lock.release();
  }
}
/**
 * QA's acknowledgement of a certificate that fails verification, after looking at it: its bench
 * may issue again (the daemon reads this at the next job, no restart). The certificate still fails
 * `mpocert verify`, which shows the acknowledgement beside the problem.
 */
export async function acknowledgeCommand(opts: { config: string; certificate: number; problem: string; by: string; reason: string }): Promise<number> {
  const cfg = loadConfig(opts.config);
  const layout = layoutOf(cfg.dataDir);
  if (!existsSync(layout.database)) throw new MpocertError('NO_DATABASE', `no database at ${layout.database}`);
  if (opts.reason.trim().length < 10) throw new MpocertError('REASON_REQUIRED', '--reason: say what was found and done (at least 10 characters); it is kept with the certificate');
  const db = openDatabase(layout.database);
  try {
    new AcknowledgementStore(db).add({ certificateId: opts.certificate, problem: opts.problem, by: opts.by, reason: opts.reason.trim(), at: new Date().toISOString() });
  } finally {
    db.close();
  }
  out(`acknowledged ${opts.problem === '*' ? 'every problem' : `the ${opts.problem} problem`} of certificate ${opts.certificate} (by ${opts.by}): its bench may certify again; verify still reports it`);
  return 0;
}
