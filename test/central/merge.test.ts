import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mergeInbox, type CentralTrust } from '../../src/central/merge.js';
import { Replicator } from '../../src/central/replicator.js';
import { migrateCentral } from '../../src/central/schema.js';
import { canonicalJson } from '../../src/store/canonical-json.js';
import { CertificateStore, shippedPayload, type ShippedCertificate } from '../../src/store/certificate-store.js';
import { compressBody } from '../../src/store/compact-body.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { Outbox } from '../../src/store/outbox.js';
import { loadOrCreateSigningKey, sha256Hex, signBytes, type SigningKey } from '../../src/store/signing-key.js';
import { signRotation, TrustedKeys, type TrustedKeysFile } from '../../src/store/trusted-keys.js';
import { root, sleep, tempDir } from '../helpers/daemon-harness.js';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

/**
 * The merge against what an attacker with INSERT on the inbox (or one stolen bench key) can ship:
 * another bench's key adding to a chain, a chain going back in time, a retired key, malformed
 * rows, a key QA has not pinned yet, and a row planted under a genuine certificate's uuid before
 * the bench ships it. Real PostgreSQL, real signed certificates.
 */
const TEMPLATE = JSON.parse(readFileSync(join(root, 'test/store/fixtures/mtp24-certificate.json'), 'utf8')) as { document: Record<string, unknown>; limitSetId: string; limitSetVersion: string };

let cluster: PrivateCluster | undefined;
let pool: pg.Pool;
let tmp: ReturnType<typeof tempDir>;
const keys: Record<'x' | 'y' | 'y2', SigningKey> = {} as never;
let db: Db;
let storeY: CertificateStore;
let serial = 0;

function trustFile(pinned: SigningKey[], rotations: TrustedKeysFile['rotations'] = []): TrustedKeys {
  return new TrustedKeys({ format: 'mpocert-trusted-keys', version: 1, keys: pinned.map((k) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem, pinnedAt: '2026-01-01T00:00:00.000Z' })), rotations }, 'test');
}

/** QA pinned both daemons' keys for site "plant" (one site, two daemons, one keys file). */
let plant: TrustedKeys;
const trust: CentralTrust = { forSite: (site) => (site === 'plant' ? plant : undefined) };

/** A genuine certificate of bench Y (a real document, renamed), as forShipping gives it. */
function genuine(issuedAt: string): ShippedCertificate & { storedBody: Buffer } {
  const s = `Y-${++serial}`;
  const jobId = `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`;
  const d = TEMPLATE.document as { bench: Record<string, unknown>; job: Record<string, unknown>; subject: Record<string, unknown> };
  const stored = storeY.insert({
    benchId: 'Y', jobId, subjectKind: 'assembly', serial: s, linkId: null, verdict: 'PASS', limitSetId: TEMPLATE.limitSetId, limitSetVersion: TEMPLATE.limitSetVersion, issuedAt,
    document: { ...TEMPLATE.document, issuedAt, verdict: 'PASS', bench: { ...d.bench, id: 'Y' }, job: { ...d.job, id: jobId, testedAt: issuedAt }, subject: { ...d.subject, id: s } },
  });
  return storeY.forShipping(stored.uuid)!;
}

/** The same content re-signed by `key` for Y's chain: what a stolen key could make. */
function resigned(base: ShippedCertificate, key: SigningKey, over: Partial<ShippedCertificate>): ShippedCertificate {
  const c = { ...base, ...over, keyId: key.keyId };
  const body = JSON.parse(c.body) as Record<string, unknown>;
  const next = { ...c, body: canonicalJson({ ...body, issuedAt: c.issuedAt, subject: { ...(body.subject as object), id: c.serial } }) };
  const payload = shippedPayload(next);
  return { ...next, hash: sha256Hex(payload), signature: signBytes(key, payload) };
}

async function ship(c: ShippedCertificate, site = 'plant', seq = c.benchSequence): Promise<void> {
  const { body, ...fields } = c as ShippedCertificate & { storedBody?: Buffer };
  delete (fields as { storedBody?: Buffer }).storedBody;
  await pool.query(`INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields, body) VALUES ('certificate', $1, $2, $3, $4, $5, $6)`, [c.uuid, site, c.benchId, seq, JSON.stringify(fields), compressBody(body)]);
}

async function problems(): Promise<string[]> {
  return (await pool.query<{ problem: string }>('SELECT problem FROM quarantine ORDER BY id')).rows.map((r) => r.problem);
}

beforeAll(async () => {
  tmp = tempDir('mpocert-merge-');
  cluster = await startPostgres();
  pool = new pg.Pool({ connectionString: await cluster.createDatabase('central'), max: 3 });
  pool.on('error', () => undefined);
  await migrateCentral(pool);
  for (const k of ['x', 'y', 'y2'] as const) keys[k] = loadOrCreateSigningKey(join(tmp.dir, `${k}.pem`));
  plant = trustFile([keys.x, keys.y]);
  db = openDatabase(join(tmp.dir, 'y.db'));
  storeY = new CertificateStore(db, keys.y, plant);
}, 60_000);

afterAll(async () => {
  db?.close();
  await pool?.end();
  await cluster?.destroy();
  tmp?.remove();
});

beforeEach(async () => {
  await pool.query('DELETE FROM quarantine');
});

describe('merge: who may add to a bench chain', () => {
  it("refuses a certificate another bench's key signed into this bench's chain, and still merges the genuine one", async () => {
    const y1 = genuine('2026-11-30T08:00:00.000Z');
    await ship(y1);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1, quarantined: 0 });
    const y2 = genuine('2026-11-30T09:00:00.000Z');
    // Daemon X's key (pinned for the same site) signs a PASS as Y's sequence 2, linked to Y's head.
    const forged = resigned(y2, keys.x, { uuid: '00000000-0000-4000-8000-0000000000f1', serial: 'Y-FAILED-UNIT' });
    await ship(forged);
    await ship(y2);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1, quarantined: 1, waiting: 0 });
    expect(await problems()).toEqual([`signed by key ${keys.x.keyId}, but this bench's chain is signed by ${keys.y.keyId} and QA pinned no rotation from it to that key`]);
    const serials = (await pool.query<{ serial: string }>(`SELECT serial FROM certificates WHERE bench_id = 'Y' ORDER BY bench_seq`)).rows.map((r) => r.serial);
    expect(serials).toEqual([y1.serial, y2.serial]);
  });

  it('refuses a chain going back in time, and a retired key signing after its successor', async () => {
    const y3 = genuine('2026-11-30T10:00:00.000Z');
    // Y's own key, backdated before Y's sequence 2 (09:00).
    await ship(resigned(y3, keys.y, { issuedAt: '2026-11-30T08:30:00.000Z' }));
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, quarantined: 1 });
    expect(await problems()).toEqual(["issued at 2026-11-30T08:30:00.000Z, before the bench's previous certificate (2026-11-30T09:00:00.000Z): a chain never goes back in time"]);
    await ship(y3);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1 });
    // Y rotates to y2 at 11:00; QA pins the rotation. The new key's certificate merges.
    plant = trustFile([keys.x, keys.y], [signRotation(keys.y, keys.y2, '2026-11-30T11:00:00.000Z')]);
    const y4 = resigned(genuine('2026-11-30T12:00:00.000Z'), keys.y2, {});
    await ship(y4);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 1, quarantined: 0 });
    // The retired key, backdated to just before its rotation (so its own date passes), after the
    // new key has signed at 12:00: refused.
    const y5 = genuine('2026-11-30T13:00:00.000Z');
    await ship(resigned({ ...y5, prevHash: y4.hash }, keys.y, { issuedAt: '2026-11-30T10:59:00.000Z' }));
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, quarantined: 1 });
    expect((await problems()).at(-1)).toBe("issued at 2026-11-30T10:59:00.000Z, before the bench's previous certificate (2026-11-30T12:00:00.000Z): a chain never goes back in time");
    // Dated after the rotation, it is a retired key signing after it handed over.
    await pool.query(`DELETE FROM inbox`);
    await ship(resigned({ ...y5, prevHash: y4.hash }, keys.y, { issuedAt: '2026-11-30T12:30:00.000Z' }));
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, quarantined: 1 });
    expect((await problems()).at(-1)).toBe(`signed by key ${keys.y.keyId} at 2026-11-30T12:30:00.000Z, after it was rotated away at 2026-11-30T11:00:00.000Z`);
    await pool.query(`DELETE FROM inbox`);
  });
});

describe('merge: rows that are not shipments', () => {
  it('quarantines malformed rows one by one with the reason and merges the rest in the same run', async () => {
    await pool.query(`INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields) VALUES ('job-aborted', 'j-1', 'plant', 'Y', NULL, '{}'), ('certificate', 'not-a-uuid', 'plant', 'Z', 1, '{}'), ('certificate', '00000000-0000-4000-8000-0000000000f2', 'plant', 'W', 1, 'null')`);
    // Y's next genuine certificate (by its current key, linked to its merged head: sequence 5).
    const head = (await pool.query<{ h: string }>(`SELECT encode(hash, 'hex') AS h FROM bench_heads WHERE bench_id = 'Y'`)).rows[0]!.h;
    await ship(resigned({ ...genuine('2026-11-30T14:00:00.000Z'), prevHash: head }, keys.y2, {}), 'plant', 5);
    const r = await mergeInbox(pool, trust);
    expect(r).toMatchObject({ merged: 1, quarantined: 2, other: 1, waiting: 0 });
    expect((await problems()).sort()).toEqual([
      'malformed certificate shipment: its fields are not an object',
      'malformed certificate shipment: ref "not-a-uuid" is not a certificate uuid',
      'malformed job-aborted: null value in column "job_id" of relation "job_aborts" violates not-null constraint',
    ]);
  });

  it('holds a certificate signed by a key QA has not pinned (waiting, not quarantined) and merges it once QA pins it', async () => {
    const other = genuine('2026-11-30T15:00:00.000Z');
    await ship({ ...other, benchId: 'Y' }, 'new-plant', 1);
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, quarantined: 0, waiting: 1 });
    const before = trust.forSite;
    // A key pinned for another site (or another key of this one) vouches for nothing here.
    trust.forSite = (site) => (site === 'new-plant' ? trustFile([keys.x]) : before(site));
    expect(await mergeInbox(pool, trust)).toMatchObject({ merged: 0, quarantined: 0, waiting: 1 });
    trust.forSite = (site) => (site === 'new-plant' ? trustFile([keys.y]) : before(site));
    expect(await mergeInbox(pool, trust)).toMatchObject({ waiting: 0 });
    trust.forSite = before;
  });
});

describe('replicator: a row planted under a genuine uuid', () => {
  it('keeps the certificate queued and says so until its own bytes are there', async () => {
    const benchDb = openDatabase(join(tmp.dir, 'bench.db'));
    try {
      const bench = new CertificateStore(benchDb, keys.x, plant);
      const outbox = new Outbox(benchDb);
      const d = TEMPLATE.document as { bench: Record<string, unknown>; job: Record<string, unknown>; subject: Record<string, unknown> };
      const jobId = '00000000-0000-4000-8000-00000000aaaa';
      const issuedAt = '2026-11-30T16:00:00.000Z';
      const c = bench.insert({
        benchId: 'X', jobId, subjectKind: 'assembly', serial: 'X-1', linkId: null, verdict: 'FAIL', limitSetId: TEMPLATE.limitSetId, limitSetVersion: TEMPLATE.limitSetVersion, issuedAt,
        document: { ...TEMPLATE.document, issuedAt, verdict: 'FAIL', bench: { ...d.bench, id: 'X' }, job: { ...d.job, id: jobId, testedAt: issuedAt }, subject: { ...d.subject, id: 'X-1' } },
      });
      outbox.enqueue('certificate', 'X', c.uuid, issuedAt);
      // Someone who read the uuid from the bench plants a row under it first.
      await pool.query(`INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields) VALUES ('certificate', $1, 'plant', 'X', 999999, '{"hash":"00"}')`, [c.uuid]);
      const r = new Replicator({ site: 'plant', pool, db: benchDb, outbox, certificates: bench, intervalMs: 30, maxBackoffMs: 60 });
      r.start();
      try {
        for (let i = 0; i < 100 && r.status().lastError === null; i++) await sleep(20);
        expect(r.status().lastError).toBe(`certificate ${c.uuid} stays queued: the central inbox already holds another row under its uuid (hash 00); 1 certificate(s) held back, tell QA`);
        // The store's signing key, queued ahead of it in the same batch, landed and left; the certificate stays.
        expect(outbox.pending(10).map((p) => [p.kind, p.ref])).toEqual([['certificate', c.uuid]]);
        await pool.query(`DELETE FROM inbox WHERE ref = $1 AND bench_seq = 999999`, [c.uuid]);
        for (let i = 0; i < 100 && outbox.lag().count > 0; i++) await sleep(20);
        expect(outbox.lag().count).toBe(0);
        const landed = (await pool.query<{ hash: string }>(`SELECT fields->>'hash' AS hash FROM inbox WHERE ref = $1`, [c.uuid])).rows;
        expect(landed).toEqual([{ hash: c.hash }]);
      } finally {
        await r.stop();
      }
    } finally {
      benchDb.close();
    }
  });
});
