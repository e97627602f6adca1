import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import zlib from 'node:zlib';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openCustody, type Custody } from '../../src/daemon/custody.js';
import { canonicalJson } from '../../src/store/canonical-json.js';
import { CertificateStore, type NewCertificate } from '../../src/store/certificate-store.js';
import { CheckpointLog, parseCheckpoints } from '../../src/store/checkpoints.js';
import { DataDirLock, layoutOf } from '../../src/store/data-dir.js';
import { MIGRATIONS } from '../../src/store/database.js';
import { schemaChanges } from '../../src/store/schema-guard.js';
import { describePublicKey, loadOrCreateSigningKey, signBytes, sha256Hex } from '../../src/store/signing-key.js';
import { signRotation, TrustedKeys, writeTrustedKeys } from '../../src/store/trusted-keys.js';
import { tempDir } from '../helpers/daemon-harness.js';
import { withBodyCodec } from '../helpers/stored-body.js';
import { compressBody, decompressBody } from '../../src/store/compact-body.js';

/**
 * The chain of custody attacked as someone with the files would: every way of making stored
 * evidence say something it did not, or of making evidence vanish, must be noticed, and no way of
 * starting the daemon may paper over it.
 */
const silent = pino({ level: 'silent' });
let tmp: ReturnType<typeof tempDir>;
let dataDir: string;
let open: Custody[] = [];

const custodyOf = (opts: { trustedKeysFile?: string } = {}): Custody => {
  const c = openCustody({ dataDir, logger: silent, ...opts });
  open.push(c);
  return c;
};
const closeAll = (): void => {
  for (const c of open) c.close();
  open = [];
};

function doc(bench: string, n: number, verdict = 'PASS'): NewCertificate {
  const issuedAt = `2026-11-30T08:00:${String(n).padStart(2, '0')}.000Z`;
  return {
    benchId: bench,
    jobId: `${bench}-j${n}`,
    subjectKind: 'assembly',
    serial: `${bench}-S${n}`,
    linkId: null,
    verdict,
    limitSetId: 'mtp-mpo-connector-grades',
    limitSetVersion: '1.1.0',
    issuedAt,
    document: { issuedAt, job: { id: `${bench}-j${n}` }, bench: { id: bench }, subject: { kind: 'assembly', id: `${bench}-S${n}` }, limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' }, verdict, fibers: [{ fiber: 1, lossDb: 0.21 }] },
  };
}

/** Certifies as the daemon does: the certificate, then its signed checkpoint. */
function issue(c: Custody, bench: string, n: number, verdict = 'PASS'): void {
  const stored = c.certificates.insert(doc(bench, n, verdict));
  c.checkpoint({ ...stored, benchId: stored.benchId });
}

/**
 * Raw SQL on the database file, as an attacker with the file would (guard triggers dropped); a
 * body is edited through body_replace() and the like (test/helpers/stored-body.ts): decompressed,
 * edited, compressed again.
 */
function tamper(...statements: [string, ...unknown[]][]): void {
  const db = withBodyCodec(new Database(layoutOf(dataDir).database));
  db.exec('DROP TRIGGER IF EXISTS certificates_no_update; DROP TRIGGER IF EXISTS certificates_no_delete;');
  db.pragma('foreign_keys = OFF');
  for (const [sql, ...params] of statements) db.prepare(sql).run(...params);
  // A careful attacker puts the guards back: what follows must be found without them.
  db.exec(`CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;
  CREATE TRIGGER certificates_no_delete BEFORE DELETE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;`);
  db.close();
}

const parseQa = (text: string, c: Custody) => parseCheckpoints(text, c.trust, 'qa copy').checkpoints;

const problemsAtStart = (): { problem: string; detail: string; certificateId: number }[] => {
  const c = custodyOf();
  const found = c.problems.map((p) => ({ problem: p.problem, detail: p.detail, certificateId: p.certificateId }));
  closeAll();
  return found;
};

beforeEach(() => {
  tmp = tempDir('mpocert-custody-');
  dataDir = join(tmp.dir, 'data');
});
afterEach(() => {
  closeAll();
  tmp.remove();
});

describe('a new data directory', () => {
  it('is created private: directory 0700, database, key and checkpoints 0600; the key pinned in trusted-keys.json', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    const layout = layoutOf(dataDir);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    for (const f of [layout.database, layout.signingKey, layout.checkpoints]) expect(statSync(f).mode & 0o777).toBe(0o600);
    const trust = TrustedKeys.load(layout.trustedKeys);
    expect(trust.entries.map((e) => [e.keyId, e.via])).toEqual([[c.key.keyId, 'pinned']]);
    expect(c.problems).toEqual([]);
  });

  it('starts again cleanly: certificates and checkpoints agree', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    issue(c, 'b2', 1);
    closeAll();
    expect(problemsAtStart()).toEqual([]);
  });
});

describe('a crash between storing a certificate and checkpointing it (kill -9, power cut)', () => {
  it('the certificate is kept and checkpointed at the next start; the bench certifies on', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    c.certificates.insert(doc('b1', 2)); // committed; the daemon died before appending its checkpoint
    closeAll();
    const again = custodyOf();
    expect(again.problems).toEqual([]);
    expect(again.refusal('b1')).toBeUndefined();
    const lines = readFileSync(layoutOf(dataDir).checkpoints, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { sequence: number; certificateId: number });
    expect(lines.map((l) => [l.certificateId, l.sequence])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('a checkpoint line torn by a power cut is dropped and rewritten, not reported as tampering', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    closeAll();
    const file = layoutOf(dataDir).checkpoints;
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length - 40)); // the last line half written, no newline
    const again = custodyOf();
    expect(again.problems).toEqual([]);
    expect(again.refusal('b1')).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it('a certificate after the checkpointed head that does not verify is not checkpointed', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    c.certificates.insert(doc('b1', 2));
    closeAll();
    tamper(["UPDATE certificates SET body = body_replace(body, '\"lossDb\":0.21', '\"lossDb\":0.11') WHERE id = 2"]);
    const again = custodyOf();
    expect(again.problems.map((p) => [p.certificateId, p.problem])).toEqual([
      [2, 'content'],
      [2, 'signature'],
    ]);
    expect(readFileSync(layoutOf(dataDir).checkpoints, 'utf8').trim().split('\n')).toHaveLength(1);
    expect(again.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN' });
  });
});

describe('upgrading a bench from an mpocert before custody (schema 3: no trusted keys file, no checkpoints)', () => {
  /** A data directory as the earlier release left it: its key, and certificates signed by it. */
  function oldBench(): void {
    const layout = layoutOf(dataDir);
    mkdirSync(dataDir, { recursive: true });
    const db = new Database(layout.database);
    for (const sql of MIGRATIONS.slice(0, 3)) db.exec(sql);
    db.pragma('user_version = 3');
    const key = loadOrCreateSigningKey(layout.signingKey);
    const store = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-01-01T00:00:00Z'), 'old'));
    store.insert(doc('b1', 1));
    store.insert(doc('b2', 1));
    store.insert(doc('b1', 2, 'FAIL'));
    db.close();
  }

  it('adopts it: the existing key pinned, every certificate verified and checkpointed, benches certify on', () => {
    oldBench();
    const c = custodyOf();
    expect(c.problems).toEqual([]);
    expect(TrustedKeys.load(layoutOf(dataDir).trustedKeys).entries.map((e) => e.keyId)).toEqual([c.key.keyId]);
    const lines = readFileSync(layoutOf(dataDir).checkpoints, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { bench: string; sequence: number; certificateId: number });
    expect(lines.map((l) => [l.bench, l.sequence, l.certificateId])).toEqual([
      ['b1', 1, 1],
      ['b1', 2, 3],
      ['b2', 1, 2],
    ]);
    expect(c.refusal('b1')).toBeUndefined();
    closeAll();
    expect(problemsAtStart()).toEqual([]);
  });

  it('QA verifying an old database as it is (read-only, unmigrated) sees no schema problem', () => {
    oldBench();
    const db = new Database(layoutOf(dataDir).database, { readonly: true });
    expect(schemaChanges(db)).toEqual([]);
    const store = new CertificateStore(db, undefined, new TrustedKeys(TrustedKeys.pin(loadOrCreateSigningKey(layoutOf(dataDir).signingKey), '2026-01-01T00:00:00Z'), 'qa'));
    expect(store.verify()).toEqual({ checked: 3, problems: [] });
    db.close();
  });

  it('a certificate of the old database that fails its hash: the upgrade is refused, changing nothing; QA audits it as it is', () => {
    oldBench();
    const db = new Database(layoutOf(dataDir).database);
    db.exec('DROP TRIGGER certificates_no_update');
    db.prepare(`UPDATE certificates SET body = replace(body, '"verdict":"FAIL"', '"verdict":"PASS"'), verdict = 'PASS' WHERE id = 3`).run();
    db.exec(`CREATE TRIGGER certificates_no_update BEFORE UPDATE ON certificates
    BEGIN SELECT RAISE(ABORT, 'certificates are append-only'); END;`);
    db.close();
    const snapshot = (): unknown => {
      const d = new Database(layoutOf(dataDir).database, { readonly: true });
      try {
        return { version: d.pragma('user_version', { simple: true }), schema: d.prepare('SELECT * FROM sqlite_master ORDER BY name').all(), rows: d.prepare('SELECT * FROM certificates ORDER BY id').all() };
      } finally {
        d.close();
      }
    };
    const before = snapshot();
    // Converting every body to its compact form must not be the moment the evidence changes.
    expect(() => custodyOf()).toThrow(
      expect.objectContaining({
        code: 'MIGRATION_REFUSED',
        message: expect.stringMatching(/nothing was changed, it stays at schema 3: 1 of its 3 certificate\(s\) were altered outside mpocert \(certificate 3 \(bench b1\): its content does not match its recorded hash\)\. Audit the database as it is/),
      }),
    );
    expect(snapshot()).toEqual(before);
    expect(existsSync(layoutOf(dataDir).checkpoints)).toBe(false);
    // QA's verify reads it as it is, read-only: the altered certificate is named.
    const qa = new Database(layoutOf(dataDir).database, { readonly: true });
    const store = new CertificateStore(qa, undefined, new TrustedKeys(TrustedKeys.pin(loadOrCreateSigningKey(layoutOf(dataDir).signingKey), '2026-01-01T00:00:00Z'), 'qa'));
    expect(store.verify().problems.map((p) => [p.certificateId, p.problem])).toEqual([
      [3, 'content'],
      [3, 'signature'],
    ]);
    qa.close();
  });
});

describe('one daemon per data directory', () => {
  it('refuses a second opener while the first holds it, and changes nothing', () => {
    const first = custodyOf();
    issue(first, 'b1', 1);
    expect(() => openCustody({ dataDir, logger: silent })).toThrow(
      expect.objectContaining({ code: 'DATA_DIR_LOCKED', message: expect.stringContaining(`another mpocert (pid ${process.pid}`) }),
    );
    issue(first, 'b1', 2); // the first one is untouched by the attempt
    expect(first.certificates.verify().problems).toEqual([]);
  });

  it('takes over a lock whose process is gone (kill -9, power cut)', () => {
    custodyOf();
    closeAll();
    const layout = layoutOf(dataDir);
    // pid 2^22+1 is above Linux's pid_max default range: no such process.
    writeFileSync(layout.lock, JSON.stringify({ pid: 4194305, host: hostname(), since: '2026-11-29T00:00:00Z' }));
    expect(() => custodyOf()).not.toThrow();
  });

  it('refuses a lock held from another host (a shared disk): a data directory belongs to one machine', () => {
    const layout = layoutOf(dataDir);
    custodyOf();
    closeAll();
    writeFileSync(layout.lock, JSON.stringify({ pid: 1, host: 'bench-07', since: '2026-11-29T00:00:00Z' }));
    expect(() => DataDirLock.acquire(layout)).toThrow(expect.objectContaining({ code: 'DATA_DIR_LOCKED', message: expect.stringContaining('locked by mpocert on host bench-07') }));
  });
});

describe('starting over the remains of a bench is refused, creating nothing', () => {
  it('the database is gone but the key and checkpoints are here', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    const layout = layoutOf(dataDir);
    unlinkSync(layout.database);
    for (const f of ['-wal', '-shm']) rmSync(layout.database + f, { force: true });
    expect(() => custodyOf()).toThrow(expect.objectContaining({ code: 'DATABASE_MISSING' }));
    expect(existsSync(layout.database)).toBe(false);
  });

  it('the signing key is gone for a database with certificates (a new key would re-sign the bench unnoticed)', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    const layout = layoutOf(dataDir);
    unlinkSync(layout.signingKey);
    expect(() => custodyOf()).toThrow(expect.objectContaining({ code: 'SIGNING_KEY_MISSING' }));
    expect(existsSync(layout.signingKey)).toBe(false);
  });

  it('the trusted keys file is gone for a database with certificates', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    unlinkSync(layoutOf(dataDir).trustedKeys);
    expect(() => custodyOf()).toThrow(expect.objectContaining({ code: 'TRUSTED_KEYS_MISSING' }));
  });

  it('the signing key was swapped for one the trusted keys file does not name', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    const layout = layoutOf(dataDir);
    unlinkSync(layout.signingKey);
    loadOrCreateSigningKey(layout.signingKey); // an attacker's fresh key in its place
    expect(() => custodyOf()).toThrow(expect.objectContaining({ code: 'KEY_NOT_TRUSTED' }));
  });
});

describe('what tampering with the database shows', () => {
  it('a forged certificate re-signed with the attacker key, that key added to the database: untrusted, and the checkpoint says replaced', () => {
    const c = custodyOf();
    issue(c, 'b1', 1, 'FAIL');
    closeAll();
    // The attacker rewrites FAIL to PASS, recomputes hash and signature with their own key and
    // records that key in the database's legacy key table: nothing outside the database changed.
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const attacker = { ...describePublicKey(publicKey), privateKey, publicKey };
    const db = new Database(layoutOf(dataDir).database);
    const row = db.prepare('SELECT * FROM certificates WHERE id = 1').get() as Record<string, unknown>;
    db.close();
    const body = JSON.parse(decompressBody(row.body as Buffer)) as Record<string, unknown>;
    body.verdict = 'PASS';
    const forgedBody = canonicalJson(body);
    const payload = canonicalJson({
      uuid: row.uuid, benchId: row.bench_id, jobId: row.job_id, subjectKind: row.subject_kind, serial: row.serial, linkId: row.link_id,
      verdict: 'PASS', limitSetId: row.limit_set_id, limitSetVersion: row.limit_set_version, issuedAt: row.issued_at, document: body, prevHash: row.prev_hash,
    });
    const hash = sha256Hex(payload);
    tamper(
      ['INSERT OR REPLACE INTO signing_keys (key_id, public_key_pem, first_used_at) VALUES (?, ?, ?)', attacker.keyId, attacker.publicKeyPem, '2026-11-30T00:00:00Z'],
      ["UPDATE certificates SET verdict = 'PASS', body = ?, hash = ?, signature = ?, key_id = ? WHERE id = 1", compressBody(forgedBody), hash, signBytes(attacker, payload), attacker.keyId],
    );
    const found = problemsAtStart();
    expect(found.map((p) => p.problem)).toEqual(expect.arrayContaining(['untrusted-key', 'checkpoint']));
    expect(found.find((p) => p.problem === 'checkpoint')!.detail).toMatch(/^checkpoint of .* names hash [0-9a-f]{64} for certificate 1; the database holds [0-9a-f]{64}: it was replaced$/);
  });

  it('the newest certificate and its job deleted: the chain cannot show it, the checkpoint does', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2, 'FAIL');
    closeAll();
    tamper(['DELETE FROM certificates WHERE id = 2']);
    expect(problemsAtStart()).toEqual([
      {
        certificateId: 2,
        problem: 'missing',
        detail: 'checkpoint of 2026-11-30T08:00:02.000Z names certificate 2 (bench b1 #2); it is not in the database: certificates were removed',
      },
    ]);
  });

  it('both tables emptied: the checkpoints still name what was there', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b2', 1);
    closeAll();
    tamper(['DELETE FROM certificates'], ['DELETE FROM jobs']);
    expect(problemsAtStart().map((p) => [p.certificateId, p.problem])).toEqual([
      [1, 'missing'],
      [2, 'missing'],
    ]);
  });

  it('the checkpoint file deleted for a database with certificates', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    unlinkSync(layoutOf(dataDir).checkpoints);
    expect(problemsAtStart()).toEqual([{ certificateId: 0, problem: 'checkpoint', detail: 'the database holds 1 certificate(s) but there is no checkpoint file: it was removed' }]);
  });

  it('a checkpoint line edited to match a shorter database: it contradicts the others, and its signature fails', async () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    closeAll();
    const layout = layoutOf(dataDir);
    tamper(['DELETE FROM certificates WHERE id = 2']);
    const lines = readFileSync(layout.checkpoints, 'utf8').trim().split('\n');
    writeFileSync(layout.checkpoints, `${lines[0]}\n${lines[1]!.replace('"sequence":2', '"sequence":1')}\n`);
    const again = custodyOf();
    // At start-up (no signature check per line, that is the background's): the rewritten line contradicts the first.
    expect(again.problems.map((p) => [p.certificateId, p.problem, p.detail])).toEqual([
      [2, 'checkpoint', expect.stringMatching(/^two checkpoints give bench b1 #1 different certificates \(1 [0-9a-f]{12}…, 2 [0-9a-f]{12}…\): the chain was rewritten$/)],
      [2, 'missing', 'checkpoint of 2026-11-30T08:00:02.000Z names certificate 2 (bench b1 #1); it is not in the database: certificates were removed'],
    ]);
    await again.checkEverything();
    expect(again.problems.map((p) => p.detail)).toContain(`${layout.checkpoints} line 2: checkpoint of bench b1 #1 does not match its signature`);
  });

  it('the newest certificate deleted and its id reused by the next one: every checkpoint is compared, not just the newest', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2, 'FAIL');
    closeAll();
    tamper(['DELETE FROM certificates WHERE id = 2'], ['DELETE FROM jobs']);
    // The checkpoints are truncated to match, as an attacker with the file would: QA's copy is not.
    const layout = layoutOf(dataDir);
    const qaCopy = readFileSync(layout.checkpoints, 'utf8');
    writeFileSync(layout.checkpoints, `${qaCopy.trim().split('\n')[0]}\n`);
    const again = custodyOf();
    expect(again.problems).toEqual([]);
    issue(again, 'b1', 2); // id 2 again, a PASS, chained onto certificate 1
    issue(again, 'b1', 3);
    expect(again.certificates.verify().problems).toEqual([]);
    const fromQa = again.certificates.compareWithCheckpoints(parseQa(qaCopy, again));
    expect(fromQa.map((p) => [p.certificateId, p.problem])).toEqual([[2, 'checkpoint']]);
    expect(fromQa[0]!.detail).toMatch(/^checkpoint of 2026-11-30T08:00:02\.000Z names hash [0-9a-f]{64} for certificate 2; the database holds [0-9a-f]{64}: it was replaced$/);
  });

  it('certificates deleted underneath the running daemon: its next job is refused before it chains onto the rewritten head', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2, 'FAIL');
    issue(c, 'b2', 1);
    tamper(['DELETE FROM certificates WHERE id = 2']);
    expect(c.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN', message: expect.stringContaining('certificate 2: missing') });
    expect(c.problems[0]!.detail).toMatch(/^bench b1's newest certificate should be 2 \(hash [0-9a-f]{16}…\) as checkpointed; the database's newest is hash [0-9a-f]{16}…: certificates were removed or replaced while the daemon ran$/);
    expect(c.refusal('b2')).toBeUndefined();
  });

  it('a broken chain stops that bench issuing, and only that bench', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    issue(c, 'b2', 1);
    closeAll();
    tamper(["UPDATE certificates SET body = body_replace(body, '\"lossDb\":0.21', '\"lossDb\":0.11') WHERE id = 2"]);
    const again = custodyOf();
    expect(again.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN' });
    expect(again.refusal('b2')).toBeUndefined();
  });

  it('the full background check finds a tampered certificate older than every checkpoint', async () => {
    const c = custodyOf();
    for (let n = 1; n <= 5; n++) issue(c, 'b1', n);
    closeAll();
    tamper(["UPDATE certificates SET body = body_replace(body, '\"lossDb\":0.21', '\"lossDb\":0.11') WHERE id = 2"]);
    const again = custodyOf();
    expect(again.problems).toEqual([]); // start-up checks only what came after the last checkpoint
    await again.checkEverything();
    expect(again.fullCheck).toMatchObject({ state: 'done', checked: 5 });
    expect(again.problems.map((p) => [p.certificateId, p.problem])).toEqual([
      [2, 'content'],
      [2, 'signature'],
    ]);
    expect(again.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN' });
  });

  it('a careless attacker who leaves the append-only guard dropped and an index gone: reported and put back', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    const db = new Database(layoutOf(dataDir).database);
    db.exec('DROP TRIGGER certificates_no_delete; DROP INDEX certificates_bench;');
    db.close();
    expect(problemsAtStart()).toEqual([
      { certificateId: 0, problem: 'schema', detail: 'the index certificates_bench was dropped outside mpocert: restored' },
      { certificateId: 0, problem: 'schema', detail: 'the trigger certificates_no_delete was dropped outside mpocert: restored' },
    ]);
    expect(problemsAtStart()).toEqual([]);
  });

  it('a body replaced by bytes that are not JSON: named by verification, lists and chains still read', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    issue(c, 'b1', 3);
    closeAll();
    tamper(['UPDATE certificates SET body = compress_body(substr(body_text(body), 1, 30)) WHERE id = 1']);
    const again = custodyOf();
    expect(again.certificates.verify().problems.map((p) => [p.certificateId, p.problem, p.detail])).toEqual([[1, 'content', 'the stored body is not valid JSON: it was altered']]);
    // Lists read the columns; custody flags the row (it fails verification), chains still read.
    expect(again.certificates.list({ limit: 10, offset: 0 }).items.map((i) => [i.id, i.verdict])).toEqual([
      [3, 'PASS'],
      [2, 'PASS'],
      [1, 'PASS'],
    ]);
    expect(again.certificates.forServing(1)).toMatchObject({ integrity: { valid: false }, json: undefined });
    expect(again.certificates.forServing(1)!.storedBody).toHaveLength(30);
  });

  it('a body replaced by bytes that are not a compressed body, or by a decompression bomb: named by verification, never a crash', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    closeAll();
    const bomb = Buffer.concat([Buffer.of(1), zlib.brotliCompressSync(Buffer.alloc(64 * 1024 * 1024, 0x20))]);
    tamper(["UPDATE certificates SET body = X'01DEADBEEF' WHERE id = 1"], ['UPDATE certificates SET body = ? WHERE id = 2', bomb]);
    const again = custodyOf();
    const problems = again.certificates.verify().problems.map((p) => [p.certificateId, p.problem, p.detail]);
    expect(problems).toEqual([
      [1, 'content', expect.stringMatching(/^the stored body is not a valid brotli stream \(.*\): it was altered$/)],
      [2, 'content', 'the stored body decompresses to more than 4194304 bytes: refused: it was altered'],
    ]);
    for (const id of [1, 2]) {
      const served = again.certificates.forServing(id)!;
      expect(served.integrity.valid).toBe(false);
      expect(served.json).toBeUndefined();
      expect(served.certificate).toBeUndefined();
      expect(served.storedBody).toMatch(/^\(the stored body cannot be read; its \d+ bytes, base64\) /);
    }
    expect(again.certificates.get(1)).toBeUndefined();
    expect(bomb.length).toBeLessThan(1000);
  });

  it('a duplicate key that SQLite and JSON.parse read differently: the signature covers the stored bytes, so it fails', () => {
    const c = custodyOf();
    issue(c, 'b1', 1, 'FAIL');
    closeAll();
    // SQLite's json_extract reads the first "verdict", JSON.parse the last (lists once read the
    // body through SQLite: they read the column now, which still says FAIL).
    tamper([`UPDATE certificates SET body = body_replace(body, '"verdict":"FAIL"', '"verdict":"PASS","verdict":"FAIL"') WHERE id = 1`]);
    const again = custodyOf();
    expect(again.certificates.list({ limit: 10, offset: 0 }).items[0]!.verdict).toBe('FAIL');
    expect(again.problems.map((p) => [p.certificateId, p.problem])).toEqual([
      [1, 'content'],
      [1, 'signature'],
    ]);
    expect(again.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN' });
  });

  it('a body that is JSON but not an object: reported, never a crash', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    tamper(["UPDATE certificates SET body = compress_body('null') WHERE id = 1"]);
    const again = custodyOf();
    expect(again.problems.map((p) => [p.certificateId, p.problem, p.detail])).toEqual([[1, 'content', 'the stored body is not a JSON object: it was altered']]);
    expect(again.certificates.forServing(1)!.integrity.valid).toBe(false);
  });

  it('the bench column edited to move a failing certificate off its bench: both benches are stopped', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    issue(c, 'b1', 2);
    closeAll();
    tamper(["UPDATE certificates SET bench_id = 'zz', body = body_replace(body, '\"lossDb\":0.21', '\"lossDb\":0.11') WHERE id = 2"]);
    const again = custodyOf();
    // Chains and checkpoint counts follow the bench column: b1's count falls short of its checkpoint.
    expect(again.problems.map((p) => [p.certificateId, p.problem])).toEqual([
      [2, 'missing'],
      [2, 'content'],
      [2, 'content'],
      [2, 'signature'],
    ]);
    expect(again.problems[1]).toMatchObject({ certificateId: 2, bench: 'b1', otherBench: 'zz' });
    expect(again.refusal('b1')).toMatchObject({ code: 'CHAIN_BROKEN' });
    expect(again.refusal('zz')).toMatchObject({ code: 'CHAIN_BROKEN' });
  });

  it('a problem tied to no bench (a completed job without its certificate) stops every bench until acknowledged', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    c.db.pragma('foreign_keys = OFF');
    c.db.prepare("INSERT INTO jobs (id, bench_id, state, request, operator, started_at, certificate_id) VALUES ('j-gone', 'b1', 'completed', '{}', 'op', '2026-11-30T08:00:00Z', 99)").run();
    closeAll();
    const again = custodyOf();
    again.record(again.certificates.orphanedJobs(), 'test');
    expect(again.refusal('b7')).toMatchObject({ code: 'CHAIN_BROKEN', message: expect.stringContaining('certificate 99: missing') });
    again.acknowledgements.add({ certificateId: 99, problem: 'missing', by: 'qa', reason: 'job row restored by hand, ticket 9', at: '2026-11-30T09:00:00Z' });
    expect(again.refusal('b7')).toBeUndefined();
  });

  it('a trigger mpocert does not create (one that could swallow FAIL certificates) is reported and dropped', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    closeAll();
    const db = new Database(layoutOf(dataDir).database);
    db.exec("CREATE TRIGGER swallow_fail BEFORE INSERT ON certificates WHEN NEW.verdict = 'FAIL' BEGIN SELECT RAISE(IGNORE); END;");
    db.close();
    const again = custodyOf();
    expect(again.problems.map((p) => p.detail)).toEqual(['a trigger swallow_fail that mpocert does not create was added outside mpocert: restored']);
    issue(again, 'b1', 2, 'FAIL');
    expect(again.certificates.get(2)!.verdict).toBe('FAIL');
  });

  it('the database file removed while open: refused from then on', () => {
    const c = custodyOf();
    issue(c, 'b1', 1);
    const layout = layoutOf(dataDir);
    renameSync(layout.database, `${layout.database}.moved`);
    expect(c.refusal('b1')).toMatchObject({ code: 'STORAGE_LOST', message: expect.stringContaining(`the database file ${layout.database} was removed while the daemon had it open`) });
  });
});

describe('trusted keys', () => {
  const keysIn = (dir: string) => ({
    a: loadOrCreateSigningKey(join(dir, 'a.pem')),
    b: loadOrCreateSigningKey(join(dir, 'b.pem')),
    c: loadOrCreateSigningKey(join(dir, 'c.pem')),
  });

  it('trusts a pinned key and the chain of rotations it signed, in any order', () => {
    const { a, b, c } = keysIn(tmp.dir);
    const file = { ...TrustedKeys.pin(a, '2026-01-01T00:00:00Z'), rotations: [signRotation(b, c, '2026-03-01T00:00:00Z'), signRotation(a, b, '2026-02-01T00:00:00Z')] };
    const t = new TrustedKeys(file, 'test');
    expect(t.entries.map((e) => [e.keyId, e.via])).toEqual([
      [a.keyId, 'pinned'],
      [b.keyId, 'rotation'],
      [c.keyId, 'rotation'],
    ]);
  });

  it('refuses a rotation signed by a key it does not trust (an attacker adding their own key)', () => {
    const { a, b, c } = keysIn(tmp.dir);
    const file = { ...TrustedKeys.pin(a, '2026-01-01T00:00:00Z'), rotations: [signRotation(b, c, '2026-03-01T00:00:00Z')] };
    expect(() => new TrustedKeys(file, 'test')).toThrow(`test: rotation(s) to ${c.keyId} are signed by keys that are not trusted`);
  });

  it('refuses a rotation whose key was swapped after signing', () => {
    const { a, b, c } = keysIn(tmp.dir);
    const rotation = { ...signRotation(a, b, '2026-02-01T00:00:00Z'), to: c.keyId, publicKeyPem: c.publicKeyPem };
    expect(() => new TrustedKeys({ ...TrustedKeys.pin(a, '2026-01-01T00:00:00Z'), rotations: [rotation] }, 'test')).toThrow(
      `test: the rotation from ${a.keyId} to ${c.keyId} is not validly signed by ${a.keyId}: the file was altered`,
    );
  });

  it('refuses two rotations from one key (a leaked old key naming a successor of its own)', () => {
    const { a, b, c } = keysIn(tmp.dir);
    const file = { ...TrustedKeys.pin(a, '2026-01-01T00:00:00Z'), rotations: [signRotation(a, b, '2026-02-01T00:00:00Z'), signRotation(a, c, '2026-03-01T00:00:00Z')] };
    expect(() => new TrustedKeys(file, 'test')).toThrow(`test: key ${a.keyId} is rotated away from twice: a key hands over to one successor; the file was altered`);
  });

  it('a certificate signed by a key after it was rotated away is not trusted', () => {
    const layout = layoutOf(dataDir);
    const c = custodyOf();
    issue(c, 'b1', 1); // issued 08:00:01 by the first key
    const oldKey = c.key;
    closeAll();
    const next = loadOrCreateSigningKey(join(tmp.dir, 'next.pem'));
    const trust = TrustedKeys.load(layout.trustedKeys);
    writeTrustedKeys(layout.trustedKeys, { ...trust.file, rotations: [signRotation(oldKey, next, '2026-11-30T08:00:05.000Z')] }, 'w');
    const again = custodyOf({});
    expect(again.problems).toEqual([]);
    closeAll();
    // The old key (kept by someone) signs a certificate dated after the rotation.
    const db = new Database(layout.database);
    const store = new CertificateStore(db, oldKey, TrustedKeys.load(layout.trustedKeys));
    store.insert(doc('b1', 9));
    const found = store.verify({ id: 2 }).problems;
    db.close();
    expect(found.map((p) => [p.problem, p.detail])).toEqual([
      ['untrusted-key', `signed by key ${oldKey.keyId} at 2026-11-30T08:00:09.000Z, after it was rotated away at 2026-11-30T08:00:05.000Z: a retired key signs nothing new`],
    ]);
  });

  it('refuses a pinned key whose id is not its hash', () => {
    const { a, b } = keysIn(tmp.dir);
    const file = { ...TrustedKeys.pin(a, '2026-01-01T00:00:00Z') };
    const altered = { ...file, keys: [{ ...file.keys[0]!, publicKeyPem: b.publicKeyPem }] };
    expect(() => new TrustedKeys(altered, 'test')).toThrow(`test: pinned key ${a.keyId} does not hash to its id: the file was altered`);
  });

  it('a daemon whose trust file is root-owned elsewhere: verified against that file', () => {
    const elsewhere = join(tmp.dir, 'etc-trusted-keys.json');
    const c = custodyOf({ trustedKeysFile: elsewhere });
    issue(c, 'b1', 1);
    closeAll();
    expect(existsSync(layoutOf(dataDir).trustedKeys)).toBe(false);
    chmodSync(elsewhere, 0o444);
    // QA's copy pins a different key: the same database fails against it.
    const other = loadOrCreateSigningKey(join(tmp.dir, 'other.pem'));
    const qa = join(tmp.dir, 'qa-trust.json');
    writeTrustedKeys(qa, TrustedKeys.pin(other, '2026-01-01T00:00:00Z'));
    const c2 = custodyOf({ trustedKeysFile: elsewhere });
    expect(c2.problems).toEqual([]);
    expect(new CheckpointLog(layoutOf(dataDir).checkpoints).read(TrustedKeys.load(qa)).problems).toEqual([
      `${layoutOf(dataDir).checkpoints} line 1: checkpoint of bench b1 #1 is signed by key ${c2.key.keyId}, which is not trusted`,
    ]);
    expect(readdirSync(dataDir).sort()).toEqual(['checkpoints.jsonl', 'mpocert.db', 'mpocert.db-shm', 'mpocert.db-wal', 'mpocert.lock', 'signing-key.pem']);
  });
});
