import { describe, expect, it } from 'vitest';
import { JobRefusedError } from '../../src/errors.js';
import { assertSetupAccepted, checkSetup, evaluateRecord, type SetupPlan, type TestCord } from '../../src/evaluation/index.js';
import { assembly, library, TESTED_AT, verifiedCord } from '../helpers/records.js';

const GENDER_RULE = ' [rule gender: TIA-604-5 / IEC 61754-7: a pinned connector mates an unpinned one only]';
const WEAR_RULE = ' [rule cord-wear: connector grade: rated mating cycles (MTP 500+, generic MPO 200)]';
const maleEnds = { A: { family: 'MTP' as const, gender: 'male' as const }, B: { family: 'MTP' as const, gender: 'male' as const } };
/** An unpinned MTP launch cord verified the day before the test at matingCount 100 (records.ts). */
const cord = (over: Partial<TestCord> = {}): TestCord => verifiedCord({ family: 'MTP', gender: 'female' }, [850, 1300], over);
const verification = (matingCount: number): NonNullable<TestCord['verification']> => ({
  id: 'V-1',
  at: '2026-11-23T09:00:00.000Z',
  matingCount,
  against: 'RP-1',
  wavelengthsNm: [850, 1300],
  maxLossDb: 0.05,
  minLossDb: 0.03,
});
const plan = (over: Partial<SetupPlan> = {}): SetupPlan => ({
  kind: 'assembly',
  limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' },
  fiberType: 'OM4',
  fiberCount: 12,
  wavelengthsNm: [850, 1300],
  testedAt: TESTED_AT,
  connectors: maleEnds,
  setup: { launchCord: cord() },
  ...over,
});
/**
 * A quality plan that re-verifies cords weekly whatever their matings: under the default one (100
 * matings) a cord's verification expires long before 80 % of its rated cycles, so wear is tested here.
 */
const WEEKLY_ONLY = { maxAgeDays: 7, maxMatings: 1000 };

describe('gender: refuse before measuring', () => {
  it('accepts male to female', () => {
    const check = checkSetup(plan(), library);
    expect(check).toMatchObject({ accepted: true, refusals: [], warnings: [] });
    expect(check.verifications).toEqual([
      { role: 'launchCord', cordId: 'LC-1', verificationId: 'V-1', at: '2026-11-23T09:00:00.000Z', against: 'RP-1', maxLossDb: 0.05, limitDb: 0.1, matingsSince: 10 },
    ]);
  });

  it('refuses female-female and male-male, naming both connectors', () => {
    const ff = checkSetup(plan({ connectors: { A: { family: 'MTP', gender: 'female' }, B: maleEnds.B } }), library);
    expect(ff.accepted).toBe(false);
    expect(ff.refusals).toEqual([
      {
        code: 'GENDER_MISMATCH',
        subject: 'launch cord LC-1 / end A of the device',
        message: `female-female mating refused: launch cord LC-1 (MTP female) with end A of the device (MTP female): no guide pins to align the ferrules (high loss)${GENDER_RULE}`,
      },
    ]);
    // Both ends are certified, so the cord meets both; an MPO cord is also below the MTP product's grade.
    const mm = checkSetup(plan({ setup: { launchCord: cord({ connector: { family: 'MPO', gender: 'male' } }) } }), library);
    expect(mm.refusals.map((r) => [r.code, r.subject])).toEqual([
      ['GENDER_MISMATCH', 'launch cord LC-1 / end A of the device'],
      ['GENDER_MISMATCH', 'launch cord LC-1 / end B of the device'],
      ['CORD_BELOW_PRODUCT_GRADE', 'LC-1'],
      ['CORD_BELOW_PRODUCT_GRADE', 'LC-1'],
    ]);
    expect(mm.refusals[0]?.message).toBe(`male-male mating refused: launch cord LC-1 (MPO male) with end A of the device (MTP male): pins against pins damage both connectors${GENDER_RULE}`);
  });

  it('checks the bench port against the launch cord and, on a link, the receive cord against the far end of each end measured', () => {
    const check = checkSetup(
      plan({
        kind: 'link',
        endsMeasured: ['A', 'B'],
        connectors: { A: maleEnds.A, B: { family: 'MTP', gender: 'female' } },
        setup: {
          benchPort: { id: 'P1', connector: { family: 'MTP', gender: 'female' }, matingCount: 3 },
          launchCord: cord({ benchConnector: { family: 'MTP', gender: 'female' } }),
          receiveCord: cord({ id: 'RC-1' }),
        },
      }),
      library,
    );
    expect(check.refusals.map((r) => [r.code, r.subject])).toEqual([
      ['GENDER_MISMATCH', 'bench port P1 / launch cord LC-1 (bench end)'],
      ['GENDER_MISMATCH', 'receive cord RC-1 / end B of the device'],
      ['GENDER_MISMATCH', 'launch cord LC-1 / end B of the device'],
    ]);
  });

  it('assertSetupAccepted throws JobRefusedError for the pipeline', () => {
    const refused = checkSetup(plan({ setup: { launchCord: cord({ connector: { family: 'MTP', gender: 'male' } }) } }), library);
    expect(() => assertSetupAccepted(refused)).toThrow(JobRefusedError);
    expect(() => assertSetupAccepted(checkSetup(plan(), library))).not.toThrow();
  });
});

describe('test-cord wear against the rated cycles of its grade, counted from its verification', () => {
  /** The launch cord `since` matings after its verification (taken at matingCount 100). */
  const wearOf = (since: number, over: Partial<SetupPlan> = {}, cordOver: Partial<TestCord> = {}) =>
    checkSetup(plan({ setup: { launchCord: cord({ matingCount: 100 + since, ...cordOver }) }, ...over }), library, WEEKLY_ONLY);

  it('MTP: rated 500; warns from 400 (80%), refuses past 500', () => {
    expect(wearOf(399)).toMatchObject({ accepted: true, warnings: [] });
    expect(wearOf(400).warnings).toEqual([{ code: 'CORD_WEAR_WARNING', subject: 'LC-1', message: 'launch cord LC-1 has 400 of 500 rated matings (80%)' }]);
    expect(wearOf(500)).toMatchObject({ accepted: true });
    const worn = wearOf(501);
    expect(worn.accepted).toBe(false);
    expect(worn.refusals).toEqual([
      { code: 'CORD_WORN_OUT', subject: 'LC-1', message: `launch cord LC-1 has 501 matings since it was verified, past its rated 500: replace it or verify it again${WEAR_RULE}` },
    ]);
    expect(worn.wear).toEqual([{ role: 'launchCord', id: 'LC-1', matingsSinceVerification: 501, ratedMatingCycles: 500 }]);
  });

  it('MPO: rated 200; warns from 160, refuses at 201', () => {
    const mpo = { connectors: { A: { family: 'MPO' as const, gender: 'male' as const }, B: { family: 'MPO' as const, gender: 'male' as const } } };
    const mpoCord = { connector: { family: 'MPO' as const, gender: 'female' as const } };
    expect(wearOf(159, mpo, mpoCord).warnings).toEqual([]);
    expect(wearOf(160, mpo, mpoCord).warnings).toEqual([{ code: 'CORD_WEAR_WARNING', subject: 'LC-1', message: 'launch cord LC-1 has 160 of 200 rated matings (80%)' }]);
    expect(wearOf(201, mpo, mpoCord).refusals.map((r) => r.code)).toEqual(['CORD_WORN_OUT']);
  });

  it('counts from verification.matingCount, a replaced cord starts again, and the default plan re-verifies every 100 matings', () => {
    const reverified = plan({ setup: { launchCord: cord({ matingCount: 700, verification: verification(450) }) } });
    expect(checkSetup(reverified, library, WEEKLY_ONLY)).toMatchObject({ accepted: true, wear: [{ matingsSinceVerification: 250 }] });
    expect(checkSetup(reverified, library).refusals).toEqual([
      {
        code: 'CORD_VERIFICATION_EXPIRED',
        subject: 'LC-1',
        message:
          'launch cord LC-1 has been mated 250 times since verification V-1, more than the 100 allowed: verify it again [rule cord-verified: TIA-568.3-E / TIA-526-14 reference-grade test cords: verified against a reference-grade connector, at most 0.10 dB multimode, 0.20 dB single-mode]',
      },
    ]);
    expect(checkSetup(plan({ setup: { launchCord: cord({ id: 'LC-2', matingCount: 0, verification: verification(0) }) } }), library).accepted).toBe(true);
    expect(() => checkSetup(plan({ setup: { launchCord: cord({ matingCount: 10, verification: verification(11) }) } }), library)).toThrow(
      '/setup/launchCord/verification/matingCount: 11 is more than matingCount 10',
    );
  });

  it('an IEC grade cord is counted against its family rating; a cord may declare its own', () => {
    const iecB = { family: 'MPO' as const, grade: 'IEC-B', polish: 'APC' as const };
    const iec = (since: number, over: Partial<TestCord> = {}) =>
      checkSetup(
        plan({
          limitSet: { id: 'mpocert-default', version: '1.1.0' },
          fiberType: 'OS2',
          wavelengthsNm: [1310],
          connectors: { A: { ...iecB, gender: 'male' }, B: { ...iecB, gender: 'male' } },
          setup: { launchCord: verifiedCord({ ...iecB, gender: 'female' }, [1310], { matingCount: 100 + since, ...over }) },
        }),
        library,
        WEEKLY_ONLY,
      );
    expect(iec(200)).toMatchObject({ accepted: true, wear: [{ matingsSinceVerification: 200, ratedMatingCycles: 200 }] });
    expect(iec(201).refusals).toEqual([
      { code: 'CORD_WORN_OUT', subject: 'LC-1', message: `launch cord LC-1 has 201 matings since it was verified, past its rated 200: replace it or verify it again${WEAR_RULE}` },
    ]);
    expect(iec(201, { ratedMatingCycles: 1000 }).accepted).toBe(true);
  });

  it('a refused setup makes the evaluation INVALID even when every fiber passes', () => {
    const since = (n: number) => assembly({ setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }, [850, 1300], { matingCount: 100 + n }) } });
    const e = evaluateRecord(since(501), library, { cordVerification: WEEKLY_ONLY });
    expect(e.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
    expect(e.verdict).toBe('INVALID');
    expect(e.reasons).toEqual([`launch cord LC-1 has 501 matings since it was verified, past its rated 500: replace it or verify it again${WEAR_RULE}`]);
    expect(evaluateRecord(since(450), library, { cordVerification: WEEKLY_ONLY }).verdict).toBe('PASS');
    // Under the default plan the verification has long expired as well.
    expect(evaluateRecord(since(501), library).setup.refusals.map((r) => r.code)).toEqual(['CORD_VERIFICATION_EXPIRED', 'CORD_WORN_OUT']);
  });
});
