import { closeSync, existsSync, fsyncSync, openSync, readFileSync, truncateSync, writeSync } from 'node:fs';
import { canonicalJson } from './canonical-json.js';
import { signBytes, verifyBytes, type SigningKey } from './signing-key.js';
import type { TrustedKeys } from './trusted-keys.js';

/**
 * Signed checkpoints of each bench's certificate chain, one JSON line per certificate, appended to
 * a file beside the database and published over HTTP for QA to keep. The chain inside the database
 * cannot show that its newest certificates were deleted (or that both tables were emptied); a
 * checkpoint held elsewhere can: it says "bench b1 had N certificates, the newest with hash H".
 */
export interface Checkpoint {
  readonly bench: string;
  /** How many certificates the bench had, this one included (1 for its first). */
  readonly sequence: number;
  readonly certificateId: number;
  readonly headHash: string;
  readonly at: string;
  readonly keyId: string;
  /** Ed25519 over canonical JSON of the fields above. */
  readonly signature: string;
}

export type CheckpointBody = Omit<Checkpoint, 'signature' | 'keyId'>;

function payload(c: Omit<Checkpoint, 'signature'>): string {
  return canonicalJson({ bench: c.bench, sequence: c.sequence, certificateId: c.certificateId, headHash: c.headHash, at: c.at, keyId: c.keyId });
}

export interface CheckpointRead {
  readonly checkpoints: Checkpoint[];
  /** The file's line number of each checkpoint, for messages. */
  readonly lines: number[];
  /** Lines that are not valid checkpoints, or whose signature is not by a trusted key. */
  readonly problems: string[];
}

export class CheckpointLog {
  constructor(readonly path: string) {}

  exists(): boolean {
    return existsSync(this.path);
  }

  /** Signs and appends one checkpoint, and syncs it to disk before returning. */
  append(key: SigningKey, body: CheckpointBody): Checkpoint {
    return this.appendAll(key, [body])[0]!;
  }

  /** Signs and appends checkpoints in order, with one sync for all of them. */
  appendAll(key: SigningKey, bodies: readonly CheckpointBody[]): Checkpoint[] {
    const checkpoints = bodies.map((b) => signCheckpoint(key, b));
    if (checkpoints.length === 0) return checkpoints;
    const fd = openSync(this.path, 'a', 0o600);
    try {
      writeSync(fd, checkpoints.map((c) => `${JSON.stringify(c)}\n`).join(''));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return checkpoints;
  }

  /**
   * Drops a last line torn by a crash during an append (no newline: the fsync never completed).
   * It was never a whole signed checkpoint, so nothing verifiable is lost; left in place, the next
   * append would be glued onto it. Returns the bytes dropped (0 when the file is whole).
   */
  dropTornTail(): number {
    if (!this.exists()) return 0;
    const text = readFileSync(this.path);
    if (text.length === 0 || text[text.length - 1] === 0x0a) return 0;
    const keep = text.lastIndexOf(0x0a) + 1;
    truncateSync(this.path, keep);
    return text.length - keep;
  }

  /** Every checkpoint in the file; `trust` set: signatures checked against trusted keys only. */
  read(trust?: TrustedKeys): CheckpointRead {
    if (!this.exists()) return { checkpoints: [], lines: [], problems: [] };
    return parseCheckpoints(readFileSync(this.path, 'utf8'), trust, this.path);
  }
}

export function signCheckpoint(key: SigningKey, body: CheckpointBody): Checkpoint {
  const unsigned = { ...body, keyId: key.keyId };
  return { ...unsigned, signature: signBytes(key, payload(unsigned)) };
}

export function parseCheckpoints(text: string, trust: TrustedKeys | undefined, source: string): CheckpointRead {
  const checkpoints: Checkpoint[] = [];
  const lines: number[] = [];
  const problems: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let c: Checkpoint;
    try {
      c = JSON.parse(line) as Checkpoint;
    } catch {
      problems.push(`${source} line ${i + 1}: not a checkpoint (not JSON)`);
      return;
    }
    if (typeof c.bench !== 'string' || !Number.isInteger(c.sequence) || !Number.isInteger(c.certificateId) || typeof c.headHash !== 'string' || typeof c.signature !== 'string') {
      problems.push(`${source} line ${i + 1}: not a checkpoint (fields missing)`);
      return;
    }
    if (trust) {
      const problem = checkpointSignatureProblem(c, trust);
      if (problem) {
        problems.push(`${source} line ${i + 1}: ${problem}`);
        return;
      }
    }
    checkpoints.push(c);
    lines.push(i + 1);
  });
  return { checkpoints, lines, problems };
}

/** Why this checkpoint's signature is not good by a trusted key, or undefined. */
export function checkpointSignatureProblem(c: Checkpoint, trust: TrustedKeys): string | undefined {
  const pem = trust.publicKeyPem(c.keyId);
  if (pem === undefined) return `checkpoint of bench ${c.bench} #${c.sequence} is signed by key ${c.keyId}, which is not trusted`;
  if (!verifyBytes(pem, payload(c), c.signature)) return `checkpoint of bench ${c.bench} #${c.sequence} does not match its signature`;
  return undefined;
}

/** The newest checkpoint of each bench (by sequence). */
export function latestOf(checkpoints: readonly Checkpoint[]): Map<string, Checkpoint> {
  const latest = new Map<string, Checkpoint>();
  for (const c of checkpoints) {
    const seen = latest.get(c.bench);
    if (!seen || c.sequence > seen.sequence) latest.set(c.bench, c);
  }
  return latest;
}
