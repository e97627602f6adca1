import pg from 'pg';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Replicator } from '../../src/central/replicator.js';
import { migrateCentral } from '../../src/central/schema.js';
import { CertificateStore } from '../../src/store/certificate-store.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { Outbox } from '../../src/store/outbox.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { sleep, tempDir } from '../helpers/daemon-harness.js';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

/**
 * The replicator against a database the hub has not prepared yet: it says what to do, keeps the
 * backlog, and ships it once the schema exists (the README's "from one bench to central QA" path
 * starts the bench first).
 */
let cluster: PrivateCluster | undefined;
let pool: pg.Pool;
let db: Db;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  tmp = tempDir('mpocert-replicator-');
  cluster = await startPostgres();
  pool = new pg.Pool({ connectionString: await cluster.createDatabase('fresh'), max: 2 });
  pool.on('error', () => undefined);
  db = openDatabase(join(tmp.dir, 'bench.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'key.pem'));
  // A new store queues its signing key for the central store.
  new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-11-30T00:00:00.000Z'), 'test'));
}, 60_000);

afterAll(async () => {
  db?.close();
  await pool?.end();
  await cluster?.destroy();
  tmp?.remove();
});

describe('Replicator', () => {
  it('says the hub has not created the schema yet, keeps the backlog, and ships it once the schema exists', async () => {
    const outbox = new Outbox(db);
    const r = new Replicator({ site: 'plant-a', pool, db, outbox, certificates: { forShipping: () => undefined }, intervalMs: 50, maxBackoffMs: 100 });
    r.start();
    try {
      for (let i = 0; i < 100 && r.status().state !== 'unreachable'; i++) await sleep(20);
      expect(r.status()).toMatchObject({
        state: 'unreachable',
        backlog: 1,
        shipped: 0,
        lastError: 'the central database has no mpocert schema yet: start `mpocert hub` against it once (it creates the schema); certificates wait here meanwhile',
      });
      await migrateCentral(pool);
      for (let i = 0; i < 100 && r.status().backlog > 0; i++) await sleep(20);
      expect(r.status()).toMatchObject({ backlog: 0, shipped: 1, lastError: null });
      const shipped = (await pool.query<{ kind: string; site: string }>('SELECT kind, site FROM inbox')).rows;
      expect(shipped).toEqual([{ kind: 'signing-key', site: 'plant-a' }]);
    } finally {
      await r.stop();
    }
  });
});
