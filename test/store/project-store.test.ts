import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadLimitLibrary } from '../../src/evaluation/index.js';
import { CertificateStore } from '../../src/store/certificate-store.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { JobStore } from '../../src/store/job-store.js';
import { knownApplications, parseCsv, ProjectStore, type PlannedLink } from '../../src/store/project-store.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { tempDir } from '../helpers/daemon-harness.js';

/** The real SQLite file, the real certificate store (signed certificates), the shipped limit library. */
let tmp: ReturnType<typeof tempDir>;
let db: Db;
let certificates: CertificateStore;
let jobs: JobStore;
let store: ProjectStore;
const applications = knownApplications(loadLimitLibrary());
const AT = '2026-12-01T08:00:00.000Z';

const HEADER = 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity';

beforeEach(() => {
  tmp = tempDir('mpocert-projects-');
  db = openDatabase(join(tmp.dir, 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'signing-key.pem'));
  certificates = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-12-01T07:00:00.000Z'), 'test trust'));
  jobs = new JobStore(db, certificates);
  store = new ProjectStore(db, applications);
  jobNo = 0;
});
afterEach(() => {
  db.close();
  tmp.remove();
});

let jobNo = 0;
/** A signed link certificate of a project, as the job runner writes one (only what progress reads). */
function certify(linkId: string, verdict: string, project: { id: string; planned: boolean } | undefined, lowestMarginDb: number | null = 0.5): number {
  jobNo++;
  const issuedAt = `2026-12-02T10:00:${String(jobNo).padStart(2, '0')}.000Z`;
  const jobId = `job-${jobNo}`;
  return certificates.insert({
    benchId: 'bench1',
    jobId,
    subjectKind: 'link',
    serial: null,
    linkId,
    verdict,
    limitSetId: 'mpocert-default',
    limitSetVersion: '1.1.0',
    issuedAt,
    document: {
      issuedAt,
      job: { id: jobId },
      bench: { id: 'bench1' },
      subject: { kind: 'link', id: linkId, product: 'LINK-MTP12-OM4' },
      limitSet: { id: 'mpocert-default', version: '1.1.0' },
      verdict,
      ...(project ? { project } : {}),
      evaluation: { summary: { lowestMarginDb } },
    },
  }).id;
}

const link = (linkId: string, fields: Partial<PlannedLink> = {}): PlannedLink => ({
  linkId,
  lengthM: 40,
  connections: 2,
  splices: 0,
  fiberType: 'OM4',
  fiberCount: 12,
  polarity: 'B',
  ...fields,
});

function create(csv?: string): void {
  store.create({ id: 'P-1', title: 'Hall 3 fit-out', site: 'Frankfurt DC2' }, 'ada', AT, csv);
}

describe('reading a cable schedule (RFC 4180)', () => {
  it('reads quoted fields, doubled quotes, CRLF and a BOM, a header in any order and spelling, and skips blank lines', () => {
    const csv =
      '\uFEFFPolarity,Link ID,Length,Connections,Splices,Fibre Type,Fiber Count,Application\r\n' +
      'b,"Row 4, rack ""12""",85,2,0,om4,12,40GBASE-SR4\r\n' +
      '\r\n' +
      'A,L-002,12.5,4,1,OS2,24,\r\n';
    create(csv);
    expect(store.plannedLinks('P-1')).toEqual([
      { position: 1, link: link('Row 4, rack "12"', { lengthM: 85, application: '40GBASE-SR4' }) },
      { position: 2, link: link('L-002', { lengthM: 12.5, connections: 4, splices: 1, fiberType: 'OS2', fiberCount: 24, polarity: 'A' }) },
    ]);
  });

  it('counts lines as the file has them: a quoted field over two lines moves the lines after it', () => {
    expect(parseCsv('a,b\n"x\ny",z\nlast,row\n')).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x\ny', 'z'] },
      { line: 4, fields: ['last', 'row'] },
    ]);
  });

  it('names the line of every bad value, and imports nothing', () => {
    create();
    const csv = [
      HEADER,
      'L-001,40,2,0,OM4,12,40GBASE-SR4,B',
      'L-002,85 m,2,0,OM4,12,,B',
      'L-003,0,-1,1.5,OM6,10,,D',
      'L-004,30,2,0,OM4,12,100GBASE-XX,B',
      'L-005,30,2,0,OM4,16,200GBASE-SR4,C',
      ',30,2,0,OM4,12,,B',
      'L-001,40,2,0,OM4,12,,B',
      'L-007,30,2,0,OM4',
    ].join('\n');
    expect(() => store.importCsv('P-1', csv, 'ada', AT)).toThrow(
      'cable schedule refused, nothing imported: ' +
        [
          'line 3: length_m "85 m" is not a length in metres greater than 0 (e.g. 42.5)',
          'line 4: length_m "0" is not a length in metres greater than 0 (e.g. 42.5)',
          'line 4: connections "-1" is not a whole number of 0 or more',
          'line 4: splices "1.5" is not a whole number of 0 or more',
          'line 4: fiber_type "OM6" is not one of OM1, OM2, OM3, OM4, OM5, OS1, OS1a, OS2',
          'line 4: fiber_count "10" is not one of 8, 12, 16, 24',
          'line 4: polarity "D" is not A, B or C (TIA-568.3-E trunk types)',
          `line 5: application "100GBASE-XX" is not in the limit library (${[...applications.keys()].join(', ')}); leave it empty to judge the link against its component budget`,
          'line 6: 200GBASE-SR4 runs on 8 or 12 fibers, not 16',
          'line 6: 200GBASE-SR4 is parallel optics, which a type C (pair-flipped) link cannot carry',
          'line 7: link_id is empty',
          'line 8: link L-001 is already on line 2; each link appears once',
          'line 9: 5 fields, the header has 8',
        ].join('; '),
    );
    expect(store.plannedLinks('P-1')).toEqual([]);
  });

  it('refuses a broken file by its structure, with the line', () => {
    create();
    const refused = (csv: string) => {
      try {
        store.importCsv('P-1', csv, 'ada', AT);
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('imported');
    };
    expect(refused('')).toBe('line 1: the cable schedule is empty; it needs a header row (link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity) and a row per link');
    expect(refused(`${HEADER}\n`)).toBe('line 1: the cable schedule has a header and no links');
    expect(refused(`${HEADER}\nL-1,40,2,0,OM4,12,,B\n"L-2,40,2,0,OM4,12,,B\n`)).toBe('line 3: a quoted field is never closed (a " is missing)');
    expect(refused(`${HEADER}\nL-"1",40,2,0,OM4,12,,B\n`)).toBe('line 2: a quote inside an unquoted field; quote the whole field and double the quote ("")');
    expect(refused(`${HEADER}\n"L-1"x,40,2,0,OM4,12,,B\n`)).toBe('line 2: text after a closing quote; a quoted field ends at its quote (write a quote inside it as "")');
    expect(refused('link_id;length_m;connections\nL-1;40;2\n')).toBe(
      'line 1: the header is separated by semicolons; export the schedule as comma-separated CSV (columns: link_id, length_m, connections, splices, fiber_type, fiber_count, application, polarity)',
    );
    expect(refused('\n\nlink_id,length_m,conections,splices,fiber_type,fiber_count,polarity,polarity\nL-1,40,2,0,OM4,12,B,B\n')).toBe(
      'line 3: unknown column "conections"; column polarity appears twice; missing columns connections, application (the header names link_id, length_m, connections, splices, fiber_type, fiber_count, application, polarity; application may be empty on a row)',
    );
    expect(refused(`${HEADER},\nL-1,40,2,0,OM4,12,,B,\n`)).toBe(
      'line 1: column 9 has no name (a trailing comma?) (the header names link_id, length_m, connections, splices, fiber_type, fiber_count, application, polarity; application may be empty on a row)',
    );
    // A control character in a link id (here a line break inside quotes) is refused at the line the record starts on.
    expect(refused(`${HEADER}\n"L-\n1",40,2,0,OM4,12,,B\nL-2,40,2,0,OM4,12,,Q\n`)).toBe(
      'cable schedule refused, nothing imported: line 2: link_id "L-\\n1" contains a control character; line 4: polarity "Q" is not A, B or C (TIA-568.3-E trunk types)',
    );
    expect(store.plannedLinks('P-1')).toEqual([]);
  });

  it('creates a project and its schedule together: a refused schedule leaves no project', () => {
    expect(() => create(`${HEADER}\nL-1,40,2,0,OM4,12,,B\nL-2,x,2,0,OM4,12,,B\n`)).toThrow('cable schedule refused, nothing imported: line 3: length_m "x"');
    expect(store.get('P-1')).toBeUndefined();
    expect(() => store.create({ id: 'bad id', title: 'x' }, 'ada', AT)).toThrow('id "bad id": a project id is letters, digits and _ . - (at most 64, starting with a letter or digit)');
    create(`${HEADER}\nL-1,40,2,0,OM4,12,,B\n`);
    expect(() => create()).toThrow('project P-1 already exists; import more links into it instead');
    expect(store.get('P-1')).toEqual({ id: 'P-1', title: 'Hall 3 fit-out', site: 'Frankfurt DC2', createdAt: AT, createdBy: 'ada' });
  });
});

describe('importing again', () => {
  it('adds new links after the planned ones, leaves equal ones, updates untested ones, and refuses changing a tested one (and then imports nothing)', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\nL-002,30,1,0,OM4,12,,B\nL-003,30,1,0,OM4,12,,B\n`);
    certify('L-001', 'PASS', { id: 'P-1', planned: true });

    const refused = `${HEADER}\nL-004,20,2,0,OM4,12,,B\nL-001,45,2,0,OM4,12,,B\nL-002,30,1,0,OM4,12,,A\n`;
    expect(() => store.importCsv('P-1', refused, 'bob', '2026-12-03T08:00:00.000Z')).toThrow(
      'cable schedule refused, nothing imported: line 3: link L-001 was tested (certificate 1); its plan cannot change (lengthM 40 -> 45): a certificate was judged against it',
    );
    expect(store.plannedLinks('P-1').map((p) => p.link.linkId)).toEqual(['L-001', 'L-002', 'L-003']);

    const result = store.importCsv('P-1', `${HEADER}\nL-004,20,2,0,OM4,12,,B\nL-001,40,2,0,OM4,12,,B\nL-002,30,1,0,OM4,12,,A\n`, 'bob', '2026-12-03T08:00:00.000Z');
    expect(result).toEqual({ added: ['L-004'], updated: ['L-002'], unchanged: ['L-001'], planned: 4 });
    expect(store.plannedLinks('P-1')).toEqual([
      { position: 1, link: link('L-001') },
      { position: 2, link: link('L-002', { lengthM: 30, connections: 1, polarity: 'A' }) },
      { position: 3, link: link('L-003', { lengthM: 30, connections: 1 }) },
      { position: 4, link: link('L-004', { lengthM: 20 }) },
    ]);
    const rows = db.prepare('SELECT link_id, imported_at, imported_by FROM planned_links ORDER BY position').all();
    expect(rows).toEqual([
      { link_id: 'L-001', imported_at: AT, imported_by: 'ada' },
      { link_id: 'L-002', imported_at: '2026-12-03T08:00:00.000Z', imported_by: 'bob' },
      { link_id: 'L-003', imported_at: AT, imported_by: 'ada' },
      { link_id: 'L-004', imported_at: '2026-12-03T08:00:00.000Z', imported_by: 'bob' },
    ]);
  });

  it('refuses changing a link whose job is running now, and not one tested only while it was unplanned', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\n`);
    jobs.start({ id: 'running-1', benchId: 'bench1', request: { subject: { kind: 'link', id: 'L-001', project: { id: 'P-1', planned: true } } }, operator: 'ada', startedAt: AT });
    expect(() => store.importCsv('P-1', `${HEADER}\nL-001,41,2,0,OM4,12,,B\n`, 'ada', AT)).toThrow(
      'cable schedule refused, nothing imported: line 2: link L-001 is being tested now; its plan cannot change (lengthM 40 -> 41): a certificate was judged against it',
    );
    certify('L-009', 'PASS', { id: 'P-1', planned: false });
    expect(store.importCsv('P-1', `${HEADER}\nL-009,10,2,0,OM4,12,,B\n`, 'ada', AT)).toEqual({ added: ['L-009'], updated: [], unchanged: [], planned: 2 });
    expect(store.importCsv('P-1', `${HEADER}\nL-009,11,2,0,OM4,12,,B\n`, 'ada', AT)).toEqual({ added: [], updated: ['L-009'], unchanged: [], planned: 2 });
  });
});

describe('progress', () => {
  it('counts each planned link by its latest certificate judged against the plan, and lists unplanned results apart', () => {
    create(
      `${HEADER}\n` +
        ['L-001', 'L-002', 'L-003', 'L-004', 'L-005', 'L-006', 'L-007'].map((id) => `${id},40,2,0,OM4,12,,B`).join('\n') +
        '\n',
    );
    certify('L-001', 'PASS', { id: 'P-1', planned: true }, 1.05); // 1
    certify('L-002', 'FAIL', { id: 'P-1', planned: true }, -0.055); // 2
    certify('L-003', 'FAIL', { id: 'P-1', planned: true }, -0.055); // 3
    certify('L-003', 'PASS', { id: 'P-1', planned: true }, 0.395); // 4: the retest passes
    certify('L-004', 'PASS', { id: 'P-1', planned: true }, 0.6); // 5
    certify('L-004', 'FAIL', { id: 'P-1', planned: true }, -0.2); // 6: passed, then failed: fail
    certify('L-005', 'MARGINAL', { id: 'P-1', planned: true }, 0.03); // 7
    certify('L-006', 'INVALID', { id: 'P-1', planned: true }, null); // 8
    certify('L-009', 'PASS', { id: 'P-1', planned: false }, 0.9); // 9: not in the plan
    certify('L-009', 'FAIL', { id: 'P-1', planned: false }, -0.1); // 10
    certify('L-007', 'PASS', { id: 'P-1', planned: false }, 0.7); // 11: planned link, but tested as unplanned
    certify('L-001', 'FAIL', { id: 'P-2', planned: true }, -1); // 12: another project's L-001
    certify('L-002', 'PASS', undefined, 1); // 13: no project at all

    const p = store.progress('P-1')!;
    expect(p.counts).toEqual({ planned: 7, tested: 6, untested: 1, pass: 3, fail: 2, invalid: 1, unplanned: 2 });
    expect(p.links.map((l) => [l.plan.linkId, l.status, l.tests, l.latest?.certificateId, l.latest?.verdict, l.latest?.lowestMarginDb])).toEqual([
      ['L-001', 'pass', 1, 1, 'PASS', 1.05],
      ['L-002', 'fail', 1, 2, 'FAIL', -0.055],
      ['L-003', 'pass', 2, 4, 'PASS', 0.395],
      ['L-004', 'fail', 2, 6, 'FAIL', -0.2],
      ['L-005', 'pass', 1, 7, 'MARGINAL', 0.03],
      ['L-006', 'invalid', 1, 8, 'INVALID', null],
      ['L-007', 'untested', 0, undefined, undefined, undefined],
    ]);
    expect(p.links[2]!.latest).toEqual({ certificateId: 4, verdict: 'PASS', issuedAt: '2026-12-02T10:00:04.000Z', benchId: 'bench1', lowestMarginDb: 0.395 });
    expect(p.unplanned).toEqual([
      { linkId: 'L-009', tests: 2, latest: { certificateId: 10, verdict: 'FAIL', issuedAt: '2026-12-02T10:00:10.000Z', benchId: 'bench1', lowestMarginDb: -0.1 } },
      { linkId: 'L-007', tests: 1, latest: { certificateId: 11, verdict: 'PASS', issuedAt: '2026-12-02T10:00:11.000Z', benchId: 'bench1', lowestMarginDb: 0.7 } },
    ]);

    // A certificate known to fail verification proves nothing: its link counts as invalid, flagged.
    const failing = store.progress('P-1', new Set([4]))!;
    expect(failing.counts).toEqual({ planned: 7, tested: 6, untested: 1, pass: 2, fail: 2, invalid: 2, unplanned: 2 });
    expect(failing.links[2]).toMatchObject({ status: 'invalid', latest: { certificateId: 4, integrity: 'FAILED' } });

    expect(store.list().map((x) => [x.project.id, x.counts.planned, x.counts.pass])).toEqual([['P-1', 7, 3]]);
    expect(store.progress('P-2')).toBeUndefined();
  });

  it('finds a link\'s newest certificate within its project only', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\n`);
    certify('L-001', 'FAIL', { id: 'P-1', planned: true });
    certify('L-001', 'PASS', { id: 'P-2', planned: true });
    certify('L-001', 'PASS', undefined);
    expect(store.latestCertificate('P-1', 'L-001')).toMatchObject({ id: 1, document: { verdict: 'FAIL', project: { id: 'P-1' } } });
    expect(store.latestCertificate('P-1', 'L-002')).toBeUndefined();
  });

  it('reads the project\'s certificates through the project index', () => {
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM certificates WHERE CASE WHEN json_valid(body) THEN json_extract(body, '$.project.id') END = ? ORDER BY id`).all('P-1') as { detail: string }[];
    expect(plan.map((r) => r.detail).join('; ')).toContain('certificates_body_project');
  });
});
