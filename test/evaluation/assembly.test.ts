import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateRecord, parseTestRecord, type End, type Evaluation, type Judgment } from '../../src/evaluation/index.js';
import { assembly, library, readingsFor, verifiedCord } from '../helpers/records.js';

const BOTH: readonly End[] = ['A', 'B'];
const OWN_MTP_A = 'end A grade MTP 0.60 dB (own grade, one connector per reading) (multimode)';
const CORD_GRADE_RULE = ' [rule cord-grade: IEC 61300-3-4 / IEC 61753-1: a product is measured against a reference-grade connector at least as good as its own grade]';

function judgmentsOf(evaluation: Evaluation, fiber: number): readonly Judgment[] {
  const result = evaluation.fibers.find((f) => f.fiber === fiber);
  if (!result) throw new Error(`no fiber ${fiber}`);
  return result.judgments;
}

function onlyIl(evaluation: Evaluation, fiber: number, wavelengthNm = 850, end: End = 'A'): Judgment {
  const j = judgmentsOf(evaluation, fiber).find((x) => x.quantity === 'insertionLoss' && x.wavelengthNm === wavelengthNm && x.end === end);
  if (!j) throw new Error(`no IL judgment for fiber ${fiber} at ${wavelengthNm}, end ${end}`);
  return j;
}

describe("assembly insertion loss against each end's own connector grade", () => {
  it('judges an MTP-12 OM4 assembly at 0.60 dB per connector, at both ends (source document, MTP multimode)', () => {
    const e = evaluateRecord(assembly(), library);
    expect(e.limitSet).toMatchObject({ id: 'mtp-mpo-connector-grades', version: '1.1.0' });
    expect(e.ends).toEqual({ certified: ['A', 'B'] });
    for (const f of e.fibers) for (const j of f.judgments) expect(j.limit).toBe(0.6);
    expect(judgmentsOf(e, 1).map((j) => [j.end, j.wavelengthNm, j.basis])).toEqual([
      ['A', 850, OWN_MTP_A],
      ['A', 1300, OWN_MTP_A],
      ['B', 850, 'end B grade MTP 0.60 dB (own grade, one connector per reading) (multimode)'],
      ['B', 1300, 'end B grade MTP 0.60 dB (own grade, one connector per reading) (multimode)'],
    ]);
    expect(onlyIl(e, 1).margin).toBe(0.3);
    expect(onlyIl(e, 1, 1300, 'B').margin).toBe(0.3);
    expect(e.verdict).toBe('PASS');
  });

  it('fails the demo fixture on exactly fiber 7: value 0.9, limit 0.6, margin -0.3', () => {
    const record = parseTestRecord(JSON.parse(readFileSync('fixtures/records/assembly-mtp12-om4-fail-fiber7.json', 'utf8')));
    const e = evaluateRecord(record, library);
    expect(e.verdict).toBe('FAIL');
    expect(e.fibers.filter((f) => f.outcome === 'FAIL').map((f) => f.fiber)).toEqual([7]);
    const j = onlyIl(e, 7, 850);
    expect(j).toMatchObject({ value: 0.9, limit: 0.6, margin: -0.3, outcome: 'FAIL', limitKind: 'max' });
    expect(j.reason).toBe(`insertion loss 0.90 dB on fiber 7 at 850 nm, end A exceeds the maximum 0.60 dB (${OWN_MTP_A})`);
    expect(onlyIl(e, 7, 850, 'B')).toMatchObject({ value: 0.9, limit: 0.6, margin: -0.3, outcome: 'FAIL' });
    expect(e.summary).toMatchObject({ fibers: 12, pass: 11, fail: 1, invalid: 0, marginal: 0 });
  });

  it('never judges an assembly at the lower grade of a mixed pair: an MPO cord on an MTP product is refused, an MTP cord on an MPO product is fine', () => {
    // Old rule: an MTP end on an MPO cord was judged as MPO (0.75 dB), so 0.65 dB passed. Now the
    // end keeps its own 0.60 dB and the cord, worse than the product, is refused.
    const mtpDeviceMpoCord = assembly({
      setup: { launchCord: verifiedCord({ family: 'MPO', gender: 'male' }) },
      readings: readingsFor(12, [850, 1300], 0.65, {}, BOTH),
    });
    const e = evaluateRecord(mtpDeviceMpoCord, library);
    expect(onlyIl(e, 1)).toMatchObject({ value: 0.65, limit: 0.6, margin: -0.05, outcome: 'FAIL', basis: OWN_MTP_A });
    expect(e.setup.refusals).toEqual(
      (['A', 'B'] as const).map((end) => ({
        code: 'CORD_BELOW_PRODUCT_GRADE',
        subject: 'LC-1',
        message: `launch cord LC-1 is grade MPO (0.75 dB multimode), below end ${end}'s grade MTP (0.60 dB): a product is measured against a cord at least as good as its own grade; use a MTP (or better) reference cord${CORD_GRADE_RULE}`,
      })),
    );
    expect(e.verdict).toBe('INVALID');

    const mpoDeviceMtpCord = evaluateRecord(assembly({ connectors: { A: { family: 'MPO', gender: 'female' }, B: { family: 'MPO', gender: 'female' } } }), library);
    expect(onlyIl(mpoDeviceMtpCord, 1)).toMatchObject({
      value: 0.3,
      limit: 0.75,
      margin: 0.45,
      outcome: 'PASS',
      basis: 'end A grade MPO 0.75 dB (own grade, one connector per reading) (multimode)',
    });
    expect(mpoDeviceMtpCord.setup.refusals).toEqual([]);
    expect(mpoDeviceMtpCord.verdict).toBe('PASS');
  });

  it('uses the single-mode figures for OS2: MTP 0.35 dB, MPO 0.50 dB', () => {
    const upc = (family: 'MTP' | 'MPO') => ({ family, gender: 'female' as const, polish: 'UPC' as const });
    const sm = {
      fiberType: 'OS2' as const,
      wavelengthsNm: [1310, 1550],
      setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male', polish: 'UPC' }, [1310, 1550]) },
      readings: readingsFor(12, [1310, 1550], 0.2, {}, BOTH),
    };
    const mtp = evaluateRecord(assembly({ ...sm, connectors: { A: upc('MTP'), B: upc('MTP') } }), library);
    expect(onlyIl(mtp, 1, 1310)).toMatchObject({ limit: 0.35, margin: 0.15, basis: 'end A grade MTP 0.35 dB (own grade, one connector per reading) (singlemode)' });
    expect(mtp.verdict).toBe('PASS');
    const mpo = evaluateRecord(assembly({ ...sm, connectors: { A: upc('MPO'), B: upc('MPO') } }), library);
    expect(onlyIl(mpo, 1, 1550, 'B')).toMatchObject({ limit: 0.5, margin: 0.3 });
    expect(mpo.verdict).toBe('PASS');
  });

  it('passes a value exactly at the limit even when floating point lands a hair above it (0.2 + 0.4)', () => {
    const atLimit = 0.2 + 0.4; // 0.6000000000000001
    expect(atLimit).toBeGreaterThan(0.6);
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], atLimit, {}, BOTH) }), library, { guardBandDb: 0 });
    expect(e.verdict).toBe('PASS');
    const justAbove = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.601, {}, BOTH) }), library, { guardBandDb: 0 });
    expect(justAbove.verdict).toBe('FAIL');
  });

  it('calls a pass within the guard band MARGINAL; the band is inclusive', () => {
    // MTP averaged 0.58 dB after 300+ matings (source document): 0.02 dB from the limit.
    const at = (lossDb: number) => assembly({ readings: readingsFor(12, [850, 1300], lossDb, {}, BOTH) });
    const e = evaluateRecord(at(0.58), library);
    expect(e.settings.guardBandDb).toBe(0.05);
    expect(e.verdict).toBe('MARGINAL');
    expect(onlyIl(e, 1).margin).toBe(0.02);
    expect(evaluateRecord(at(0.55), library).verdict).toBe('MARGINAL');
    expect(evaluateRecord(at(0.54), library).verdict).toBe('PASS');
    expect(evaluateRecord(at(0.6), library).verdict).toBe('MARGINAL');
    expect(evaluateRecord(at(0.58), library, { guardBandDb: 0.01 }).verdict).toBe('PASS');
  });

  it('computes loss from the 1-cord reference: IL = P_ref - P_meas', () => {
    const readings = readingsFor(12, [850, 1300], 0).map(({ fiber, wavelengthNm }) => ({ fiber, wavelengthNm, referenceDbm: -20.1, measuredDbm: -20.45 }));
    const j = onlyIl(evaluateRecord(assembly({ readings }), library), 5);
    expect(j.value).toBeCloseTo(0.35, 12);
    expect(j.margin).toBeCloseTo(0.25, 12);
  });

  it('refuses a receive cord on an assembly: two connectors in one reading certify neither, and the limit stays one connector (0.60 dB, not 1.20 dB)', () => {
    const e = evaluateRecord(
      assembly({
        setup: {
          launchCord: verifiedCord({ family: 'MTP', gender: 'male' }),
          receiveCord: verifiedCord({ family: 'MTP', gender: 'male' }, [850, 1300], { id: 'RC-1' }),
        },
        readings: readingsFor(12, [850, 1300], 1.0, {}, BOTH),
      }),
      library,
    );
    expect(onlyIl(e, 1)).toMatchObject({ value: 1, limit: 0.6, margin: -0.4, outcome: 'FAIL' });
    expect(e.setup.refusals).toEqual([
      {
        code: 'TWO_CONNECTORS_PER_READING',
        subject: 'RC-1',
        message:
          "a receive cord (RC-1) puts both of the assembly's connectors in every reading, so neither can be certified on its own: put the far end into the meter's detector (no receive cord), measure end A, turn the assembly, measure end B [rule one-connector-per-reading: IEC 61300-3-4: a factory reading certifies one connector; two in one reading hide a bad one behind a good one]",
      },
    ]);
    expect(e.verdict).toBe('INVALID');
  });

  it('adds length x attenuation when the set has attenuation figures: 100 m OM4 at 850 nm = 0.35 dB', () => {
    const e = evaluateRecord(assembly({ limitSet: { id: 'mpocert-default', version: '1.1.0' }, lengthM: 100 }), library);
    // 0.60 + 0.1 km x 3.5 dB/km = 0.95 dB at 850 nm; 0.60 + 0.1 km x 1.5 dB/km = 0.75 dB at 1300 nm
    expect(onlyIl(e, 1, 850)).toMatchObject({ limit: 0.95, basis: 'end A grade MTP 0.60 dB (own grade, one connector per reading) + 100 m x 3.5 dB/km (multimode)' });
    expect(onlyIl(e, 1, 1300).limit).toBe(0.75);
    expect(e.verdict).toBe('PASS');
    expect(() => evaluateRecord(assembly({ lengthM: 100 }), library)).toThrow(
      '/lengthM: limit set mtp-mpo-connector-grades@1.1.0 has no fiber attenuation for OM4 at 850 nm (inside plant)',
    );
  });

  it('judges IEC grades at the product\'s own grade (B 0.25 dB), refuses a lower-grade cord (IEC-C, MTP), and refuses a multimode fiber on an SM-only grade', () => {
    const gradeB = { family: 'MPO' as const, gender: 'female' as const, grade: 'IEC-B', polish: 'APC' as const };
    const cordOf = (grade?: string, family: 'MTP' | 'MPO' = 'MPO') =>
      verifiedCord({ family, gender: 'male', polish: 'APC', ...(grade === undefined ? {} : { grade }) }, [1310]);
    const iec = {
      limitSet: { id: 'iec-61753-1', version: '1.1.0' },
      fiberType: 'OS2' as const,
      wavelengthsNm: [1310],
      connectors: { A: gradeB, B: gradeB },
      readings: readingsFor(12, [1310], 0.15, {}, BOTH),
    };
    const b = evaluateRecord(assembly({ ...iec, setup: { launchCord: cordOf('IEC-B') } }), library);
    expect(onlyIl(b, 1, 1310)).toMatchObject({ limit: 0.25, margin: 0.1, outcome: 'PASS', basis: 'end A grade IEC-B 0.25 dB (own grade, one connector per reading) (singlemode)' });
    expect(b.setup.refusals).toEqual([]);
    expect(b.verdict).toBe('PASS');

    // Old rule: B mated with C performed as C (0.50 dB). An assembly keeps its own 0.25 dB; the C cord is refused.
    const bWithC = evaluateRecord(assembly({ ...iec, setup: { launchCord: cordOf('IEC-C') } }), library);
    expect(onlyIl(bWithC, 1, 1310)).toMatchObject({ limit: 0.25, outcome: 'PASS' });
    expect(bWithC.setup.refusals.map((r) => r.code)).toEqual(['CORD_BELOW_PRODUCT_GRADE', 'CORD_BELOW_PRODUCT_GRADE']);
    expect(bWithC.setup.refusals[0]?.message).toBe(
      `launch cord LC-1 is grade IEC-C (0.50 dB singlemode), below end A's grade IEC-B (0.25 dB): a product is measured against a cord at least as good as its own grade; use a IEC-B (or better) reference cord${CORD_GRADE_RULE}`,
    );
    expect(bWithC.verdict).toBe('INVALID');

    const bWithMtp = evaluateRecord(assembly({ ...iec, limitSet: { id: 'mpocert-default', version: '1.1.0' }, setup: { launchCord: cordOf(undefined, 'MTP') } }), library);
    expect(bWithMtp.setup.refusals[0]?.message).toBe(
      `launch cord LC-1 is grade MTP (0.35 dB singlemode), below end A's grade IEC-B (0.25 dB): a product is measured against a cord at least as good as its own grade; use a IEC-B (or better) reference cord${CORD_GRADE_RULE}`,
    );
    expect(bWithMtp.verdict).toBe('INVALID');

    expect(() => evaluateRecord(assembly({ ...iec, fiberType: 'OM4', wavelengthsNm: [850], readings: readingsFor(12, [850], 0.2, {}, BOTH) }), library)).toThrow(
      '/connectors/A: grade IEC-B in limit set iec-61753-1@1.1.0 has no multimode insertion-loss limit',
    );
  });

  it("judges each end at that end's own grade", () => {
    const e = evaluateRecord(
      assembly({
        connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MPO', gender: 'female' } },
        wavelengthsNm: [850],
        readings: readingsFor(12, [850], 0.65, {}, BOTH),
      }),
      library,
    );
    const fiber1 = judgmentsOf(e, 1);
    expect(fiber1.map((j) => [j.end, j.limit, j.outcome])).toEqual([
      ['A', 0.6, 'FAIL'],
      ['B', 0.75, 'PASS'],
    ]);
    expect(e.verdict).toBe('FAIL');
  });
});

describe('return loss (a minimum)', () => {
  it('judges RL where measured: MTP multimode 26 dB min, margin = value - limit', () => {
    const readings = readingsFor(12, [850], 0.3, { '1/850': { returnLossDb: 30 }, '2/850': { returnLossDb: 25.9 }, '3/850': { returnLossDb: 26 } }, BOTH);
    const e = evaluateRecord(assembly({ wavelengthsNm: [850], readings }), library, { guardBandDb: 0 });
    const rl = (fiber: number): Judgment | undefined => judgmentsOf(e, fiber).find((j) => j.quantity === 'returnLoss');
    expect(rl(1)).toMatchObject({ value: 30, limit: 26, limitKind: 'min', margin: 4, outcome: 'PASS', basis: 'end A grade MTP return loss (multimode)' });
    expect(rl(2)).toMatchObject({ outcome: 'FAIL', margin: -0.1 });
    expect(rl(2)?.reason).toBe('return loss 25.90 dB on fiber 2 at 850 nm, end A is below the minimum 26.00 dB (end A grade MTP return loss (multimode))');
    expect(rl(3)?.outcome).toBe('PASS');
    expect(rl(4)).toBeUndefined();
    expect(e.verdict).toBe('FAIL');
  });

  it('uses the single-mode figures by polish: UPC MTP 40, MPO 35; APC 55 dB (verify) since 1.1.0, none in 1.0.0', () => {
    const sm = (family: 'MTP' | 'MPO', polish: 'UPC' | 'APC', version = '1.1.0') =>
      assembly({
        limitSet: { id: 'mtp-mpo-connector-grades', version },
        fiberType: 'OS2',
        wavelengthsNm: [1310],
        connectors: { A: { family, gender: 'female', polish }, B: { family, gender: 'female', polish } },
        setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male', polish }, [1310]) },
        readings: readingsFor(12, [1310], 0.2, { '1/1310': { returnLossDb: 45 } }, BOTH),
      });
    expect(judgmentsOf(evaluateRecord(sm('MTP', 'UPC'), library), 1)[1]).toMatchObject({ quantity: 'returnLoss', limit: 40, margin: 5, outcome: 'PASS', basis: 'end A grade MTP return loss (singlemode UPC)' });
    expect(judgmentsOf(evaluateRecord(sm('MPO', 'UPC'), library), 1)[1]).toMatchObject({ quantity: 'returnLoss', limit: 35, margin: 10, outcome: 'PASS' });
    const apc = evaluateRecord(sm('MTP', 'APC'), library);
    expect(judgmentsOf(apc, 1)[1]).toMatchObject({ quantity: 'returnLoss', value: 45, limit: 55, margin: -10, outcome: 'FAIL', verify: true, basis: 'end A grade MTP return loss (singlemode APC)' });
    expect(apc.verdict).toBe('FAIL');
    // 1.0.0 is unchanged: it still has no APC figure, so an APC reading cannot be judged by it.
    expect(() => evaluateRecord(sm('MTP', 'APC', '1.0.0'), library)).toThrow('/readings/0/returnLossDb: grade MTP has no singlemode APC return-loss limit');
  });
});

describe('INVALID: what cannot be judged', () => {
  it('a loss of -0.06 dB is a reference error (INVALID); -0.05 and -0.04 are judged', () => {
    const at = (loss: number) => evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '4/850': { lossDb: loss } }, BOTH) }), library);
    const bad = at(-0.06);
    expect(bad.verdict).toBe('INVALID');
    expect(onlyIl(bad, 4)).toMatchObject({ value: -0.06, margin: null, outcome: 'INVALID' });
    expect(onlyIl(bad, 4).reason).toBe(
      'loss -0.06 dB on fiber 4 at 850 nm, end A is below the reference-error threshold -0.05 dB: re-reference and retest [rule reference-error: TIA-526-14 / IEC 61280-4-5: a negative loss beyond the measurement uncertainty is a reference error]',
    );
    const edge = at(-0.05);
    expect(onlyIl(edge, 4)).toMatchObject({ outcome: 'PASS', margin: 0.65 });
    const small = at(-0.04);
    expect(small.verdict).toBe('PASS');
    expect(onlyIl(small, 4).margin).toBe(0.64);
    expect(
      evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '4/850': { lossDb: -0.04 } }, BOTH) }), library, { referenceErrorThresholdDb: -0.03 }).verdict,
    ).toBe('INVALID');
  });

  it('a missing fiber is INVALID on every wavelength and at both ends, never skipped', () => {
    const readings = readingsFor(12, [850, 1300], 0.3, {}, BOTH).filter((r) => r.fiber !== 9);
    const e = evaluateRecord(assembly({ readings }), library);
    expect(e.verdict).toBe('INVALID');
    const missingReading = ' [rule missing-reading: TIA-568.3-E / IEC 61280-4-5: every fiber is tested at every required wavelength]';
    const bothEnds = ' [rule both-ends: IEC 61300-3-4: each connector of an assembly is certified; the far end is measured by turning the assembly]';
    expect(judgmentsOf(e, 9).map((j) => [j.end, j.wavelengthNm, j.outcome, j.value, j.reason])).toEqual([
      ['A', 850, 'INVALID', null, `no reading for fiber 9 at 850 nm, end A${missingReading}`],
      ['A', 1300, 'INVALID', null, `no reading for fiber 9 at 1300 nm, end A${missingReading}`],
      ['B', 850, 'INVALID', null, `no reading for fiber 9 at 850 nm, end B${bothEnds}`],
      ['B', 1300, 'INVALID', null, `no reading for fiber 9 at 1300 nm, end B${bothEnds}`],
    ]);
  });

  it('a missing wavelength is INVALID', () => {
    const readings = readingsFor(12, [850, 1300], 0.3, {}, BOTH).filter((r) => !(r.fiber === 2 && r.wavelengthNm === 1300 && r.end === undefined));
    const e = evaluateRecord(assembly({ readings }), library);
    expect(e.fibers.find((f) => f.fiber === 2)?.outcome).toBe('INVALID');
    expect(onlyIl(e, 2, 1300)).toMatchObject({ outcome: 'INVALID', value: null });
    expect(onlyIl(e, 2, 1300, 'B')).toMatchObject({ outcome: 'PASS', value: 0.3 });
    expect(e.summary.invalid).toBe(1);
  });

  it('no light and saturation are INVALID', () => {
    const e = evaluateRecord(
      assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: undefined, noLight: true }, '2/1300': { saturated: true } }, BOTH) }),
      library,
    );
    expect(onlyIl(e, 1).reason).toBe("no light on fiber 1 at 850 nm, end A [rule no-light: IEC 61300-3-4: a power below the meter's noise floor is not a measurement]");
    expect(onlyIl(e, 2, 1300).reason).toBe("meter saturated on fiber 2 at 1300 nm, end A: the power is above its range [rule saturated: IEC 61300-3-4: a power above the meter's range is not a measurement]");
    expect(e.summary.invalid).toBe(2);
  });

  it('ranks INVALID above FAIL in the overall verdict and still counts the failing fiber', () => {
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: 0.9 }, '2/850': { lossDb: -0.2 } }, BOTH) }), library);
    expect(e.verdict).toBe('INVALID');
    expect(e.summary).toMatchObject({ fail: 1, invalid: 1, pass: 10 });
    expect(e.reasons).toEqual([
      `insertion loss 0.90 dB on fiber 1 at 850 nm, end A exceeds the maximum 0.60 dB (${OWN_MTP_A})`,
      'loss -0.20 dB on fiber 2 at 850 nm, end A is below the reference-error threshold -0.05 dB: re-reference and retest [rule reference-error: TIA-526-14 / IEC 61280-4-5: a negative loss beyond the measurement uncertainty is a reference error]',
    ]);
  });
});

describe('limit-set version on the certificate', () => {
  it('records id and version, and a pinned version that does not exist is refused, not substituted', () => {
    expect(evaluateRecord(assembly(), library).limitSet.version).toBe('1.1.0');
    // Without a version the newest is used, and the certificate says which.
    expect(evaluateRecord(assembly({ limitSet: { id: 'mtp-mpo-connector-grades' } }), library).limitSet.version).toBe('1.1.0');
    // 1.0.0 is judged as 1.0.0: it has no reference-grade cord figure, so it cannot accept a verified cord.
    expect(() => evaluateRecord(assembly({ limitSet: { id: 'mtp-mpo-connector-grades', version: '1.0.0' } }), library)).toThrow(
      '/limitSet: limit set mtp-mpo-connector-grades@1.0.0 gives no multimode reference-grade cord loss (referenceGradeCordLossDb): name a set that does (e.g. mtp-mpo-connector-grades@1.1.0)',
    );
    expect(() => evaluateRecord(assembly({ limitSet: { id: 'mtp-mpo-connector-grades', version: '0.9' } }), library)).toThrow(
      /^\/limitSet: limit set mtp-mpo-connector-grades@0.9 is not in the library/,
    );
  });

  it('names the composed sets of an including set', () => {
    const e = evaluateRecord(assembly({ limitSet: { id: 'mpocert-default' } }), library);
    expect(e.limitSet.version).toBe('1.1.0');
    expect(e.limitSet.includes.map((r) => `${r.id}@${r.version}`)).toEqual([
      'mtp-mpo-connector-grades@1.1.0',
      'iec-61753-1@1.1.0',
      'tia-568.3-e@1.1.0',
      'ieee-802.3-channels@1.1.0',
    ]);
    expect(library.find({ id: 'mpocert-default', version: '1.0.0' })?.includes.map((r) => `${r.id}@${r.version}`)).toEqual([
      'mtp-mpo-connector-grades@1.0.0',
      'iec-61753-1@1.0.0',
      'tia-568.3-e@1.0.0',
      'ieee-802.3-channels@1.0.0',
    ]);
  });
});
