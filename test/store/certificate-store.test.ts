import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/store/canonical-json.js';
import { CertificateStore, LIST_ITEM_JSON, type NewCertificate } from '../../src/store/certificate-store.js';
import { openDatabase, SCHEMA_VERSION, type Db } from '../../src/store/database.js';
import { JobStore } from '../../src/store/job-store.js';
import { describePublicKey, loadOrCreateSigningKey, sha256Hex, type SigningKey } from '../../src/store/signing-key.js';
import { tempDir } from '../support/daemon-harness.js';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let key: SigningKey;
let store: CertificateStore;
let jobs: JobStore;

const cert = (bench: string, job: string, serial: string, verdict = 'PASS'): NewCertificate => ({
  benchId: bench,
  jobId: job,
  subjectKind: 'assembly',
  serial,
  linkId: null,
  verdict,
  limitSetId: 'mtp-mpo-connector-grades',
  limitSetVersion: '1.0.0',
  issuedAt: '2026-11-24T08:00:00.000Z',
  document: { verdict, fibers: [{ fiber: 1, lossDb: 0.21 }] },
});

/** Tampering goes around the daemon, as an attacker with the file would: drop the guard triggers first. */
function tamper(sql: string, ...params: unknown[]): void {
  db.exec('DROP TRIGGER IF EXISTS certificates_no_update; DROP TRIGGER IF EXISTS certificates_no_delete;');
  db.prepare(sql).run(...params);
}

beforeEach(() => {
  tmp = tempDir('mpocert-store-');
  db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  store = new CertificateStore(db, key);
  jobs = new JobStore(db, store);
});
afterEach(() => {
  db.close();
  tmp.remove();
});

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[{"y":2,"z":1}]},"b":1}');
  });
  it('refuses a non-finite number rather than writing null', () => {
    expect(() => canonicalJson({ loss: Number.NaN })).toThrow('non-finite number NaN cannot be stored in a certificate');
  });
});

describe('database', () => {
  it('runs in WAL mode at the current schema version', () => {
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });
  it('keeps the signing key across restarts and creates it private', () => {
    const again = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
    expect(again.keyId).toBe(key.keyId);
    expect(key.keyId).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('certificate store', () => {
  it('chains each bench separately: the first has no previous, the next names its hash', () => {
    const a1 = store.insert(cert('A', 'j1', 'S1'));
    const b1 = store.insert(cert('B', 'j2', 'S2'));
    const a2 = store.insert(cert('A', 'j3', 'S3'));
    expect(a1.prevHash).toBeNull();
    expect(b1.prevHash).toBeNull();
    expect(a2.prevHash).toBe(a1.hash);
    expect(store.verify()).toEqual({ checked: 3, problems: [] });
  });

  it('is append-only through SQL', () => {
    const c = store.insert(cert('A', 'j1', 'S1'));
    expect(() => db.prepare("UPDATE certificates SET verdict = 'PASS' WHERE id = ?").run(c.id)).toThrow('certificates are append-only');
    expect(() => db.prepare('DELETE FROM certificates WHERE id = ?').run(c.id)).toThrow('certificates are append-only');
  });

  it('catches an edited document: content and signature fail', () => {
    const c = store.insert(cert('A', 'j1', 'S1', 'FAIL'));
    tamper('UPDATE certificates SET body = ? WHERE id = ?', canonicalJson({ verdict: 'PASS', fibers: [{ fiber: 1, lossDb: 0.21 }] }), c.id);
    expect(store.verify(c.id).problems.map((p) => p.problem)).toEqual(['content', 'signature']);
  });

  it('catches an edited verdict column, which the list shows, though the JSON is untouched', () => {
    const c = store.insert(cert('A', 'j1', 'S1', 'FAIL'));
    tamper("UPDATE certificates SET verdict = 'PASS' WHERE id = ?", c.id);
    expect(store.verify().problems).toEqual([
      { certificateId: c.id, problem: 'content', detail: 'content does not match its recorded hash' },
      { certificateId: c.id, problem: 'signature', detail: 'signature does not match the content' },
    ]);
  });

  it('catches a removed certificate by the broken chain of the next one', () => {
    const c1 = store.insert(cert('A', 'j1', 'S1'));
    const c2 = store.insert(cert('A', 'j2', 'S2'));
    const c3 = store.insert(cert('A', 'j3', 'S3'));
    tamper('DELETE FROM certificates WHERE id = ?', c2.id);
    const { checked, problems } = store.verify();
    expect(checked).toBe(2);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ certificateId: c3.id, problem: 'chain' });
    expect(c1.id).toBe(1);
  });

  it("catches a removed newest certificate through its completed job, which the chain cannot show", () => {
    jobs.start({ id: 'j1', benchId: 'A', request: {}, operator: 'op', startedAt: '2026-11-24T08:00:00.000Z' });
    const c = jobs.complete('j1', cert('A', 'j1', 'S1'), '2026-11-24T08:01:00.000Z');
    db.pragma('foreign_keys = OFF');
    tamper('DELETE FROM certificates WHERE id = ?', c.id);
    expect(store.verify()).toEqual({
      checked: 0,
      problems: [{ certificateId: c.id, problem: 'missing', detail: 'job j1 completed with this certificate, which is not in the database' }],
    });
  });

  it('catches a re-signed forgery with a key that is not on record', () => {
    const c = store.insert(cert('A', 'j1', 'S1'));
    const { publicKey } = generateKeyPairSync('ed25519');
    tamper('UPDATE certificates SET key_id = ? WHERE id = ?', describePublicKey(publicKey).keyId, c.id);
    expect(store.verify(c.id).problems.map((p) => p.problem)).toEqual(['unknown-key']);
  });

  it('filters and pages the list, newest first', () => {
    for (let i = 1; i <= 5; i++) store.insert({ ...cert('A', `j${i}`, `S${i}`, i % 2 ? 'PASS' : 'FAIL'), issuedAt: `2026-11-0${i}T00:00:00.000Z` });
    const fails = store.list({ verdict: 'FAIL', limit: 10, offset: 0 });
    expect(fails.total).toBe(2);
    expect(fails.items.map((c) => c.serial)).toEqual(['S4', 'S2']);
    const range = store.list({ issuedFrom: '2026-11-02', issuedTo: '2026-11-04', limit: 1, offset: 1 });
    expect(range.total).toBe(2);
    expect(range.items.map((c) => c.serial)).toEqual(['S2']);
  });

  it('answers a verdict over a date range from the list index alone, items in the documented shape', () => {
    store.insert({ ...cert('A', 'j1', 'S,"1"'), verdict: 'FAIL', issuedAt: '2026-11-02T10:00:00.000Z' });
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT ${LIST_ITEM_JSON} FROM certificates WHERE verdict = ? AND issued_at >= ? AND issued_at < ? ORDER BY issued_at DESC, id DESC LIMIT 50`)
      .all('FAIL', '2026-11-01', '2026-12-01') as { detail: string }[];
    expect(plan.map((p) => p.detail)).toEqual(['SEARCH certificates USING COVERING INDEX certificates_list_verdict (verdict=? AND issued_at>? AND issued_at<?)']);
    const { itemsJson } = store.listJson({ verdict: 'FAIL', issuedFrom: '2026-11-01', issuedTo: '2026-12-01', limit: 50, offset: 0 });
    const [item] = JSON.parse(itemsJson) as Record<string, unknown>[];
    expect(Object.keys(item!)).toEqual(['id', 'uuid', 'benchId', 'subjectKind', 'serial', 'linkId', 'verdict', 'limitSetId', 'limitSetVersion', 'issuedAt']);
    expect(item).toMatchObject({ id: 1, benchId: 'A', subjectKind: 'assembly', serial: 'S,"1"', linkId: null, verdict: 'FAIL', issuedAt: '2026-11-02T10:00:00.000Z' });
  });

  it('counts matches again after an insert, by this store or by another connection', () => {
    const fails = () => store.list({ verdict: 'FAIL', limit: 1, offset: 0 }).total;
    store.insert({ ...cert('A', 'j1', 'S1', 'FAIL') });
    expect(fails()).toBe(1);
    store.insert({ ...cert('A', 'j2', 'S2', 'FAIL') });
    expect(fails()).toBe(2);
    const other = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
    new CertificateStore(other, key).insert({ ...cert('A', 'j3', 'S3', 'FAIL') });
    other.close();
    expect(fails()).toBe(3);
  });

  it('hashes exactly the signed payload', () => {
    const c = store.insert(cert('A', 'j1', 'S1'));
    const row = db.prepare('SELECT hash FROM certificates WHERE id = ?').get(c.id) as { hash: string };
    expect(row.hash).toBe(c.hash);
    expect(c.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('job store', () => {
  it('stores the certificate and completes the job in one transaction', () => {
    jobs.start({ id: 'j1', benchId: 'A', request: {}, operator: 'op', startedAt: '2026-11-24T08:00:00.000Z' });
    const c = jobs.complete('j1', cert('A', 'j1', 'S1'), '2026-11-24T08:01:00.000Z');
    expect(jobs.get('j1')).toMatchObject({ state: 'completed', certificateId: c.id });
  });

  it('stores nothing for a job that is no longer running', () => {
    jobs.start({ id: 'j1', benchId: 'A', request: {}, operator: 'op', startedAt: '2026-11-24T08:00:00.000Z' });
    jobs.abort('j1', 'instrument timeout', '2026-11-24T08:00:30.000Z');
    expect(() => jobs.complete('j1', cert('A', 'j1', 'S1'), '2026-11-24T08:01:00.000Z')).toThrow('job j1 is not running; its certificate was not stored');
    expect(store.list({ limit: 10, offset: 0 }).total).toBe(0);
    expect(jobs.get('j1')).toMatchObject({ state: 'aborted', reason: 'instrument timeout', certificateId: null });
  });

  it('marks jobs a dead process left running as interrupted', () => {
    jobs.start({ id: 'j1', benchId: 'A', request: {}, operator: 'op', startedAt: '2026-11-24T08:00:00.000Z' });
    expect(jobs.markInterrupted('2026-11-24T09:00:00.000Z')).toBe(1);
    expect(jobs.get('j1')).toMatchObject({ state: 'interrupted', endedAt: '2026-11-24T09:00:00.000Z' });
  });
});
