import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CertificateStore, LIST_ITEM_JSON, type NewCertificate } from '../../src/store/certificate-store.js';
import { COLUMN_SQL, LIST_ITEM_WITH_PROJECT_JSON } from '../../src/store/certificate-sql.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { tempDir } from '../helpers/daemon-harness.js';

/**
 * The list's project filter (QA searches an installer's project) on a real SQLite file: what it
 * matches, the project in the items when asked, and the query plans, so the filter uses the
 * project index (migration 10: the project_id column, compared with the body by verification) and
 * the verdict-and-dates list stays answered from its covering index alone.
 */
let tmp: ReturnType<typeof tempDir>;
let db: Db;
let store: CertificateStore;

/** A certificate whose document says its own fields, and its project when it has one. */
function cert(job: string, serial: string, verdict: string, issuedAt: string, project?: string, bench = 'A'): NewCertificate {
  return {
    benchId: bench,
    jobId: job,
    subjectKind: 'assembly',
    serial,
    linkId: null,
    verdict,
    limitSetId: 'mtp-mpo-connector-grades',
    limitSetVersion: '1.1.0',
    issuedAt,
    document: {
      issuedAt,
      job: { id: job },
      bench: { id: bench },
      subject: { kind: 'assembly', id: serial },
      limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' },
      verdict,
      ...(project !== undefined ? { project: { id: project, planned: true } } : {}),
    },
  };
}

const plan = (sql: string, ...params: unknown[]): string[] => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail);
const ORDER = `ORDER BY ${COLUMN_SQL.issuedAt} DESC, id DESC LIMIT 50`;

beforeEach(() => {
  tmp = tempDir('mpocert-store-project-');
  db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  store = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-11-24T07:00:00.000Z'), 'test trust'));
  store.insert(cert('j1', 'S1', 'PASS', '2026-11-02T10:00:00.000Z', 'SITE-7'));
  store.insert(cert('j2', 'S2', 'FAIL', '2026-11-03T10:00:00.000Z', 'SITE-7'));
  store.insert(cert('j3', 'S3', 'FAIL', '2026-11-04T10:00:00.000Z'));
  store.insert(cert('j4', 'S4', 'PASS', '2026-11-05T10:00:00.000Z', 'SITE-9', 'B'));
  store.insert(cert('j5', 'S5', 'PASS', '2026-11-01T10:00:00.000Z', 'SITE-7'));
});
afterEach(() => {
  db.close();
  tmp.remove();
});

describe('the project filter', () => {
  it("lists a project's certificates newest first, counted, paged", () => {
    const all = store.list({ projectId: 'SITE-7', limit: 10, offset: 0 });
    expect(all.total).toBe(3);
    expect(all.items.map((i) => [i.id, i.serial])).toEqual([
      [2, 'S2'],
      [1, 'S1'],
      [5, 'S5'],
    ]);
    expect(store.list({ projectId: 'SITE-7', limit: 1, offset: 1 })).toMatchObject({ total: 3, items: [{ id: 1 }] });
    expect(store.list({ projectId: 'SITE-7', verdict: 'FAIL', limit: 10, offset: 0 }).items.map((i) => i.id)).toEqual([2]);
    expect(store.list({ projectId: 'SITE-9', benchId: 'A', limit: 10, offset: 0 }).total).toBe(0);
    expect(store.list({ projectId: 'SITE-9', benchId: 'B', limit: 10, offset: 0 }).items.map((i) => i.id)).toEqual([4]);
    // A project id is matched exactly, as every filter is.
    expect(store.list({ projectId: 'SITE', limit: 10, offset: 0 }).total).toBe(0);
  });

  it('says each item\'s project when asked (null for none), and keeps the list\'s shape otherwise', () => {
    const { itemsJson } = store.listJson({ verdict: 'FAIL', withProject: true, limit: 10, offset: 0 });
    expect(JSON.parse(itemsJson)).toEqual([
      { id: 3, uuid: expect.any(String), benchId: 'A', subjectKind: 'assembly', serial: 'S3', linkId: null, verdict: 'FAIL', limitSetId: 'mtp-mpo-connector-grades', limitSetVersion: '1.1.0', issuedAt: '2026-11-04T10:00:00.000Z', projectId: null },
      { id: 2, uuid: expect.any(String), benchId: 'A', subjectKind: 'assembly', serial: 'S2', linkId: null, verdict: 'FAIL', limitSetId: 'mtp-mpo-connector-grades', limitSetVersion: '1.1.0', issuedAt: '2026-11-03T10:00:00.000Z', projectId: 'SITE-7' },
    ]);
    const plain = JSON.parse(store.listJson({ verdict: 'FAIL', limit: 10, offset: 0 }).itemsJson) as Record<string, unknown>[];
    expect(Object.keys(plain[0]!)).toEqual(['id', 'uuid', 'benchId', 'subjectKind', 'serial', 'linkId', 'verdict', 'limitSetId', 'limitSetVersion', 'issuedAt']);
  });

  it('matches through the project index (migration 10) and counts from it alone', () => {
    const where = COLUMN_SQL.where.projectId.replace('@projectId', '?');
    expect(plan(`SELECT count(*) FROM certificates WHERE ${where}`, 'SITE-7')).toEqual(['SEARCH certificates USING COVERING INDEX certificates_project (project_id=?)']);
    expect(plan(`SELECT ${LIST_ITEM_JSON} FROM certificates WHERE ${where} ${ORDER}`, 'SITE-7')).toEqual([
      'SEARCH certificates USING INDEX certificates_project (project_id=?)',
      'USE TEMP B-TREE FOR ORDER BY',
    ]);
  });

  it("leaves GET /certificates' verdict-and-dates list on its covering index; the QA page's items with projects too", () => {
    const w = COLUMN_SQL.where;
    const where = `WHERE ${[w.verdict, w.issuedFrom, w.issuedTo].join(' AND ').replace(/@\w+/g, '?')}`;
    expect(plan(`SELECT ${LIST_ITEM_JSON} FROM certificates ${where} ${ORDER}`, 'FAIL', '2026-11-01', '2026-12-01')).toEqual([
      'SEARCH certificates USING COVERING INDEX certificates_list (verdict=? AND issued_at>? AND issued_at<?)',
    ]);
    // The project is in that index too (one byte for a certificate without): no row is read.
    expect(plan(`SELECT ${LIST_ITEM_WITH_PROJECT_JSON} FROM certificates ${where} ${ORDER}`, 'FAIL', '2026-11-01', '2026-12-01')).toEqual([
      'SEARCH certificates USING COVERING INDEX certificates_list (verdict=? AND issued_at>? AND issued_at<?)',
    ]);
  });
});
