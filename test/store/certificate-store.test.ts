import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/store/canonical-json.js';
import { CertificateStore, LIST_ITEM_JSON, type NewCertificate } from '../../src/store/certificate-store.js';
import { COLUMN_SQL } from '../../src/store/certificate-sql.js';
import { compressBody } from '../../src/store/compact-body.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { openDatabase, SCHEMA_VERSION, type Db } from '../../src/store/database.js';
import { JobStore } from '../../src/store/job-store.js';
import { describePublicKey, loadOrCreateSigningKey, sha256Hex, type SigningKey } from '../../src/store/signing-key.js';
import { tempDir } from '../helpers/daemon-harness.js';

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let key: SigningKey;
let store: CertificateStore;
let trust: TrustedKeys;
let jobs: JobStore;

/** A certificate whose document says its own fields, as the daemon's do (lists read them from it). */
const cert = (bench: string, job: string, serial: string, verdict = 'PASS', issuedAt = '2026-11-24T08:00:00.000Z'): NewCertificate => ({
  benchId: bench,
  jobId: job,
  subjectKind: 'assembly',
  serial,
  linkId: null,
  verdict,
  limitSetId: 'mtp-mpo-connector-grades',
  limitSetVersion: '1.1.0',
  issuedAt,
  document: document(bench, job, serial, verdict, issuedAt),
});

function document(bench: string, job: string, serial: string, verdict: string, issuedAt = '2026-11-24T08:00:00.000Z'): Record<string, unknown> {
  return { issuedAt, job: { id: job }, bench: { id: bench }, subject: { kind: 'assembly', id: serial }, limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' }, verdict, fibers: [{ fiber: 1, lossDb: 0.21 }] };
}

/** Tampering goes around the daemon, as an attacker with the file would: drop the guard triggers first. */
function tamper(sql: string, ...params: unknown[]): void {
  db.exec('DROP TRIGGER IF EXISTS certificates_no_update; DROP TRIGGER IF EXISTS certificates_no_delete;');
  db.prepare(sql).run(...params);
}

beforeEach(() => {
  tmp = tempDir('mpocert-store-');
  db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  trust = new TrustedKeys(TrustedKeys.pin(key, '2026-11-24T07:00:00.000Z'), 'test trust');
  store = new CertificateStore(db, key, trust);
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
  it('keeps a "__proto__" key as an ordinary, signed key', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"verdict":"PASS"}}'))).toBe('{"__proto__":{"verdict":"PASS"},"b":1}');
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
    tamper('UPDATE certificates SET body = ? WHERE id = ?', compressBody(canonicalJson(document('A', 'j1', 'S1', 'PASS'))), c.id);
    expect(store.verify({ id: c.id }).problems.map((p) => p.problem)).toEqual(['content', 'content', 'signature']);
    expect(store.verify({ id: c.id }).problems[0]!.detail).toBe('columns disagree with the signed body: verdict (column "FAIL", body "PASS")');
  });

  it('an edited verdict column is caught by verification and never shown as trusted: a certificate is read from its signed body', () => {
    const c = store.insert(cert('A', 'j1', 'S1', 'FAIL'));
    tamper("UPDATE certificates SET verdict = 'PASS' WHERE id = ?", c.id);
    // The list reads the column (the body is compressed: SQL cannot read it); verification flags
    // the row (custody marks it "integrity": "FAILED" in every list: test/store/compact-bodies.test.ts).
    expect(store.list({ verdict: 'PASS', limit: 10, offset: 0 }).items.map((i) => [i.id, i.verdict])).toEqual([[c.id, 'PASS']]);
    expect(store.get(c.id)!.verdict).toBe('FAIL');
    const served = store.forServing(c.id)!;
    expect(served.integrity.valid).toBe(false);
    expect(JSON.parse(served.json!.toString('utf8'))).toMatchObject({ verdict: 'FAIL', certificate: { verdict: 'FAIL' }, integrity: { valid: false } });
    expect(store.verify().problems).toEqual([
      { certificateId: c.id, bench: 'A', problem: 'content', detail: 'columns disagree with the signed body: verdict (column "PASS", body "FAIL")' },
      { certificateId: c.id, bench: 'A', problem: 'content', detail: 'content does not match its recorded hash' },
      { certificateId: c.id, bench: 'A', problem: 'signature', detail: 'signature does not match the content' },
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
    expect(store.verify()).toEqual({ checked: 0, problems: [] });
    expect(store.orphanedJobs()).toEqual([{ certificateId: c.id, problem: 'missing', detail: 'job j1 completed with this certificate, which is not in the database' }]);
  });

  it('catches a re-signed forgery with a key that is not trusted', () => {
    const c = store.insert(cert('A', 'j1', 'S1'));
    const { publicKey } = generateKeyPairSync('ed25519');
    tamper('UPDATE certificates SET key_id = ? WHERE id = ?', describePublicKey(publicKey).keyId, c.id);
    expect(store.verify({ id: c.id }).problems.map((p) => p.problem)).toEqual(['untrusted-key']);
  });

  it('filters and pages the list, newest first', () => {
    for (let i = 1; i <= 5; i++) store.insert(cert('A', `j${i}`, `S${i}`, i % 2 ? 'PASS' : 'FAIL', `2026-11-0${i}T00:00:00.000Z`));
    const fails = store.list({ verdict: 'FAIL', limit: 10, offset: 0 });
    expect(fails.total).toBe(2);
    expect(fails.items.map((c) => c.serial)).toEqual(['S4', 'S2']);
    const range = store.list({ issuedFrom: '2026-11-02', issuedTo: '2026-11-04', limit: 1, offset: 1 });
    expect(range.total).toBe(2);
    expect(range.items.map((c) => c.serial)).toEqual(['S2']);
  });

  it('answers a verdict over a date range from the list index alone, items in the documented shape', () => {
    store.insert(cert('A', 'j1', 'S,"1"', 'FAIL', '2026-11-02T10:00:00.000Z'));
    const plan = db
      .prepare(`EXPLAIN QUERY PLAN SELECT ${LIST_ITEM_JSON} FROM certificates WHERE verdict = ? AND issued_at >= ? AND issued_at < ? ORDER BY ${COLUMN_SQL.issuedAt} DESC, id DESC LIMIT 50`)
      .all('FAIL', '2026-11-01', '2026-12-01') as { detail: string }[];
    expect(plan.map((p) => p.detail)).toEqual(['SEARCH certificates USING COVERING INDEX certificates_list (verdict=? AND issued_at>? AND issued_at<?)']);
    const { itemsJson } = store.listJson({ verdict: 'FAIL', issuedFrom: '2026-11-01', issuedTo: '2026-12-01', limit: 50, offset: 0 });
    const [item] = JSON.parse(itemsJson) as Record<string, unknown>[];
    expect(Object.keys(item!)).toEqual(['id', 'uuid', 'benchId', 'subjectKind', 'serial', 'linkId', 'verdict', 'limitSetId', 'limitSetVersion', 'issuedAt']);
    expect(item).toMatchObject({ id: 1, benchId: 'A', subjectKind: 'assembly', serial: 'S,"1"', linkId: null, verdict: 'FAIL', issuedAt: '2026-11-02T10:00:00.000Z' });
  });

  it('counts matches again after an insert, by this store or by another connection', () => {
    const fails = () => store.list({ verdict: 'FAIL', limit: 1, offset: 0 }).total;
    store.insert(cert('A', 'j1', 'S1', 'FAIL'));
    expect(fails()).toBe(1);
    store.insert(cert('A', 'j2', 'S2', 'FAIL'));
    expect(fails()).toBe(2);
    const other = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
    new CertificateStore(other, key, trust).insert(cert('A', 'j3', 'S3', 'FAIL'));
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
