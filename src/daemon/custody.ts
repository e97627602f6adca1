import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { MpocertError } from '../errors.js';
import { CertificateStore, type VerifyProblem } from '../store/certificate-store.js';
import { checkpointSignatureProblem, CheckpointLog, latestOf, type Checkpoint } from '../store/checkpoints.js';
import { assertNotOrphaned, DatabaseFileWatch, DataDirError, DataDirLock, layoutOf, prepareDataDir, tightenFiles, type DataDirLayout } from '../store/data-dir.js';
import { FIRST_CUSTODY_SCHEMA, migrateDatabase, openDatabase, schemaVersionOf, type Db } from '../store/database.js';
import { loadOrCreateSigningKey, type SigningKey } from '../store/signing-key.js';
import { TrustedKeys, writeTrustedKeys } from '../store/trusted-keys.js';
import { restoreSchemaGuards } from '../store/schema-guard.js';
import { AcknowledgementStore } from '../store/acknowledgements.js';

/**
 * The chain of custody of a bench's certificates while the daemon runs: what was found wrong with
 * the stored certificates (at start-up, in the background full check, or when one was served),
 * which benches can therefore issue nothing more, and whether the database file itself is still
 * the one the daemon opened.
 */
export class Custody {
  readonly problems: VerifyProblem[] = [];
  readonly acknowledgements: AcknowledgementStore;
  storageLost: string | undefined;
  fullCheck: { state: 'pending' | 'running' | 'done'; checked: number; problems: number; seconds?: number } = { state: 'pending', checked: 0, problems: 0 };

  constructor(
    readonly layout: DataDirLayout,
    readonly db: Db,
    readonly key: SigningKey,
    readonly trust: TrustedKeys,
    readonly certificates: CertificateStore,
    readonly checkpoints: CheckpointLog,
    private readonly lock: DataDirLock,
    private readonly watch: DatabaseFileWatch,
    readonly logger: Logger,
  ) {
    this.acknowledgements = new AcknowledgementStore(db);
  }

  /**
   * Benches with a certificate failing verification that QA has not acknowledged: a new
   * certificate would extend a chain nobody has looked at. (Read each time: QA acknowledges with
   * `mpocert custody acknowledge` while the daemon runs.)
   */
  get brokenBenches(): Map<string, string> {
    const broken = new Map<string, string>();
    for (const p of this.problems) {
      if (this.acknowledgements.covers(p.certificateId, p.problem)) continue;
      // A problem tied to no bench (a removed checkpoint file, a completed job without its
      // certificate, an altered schema) stops every bench: nobody can say which chain it hides.
      for (const bench of [p.bench ?? '*', ...(p.otherBench !== undefined ? [p.otherBench] : [])]) {
        if (!broken.has(bench)) broken.set(bench, `certificate ${p.certificateId}: ${p.problem}`);
      }
    }
    return broken;
  }

  /** Each bench's newest certificate as its last checkpoint says: the daemon's own memory of the chain heads. */
  readonly heads = new Map<string, { certificateId: number; hash: string }>();

  /** Why nothing may be certified on this bench now, or undefined. */
  refusal(benchId: string): MpocertError | undefined {
    const lost = this.checkStorage();
    if (lost) return new MpocertError('STORAGE_LOST', `${lost}: the daemon accepts no more jobs; restart it to find out what happened (nothing certified since would be kept)`, { bench: benchId });
    this.checkHead(benchId);
    const brokenNow = this.brokenBenches;
    const broken = brokenNow.get(benchId) ?? brokenNow.get('*');
    if (broken) {
      return new MpocertError(
        'CHAIN_BROKEN',
        `bench "${benchId}"'s certificate chain fails verification (${broken}): nothing more is certified on it until QA has looked (mpocert verify, then mpocert custody acknowledge)`,
        { bench: benchId },
      );
    }
    return undefined;
  }

  /**
   * The bench's newest certificate in the database must be the one this daemon last checkpointed:
   * otherwise certificates were deleted (or replaced) underneath it, and a new certificate would
   * chain onto the rewritten head (and reuse a deleted id) as if nothing happened.
   */
  private checkHead(benchId: string): void {
    const known = this.heads.get(benchId);
    if (!known) return;
    const head = this.certificates.headOf(benchId);
    if (head === known.hash) return;
    this.record(
      [{ certificateId: known.certificateId, problem: 'missing', bench: benchId, detail: `bench ${benchId}'s newest certificate should be ${known.certificateId} (hash ${known.hash.slice(0, 16)}…) as checkpointed; the database's newest is ${head === null ? 'none' : `hash ${head.slice(0, 16)}…`}: certificates were removed or replaced while the daemon ran` }],
      'before a job',
    );
  }

  /** Checks the database file is still the one opened; remembers and logs the first loss. */
  checkStorage(): string | undefined {
    if (this.storageLost) return this.storageLost;
    const problem = this.watch.problem();
    if (problem) {
      this.storageLost = problem;
      this.logger.error({ database: this.layout.database }, `${problem}: accepting no more jobs`);
    }
    return this.storageLost;
  }

  /** Ids of certificates known to fail verification (lists flag them). */
  readonly failing = new Set<number>();
  private readonly seen = new Set<string>();

  record(problems: readonly VerifyProblem[], where: string): void {
    for (const p of problems) {
      const key = `${p.certificateId}\u0000${p.problem}\u0000${p.detail}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.problems.push(p);
      if (p.certificateId > 0) this.failing.add(p.certificateId);
      const acknowledged = this.acknowledgements.covers(p.certificateId, p.problem);
      this.logger[acknowledged ? 'warn' : 'error']({ certificate: p.certificateId, problem: p.problem, bench: p.bench, acknowledged }, `${where}: ${p.detail}`);
    }
  }

  /** Appends a signed checkpoint for a certificate just committed. */
  checkpoint(c: CommittedCertificate): Checkpoint {
    return this.checkpointAll([c])[0]!;
  }

  /** Appends signed checkpoints for committed certificates, in order, with one sync. */
  checkpointAll(cs: readonly CommittedCertificate[]): Checkpoint[] {
    const written = this.checkpoints.appendAll(
      this.key,
      cs.map((c) => ({ bench: c.benchId, sequence: c.benchSequence, certificateId: c.id, headHash: c.hash, at: c.issuedAt })),
    );
    for (const c of cs) this.heads.set(c.benchId, { certificateId: c.id, hash: c.hash });
    return written;
  }

  /**
   * Every certificate checked, a chunk at a time between other work, with problems recorded as
   * they are found. A chunk is small (about 15 ms of work at 1,500 certificates/s): a long block
   * would delay reading an instrument's reply past its timeout timer and fail a running job.
   */
  async checkEverything(): Promise<void> {
    this.fullCheck = { state: 'running', checked: 0, problems: 0 };
    const started = process.hrtime.bigint();
    for (const rows of this.certificates.chunks(0, 20)) {
      await new Promise((r) => setImmediate(r));
      if (this.closed) return;
      const problems = this.certificates.verifyRows(rows);
      this.fullCheck.checked += rows.length;
      this.fullCheck.problems += problems.length;
      this.record(problems, 'full check');
    }
    const orphans = this.certificates.orphanedJobs();
    this.fullCheck.problems += orphans.length;
    this.record(orphans, 'full check');
    // Every checkpoint line's signature (start-up checked only each bench's newest), in slices
    // like the certificates: 100,000 Ed25519 checks at once would block the daemon for seconds.
    const { checkpoints, lines } = this.checkpoints.read();
    for (let i = 0; i < checkpoints.length; i += 200) {
      await new Promise((r) => setImmediate(r));
      if (this.closed) return;
      const bad: VerifyProblem[] = [];
      for (let k = i; k < Math.min(i + 200, checkpoints.length); k++) {
        const problem = checkpointSignatureProblem(checkpoints[k]!, this.trust);
        if (problem) bad.push({ certificateId: 0, problem: 'checkpoint', detail: `${this.checkpoints.path} line ${lines[k]}: ${problem}` });
      }
      this.fullCheck.problems += bad.length;
      this.record(bad, 'full check');
    }
    this.fullCheck = { ...this.fullCheck, state: 'done', seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    this.logger.info({ checked: this.fullCheck.checked, problems: this.fullCheck.problems, seconds: this.fullCheck.seconds }, 'full certificate check done');
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.db.close();
    this.lock.release();
  }
}

export interface CommittedCertificate {
  benchId: string;
  id: number;
  hash: string;
  benchSequence: number;
  issuedAt: string;
}

export interface OpenCustodyOptions {
  dataDir: string;
  /** The trusted keys file; default the data directory's trusted-keys.json. */
  trustedKeysFile?: string | undefined;
  logger: Logger;
}

/**
 * Opens a data directory for a daemon, refusing every way of starting that would lose or forge
 * custody: another daemon on it; a database missing beside its key or checkpoints; a database
 * with certificates whose key is missing (a new key would silently re-sign the bench); a key the
 * trusted keys file does not trust. Then checks what changed since the last checkpoint (fast at
 * any size: start-up stays quick) and returns the custody state; the full check runs after.
 */
export function openCustody(opts: OpenCustodyOptions): Custody {
  const layout = layoutOf(opts.dataDir);
  prepareDataDir(layout);
  const lock = DataDirLock.acquire(layout);
  let db: Db | undefined;
  try {
    assertNotOrphaned(layout);
    const firstStart = !existsSync(layout.database);
    // A database an mpocert before the custody release wrote: it has certificates and its key,
    // but no trusted keys file and no checkpoints yet. Its first start here adopts it.
    const adopting = !firstStart && schemaVersionOf(layout.database) < FIRST_CUSTODY_SCHEMA;
    // Guards dropped or added outside mpocert are reported and put back BEFORE migrating: a
    // migration that rebuilds a table (compact bodies) would otherwise erase that evidence, and
    // refuses to run over it (database.ts).
    db = openDatabase(layout.database, { migrate: false });
    const repairs = restoreSchemaGuards(db);
    migrateDatabase(db);
    tightenFiles(layout);
    const certificates = db.prepare('SELECT count(*) FROM certificates').pluck().get() as number;
    if (!existsSync(layout.signingKey) && (certificates > 0 || existsSync(layout.checkpoints))) {
      throw new DataDirError(
        'SIGNING_KEY_MISSING',
        `the signing key ${layout.signingKey} is missing and the database holds ${certificates} certificate(s): a new key would sign this bench's chain unnoticed. Restore the key from the backup; nothing was created`,
        layout.dir,
      );
    }
    const key = loadOrCreateSigningKey(layout.signingKey);
    tightenFiles(layout);
    const trustPath = opts.trustedKeysFile ?? layout.trustedKeys;
    if (!TrustedKeys.exists(trustPath)) {
      if (!adopting && (!firstStart || certificates > 0)) {
        throw new DataDirError('TRUSTED_KEYS_MISSING', `the trusted keys file ${trustPath} is missing for a database with certificates: restore it from QA's copy (GET /signing-keys published it)`, layout.dir);
      }
      // A new bench, or one an mpocert before trusted keys kept: its key is the one to pin.
      writeTrustedKeys(trustPath, TrustedKeys.pin(key, new Date().toISOString()));
      opts.logger.warn(
        { file: trustPath, keyId: key.keyId, certificates },
        adopting ? "upgraded from an mpocert without trusted keys: the bench's existing signing key is pinned; give QA a copy" : 'new bench: its signing key is pinned in the trusted keys file; give QA a copy',
      );
    }
    const trust = TrustedKeys.load(trustPath);
    if (resolve(dirname(trustPath)) === resolve(layout.dir)) {
      opts.logger.warn({ file: trustPath }, 'the trusted keys file is inside the data directory: whoever can change the certificates can change it too; on a production bench set trust.keysFile to a root-owned copy (systemd/README.md)');
    }
    if (trust.publicKeyPem(key.keyId) === undefined) {
      throw new DataDirError(
        'KEY_NOT_TRUSTED',
        `this bench's signing key ${key.keyId} is not in the trusted keys file ${trustPath}: a new key must be a rotation signed by the previous one (mpocert keys rotate)`,
        layout.dir,
      );
    }
    const store = new CertificateStore(db, key, trust);
    const checkpoints = new CheckpointLog(layout.checkpoints);
    const custody = new Custody(layout, db, key, trust, store, checkpoints, lock, new DatabaseFileWatch(layout.database), opts.logger);
    custody.record(
      repairs.map((r) => ({ certificateId: 0, problem: 'schema' as const, detail: `${r.found}: ${r.restored ? 'restored' : `could not be restored (${r.detail ?? 'unknown'})`}` })),
      'start-up',
    );
    checkSinceLastCheckpoint(custody, certificates, adopting);
    return custody;
  } catch (err) {
    db?.close();
    lock.release();
    throw err;
  }
}

/**
 * What start-up checks: every checkpoint line against the database (JSON and an indexed lookup
 * each, cheap at any size), each bench's newest checkpoint's signature (every line's signature is
 * checked by the background full check: an Ed25519 verify per line would cost seconds at 100,000),
 * and the certificates after the oldest of the newest checkpoints.
 */
function checkSinceLastCheckpoint(custody: Custody, certificates: number, adopting: boolean): void {
  const torn = custody.checkpoints.dropTornTail();
  if (torn > 0) custody.logger.warn({ file: custody.checkpoints.path, bytes: torn }, 'dropped a checkpoint line torn by a crash during its append; its certificate is checkpointed again below');
  const { checkpoints, problems: lineProblems } = custody.checkpoints.read();
  for (const detail of lineProblems) custody.record([{ certificateId: 0, problem: 'checkpoint', detail }], 'start-up');
  const latest = latestOf(checkpoints);
  for (const c of latest.values()) {
    const bad = checkpointSignatureProblem(c, custody.trust);
    if (bad) custody.record([{ certificateId: c.certificateId, problem: 'checkpoint', bench: c.bench, detail: `${custody.checkpoints.path}: ${bad}` }], 'start-up');
    custody.heads.set(c.bench, { certificateId: c.certificateId, hash: c.headHash });
  }
  if (certificates > 0 && checkpoints.length === 0 && !adopting) {
    custody.record([{ certificateId: 0, problem: 'checkpoint', detail: `the database holds ${certificates} certificate(s) but there is no checkpoint file: it was removed` }], 'start-up');
  }
  custody.record(custody.certificates.compareWithCheckpoints(checkpoints), 'start-up');
  const oldestHead = Math.min(...[...latest.values()].map((c) => c.certificateId - 1), Number.MAX_SAFE_INTEGER);
  const since = latest.size === 0 ? 0 : oldestHead;
  custody.record(custody.certificates.verify({ afterId: since }).problems, 'start-up');
  checkpointWhatACrashLeft(custody, latest, since);
}

/**
 * A certificate is committed, then its checkpoint appended: a crash between the two (kill -9, a
 * power cut) leaves certificates after a bench's newest checkpoint; so does adopting a database
 * from before checkpoints existed. Each that verifies, in chain order from the checkpointed head,
 * is checkpointed now; the first that does not stops it (it stays reported, and its bench stays
 * stopped). Certificates after `verifiedAfter` were verified just before and are not again.
 */
function checkpointWhatACrashLeft(custody: Custody, latest: ReadonlyMap<string, Checkpoint>, verifiedAfter: number): void {
  const broken = custody.brokenBenches;
  for (const bench of custody.certificates.benches()) {
    // A bench already found failing gets no new anchor until QA has looked.
    if (bench === null || broken.has(bench) || broken.has('*')) continue;
    const known = latest.get(bench);
    const anchor: CommittedCertificate[] = [];
    for (const c of custody.certificates.afterOf(bench, known?.certificateId ?? 0)) {
      const problems = c.id > verifiedAfter ? [] : custody.certificates.verify({ id: c.id }).problems;
      if (problems.length > 0 || custody.failing.has(c.id)) {
        custody.record(problems, 'start-up');
        break;
      }
      anchor.push({ benchId: bench, id: c.id, hash: c.hash, benchSequence: custody.certificates.sequenceOf(bench, c.id), issuedAt: c.issuedAt });
    }
    custody.checkpointAll(anchor);
    if (anchor.length > 0) custody.logger.warn({ bench, certificates: anchor.length }, 'checkpointed certificates that had none (stored just before a crash, or by an mpocert before checkpoints)');
  }
}
