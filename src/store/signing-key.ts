import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The bench's Ed25519 identity. Created once, on first start, in the data directory; the public
 * key is published (GET /signing-key) so an auditor can check a certificate without trusting us.
 */
export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  /** sha256 of the DER public key, hex: names the key inside each certificate. */
  keyId: string;
}

export function loadOrCreateSigningKey(path: string): SigningKey {
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    // 0o600: the private key signs certificates; nobody but the daemon's user may read it.
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  }
  const privateKey = createPrivateKey(readFileSync(path));
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, ...describePublicKey(publicKey) };
}

export function describePublicKey(publicKey: KeyObject): { publicKeyPem: string; keyId: string } {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return {
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: createHash('sha256').update(der).digest('hex'),
  };
}

export function signBytes(key: SigningKey, bytes: string): string {
  return sign(null, Buffer.from(bytes, 'utf8'), key.privateKey).toString('base64');
}

/** Parsed public keys by PEM: verifying 100,000 certificates must not parse the same key each time. */
const publicKeys = new Map<string, KeyObject>();

function publicKeyOf(pem: string): KeyObject {
  let key = publicKeys.get(pem);
  if (!key) {
    key = createPublicKey(pem);
    if (publicKeys.size > 64) publicKeys.clear();
    publicKeys.set(pem, key);
  }
  return key;
}

export function verifyBytes(publicKeyPem: string, bytes: string, signatureB64: string): boolean {
  try {
    return verify(null, Buffer.from(bytes, 'utf8'), publicKeyOf(publicKeyPem), Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
