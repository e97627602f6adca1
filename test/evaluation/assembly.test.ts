import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateRecord, parseTestRecord, type Evaluation, type Judgment } from '../../src/evaluation/index.js';
import { assembly, library, readingsFor } from './records.js';

function judgmentsOf(evaluation: Evaluation, fiber: number): readonly Judgment[] {
  const result = evaluation.fibers.find((f) => f.fiber === fiber);
  if (!result) throw new Error(`no fiber ${fiber}`);
  return result.judgments;
}

function onlyIl(evaluation: Evaluation, fiber: number, wavelengthNm = 850): Judgment {
  const j = judgmentsOf(evaluation, fiber).find((x) => x.quantity === 'insertionLoss' && x.wavelengthNm === wavelengthNm);
  if (!j) throw new Error(`no IL judgment for fiber ${fiber} at ${wavelengthNm}`);
  return j;
}

describe('assembly insertion loss against the mated-pair grade', () => {
  it('judges an MTP-12 OM4 assembly at 0.60 dB per mated pair (source document, MTP multimode)', () => {
    const e = evaluateRecord(assembly(), library);
    expect(e.limitSet).toMatchObject({ id: 'mtp-mpo-connector-grades', version: '1.0.0' });
    for (const f of e.fibers) for (const j of f.judgments) expect(j.limit).toBe(0.6);
    expect(onlyIl(e, 1).margin).toBeCloseTo(0.3, 12);
    expect(e.verdict).toBe('PASS');
  });

  it('fails the demo fixture on exactly fiber 7: value 0.9, limit 0.6, margin -0.3', () => {
    const record = parseTestRecord(JSON.parse(readFileSync('fixtures/records/assembly-mtp12-om4-fail-fiber7.json', 'utf8')));
    const e = evaluateRecord(record, library);
    expect(e.verdict).toBe('FAIL');
    expect(e.fibers.filter((f) => f.outcome === 'FAIL').map((f) => f.fiber)).toEqual([7]);
    const j = onlyIl(e, 7, 850);
    expect(j).toMatchObject({ value: 0.9, limit: 0.6, outcome: 'FAIL', limitKind: 'max' });
    expect(j.margin).toBeCloseTo(-0.3, 12);
    expect(j.reason).toBe('insertion loss 0.90 dB on fiber 7 at 850 nm, end A exceeds the maximum 0.60 dB');
    expect(e.summary).toMatchObject({ fibers: 12, pass: 11, fail: 1, invalid: 0, marginal: 0 });
  });

  it('judges a mixed MTP/MPO pair as MPO: 0.75 dB multimode', () => {
    const mtpDeviceMpoCord = assembly({
      setup: { launchCord: { id: 'LC', connector: { family: 'MPO', gender: 'female' }, matingCount: 1 } },
      readings: readingsFor(12, [850, 1300], 0.65),
    });
    const e = evaluateRecord(mtpDeviceMpoCord, library);
    expect(onlyIl(e, 1)).toMatchObject({ limit: 0.75, outcome: 'PASS', basis: 'MTP/MPO mated pair judged as MPO 0.75 dB (multimode)' });
    expect(onlyIl(e, 1).margin).toBeCloseTo(0.1, 12);
    const mpoDeviceMtpCord = assembly({
      connectors: { A: { family: 'MPO', gender: 'male' }, B: { family: 'MPO', gender: 'male' } },
      setup: { launchCord: { id: 'LC', connector: { family: 'MTP', gender: 'female' }, matingCount: 1 } },
    });
    expect(onlyIl(evaluateRecord(mpoDeviceMtpCord, library), 1).limit).toBe(0.75);
  });

  it('uses the single-mode figures for OS2: MTP 0.35 dB, MPO 0.50 dB', () => {
    const sm = { fiberType: 'OS2' as const, wavelengthsNm: [1310, 1550], readings: readingsFor(12, [1310, 1550], 0.2) };
    expect(onlyIl(evaluateRecord(assembly(sm), library), 1, 1310).limit).toBe(0.35);
    const mpo = assembly({ ...sm, connectors: { A: { family: 'MPO', gender: 'male' }, B: { family: 'MPO', gender: 'male' } } });
    expect(onlyIl(evaluateRecord(mpo, library), 1, 1550).limit).toBe(0.5);
  });

  it('passes a value exactly at the limit even when floating point lands a hair above it (0.2 + 0.4)', () => {
    const atLimit = 0.2 + 0.4; // 0.6000000000000001
    expect(atLimit).toBeGreaterThan(0.6);
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], atLimit) }), library, { guardBandDb: 0 });
    expect(e.verdict).toBe('PASS');
    const justAbove = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.601) }), library, { guardBandDb: 0 });
    expect(justAbove.verdict).toBe('FAIL');
  });

  it('calls a pass within the guard band MARGINAL; the band is inclusive', () => {
    // MTP averaged 0.58 dB after 300+ matings (source document): 0.02 dB from the limit.
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.58) }), library);
    expect(e.settings.guardBandDb).toBe(0.05);
    expect(e.verdict).toBe('MARGINAL');
    expect(onlyIl(e, 1).margin).toBeCloseTo(0.02, 12);
    expect(evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.55) }), library).verdict).toBe('MARGINAL');
    expect(evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.54) }), library).verdict).toBe('PASS');
    expect(evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.6) }), library).verdict).toBe('MARGINAL');
    expect(evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.58) }), library, { guardBandDb: 0.01 }).verdict).toBe('PASS');
  });

  it('computes loss from the 1-cord reference: IL = P_ref - P_meas', () => {
    const readings = readingsFor(12, [850, 1300], 0).map(({ fiber, wavelengthNm }) => ({ fiber, wavelengthNm, referenceDbm: -20.1, measuredDbm: -20.45 }));
    const j = onlyIl(evaluateRecord(assembly({ readings }), library), 5);
    expect(j.value).toBeCloseTo(0.35, 12);
    expect(j.margin).toBeCloseTo(0.25, 12);
  });

  it('adds a receive cord pair: two MTP pairs allow 1.20 dB', () => {
    const e = evaluateRecord(
      assembly({
        setup: {
          launchCord: { id: 'LC', connector: { family: 'MTP', gender: 'female' }, matingCount: 1 },
          receiveCord: { id: 'RC', connector: { family: 'MTP', gender: 'female' }, matingCount: 1 },
        },
        readings: readingsFor(12, [850, 1300], 1.0),
      }),
      library,
    );
    expect(onlyIl(e, 1).limit).toBeCloseTo(1.2, 12);
    expect(e.verdict).toBe('PASS');
  });

  it('adds length x attenuation when the set has attenuation figures: 100 m OM4 at 850 nm = 0.35 dB', () => {
    const e = evaluateRecord(assembly({ limitSet: { id: 'mpocert-default' }, lengthM: 100 }), library);
    expect(onlyIl(e, 1, 850).limit).toBeCloseTo(0.95, 12);
    expect(onlyIl(e, 1, 1300).limit).toBeCloseTo(0.75, 12);
    expect(() => evaluateRecord(assembly({ lengthM: 100 }), library)).toThrow(
      '/lengthM: limit set mtp-mpo-connector-grades@1.0.0 has no fiber attenuation for OM4 at 850 nm (inside plant)',
    );
  });

  it('judges IEC grades: B 0.25 dB, B with C as C 0.50 dB, and refuses a multimode fiber on an SM-only grade', () => {
    const iec = {
      limitSet: { id: 'iec-61753-1' },
      fiberType: 'OS2' as const,
      wavelengthsNm: [1310],
      readings: readingsFor(12, [1310], 0.15),
    };
    const gradeB = { family: 'MPO' as const, gender: 'male' as const, grade: 'IEC-B' };
    const b = evaluateRecord(assembly({ ...iec, connectors: { A: gradeB, B: gradeB } }), library);
    expect(onlyIl(b, 1, 1310)).toMatchObject({ limit: 0.25, outcome: 'PASS' });
    const bWithC = evaluateRecord(
      assembly({
        ...iec,
        connectors: { A: gradeB, B: gradeB },
        setup: { launchCord: { id: 'LC', connector: { family: 'MPO', gender: 'female', grade: 'IEC-C' }, matingCount: 1 } },
      }),
      library,
    );
    expect(onlyIl(bWithC, 1, 1310)).toMatchObject({ limit: 0.5, basis: 'IEC-B/IEC-C mated pair judged as IEC-C 0.50 dB (singlemode)' });
    expect(() => evaluateRecord(assembly({ ...iec, fiberType: 'OM4', wavelengthsNm: [850], readings: readingsFor(12, [850], 0.2), connectors: { A: gradeB, B: gradeB } }), library)).toThrow(
      '/connectors/A: grade IEC-B in limit set iec-61753-1@1.0.0 has no multimode insertion-loss limit',
    );
  });

  it('judges each end measured against the pair at that end', () => {
    const readings = ['A', 'B'].flatMap((end) => readingsFor(12, [850], 0.65).map((r) => ({ ...r, end: end as 'A' | 'B' })));
    const e = evaluateRecord(
      assembly({
        connectors: { A: { family: 'MTP', gender: 'male' }, B: { family: 'MPO', gender: 'male' } },
        endsMeasured: ['A', 'B'],
        wavelengthsNm: [850],
        readings,
      }),
      library,
    );
    const fiber1 = judgmentsOf(e, 1);
    expect(fiber1.map((j) => [j.end, j.limit, j.outcome])).toEqual([
      ['A', 0.6, 'FAIL'],
      ['B', 0.75, 'PASS'],
    ]);
  });
});

describe('return loss (a minimum)', () => {
  it('judges RL where measured: MTP multimode 26 dB min, margin = value - limit', () => {
    const readings = readingsFor(12, [850], 0.3, { '1/850': { returnLossDb: 30 }, '2/850': { returnLossDb: 25.9 }, '3/850': { returnLossDb: 26 } });
    const e = evaluateRecord(assembly({ wavelengthsNm: [850], readings }), library, { guardBandDb: 0 });
    const rl = (fiber: number): Judgment | undefined => judgmentsOf(e, fiber).find((j) => j.quantity === 'returnLoss');
    expect(rl(1)).toMatchObject({ value: 30, limit: 26, limitKind: 'min', margin: 4, outcome: 'PASS' });
    expect(rl(2)?.outcome).toBe('FAIL');
    expect(rl(2)?.margin).toBeCloseTo(-0.1, 12);
    expect(rl(2)?.reason).toBe('return loss 25.90 dB on fiber 2 at 850 nm, end A is below the minimum 26.00 dB');
    expect(rl(3)?.outcome).toBe('PASS');
    expect(rl(4)).toBeUndefined();
  });

  it('uses the single-mode UPC figures (MTP 40, MPO 35) and refuses APC, which the source gives no figure for', () => {
    const sm = (family: 'MTP' | 'MPO', polish?: 'APC') =>
      assembly({
        fiberType: 'OS2',
        wavelengthsNm: [1310],
        connectors: { A: { family, gender: 'male', ...(polish ? { polish } : {}) }, B: { family, gender: 'male' } },
        readings: readingsFor(12, [1310], 0.2, { '1/1310': { returnLossDb: 45 } }),
      });
    expect(judgmentsOf(evaluateRecord(sm('MTP'), library), 1)[1]).toMatchObject({ limit: 40, margin: 5 });
    expect(judgmentsOf(evaluateRecord(sm('MPO'), library), 1)[1]).toMatchObject({ limit: 35, margin: 10 });
    expect(() => evaluateRecord(sm('MTP', 'APC'), library)).toThrow('/readings/0/returnLossDb: grade MTP has no singlemode APC return-loss limit');
  });
});

describe('INVALID: what cannot be judged', () => {
  it('a loss of -0.06 dB is a reference error (INVALID); -0.05 and -0.04 are judged', () => {
    const at = (loss: number) => evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '4/850': { lossDb: loss } }) }), library);
    const bad = at(-0.06);
    expect(bad.verdict).toBe('INVALID');
    expect(onlyIl(bad, 4)).toMatchObject({ value: -0.06, margin: null, outcome: 'INVALID' });
    expect(onlyIl(bad, 4).reason).toContain('below the reference-error threshold -0.05 dB');
    const edge = at(-0.05);
    expect(onlyIl(edge, 4).outcome).toBe('PASS');
    expect(onlyIl(edge, 4).margin).toBeCloseTo(0.65, 12);
    const small = at(-0.04);
    expect(small.verdict).toBe('PASS');
    expect(onlyIl(small, 4).margin).toBeCloseTo(0.64, 12);
    expect(evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '4/850': { lossDb: -0.04 } }) }), library, { referenceErrorThresholdDb: -0.03 }).verdict).toBe('INVALID');
  });

  it('a missing fiber is INVALID on every wavelength, never skipped', () => {
    const readings = readingsFor(12, [850, 1300], 0.3).filter((r) => r.fiber !== 9);
    const e = evaluateRecord(assembly({ readings }), library);
    expect(e.verdict).toBe('INVALID');
    expect(judgmentsOf(e, 9).map((j) => [j.wavelengthNm, j.outcome, j.value, j.reason])).toEqual([
      [850, 'INVALID', null, 'no reading for fiber 9 at 850 nm, end A'],
      [1300, 'INVALID', null, 'no reading for fiber 9 at 1300 nm, end A'],
    ]);
  });

  it('a missing wavelength is INVALID', () => {
    const readings = readingsFor(12, [850, 1300], 0.3).filter((r) => !(r.fiber === 2 && r.wavelengthNm === 1300));
    const e = evaluateRecord(assembly({ readings }), library);
    expect(e.fibers.find((f) => f.fiber === 2)?.outcome).toBe('INVALID');
    expect(e.summary.invalid).toBe(1);
  });

  it('no light and saturation are INVALID', () => {
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: undefined, noLight: true }, '2/1300': { saturated: true } }) }), library);
    expect(onlyIl(e, 1).reason).toBe('no light on fiber 1 at 850 nm, end A');
    expect(onlyIl(e, 2, 1300).reason).toBe('meter saturated on fiber 2 at 1300 nm, end A');
    expect(e.summary.invalid).toBe(2);
  });

  it('ranks INVALID above FAIL in the overall verdict and still counts the failing fiber', () => {
    const e = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: 0.9 }, '2/850': { lossDb: -0.2 } }) }), library);
    expect(e.verdict).toBe('INVALID');
    expect(e.summary).toMatchObject({ fail: 1, invalid: 1, pass: 10 });
    expect(e.reasons).toHaveLength(2);
  });
});

describe('limit-set version on the certificate', () => {
  it('records id and version, and a pinned version that does not exist is refused, not substituted', () => {
    expect(evaluateRecord(assembly({ limitSet: { id: 'mtp-mpo-connector-grades', version: '1.0.0' } }), library).limitSet.version).toBe('1.0.0');
    expect(() => evaluateRecord(assembly({ limitSet: { id: 'mtp-mpo-connector-grades', version: '0.9' } }), library)).toThrow(
      /^\/limitSet: limit set mtp-mpo-connector-grades@0.9 is not in the library/,
    );
  });

  it('names the composed sets of an including set', () => {
    const e = evaluateRecord(assembly({ limitSet: { id: 'mpocert-default' } }), library);
    expect(e.limitSet.includes.map((r) => `${r.id}@${r.version}`)).toEqual([
      'mtp-mpo-connector-grades@1.0.0',
      'iec-61753-1@1.0.0',
      'tia-568.3-e@1.0.0',
      'ieee-802.3-channels@1.0.0',
    ]);
  });
});
