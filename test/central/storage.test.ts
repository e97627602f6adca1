/**
 * The central store's size: a merged 24-fiber, two-wavelength, both-ends certificate takes at most
 * 4,000 bytes in PostgreSQL with everything that serves QA's searches (the table, its TOAST table
 * holding the compressed body, and every index: uuid, (site, bench, sequence), serial, link,
 * project, verdict, issue time, bench, limit set). The certificate is a real one from the simulated
 * bench (test/store/fixtures/mtp24-certificate.json), varied as the SQLite size test varies it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCentral } from '../../src/central/schema.js';
import { canonicalJson } from '../../src/store/canonical-json.js';
import { compressBody } from '../../src/store/compact-body.js';
import { startPostgres, type PrivateCluster } from '../helpers/postgres.js';

let pgc: PrivateCluster | undefined;
let pool: pg.Pool;

beforeAll(async () => {
  pgc = await startPostgres();
  pool = new pg.Pool({ connectionString: await pgc.createDatabase('central'), max: 2 });
  pool.on('error', () => undefined);
  await migrateCentral(pool);
}, 60_000);

afterAll(async () => {
  await pool?.end().catch(() => undefined);
  await pgc?.destroy();
});

describe('central storage', () => {
  it('a merged 24-fiber certificate takes at most 4,000 bytes with its indexes', async () => {
    const real = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'store', 'fixtures', 'mtp24-certificate.json'), 'utf8')) as {
      document: { job: Record<string, unknown>; subject: Record<string, unknown>; bench: Record<string, unknown> } & Record<string, unknown>;
      limitSetId: string;
      limitSetVersion: string;
    };
    const n = 1000;
    const rows: unknown[][] = [];
    let jsonBytes = 0;
    for (let i = 1; i <= n; i++) {
      const issuedAt = new Date(Date.parse('2026-01-01T00:00:00.000Z') + i * 600_000).toISOString();
      const serial = `MTP24-${String(i).padStart(7, '0')}`;
      const jobId = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const verdict = i % 20 === 0 ? 'FAIL' : i % 10 === 3 ? 'MARGINAL' : 'PASS';
      const benchId = `b${(i % 4) + 1}`;
      const d = real.document;
      const body = canonicalJson({ ...d, issuedAt, bench: { ...d.bench, id: benchId }, job: { ...d.job, id: jobId, testedAt: issuedAt }, subject: { ...d.subject, id: serial }, verdict });
      jsonBytes = Buffer.byteLength(body);
      const seq = Math.ceil(i / 4);
      rows.push([jobId.replace('00000000-', `${String(i).padStart(8, '0')}-`), `site-${i % 2}`, benchId, seq, i, jobId, 'assembly', serial, null, null, verdict, real.limitSetId, real.limitSetVersion, issuedAt, randomBytes(32), randomBytes(32), randomBytes(64), randomBytes(32), compressBody(body)]);
    }
    expect(jsonBytes).toBeGreaterThan(38_000);
    for (let i = 0; i < rows.length; i += 200) {
      const batch = rows.slice(i, i + 200);
      const values: unknown[] = [];
      const tuples = batch.map((r, j) => {
        values.push(...r);
        return `(${r.map((_, k) => `$${j * r.length + k + 1}`).join(', ')})`;
      });
      await pool.query(
        `INSERT INTO certificates (uuid, site, bench_id, bench_seq, id_on_bench, job_id, subject_kind, serial, link_id, project_id, verdict, limit_set_id, limit_set_version, issued_at, prev_hash, hash, signature, key_id, body) VALUES ${tuples.join(', ')}`,
        values,
      );
    }
    await pool.query('VACUUM ANALYZE certificates');
    const size = await pool.query<{ total: string; indexes: string; toast: string }>(
      `SELECT pg_total_relation_size('certificates') AS total, pg_indexes_size('certificates') AS indexes,
         pg_total_relation_size(reltoastrelid) AS toast FROM pg_class WHERE relname = 'certificates'`,
    );
    const { total, indexes, toast } = size.rows[0]!;
    const perCertificate = Number(total) / n;
    // Table, TOAST (the compressed body, about 2.4 kB) and indexes together.
    expect(perCertificate, `total ${total}, indexes ${indexes}, toast ${toast}`).toBeLessThanOrEqual(4000);
  }, 120_000);
});
