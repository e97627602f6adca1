/**
 * The job judge's rules for installed links and installer projects, on a real SQLite store with
 * signed certificates and the shipped limit library: which earlier certificate a job compares with
 * ("a link keeps its product", "a link keeps its description"), what a plan may and may not change
 * of a product's description, and which link ids a job refuses. Everything here is decided before
 * anything is measured (parseSubject, checkRequest), so no instrument is involved.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { DaemonConfig } from '../../src/config/schema.js';
import { InputError, JobRefusedError } from '../../src/errors.js';
import { loadLimitLibrary } from '../../src/evaluation/index.js';
import { createJobJudge, type JobJudge, type JobRequestBody } from '../../src/jobs/judge-job.js';
import type { BenchRuntime } from '../../src/pipeline/bench-runtime.js';
import { CertificateStore } from '../../src/store/certificate-store.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { knownApplications, ProjectStore } from '../../src/store/project-store.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { testCordsFor } from '../../fixtures/harness/products.js';
import { tempDir } from '../helpers/daemon-harness.js';

const HEADER = 'link_id,length_m,connections,splices,fiber_type,fiber_count,application,polarity';
const AT = '2026-12-01T08:00:00.000Z';

/** A 12-fiber OM4 installed link product; the variants below differ in one field each. */
const LINK12 = {
  kind: 'link',
  fiberCount: 12,
  fiberType: 'OM4',
  lengthM: 10,
  connections: 1,
  splices: 0,
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  requiredQuantities: ['insertionLoss'],
  limitSet: { id: 'mpocert-default', version: '1.1.0' },
};
const PRODUCTS = {
  LINK12,
  LINK12_2CONN: { ...LINK12, connections: 2 },
  LINK12_B: { ...LINK12, polarity: { declared: 'B' } },
  LINK12_SR4: { ...LINK12, application: '40GBASE-SR4' },
};

let tmp: ReturnType<typeof tempDir>;
let db: Db;
let certificates: CertificateStore;
let projects: ProjectStore;
let config: DaemonConfig;
let judge: JobJudge;
/** The bench as checkRequest sees it: 12 fibers, a meter that sees where light arrives (polarity). */
let bench: BenchRuntime;

beforeEach(() => {
  tmp = tempDir('mpocert-judge-project-');
  config = resolveConfig(
    {
      dataDir: join(tmp.dir, 'data'),
      http: { host: '127.0.0.1', port: 0, token: 'unit-test-token-0123456789' },
      products: PRODUCTS,
      benches: [
        {
          id: 'b1',
          wavelengthsNm: [850, 1300],
          method: { kind: 'switch-and-multiport-meter', switch: 'switch', multiPortMeter: 'mpm' },
          instruments: [
            { id: 'switch', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } },
            { id: 'mpm', dialect: 'santec-mpm-210h', transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } },
          ],
          testCords: testCordsFor('b1'),
          operator: { kind: 'manual' },
        },
      ],
    },
    join(tmp.dir, 'config.json'),
  );
  db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  certificates = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, '2026-12-01T07:00:00.000Z'), 'unit test'));
  const library = loadLimitLibrary();
  projects = new ProjectStore(db, knownApplications(library));
  judge = createJobJudge(config, certificates, library, projects);
  bench = { config: config.benches[0]!, resolvesPositions: true } as unknown as BenchRuntime;
  certNo = 0;
});
afterEach(() => {
  db.close();
  tmp.remove();
});

let certNo = 0;
/** A signed link certificate as a job would have stored it: the subject (product and description) and its project. */
function certify(body: JobRequestBody, verdict: string): number {
  const subject = judge.parseSubject(body);
  certNo++;
  const issuedAt = `2026-12-02T10:00:${String(certNo).padStart(2, '0')}.000Z`;
  const jobId = `job-${certNo}`;
  return certificates.insert({
    benchId: 'b1',
    jobId,
    subjectKind: 'link',
    serial: null,
    linkId: subject.id,
    verdict,
    limitSetId: 'mpocert-default',
    limitSetVersion: '1.1.0',
    issuedAt,
    document: {
      issuedAt,
      job: { id: jobId },
      bench: { id: 'b1' },
      subject: { kind: 'link', id: subject.id, product: subject.product, description: subject.template },
      limitSet: { id: 'mpocert-default', version: '1.1.0' },
      verdict,
      ...(subject.project ? { project: subject.project } : {}),
      evaluation: { summary: { lowestMarginDb: verdict === 'FAIL' ? -0.1 : 0.5 } },
    },
  }).id;
}

/**
 * What the job is refused with before anything is measured, or 'accepted' when every rule about
 * the subject let it through. The job runner adds the bench's verified test cords to the subject
 * before it asks (job-runner.ts withTestCords); without them the setup check that follows the
 * subject rules refuses with NO_LAUNCH_CORD, which therefore means the subject was accepted.
 */
function outcome(body: JobRequestBody): string {
  try {
    judge.checkRequest(judge.parseSubject(body), bench, '2026-12-03T08:00:00.000Z');
    return 'accepted';
  } catch (err) {
    if (err instanceof JobRefusedError && err.code === 'NO_LAUNCH_CORD') return 'accepted';
    if (err instanceof JobRefusedError) return `${err.code}: ${err.message.replace(/ \[rule [^\]]*\]/, '')}`;
    if (err instanceof InputError) return `INPUT: ${err.message}`;
    throw err;
  }
}

const job = (linkId: string, product: string, project?: string): JobRequestBody => ({ bench: 'b1', linkId, product, ...(project ? { project } : {}) });

describe('which earlier certificate a link job compares with', () => {
  it('naming a project does not escape "a link keeps its product": a link certified outside any project is the same link', () => {
    // The audit's reproduction: L-005 FAILs as LINK12 with no project; an empty project is created;
    // the same link named with it and a looser product must be refused, not certified PASS (unplanned).
    const failed = certify(job('L-005', 'LINK12'), 'FAIL');
    projects.create({ id: 'EMPTY', title: 'empty' }, 'ada', AT);
    expect(outcome(job('L-005', 'LINK12_2CONN', 'EMPTY'))).toBe(
      `PRODUCT_CHANGED: L-005 was certified as product LINK12 (certificate ${failed}); it cannot be certified as LINK12_2CONN: a link keeps its product`,
    );
    // Retested as it was: allowed, with the project or without.
    expect(outcome(job('L-005', 'LINK12', 'EMPTY'))).toBe('accepted');
    expect(outcome(job('L-005', 'LINK12'))).toBe('accepted');
  });

  it('without a project compares with the newest certificate of the link id anywhere (as before projects existed)', () => {
    projects.create({ id: 'EMPTY', title: 'empty' }, 'ada', AT);
    const inProject = certify(job('L-006', 'LINK12', 'EMPTY'), 'FAIL');
    expect(outcome(job('L-006', 'LINK12_2CONN'))).toBe(
      `PRODUCT_CHANGED: L-006 was certified as product LINK12 (certificate ${inProject}); it cannot be certified as LINK12_2CONN: a link keeps its product`,
    );
  });

  it("with a project, another project's certificates of the same link id do not count (another site has its own L-001)", () => {
    projects.create({ id: 'SITE-A', title: 'a' }, 'ada', AT);
    projects.create({ id: 'SITE-B', title: 'b' }, 'ada', AT);
    certify(job('L-001', 'LINK12', 'SITE-A'), 'FAIL');
    expect(outcome(job('L-001', 'LINK12_2CONN', 'SITE-B'))).toBe('accepted');
  });
});

describe('a link keeps its description', () => {
  it('refuses a plan that re-describes a link certified before (the audit: 1 connection FAIL, then planned with 2), naming the fields and the certificate', () => {
    const failed = certify(job('L-002', 'LINK12'), 'FAIL');
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-002,10,2,0,OM4,12,,B\n`);
    expect(outcome(job('L-002', 'LINK12', 'P1'))).toBe(
      `SUBJECT_CHANGED: L-002 was certified described with connections 1, polarity (none) (certificate ${failed}); this job describes it with connections 2, polarity B: a link keeps its description (length, connections, splices, fiber type and count, polarity, application), whether it comes from the product or a project's plan; certify the link as it was described, or under a new id if it was rebuilt`,
    );
  });

  it('refuses a changed length or application, and accepts a plan that describes the link as it was certified (then with or without the project)', () => {
    certify(job('L-003', 'LINK12_B'), 'FAIL');
    certify(job('L-004', 'LINK12_B'), 'FAIL');
    const noApplication = certify(job('L-005', 'LINK12_B'), 'FAIL');
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-003,10,1,0,OM4,12,,B\nL-004,12.5,1,0,OM4,12,,B\nL-005,10,1,0,OM4,12,40GBASE-SR4,B\n`);
    expect(outcome(job('L-003', 'LINK12_B', 'P1'))).toBe('accepted');
    expect(outcome(job('L-004', 'LINK12_B', 'P1'))).toMatch(/^SUBJECT_CHANGED: L-004 was certified described with lengthM 10 \(certificate 2\); this job describes it with lengthM 12\.5: a link keeps its description/);
    expect(outcome(job('L-005', 'LINK12_B', 'P1'))).toMatch(
      new RegExp(`^SUBJECT_CHANGED: L-005 was certified described with application \\(none\\) \\(certificate ${noApplication}\\); this job describes it with application 40GBASE-SR4: a link keeps its description`),
    );
    // Certified against the plan, the same link is then retested as it is, with the project or without.
    certify(job('L-003', 'LINK12_B', 'P1'), 'PASS');
    expect(outcome(job('L-003', 'LINK12_B'))).toBe('accepted');
    expect(outcome(job('L-003', 'LINK12_B', 'P1'))).toBe('accepted');
  });
});

describe('dropping the project does not escape the plan either', () => {
  it('refuses a job without a project for a link that failed against its plan, when the product describes it more loosely', () => {
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-030,5,1,0,OM4,12,,B\n`);
    const failed = certify(job('L-030', 'LINK12_B', 'P1'), 'FAIL');
    expect(outcome(job('L-030', 'LINK12_B'))).toMatch(
      new RegExp(`^SUBJECT_CHANGED: L-030 was certified described with lengthM 5 \\(certificate ${failed}\\); this job describes it with lengthM 10: a link keeps its description`),
    );
  });
});

describe('what a plan may not change of the product', () => {
  it('keeps the product\'s application when the plan leaves it empty, and refuses a plan naming another one', () => {
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-010,40,2,0,OM4,12,,B\nL-011,40,2,0,OM4,12,10GBASE-SR,B\nL-012,40,2,0,OM4,12,40GBASE-SR4,B\n`);
    // Before: the plan's empty application dropped the product's channel limit (1.5 dB on OM4).
    expect(judge.parseSubject(job('L-010', 'LINK12_SR4', 'P1')).template).toMatchObject({ lengthM: 40, connections: 2, application: '40GBASE-SR4' });
    expect(outcome(job('L-011', 'LINK12_SR4', 'P1'))).toBe(
      'PLAN_PRODUCT_MISMATCH: link L-011 of project P1 names application 10GBASE-SR, and product LINK12_SR4 is for 40GBASE-SR4 links: a plan may name an application only for a product that names none or the same one; certify it with a product for 10GBASE-SR',
    );
    expect(judge.parseSubject(job('L-012', 'LINK12_SR4', 'P1')).template).toMatchObject({ application: '40GBASE-SR4' });
    // A product that names none takes the plan's.
    expect(judge.parseSubject(job('L-011', 'LINK12', 'P1')).template).toMatchObject({ application: '10GBASE-SR' });
    expect(judge.parseSubject(job('L-010', 'LINK12', 'P1')).template).not.toHaveProperty('application');
  });

  it("refuses a plan whose fiber type is not the product's, even of the same class (OM3 is judged against other channel limits than OM4)", () => {
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-020,40,2,0,OM3,12,40GBASE-SR4,B\n`);
    expect(outcome(job('L-020', 'LINK12', 'P1'))).toBe(
      'PLAN_PRODUCT_MISMATCH: link L-020 of project P1 is OM3 in the plan, and product LINK12 is for OM4 links: the fiber type sets the attenuation and the channel limit, so certify it with a OM3 link product',
    );
  });
});

describe('link ids a job refuses', () => {
  it('refuses an id with a space around it or an invisible character, as a cable schedule does, and a planned id spelt in another case', () => {
    projects.create({ id: 'P1', title: 'p1' }, 'ada', AT, `${HEADER}\nL-001,10,1,0,OM4,12,,B\n`);
    expect(outcome(job(' L-001', 'LINK12_B', 'P1'))).toBe('INPUT: linkId " L-001" begins with U+0020 (SPACE): an id has no space before it');
    expect(outcome(job('L-001 ', 'LINK12_B'))).toBe('INPUT: linkId "L-001 " ends with U+0020 (SPACE): an id has no space after it');
    expect(outcome(job('L-0\u200B01', 'LINK12_B', 'P1'))).toBe(
      'INPUT: linkId "L-0\u200B01" contains U+200B (ZERO WIDTH SPACE) at character 4, which cannot be seen or reads as another character: type the id as it is printed',
    );
    expect(outcome(job('l-001', 'LINK12_B', 'P1'))).toBe("INPUT: link l-001 is not in project P1's plan; planned link L-001 differs from it only in case: certify it as L-001");
    expect(outcome(job('L-001', 'LINK12_B', 'P1'))).toBe('accepted');
    expect(outcome({ bench: 'b1', serial: 'SN-1\u00AD' })).toMatch(/^INPUT: serial "SN-1\u00AD" contains U\+00AD \(SOFT HYPHEN\) at character 5/);
  });
});
