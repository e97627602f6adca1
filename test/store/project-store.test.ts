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
import { withBodyCodec } from '../helpers/stored-body.js';

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

/** As the project routes answer it: the certificate store's verification of that one certificate. */
const verified = (id: number): boolean => certificates.verify({ id }).problems.length === 0;

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
      'cable schedule refused, nothing imported: line 2: link_id "L-\\n1" contains U+000A (LINE FEED) at character 3, which cannot be seen or reads as another character: type the id as it is printed; line 4: polarity "Q" is not A, B or C (TIA-568.3-E trunk types)',
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
    // The version L-002 had is kept (inside its stored body), with who wrote it and who replaced it.
    const replaced = { lengthM: 30, connections: 1, splices: 0, fiberType: 'OM4', fiberCount: 12, polarity: 'B', importedAt: AT, importedBy: 'ada', replacedAt: '2026-12-03T08:00:00.000Z', replacedBy: 'bob' };
    expect(store.plannedLinks('P-1')).toEqual([
      { position: 1, link: link('L-001') },
      { position: 2, link: link('L-002', { lengthM: 30, connections: 1, polarity: 'A' }), history: [replaced] },
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

describe('plan history', () => {
  it('keeps every version an import replaced, oldest first, with who and when, and shows it in progress; the plan a job reads is the current one', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\n`);
    store.importCsv('P-1', `${HEADER}\nL-001,45,2,0,OM4,12,,B\n`, 'bob', '2026-12-03T08:00:00.000Z');
    store.importCsv('P-1', `${HEADER}\nL-001,45,3,1,OM4,12,40GBASE-SR4,A\n`, 'cy', '2026-12-04T08:00:00.000Z');
    const history = [
      { lengthM: 40, connections: 2, splices: 0, fiberType: 'OM4', fiberCount: 12, polarity: 'B', importedAt: AT, importedBy: 'ada', replacedAt: '2026-12-03T08:00:00.000Z', replacedBy: 'bob' },
      { lengthM: 45, connections: 2, splices: 0, fiberType: 'OM4', fiberCount: 12, polarity: 'B', importedAt: '2026-12-03T08:00:00.000Z', importedBy: 'bob', replacedAt: '2026-12-04T08:00:00.000Z', replacedBy: 'cy' },
    ];
    const current = link('L-001', { lengthM: 45, connections: 3, splices: 1, application: '40GBASE-SR4', polarity: 'A' });
    expect(store.plannedLinks('P-1')).toEqual([{ position: 1, link: current, history }]);
    expect(store.plannedLink('P-1', 'L-001')).toEqual(current);
    expect(store.progress('P-1', verified)!.links).toEqual([{ position: 1, plan: current, history, status: 'untested', tests: 0 }]);
    // The same plan again changes nothing and adds no version.
    expect(store.importCsv('P-1', `${HEADER}\nL-001,45,3,1,OM4,12,40GBASE-SR4,A\n`, 'dan', '2026-12-05T08:00:00.000Z')).toEqual({ added: [], updated: [], unchanged: ['L-001'], planned: 1 });
    expect(store.plannedLinks('P-1')[0]!.history).toEqual(history);
  });
});

describe('what a schedule may plan: nothing no job could use', () => {
  const refused = (csv: string): string => {
    try {
      store.importCsv('P-1', csv, 'ada', AT);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('imported');
  };

  it('refuses what the evaluation engine refuses, and more connections or splices than a channel could carry, each with its line', () => {
    create();
    expect(
      refused(
        [
          HEADER,
          'L-003,2000,9999,9999,OM4,12,,B', // the audit's 10,505.95 dB budget
          'L-004,99999.9,2,0,OM4,12,,B', // imported, then failed only at the bench
          'L-005,2000.1,2,0,OM3,12,,B',
          'L-006,100000.5,2,0,OS2,12,,B',
          'L-007,40,9,21,OM4,12,,B',
        ].join('\n'),
      ),
    ).toBe(
      'cable schedule refused, nothing imported: ' +
        [
          'line 2: connections 9999 is more than 8: at 0.75 dB per mated pair (TIA-568.3-E) 8 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
          'line 2: splices 9999 is more than 20: at 0.3 dB per splice (TIA-568.3-E) 20 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
          'line 3: length_m: 99999.9 m is longer than any multimode link (2000 m)',
          'line 4: length_m: 2000.1 m is longer than any multimode link (2000 m)',
          'line 5: length_m: 100000.5 m is longer than any singlemode link (100000 m)',
          'line 6: connections 9 is more than 8: at 0.75 dB per mated pair (TIA-568.3-E) 8 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
          'line 6: splices 21 is more than 20: at 0.3 dB per splice (TIA-568.3-E) 20 already allow 6.0 dB, twice the largest channel loss of any application (IEEE 802.3: 3.0 dB)',
        ].join('; '),
    );
    expect(store.plannedLinks('P-1')).toEqual([]);
    // At the bounds, it imports.
    expect(store.importCsv('P-1', `${HEADER}\nL-003,2000,8,20,OM4,12,,B\nL-006,100000,2,0,OS2,12,,B\n`, 'ada', AT)).toEqual({ added: ['L-003', 'L-006'], updated: [], unchanged: [], planned: 2 });
  });

  it('refuses a link id with a space before or after it, or an invisible or look-alike character, naming the character and its line', () => {
    create();
    expect(
      refused(
        [
          HEADER,
          ' L-001,40,2,0,OM4,12,,B',
          'L-002 ,40,2,0,OM4,12,,B',
          '"L-003\t",40,2,0,OM4,12,,B',
          'L-0\u200B04,40,2,0,OM4,12,,B',
          'L-\u00AD005,40,2,0,OM4,12,,B',
          '\u202EL-006,40,2,0,OM4,12,,B',
          'L-007\u2066,40,2,0,OM4,12,,B',
          'L\u00A0008,40,2,0,OM4,12,,B',
          '\uFEFFL-009,40,2,0,OM4,12,,B',
          'Rack 4 L-010,40,2,0,OM4,12,,B',
        ].join('\n'),
      ),
    ).toBe(
      'cable schedule refused, nothing imported: ' +
        [
          'line 2: link_id " L-001" begins with U+0020 (SPACE): an id has no space before it',
          'line 3: link_id "L-002 " ends with U+0020 (SPACE): an id has no space after it',
          'line 4: link_id "L-003\\t" ends with U+0009 (TAB): an id has no space after it',
          'line 5: link_id "L-0\u200B04" contains U+200B (ZERO WIDTH SPACE) at character 4, which cannot be seen or reads as another character: type the id as it is printed',
          'line 6: link_id "L-\u00AD005" contains U+00AD (SOFT HYPHEN) at character 3, which cannot be seen or reads as another character: type the id as it is printed',
          'line 7: link_id "\u202EL-006" contains U+202E (RIGHT-TO-LEFT OVERRIDE) at character 1, which cannot be seen or reads as another character: type the id as it is printed',
          'line 8: link_id "L-007\u2066" contains U+2066 (LEFT-TO-RIGHT ISOLATE) at character 6, which cannot be seen or reads as another character: type the id as it is printed',
          'line 9: link_id "L\u00A0008" contains U+00A0 (NO-BREAK SPACE) at character 2, which cannot be seen or reads as another character: type the id as it is printed',
          // A BOM at the start of the file is dropped; one at the start of a later row is a character of the id.
          'line 10: link_id "\uFEFFL-009" begins with U+FEFF (ZERO WIDTH NO-BREAK SPACE): an id has no space before it',
        ].join('; '),
    );
    expect(store.plannedLinks('P-1')).toEqual([]);
  });

  it('refuses two link ids that differ only in case, in one file or against the plan', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\n`);
    expect(refused(`${HEADER}\nRack-A,40,2,0,OM4,12,,B\nrack-a,40,2,0,OM4,12,,B\nL-002,40,2,0,OM4,12,,B\n\uFF2C-002,40,2,0,OM4,12,,B\n`)).toBe(
      'cable schedule refused, nothing imported: ' +
        [
          'line 3: link rack-a and link Rack-A on line 2 differ only in case or letter form: they would read as one link; give each link its own id',
          'line 5: link \uFF2C-002 and link L-002 on line 4 differ only in case or letter form: they would read as one link; give each link its own id',
        ].join('; '),
    );
    expect(refused(`${HEADER}\nL-002,40,2,0,OM4,12,,B\nl-001,40,2,0,OM4,12,,B\n`)).toBe(
      "cable schedule refused, nothing imported: line 3: link l-001 and planned link L-001 differ only in case or letter form: they would read as one link; use the plan's spelling (L-001) or another id",
    );
    expect(store.plannedLinks('P-1').map((p) => p.link.linkId)).toEqual(['L-001']);
    expect(store.plannedSpelling('P-1', 'l-001')).toBe('L-001');
    expect(store.plannedSpelling('P-1', 'L-001')).toBeUndefined();
    expect(store.plannedSpelling('P-1', 'L-002')).toBeUndefined();
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

    const p = store.progress('P-1', verified)!;
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
    const failing = store.progress('P-1', (id) => id !== 4 && verified(id))!;
    expect(failing.counts).toEqual({ planned: 7, tested: 6, untested: 1, pass: 2, fail: 2, invalid: 2, unplanned: 2 });
    expect(failing.links[2]).toMatchObject({ status: 'invalid', latest: { certificateId: 4, integrity: 'FAILED' } });

    expect(store.list(verified).map((x) => [x.project.id, x.counts.planned, x.counts.pass])).toEqual([['P-1', 7, 3]]);
    expect(store.progress('P-2', verified)).toBeUndefined();
  });

  it('verifies each certificate it names as it reads them: a FAIL edited into a PASS shows INTEGRITY FAILED and counts invalid', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\nL-002,30,1,0,OM4,12,,B\n`);
    certify('L-001', 'PASS', { id: 'P-1', planned: true }, 1.05); // 1
    const bad = certify('L-002', 'FAIL', { id: 'P-1', planned: true }, -0.055); // 2
    certify('L-009', 'PASS', { id: 'P-1', planned: false }, 0.9); // 3
    // Someone with the database file turns the FAIL into a PASS (the append-only guard dropped first).
    withBodyCodec(db).exec('DROP TRIGGER IF EXISTS certificates_no_update');
    db.prepare(`UPDATE certificates SET verdict = 'PASS', body = body_replace(body, '"verdict":"FAIL"', '"verdict":"PASS"') WHERE id = ?`).run(bad);
    const asked: number[] = [];
    const p = store.progress('P-1', (id) => {
      asked.push(id);
      return verified(id);
    })!;
    expect(asked.sort()).toEqual([1, 2, 3]);
    expect(p.counts).toEqual({ planned: 2, tested: 2, untested: 0, pass: 1, fail: 0, invalid: 1, unplanned: 1 });
    expect(p.links[1]).toEqual({
      position: 2,
      plan: link('L-002', { lengthM: 30, connections: 1 }),
      status: 'invalid',
      tests: 1,
      latest: { certificateId: 2, verdict: 'PASS', issuedAt: '2026-12-02T10:00:02.000Z', benchId: 'bench1', lowestMarginDb: -0.055, integrity: 'FAILED' },
    });
    expect(store.list(verified)[0]!.counts).toMatchObject({ pass: 1, invalid: 1 });
  });

  it('finds a link\'s newest certificate within its project or with no project, never another project\'s', () => {
    create(`${HEADER}\nL-001,40,2,0,OM4,12,,B\n`);
    certify('L-001', 'FAIL', { id: 'P-1', planned: true }); // 1
    expect(store.latestCertificateId('P-1', 'L-001')).toBe(1);
    certify('L-001', 'PASS', { id: 'P-2', planned: true }); // 2: another site's L-001
    expect(store.latestCertificateId('P-1', 'L-001')).toBe(1);
    certify('L-001', 'FAIL', undefined); // 3: certified outside any project: the same link
    expect(store.latestCertificateId('P-1', 'L-001')).toBe(3);
    certify('L-001', 'PASS', { id: 'P-2', planned: false }); // 4
    expect(store.latestCertificateId('P-1', 'L-001')).toBe(3);
    // A project with no certificate of its own still sees the link's certificate of no project.
    expect(store.latestCertificateId('EMPTY', 'L-001')).toBe(3);
    expect(store.latestCertificateId('P-1', 'L-002')).toBeUndefined();
    expect(store.latestCertificateId('P-1', 'l-001')).toBeUndefined();
  });

  it('reads the project\'s certificates through the project index', () => {
    // The project_id column (migration 10), which verification compares with the signed body.
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT id FROM certificates WHERE project_id = ? ORDER BY id`).all('P-1') as { detail: string }[];
    expect(plan.map((r) => r.detail).join('; ')).toContain('certificates_project');
  });
});
