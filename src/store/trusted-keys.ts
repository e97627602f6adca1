import { createHash, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ConfigError, describeError } from '../errors.js';
import { canonicalJson } from './canonical-json.js';
import { signBytes, verifyBytes, type SigningKey } from './signing-key.js';

/**
 * The public keys a certificate may be signed with, kept OUTSIDE the database: a key stored in
 * the database next to the certificates it vouches for proves nothing (whoever can rewrite the
 * certificates can rewrite the key). QA keeps this file; the daemon reads it from the config's
 * `trust.keysFile` (on a production bench a root-owned file the daemon cannot write) and
 * `mpocert verify --trust FILE` checks against QA's own copy.
 *
 * A key is trusted when it is pinned here, or when a rotation statement signed by a trusted key
 * names it: a new key is always an explicit rotation signed by the previous one, never silent.
 */
export interface PinnedKey {
  readonly keyId: string;
  readonly publicKeyPem: string;
  readonly pinnedAt: string;
}

export interface KeyRotation {
  readonly from: string;
  readonly to: string;
  readonly publicKeyPem: string;
  readonly at: string;
  /** Ed25519 signature by `from` over canonical JSON of { from, to, publicKeyPem, at }. */
  readonly signature: string;
}

export interface TrustedKeysFile {
  readonly format: 'mpocert-trusted-keys';
  readonly version: 1;
  readonly keys: readonly PinnedKey[];
  readonly rotations: readonly KeyRotation[];
}

/** sha256 of the DER public key, hex: a key id is the hash of its key, so it can be checked. */
export function keyIdOf(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

export function rotationPayload(r: Omit<KeyRotation, 'signature'>): string {
  return canonicalJson({ from: r.from, to: r.to, publicKeyPem: r.publicKeyPem, at: r.at });
}

/** A rotation from `oldKey` to `newKey`, signed by the old key. */
export function signRotation(oldKey: SigningKey, newKey: { keyId: string; publicKeyPem: string }, at: string): KeyRotation {
  const body = { from: oldKey.keyId, to: newKey.keyId, publicKeyPem: newKey.publicKeyPem, at };
  return { ...body, signature: signBytes(oldKey, rotationPayload(body)) };
}

export class TrustedKeys {
  private readonly trustedPem = new Map<string, string>();
  /** How each key came to be trusted, for /signing-keys and verify's report. */
  readonly entries: { keyId: string; publicKeyPem: string; via: 'pinned' | 'rotation'; at: string; from?: string }[] = [];
  /** When each key was rotated away from: it signs nothing after that. */
  private readonly retired = new Map<string, string>();

  constructor(
    readonly file: TrustedKeysFile,
    readonly source: string,
  ) {
    for (const k of file.keys) {
      if (keyIdOf(k.publicKeyPem) !== k.keyId) throw new ConfigError(`${source}: pinned key ${k.keyId} does not hash to its id: the file was altered`);
      this.trustedPem.set(k.keyId, k.publicKeyPem);
      this.entries.push({ keyId: k.keyId, publicKeyPem: k.publicKeyPem, via: 'pinned', at: k.pinnedAt });
    }
    // A key hands over once: two rotations from one key would be two lines of succession, and a
    // leaked old key could sign its own.
    const from = new Set<string>();
    for (const r of file.rotations) {
      if (from.has(r.from)) throw new ConfigError(`${source}: key ${r.from} is rotated away from twice: a key hands over to one successor; the file was altered`);
      from.add(r.from);
    }
    // Rotations in any order: apply each whose signer is trusted, until nothing more applies.
    let pending = [...file.rotations];
    for (let progress = true; progress && pending.length > 0; ) {
      progress = false;
      for (const r of pending) {
        const signer = this.trustedPem.get(r.from);
        if (signer === undefined) continue;
        if (keyIdOf(r.publicKeyPem) !== r.to || !verifyBytes(signer, rotationPayload(r), r.signature)) {
          throw new ConfigError(`${source}: the rotation from ${r.from} to ${r.to} is not validly signed by ${r.from}: the file was altered`);
        }
        this.trustedPem.set(r.to, r.publicKeyPem);
        this.retired.set(r.from, r.at);
        this.entries.push({ keyId: r.to, publicKeyPem: r.publicKeyPem, via: 'rotation', at: r.at, from: r.from });
        pending = pending.filter((x) => x !== r);
        progress = true;
      }
    }
    if (pending.length > 0) throw new ConfigError(`${source}: rotation(s) to ${pending.map((r) => r.to).join(', ')} are signed by keys that are not trusted`);
  }

  /** When this key was rotated away from (ISO time), or undefined while it is current. */
  retiredAt(keyId: string): string | undefined {
    return this.retired.get(keyId);
  }

  /** The trusted public key with this id, or undefined. */
  publicKeyPem(keyId: string): string | undefined {
    return this.trustedPem.get(keyId);
  }

  static load(path: string): TrustedKeys {
    let data: unknown;
    try {
      data = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new ConfigError(`cannot read the trusted keys file: ${describeError(err)}`, { file: path });
    }
    const f = data as Partial<TrustedKeysFile>;
    if (f?.format !== 'mpocert-trusted-keys' || f.version !== 1 || !Array.isArray(f.keys) || !Array.isArray(f.rotations)) {
      throw new ConfigError('not an mpocert trusted keys file (format mpocert-trusted-keys, version 1, keys, rotations)', { file: path });
    }
    return new TrustedKeys(f as TrustedKeysFile, path);
  }

  static exists(path: string): boolean {
    return existsSync(path);
  }

  /** A file trusting just this key (a new bench's first start). */
  static pin(key: { keyId: string; publicKeyPem: string }, at: string): TrustedKeysFile {
    return { format: 'mpocert-trusted-keys', version: 1, keys: [{ keyId: key.keyId, publicKeyPem: key.publicKeyPem, pinnedAt: at }], rotations: [] };
  }
}

export function writeTrustedKeys(path: string, file: TrustedKeysFile, flag: 'wx' | 'w' = 'wx'): void {
  // Public keys only: readable by QA, written once (or by an explicit rotation).
  writeFileSync(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o644, flag });
}
