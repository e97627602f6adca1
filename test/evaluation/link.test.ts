import { describe, expect, it } from 'vitest';
import { evaluateRecord, expectedMap, judgeAgainst, type FiberCount, type Limit, type LinkRecord } from '../../src/evaluation/index.js';
import { library, link, readingsFor, verifiedCord } from '../helpers/records.js';

/** The type B map (position at end A -> end B) as a record's measuredMap. */
const typeB = (fiberCount: FiberCount): Record<string, number | null> => Object.fromEntries(Object.entries(expectedMap('B', fiberCount)));

/** A 400GBASE-SR8 link: parallel optics on MPO-16, declared method B and measured so. */
const sr8 = (lossDb: number, over: Partial<LinkRecord> = {}): LinkRecord =>
  link({ application: '400GBASE-SR8', fiberCount: 16, polarity: { declared: 'method-B', measuredMap: typeB(16) }, readings: readingsFor(16, [850, 1300], lossDb), ...over });

/** A single-mode launch cord states its polish and is verified at 1310 nm. */
const smCord = verifiedCord({ family: 'MTP', gender: 'male', polish: 'APC' }, [1310]);
/** Single-mode link connectors state their polish, APC like the cord. */
const apc = { A: { family: 'MTP' as const, gender: 'female' as const, polish: 'APC' as const }, B: { family: 'MTP' as const, gender: 'female' as const, polish: 'APC' as const } };

describe('link commissioning: budget = connections x 0.75 + splices x 0.3 + length x attenuation', () => {
  it('computes the TIA-568.3 budget by wavelength: 2 pairs, 1 splice, 300 m OM3', () => {
    const e = evaluateRecord(link({ fiberType: 'OM3', lengthM: 300, connections: 2, splices: 1 }), library);
    const [at850, at1300] = e.link?.budgets ?? [];
    // 2 x 0.75 + 1 x 0.3 + 0.3 km x 3.5 = 1.5 + 0.3 + 1.05 = 2.85; at 1300 nm: 1.8 + 0.45 = 2.25
    expect(at850?.budgetDb).toBeCloseTo(2.85, 12);
    expect(at1300?.budgetDb).toBeCloseTo(2.25, 12);
    expect(at850?.channelLimitDb).toBeUndefined();
    expect(e.fibers[0]?.judgments[0]?.margin).toBeCloseTo(1.85, 12);
    expect(e.verdict).toBe('PASS');
  });

  it('judges 400GBASE-SR8 on OM4 at its 1.9 dB channel limit when the budget is higher', () => {
    // 3 pairs + 100 m: 2.25 + 0.35 = 2.60 dB budget > 1.9 dB channel: 1.9 applies.
    const e = evaluateRecord(sr8(1.9, { connections: 3, lengthM: 100 }), library, { guardBandDb: 0 });
    expect(e.link?.application).toEqual({ id: '400GBASE-SR8', fiberType: 'OM4', channelLossDb: 1.9, reachM: 100 });
    expect(e.link?.budgets[0]).toEqual({
      wavelengthNm: 850,
      budgetDb: 2.6,
      budgetBasis: '3 x 0.75 + 0 x 0.3 + 0.1 km x 3.5 dB/km = 2.60 dB',
      channelLimitDb: 1.9,
      limitDb: 1.9,
      designHeadroomDb: -0.7, // 1.9 - 2.6: the design leaves no room for these components
      verify: false,
    });
    expect(e.fibers[0]?.judgments[0]).toMatchObject({
      value: 1.9,
      limit: 1.9,
      margin: 0,
      headroomDb: 0,
      outcome: 'PASS',
      basis: 'lower of link budget 3 x 0.75 + 0 x 0.3 + 0.1 km x 3.5 dB/km = 2.60 dB and 400GBASE-SR8 on OM4 channel 1.90 dB',
    });
    expect(e.link?.reach).toMatchObject({ value: 100, limit: 100, margin: 0, outcome: 'PASS' });
    expect(e.polarity?.outcome).toBe('PASS');
    expect(e.verdict).toBe('PASS');
    const over = evaluateRecord(sr8(1.91, { connections: 3 }), library);
    expect(over.verdict).toBe('FAIL');
    // 400GBASE-SR8 runs on MPO-16 and is parallel optics: an 8-fiber link without a declared polarity is refused.
    const eightFibers = evaluateRecord(link({ application: '400GBASE-SR8', connections: 3, fiberCount: 8, readings: readingsFor(8, [850, 1300], 1.9) }), library);
    expect(eightFibers.setup.refusals.map((r) => r.code)).toEqual(['APPLICATION_FIBER_COUNT', 'APPLICATION_POLARITY']);
    expect(eightFibers.verdict).toBe('INVALID');
  });

  it('takes the budget when it is lower than the channel limit: 2 pairs + 100 m OM4 = 1.85 dB at 850 nm', () => {
    const e = evaluateRecord(sr8(1.0), library);
    expect(e.link?.budgets.map((b) => [b.wavelengthNm, b.limitDb, b.designHeadroomDb])).toEqual([
      [850, 1.85, 0.05],
      [1300, 1.65, 0.25],
    ]);
    expect(e.fibers[0]?.judgments[0]).toMatchObject({ value: 1, limit: 1.85, margin: 0.85, headroomDb: 0.9 });
    expect(e.verdict).toBe('PASS');
  });

  it('fails a link longer than the application reach, whatever its loss', () => {
    const e = evaluateRecord(sr8(0.1, { lengthM: 101, connections: 0 }), library);
    expect(e.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
    expect(e.link?.reach).toMatchObject({
      value: 101,
      limit: 100,
      margin: -1,
      outcome: 'FAIL',
      reason: "length 101 m exceeds the 400GBASE-SR8 reach of 100 m [rule application-reach: IEEE 802.3: the application's maximum reach on the fiber type]",
    });
    expect(e.verdict).toBe('FAIL');
  });

  it('uses each application figure by fiber type (10GBASE-SR OM3 2.6 dB / 300 m, OM4 2.9 dB / 400 m)', () => {
    const long = { application: '10GBASE-SR', connections: 4, lengthM: 300 };
    expect(evaluateRecord(link({ ...long, fiberType: 'OM3' }), library).link?.application).toMatchObject({ channelLossDb: 2.6, reachM: 300 });
    expect(evaluateRecord(link({ ...long, fiberType: 'OM4' }), library).link?.application).toMatchObject({ channelLossDb: 2.9, reachM: 400 });
    expect(evaluateRecord(link({ application: '400GBASE-SR4.2', fiberType: 'OM5', lengthM: 150 }), library).link?.application).toMatchObject({ channelLossDb: 2.0, reachM: 150 });
  });

  it('marks judgments whose limit rests on a (verify) figure: single-mode attenuation, DR4', () => {
    const sm = link({
      fiberType: 'OS2',
      wavelengthsNm: [1310],
      lengthM: 400,
      application: '400GBASE-DR4',
      connectors: apc,
      setup: { launchCord: smCord },
      polarity: { declared: 'B', measuredMap: typeB(12) },
      readings: readingsFor(12, [1310], 1.0),
    });
    const e = evaluateRecord(sm, library);
    // 2 x 0.75 + 0.4 km x 1.0 (inside plant, verify) = 1.9 dB budget < 3.0 dB channel
    expect(e.link?.budgets[0]?.limitDb).toBe(1.9);
    expect(e.fibers[0]?.judgments[0]).toMatchObject({ limit: 1.9, margin: 0.9, headroomDb: 2, verify: true });
    expect(e.link?.reach).toMatchObject({ limit: 500, verify: true });
    expect(e.verdict).toBe('PASS');
    const outside = evaluateRecord({ ...sm, application: undefined, cablePlant: 'outside' }, library);
    // 2 x 0.75 + 0.4 km x 0.5 (outside plant) = 1.7 dB
    expect(outside.link?.budgets[0]?.limitDb).toBe(1.7);
  });

  it('refuses an application the set does not have, or one without a channel on the fiber type', () => {
    expect(() => evaluateRecord(link({ application: '1.6TBASE-SR8' }), library)).toThrow(/^\/application: 1.6TBASE-SR8 is not in limit set mpocert-default@1.1.0/);
    expect(() =>
      evaluateRecord(link({ application: '400GBASE-SR8', fiberType: 'OS2', wavelengthsNm: [1310], connectors: apc, setup: { launchCord: smCord }, readings: readingsFor(12, [1310], 1) }), library),
    ).toThrow('/fiberType: 400GBASE-SR8 in limit set mpocert-default@1.1.0 defines no channel on OS2 (OM3, OM4, OM5)');
    expect(() => evaluateRecord(link({ limitSet: { id: 'ieee-802.3-channels', version: '1.1.0' } }), library)).toThrow(
      '/connections: limit set ieee-802.3-channels@1.1.0 has no matedPairDb allowance for the link budget',
    );
  });

  it("judges an installed link's return loss at the lower grade of a mixed MTP/MPO pair (the lower-grade rule stays for links)", () => {
    const mixed = (cordFamily: 'MTP' | 'MPO') =>
      link({
        connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
        setup: { launchCord: verifiedCord({ family: cordFamily, gender: 'male' }) },
        readings: readingsFor(12, [850, 1300], 1.0).map((r) => ({ ...r, returnLossDb: 22 })),
      });
    const mpoCord = evaluateRecord(mixed('MPO'), library);
    expect(mpoCord.fibers[0]?.judgments[1]).toMatchObject({
      quantity: 'returnLoss',
      value: 22,
      limit: 20,
      margin: 2,
      outcome: 'PASS',
      basis: 'MTP/MPO mated pair judged as MPO return loss (multimode)',
    });
    expect(mpoCord.setup.refusals).toEqual([]);
    expect(mpoCord.verdict).toBe('PASS');
    const mtpCord = evaluateRecord(mixed('MTP'), library);
    expect(mtpCord.fibers[0]?.judgments[1]).toMatchObject({ quantity: 'returnLoss', value: 22, limit: 26, margin: -4, outcome: 'FAIL', basis: 'MTP/MTP mated pair return loss (multimode)' });
    expect(mtpCord.verdict).toBe('FAIL');
  });
});

describe('worked figures of the source document', () => {
  const sixDbBudget: Limit = { value: 6, kind: 'max', basis: '10G link power budget', verify: false };
  const grades = library.find({ id: 'mtp-mpo-connector-grades' })?.connectorGrades;
  const mpo = grades?.get('MPO')?.insertionLossDb.multimode?.value ?? NaN;
  const mtp = grades?.get('MTP')?.insertionLossDb.multimode?.value ?? NaN;

  it('one MPO pair on a 6 dB budget leaves 5.25 dB; one MTP pair leaves 5.40 dB', () => {
    expect(mpo).toBe(0.75);
    expect(mtp).toBe(0.6);
    expect(judgeAgainst(mpo, sixDbBudget, 0.05)).toEqual({ margin: 5.25, outcome: 'PASS' });
    expect(judgeAgainst(mtp, sixDbBudget, 0.05)).toEqual({ margin: 5.4, outcome: 'PASS' });
  });

  it('the 0.15 dB MTP advantage is about 4% of a 3.5 dB 400G-SR8 budget (0.1 dB is about 3%)', () => {
    expect(((mpo - mtp) / 3.5) * 100).toBeCloseTo(4.29, 2);
    expect((0.1 / 3.5) * 100).toBeCloseTo(2.86, 2);
  });
});
