import { describe, expect, it } from 'vitest';
import { JobRefusedError } from '../../src/errors.js';
import { assertSetupAccepted, checkSetup, evaluateRecord, type SetupPlan, type TestCord } from '../../src/evaluation/index.js';
import { assembly, library } from './records.js';

const maleEnds = { A: { family: 'MTP' as const, gender: 'male' as const }, B: { family: 'MTP' as const, gender: 'male' as const } };
const cord = (over: Partial<TestCord> = {}): TestCord => ({ id: 'LC-1', connector: { family: 'MTP', gender: 'female' }, matingCount: 10, ...over });
const plan = (over: Partial<SetupPlan> = {}): SetupPlan => ({ limitSet: { id: 'mtp-mpo-connector-grades' }, connectors: maleEnds, setup: { launchCord: cord() }, ...over });

describe('gender: refuse before measuring', () => {
  it('accepts male to female', () => {
    expect(checkSetup(plan(), library)).toMatchObject({ accepted: true, refusals: [] });
  });

  it('refuses female-female and male-male, naming both connectors', () => {
    const ff = checkSetup(plan({ connectors: { A: { family: 'MTP', gender: 'female' }, B: maleEnds.B } }), library);
    expect(ff.accepted).toBe(false);
    expect(ff.refusals).toEqual([
      {
        code: 'GENDER_MISMATCH',
        subject: 'launch cord LC-1 / end A of the device',
        message: 'female-female mating refused: launch cord LC-1 (MTP female) with end A of the device (MTP female): no guide pins to align the ferrules (high loss)',
      },
    ]);
    const mm = checkSetup(plan({ setup: { launchCord: cord({ connector: { family: 'MPO', gender: 'male' } }) } }), library);
    expect(mm.refusals[0]?.message).toMatch(/^male-male mating refused: .*pins against pins damage both connectors$/);
  });

  it('checks the bench port against the launch cord and the receive cord against the far end of each end measured', () => {
    const check = checkSetup(
      plan({
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
    expect(check.refusals.map((r) => r.subject)).toEqual([
      'bench port P1 / launch cord LC-1 (bench end)',
      'receive cord RC-1 / end B of the device',
      'launch cord LC-1 / end B of the device',
    ]);
  });

  it('assertSetupAccepted throws JobRefusedError for the pipeline', () => {
    const refused = checkSetup(plan({ setup: { launchCord: cord({ connector: { family: 'MTP', gender: 'male' } }) } }), library);
    expect(() => assertSetupAccepted(refused)).toThrow(JobRefusedError);
    expect(() => assertSetupAccepted(checkSetup(plan(), library))).not.toThrow();
  });
});

describe('test-cord wear against the rated cycles of its grade', () => {
  const wearOf = (matingCount: number, over: Partial<TestCord> = {}) => checkSetup(plan({ setup: { launchCord: cord({ matingCount, ...over }) } }), library);

  it('MTP: rated 500; warns from 400 (80%), refuses past 500', () => {
    expect(wearOf(399)).toMatchObject({ accepted: true, warnings: [] });
    expect(wearOf(400).warnings).toEqual([{ code: 'CORD_WEAR_WARNING', subject: 'LC-1', message: 'launch cord LC-1 has 400 of 500 rated matings (80%)' }]);
    expect(wearOf(500)).toMatchObject({ accepted: true });
    const worn = wearOf(501);
    expect(worn.accepted).toBe(false);
    expect(worn.refusals[0]).toMatchObject({ code: 'CORD_WORN_OUT', subject: 'LC-1' });
    expect(worn.wear).toEqual([{ role: 'launchCord', id: 'LC-1', matingsSinceVerification: 501, ratedMatingCycles: 500 }]);
  });

  it('MPO: rated 200; warns from 160, refuses at 201', () => {
    const mpo = { connector: { family: 'MPO' as const, gender: 'female' as const } };
    expect(wearOf(159, mpo).warnings).toEqual([]);
    expect(wearOf(160, mpo).warnings[0]?.code).toBe('CORD_WEAR_WARNING');
    expect(wearOf(201, mpo).refusals[0]?.code).toBe('CORD_WORN_OUT');
  });

  it('counts from the last recorded re-verification, and a replaced cord starts again', () => {
    expect(wearOf(700, { reverifiedAtMatingCount: 450 })).toMatchObject({ accepted: true, wear: [{ matingsSinceVerification: 250 }] });
    expect(wearOf(0, { id: 'LC-2' }).accepted).toBe(true);
    expect(() => wearOf(10, { reverifiedAtMatingCount: 11 })).toThrow('/setup/launchCord/reverifiedAtMatingCount: 11 is more than matingCount 10');
  });

  it('an IEC grade cord is counted against its family rating; a cord may declare its own', () => {
    const iecCord = { connector: { family: 'MPO' as const, gender: 'female' as const, grade: 'IEC-B' } };
    const p = (n: number, over = {}) => checkSetup({ ...plan({ setup: { launchCord: cord({ matingCount: n, ...iecCord, ...over }) } }), limitSet: { id: 'mpocert-default' } }, library);
    expect(p(201).refusals[0]?.code).toBe('CORD_WORN_OUT');
    expect(p(201, { ratedMatingCycles: 1000 }).accepted).toBe(true);
  });

  it('a refused setup makes the evaluation INVALID even when every fiber passes', () => {
    const e = evaluateRecord(assembly({ setup: { launchCord: cord({ matingCount: 501 }) } }), library);
    expect(e.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
    expect(e.verdict).toBe('INVALID');
    expect(e.reasons).toEqual(['launch cord LC-1 has 501 matings, past its rated 500: replace it or re-verify it (record reverifiedAtMatingCount)']);
    expect(evaluateRecord(assembly({ setup: { launchCord: cord({ matingCount: 450 }) } }), library).verdict).toBe('PASS');
  });
});
