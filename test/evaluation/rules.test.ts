/**
 * The auditor's cases (issue 10): each situation that used to end in PASS now ends in FAIL,
 * INVALID or a refusal, at its boundary, with values computed by hand. Numbers refer to the
 * issue's items; docs/rules.md lists every rule with its source.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  evaluateRecord,
  expectedMap,
  loadLimitLibrary,
  parseTestRecord,
  type AssemblyRecord,
  type Evaluation,
  type FiberCount,
  type LinkRecord,
  type Reading,
} from '../../src/evaluation/index.js';
import { RULES } from '../../src/evaluation/rules.js';
import { assembly, library, link, readingsFor, verifiedCord } from '../helpers/records.js';

const refusals = (e: Evaluation): string[] => e.setup.refusals.map((r) => r.code);
const il = (e: Evaluation, fiber: number, wl = 850, end: 'A' | 'B' = 'A') =>
  e.fibers.find((f) => f.fiber === fiber)!.judgments.find((j) => j.quantity === 'insertionLoss' && j.wavelengthNm === wl && j.end === end)!;
/** Both ends, both wavelengths, every fiber at `lossDb`, with fiber-specific changes. */
const readings = (lossDb: number, at: Record<string, Partial<Reading>> = {}): Reading[] => readingsFor(12, [850, 1300], lossDb, at, ['A', 'B']);
const typeMap = (type: 'A' | 'B' | 'C', n: FiberCount): Record<string, number | null> => Object.fromEntries(Object.entries(expectedMap(type, n)));

describe('1. nothing in the light path', () => {
  it('every fiber about 0.00 dB (the launch cord measured against itself) is INVALID, naming the cause', () => {
    const e = evaluateRecord(assembly({ readings: readings(0) }), library);
    expect(e.verdict).toBe('INVALID');
    expect(e.reasons).toHaveLength(4); // 850 and 1300 nm at ends A and B
    expect(e.reasons[0]).toMatch(/^every fiber at 850 nm, end A reads within 0\.03 dB of 0 dB \(largest 0\.00 dB\): nothing is in the light path/);
    expect(il(e, 1)).toMatchObject({ outcome: 'INVALID', noDeviceInPath: true });
  });

  it('the boundaries: near 0 dB, or the same small loss on every fiber (a drifted source), is INVALID; a spread is judged', () => {
    expect(evaluateRecord(assembly({ readings: readings(0.03) }), library).verdict).toBe('INVALID');
    expect(evaluateRecord(assembly({ readings: readings(-0.02) }), library).verdict).toBe('INVALID');
    // The source drifted 0.04 dB since the reference and nothing is connected: every fiber 0.04 dB.
    const drifted = evaluateRecord(assembly({ readings: readings(0.04) }), library);
    expect(drifted.verdict).toBe('INVALID');
    expect(drifted.reasons[0]).toMatch(/^every fiber at 850 nm, end A reads the same small loss \(median 0\.04 dB, all within 0\.00 dB of each other\)/);
    // Fibers alternating 0.04 and 0.07 dB (spread 0.03 dB): a device, judged.
    const alternate: Record<string, Partial<Reading>> = {};
    for (const f of [2, 4, 6, 8, 10, 12]) for (const k of [`${f}/850`, `${f}/1300`, `${f}/850/B`, `${f}/1300/B`]) alternate[k] = { lossDb: 0.07 };
    const spread = evaluateRecord(assembly({ readings: readings(0.04, alternate) }), library);
    expect(spread.verdict).toBe('PASS');
    expect(il(spread, 1).margin).toBe(0.56); // 0.60 - 0.04
    // Every fiber 0.07 dB: median above 0.06 dB, judged.
    expect(evaluateRecord(assembly({ readings: readings(0.07) }), library).verdict).toBe('PASS');
  });

  it('one fiber a little off, or meter noise around 0 dB, does not hide it: the median loss decides too', () => {
    // Eleven fibers 0.00 dB and fiber 1 at 0.04 dB, at every end and wavelength.
    const one: Record<string, Partial<Reading>> = {};
    for (const k of ['1/850', '1/1300', '1/850/B', '1/1300/B']) one[k] = { lossDb: 0.04 };
    const oneOff = evaluateRecord(assembly({ readings: readings(0, one) }), library);
    expect(oneOff.verdict).toBe('INVALID');
    expect(oneOff.reasons[0]).toMatch(/^the fibers at 850 nm, end A read within 0\.03 dB of 0 dB but for noise or a few \(median 0\.00 dB, largest \|loss\| 0\.04 dB\): nothing is in the light path/);
    // Noise: fibers alternating -0.04 and +0.04 dB around 0 dB (median -0.04 dB).
    const noise: Record<string, Partial<Reading>> = {};
    for (const f of [2, 4, 6, 8, 10, 12]) for (const k of [`${f}/850`, `${f}/1300`, `${f}/850/B`, `${f}/1300/B`]) noise[k] = { lossDb: -0.04 };
    expect(evaluateRecord(assembly({ readings: readings(0.04, noise) }), library).verdict).toBe('INVALID');
    // Six fibers at 0.02 and six at 0.05 dB: median 0.02 dB.
    const small: Record<string, Partial<Reading>> = {};
    for (const f of [2, 4, 6, 8, 10, 12]) for (const k of [`${f}/850`, `${f}/1300`, `${f}/850/B`, `${f}/1300/B`]) small[k] = { lossDb: 0.05 };
    const noisy = evaluateRecord(assembly({ readings: readings(0.02, small) }), library);
    expect(noisy.verdict).toBe('INVALID');
    expect(il(noisy, 2)).toMatchObject({ outcome: 'INVALID', noDeviceInPath: true });
  });
});

describe('2. the meter noise floor applies offline as in the daemon (-60 dBm)', () => {
  it('a reference at -64 dBm and a reading at -64.1 dBm (0.10 dB) is INVALID, not PASS', () => {
    const r = readings(0.3, { '3/850': { lossDb: undefined, referenceDbm: -64, measuredDbm: -64.1 } });
    const e = evaluateRecord(parseTestRecord(assembly({ readings: r.map(({ lossDb, ...rest }) => (rest.referenceDbm !== undefined ? rest : { ...rest, lossDb })) })), library);
    expect(e.verdict).toBe('INVALID');
    expect(il(e, 3).reason).toMatch(/^reference -64 dBm on fiber 3 at 850 nm, end A is below the meter's -60 dBm noise floor/);
  });

  it('the boundary: -60.00 dBm is a reading, -60.01 dBm is no light', () => {
    const at = (measuredDbm: number) =>
      evaluateRecord(assembly({ readings: readings(0.3, { '3/850': { lossDb: undefined, referenceDbm: -59.7, measuredDbm } }).map(({ lossDb, ...rest }) => (rest.referenceDbm !== undefined ? rest : { ...rest, lossDb })) }), library);
    expect(il(at(-60), 3)).toMatchObject({ value: 0.3, outcome: 'PASS' });
    expect(il(at(-60.01), 3)).toMatchObject({ value: null, outcome: 'INVALID' });
    // A bench whose meter has its own floor passes it to the engine.
    expect(il(evaluateRecord(assembly({ readings: readings(0.3, { '3/850': { lossDb: undefined, referenceDbm: -69.7, measuredDbm: -70 } }).map(({ lossDb, ...rest }) => (rest.referenceDbm !== undefined ? rest : { ...rest, lossDb })) }), library, { powerFloorDbm: -75 }), 3).value).toBe(0.3);
  });
});

describe('3. reference-grade test cords, verified', () => {
  const cord = (over: Parameters<typeof verifiedCord>[2] = {}, wl?: number[], connector = { family: 'MTP' as const, gender: 'male' as const }) => ({ launchCord: verifiedCord(connector, wl, over) });
  const v = (maxLossDb: number, at = '2026-11-23T09:00:00.000Z', matingCount = 100) => ({ id: 'V-9', at, matingCount, against: 'RP-1', wavelengthsNm: [850, 1300], maxLossDb, minLossDb: Math.min(0.03, maxLossDb) });

  it('multimode: 0.10 dB is reference grade, 0.11 dB is refused', () => {
    expect(evaluateRecord(assembly({ setup: cord({ verification: v(0.1) }) }), library).verdict).toBe('PASS');
    const e = evaluateRecord(assembly({ setup: cord({ verification: v(0.11) }) }), library);
    expect([e.verdict, ...refusals(e)]).toEqual(['INVALID', 'CORD_NOT_REFERENCE_GRADE']);
  });

  it('a missing verification, one older than 7 days or more than 100 matings before the test, is refused', () => {
    const none = evaluateRecord(assembly({ setup: { launchCord: { id: 'LC-1', connector: { family: 'MTP', gender: 'male' }, matingCount: 3 } } }), library);
    expect(refusals(none)).toEqual(['CORD_NOT_VERIFIED']);
    // testedAt 2026-11-24T09:00Z: 7 days exactly is allowed, a minute more is not.
    expect(refusals(evaluateRecord(assembly({ setup: cord({ verification: v(0.05, '2026-11-17T09:00:00.000Z') }) }), library))).toEqual([]);
    expect(refusals(evaluateRecord(assembly({ setup: cord({ verification: v(0.05, '2026-11-17T08:59:00.000Z') }) }), library))).toEqual(['CORD_VERIFICATION_EXPIRED']);
    // matingCount 110 at the test: verified at 10 (100 since) is allowed, at 9 (101 since) is not.
    expect(refusals(evaluateRecord(assembly({ setup: cord({ verification: v(0.05, undefined, 10) }) }), library))).toEqual([]);
    expect(refusals(evaluateRecord(assembly({ setup: cord({ verification: v(0.05, undefined, 9) }) }), library))).toEqual(['CORD_VERIFICATION_EXPIRED']);
  });

  it('the certificate names the verification it relied on', () => {
    expect(evaluateRecord(assembly(), library).setup.verifications).toEqual([
      { role: 'launchCord', cordId: 'LC-1', verificationId: 'V-1', at: '2026-11-23T09:00:00.000Z', against: 'RP-1', maxLossDb: 0.05, limitDb: 0.1, matingsSince: 10 },
    ]);
  });
});

describe("4. the product's grade is the limit", () => {
  it('an MTP product on a generic MPO launch cord is refused, not judged at 0.75 dB (0.74 dB would have passed)', () => {
    const e = evaluateRecord(assembly({ readings: readings(0.74), setup: { launchCord: verifiedCord({ family: 'MPO', gender: 'male' }) } }), library);
    expect(refusals(e)).toEqual(['CORD_BELOW_PRODUCT_GRADE', 'CORD_BELOW_PRODUCT_GRADE']);
    expect(il(e, 1)).toMatchObject({ value: 0.74, limit: 0.6, margin: -0.14, outcome: 'FAIL' });
    expect(e.verdict).toBe('INVALID');
  });

  it('an IEC grade B product: 0.25 dB against an IEC-B cord; an MTP cord (0.35 dB) is refused, so 0.34 dB cannot pass', () => {
    const sm = (lossDb: number, cordGrade: string): AssemblyRecord =>
      assembly({
        fiberType: 'OS2',
        wavelengthsNm: [1310],
        limitSet: { id: 'mpocert-default', version: '1.1.0' },
        connectors: { A: { family: 'MTP', gender: 'female', grade: 'IEC-B', polish: 'APC' }, B: { family: 'MTP', gender: 'female', grade: 'IEC-B', polish: 'APC' } },
        setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male', grade: cordGrade, polish: 'APC' }, [1310]) },
        readings: readingsFor(12, [1310], lossDb, {}, ['A', 'B']),
      });
    expect(il(evaluateRecord(sm(0.25, 'IEC-B'), library, { guardBandDb: 0 }), 1, 1310)).toMatchObject({ limit: 0.25, margin: 0, outcome: 'PASS' });
    expect(il(evaluateRecord(sm(0.251, 'IEC-B'), library), 1, 1310)).toMatchObject({ margin: -0.001, outcome: 'FAIL' });
    const mtpCord = evaluateRecord(sm(0.34, 'MTP'), library);
    expect(mtpCord.verdict).toBe('INVALID');
    expect(mtpCord.setup.refusals[0]!.message).toMatch(/^launch cord LC-1 is grade MTP \(0\.35 dB singlemode\), below end A's grade IEC-B \(0\.25 dB\)/);
  });
});

describe('5. one connector per reading', () => {
  it('a receive cord (two connectors per reading, once judged against 1.20 dB) is refused: 0.85 dB at one connector cannot hide', () => {
    const e = evaluateRecord(assembly({ readings: readings(0.85), setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }), receiveCord: verifiedCord({ family: 'MTP', gender: 'male' }, undefined, { id: 'RC-1' }) } }), library);
    expect(refusals(e)).toEqual(['TWO_CONNECTORS_PER_READING']);
    expect(il(e, 1)).toMatchObject({ limit: 0.6, margin: -0.25, outcome: 'FAIL' });
    expect(e.verdict).toBe('INVALID');
  });
});

describe('6. both ends', () => {
  it('a record without end B is INVALID; a bad far-end connector FAILs at end B', () => {
    const onlyA = evaluateRecord(assembly({ endsMeasured: ['A'], readings: readingsFor(12, [850, 1300], 0.3) }), library);
    expect(onlyA.verdict).toBe('INVALID');
    expect(il(onlyA, 1, 850, 'B').reason).toMatch(/^no reading for fiber 1 at 850 nm, end B \[rule both-ends/);
    const farEnd = evaluateRecord(assembly({ readings: readings(0.3, { '5/850/B': { lossDb: 0.85 } }) }), library);
    expect(farEnd.verdict).toBe('FAIL');
    expect(il(farEnd, 5, 850, 'B')).toMatchObject({ value: 0.85, margin: -0.25, outcome: 'FAIL' });
  });

  it('an end certified elsewhere is said on the face of the certificate', () => {
    const e = evaluateRecord(assembly({ oneEndCertifiedElsewhere: { end: 'B', note: 'cable factory test report 7731' }, endsMeasured: ['A'], readings: readingsFor(12, [850, 1300], 0.3) }), library);
    expect(e.verdict).toBe('PASS');
    expect(e.ends).toEqual({ certified: ['A'], certifiedElsewhere: { end: 'B', note: 'cable factory test report 7731' } });
  });
});

describe('7-9. single-mode polish, APC return loss, required quantities', () => {
  const sm = (polish: 'UPC' | 'APC' | undefined, cordPolish: 'UPC' | 'APC', rl?: number): unknown => {
    const c = (p: 'UPC' | 'APC' | undefined) => ({ family: 'MTP', gender: 'female', ...(p ? { polish: p } : {}) });
    return {
      ...assembly({ fiberType: 'OS2', wavelengthsNm: [1310], requiredQuantities: undefined, readings: readingsFor(12, [1310], 0.2, {}, ['A', 'B']).map((r) => (rl === undefined ? r : { ...r, returnLossDb: rl })) }),
      connectors: { A: c(polish), B: c(polish) },
      setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male', polish: cordPolish }, [1310]) },
    };
  };

  it('7. a single-mode connector must state its polish; APC is judged at 55 dB (TIA-568.3-E), not refused', () => {
    expect(() => parseTestRecord(sm(undefined, 'APC'))).toThrow(/^\/connectors\/A\/polish: a single-mode \(OS2\) connector must state its polish, UPC or APC/);
    const e = (rl: number) => evaluateRecord(parseTestRecord(sm('APC', 'APC', rl)), library, { guardBandDb: 0 });
    const rlOf = (ev: Evaluation) => ev.fibers[0]!.judgments.find((j) => j.quantity === 'returnLoss')!;
    expect(rlOf(e(55))).toMatchObject({ limit: 55, margin: 0, outcome: 'PASS', verify: true });
    expect(rlOf(e(54.9))).toMatchObject({ margin: -0.1, outcome: 'FAIL' });
  });

  it('8. an APC device on a UPC cord is refused before anything is judged as a pass', () => {
    const e = evaluateRecord(parseTestRecord(sm('APC', 'UPC', 60)), library);
    expect(refusals(e)).toEqual(['POLISH_MISMATCH', 'POLISH_MISMATCH']);
    expect(e.setup.refusals[0]!.message).toMatch(/^UPC-APC mating refused: launch cord LC-1 is UPC, end A of the device is APC/);
  });

  it('9. a grade with a return-loss limit requires RL unless the product says otherwise: none measured is INVALID', () => {
    const e = evaluateRecord(parseTestRecord(sm('APC', 'APC')), library);
    expect(e.verdict).toBe('INVALID');
    expect(e.fibers[0]!.judgments.find((j) => j.quantity === 'returnLoss')!.reason).toMatch(/^no return-loss reading for fiber 1 at 1310 nm, end A, which the product requires/);
  });
});

describe('10-12. applications constrain the test', () => {
  const sr8 = (over: Partial<LinkRecord>): LinkRecord =>
    link({ application: '400GBASE-SR8', fiberCount: 16, polarity: { declared: 'method-B', measuredMap: typeMap('B', 16) }, wavelengthsNm: [850], readings: readingsFor(16, [850], 0.5), ...over });

  it('10. 400GBASE-SR8 on 8 fibers, SR8 only at 1300 nm, DR4 only at 1550 nm: refused', () => {
    const eight = evaluateRecord(sr8({ fiberCount: 8, polarity: { declared: 'method-B', measuredMap: typeMap('B', 8) }, readings: readingsFor(8, [850], 0.5) }), library);
    expect(refusals(eight)).toEqual(['APPLICATION_FIBER_COUNT']);
    const at1300 = evaluateRecord(sr8({ wavelengthsNm: [1300], readings: readingsFor(16, [1300], 0.5), setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }, [1300]) } }), library);
    expect(refusals(at1300)).toEqual(['APPLICATION_WAVELENGTH']);
    const dr4 = evaluateRecord(
      link({
        application: '400GBASE-DR4',
        fiberType: 'OS2',
        fiberCount: 12,
        wavelengthsNm: [1550],
        connectors: { A: { family: 'MTP', gender: 'female', polish: 'APC' }, B: { family: 'MTP', gender: 'female', polish: 'APC' } },
        polarity: { declared: 'B', measuredMap: typeMap('B', 12) },
        readings: readingsFor(12, [1550], 0.5),
        setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male', polish: 'APC' }, [1550]) },
      }),
      library,
    );
    expect(refusals(dr4)).toEqual(['APPLICATION_WAVELENGTH']);
    expect(dr4.verdict).toBe('INVALID');
  });

  it('11. type C for parallel optics is refused; a parallel channel is checked against the type B map end to end', () => {
    expect(refusals(evaluateRecord(sr8({ polarity: { declared: 'C', measuredMap: typeMap('C', 16) } }), library))).toEqual(['APPLICATION_POLARITY']);
    // Method A: a type A trunk, but with its patch cords the channel maps like type B.
    const channel = (measured: 'A' | 'B') => evaluateRecord(sr8({ linkType: 'channel', polarity: { declared: 'method-A', measuredMap: typeMap(measured, 16) } }), library);
    expect(channel('B').polarity).toMatchObject({ expectedType: 'B', outcome: 'PASS' });
    expect(channel('A').polarity).toMatchObject({ expectedType: 'B', outcome: 'FAIL' });
    // The same method-A trunk on its own (a permanent link) maps like type A.
    expect(evaluateRecord(sr8({ linkType: 'permanent-link', polarity: { declared: 'method-A', measuredMap: typeMap('A', 16) } }), library).polarity).toMatchObject({ expectedType: 'A', outcome: 'PASS' });
  });

  it("12. headroom against the application's channel loss: 6 dB with one MPO pair leaves 5.25 dB, with MTP 5.40 dB", () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpocert-headroom-'));
    const set = (id: string, pair: number) =>
      writeFileSync(
        join(dir, `${id}.json`),
        JSON.stringify({ id, version: '1', title: id, source: 'the source document: 10G link, 6 dB budget', includes: [{ id: 'mtp-mpo-connector-grades', version: '1.1.0' }], componentAllowances: { matedPairDb: pair }, applications: { 'LAB-10G': { signal: 'duplex', testWavelengthsNm: [850], channels: { OM4: { channelLossDb: 6, reachM: 300 } } } } }),
      );
    set('lab-mpo', 0.75);
    set('lab-mtp', 0.6);
    const lib = loadLimitLibrary({ userDir: dir });
    const headroom = (id: string) => {
      const e = evaluateRecord(link({ limitSet: { id, version: '1' }, application: 'LAB-10G', connections: 1, lengthM: 0, wavelengthsNm: [850], readings: readingsFor(12, [850], 0.5) }), lib);
      return [e.link!.budgets[0]!.designHeadroomDb, il(e, 1).headroomDb, e.limitSet.origin];
    };
    expect(headroom('lab-mpo')).toEqual([5.25, 5.5, 'user']);
    expect(headroom('lab-mtp')).toEqual([5.4, 5.5, 'user']);
  });

  it('12. the applications installers ask for are there, each with its lanes and wavelength', () => {
    const apps = library.find({ id: 'ieee-802.3-channels', version: '1.1.0' })!.applications;
    for (const id of ['25GBASE-SR', '200GBASE-SR4', '400GBASE-SR4', '400GBASE-VR4', '800GBASE-SR8', '800GBASE-VR8']) expect(apps.has(id), id).toBe(true);
    expect(apps.get('800GBASE-SR8')).toMatchObject({ signal: 'parallel', fiberCounts: [16], testWavelengthsNm: [850] });
    expect(apps.get('400GBASE-SR8')!.channels.get('OM5')!.channelLossDb.value).toBe(1.9);
  });
});

describe('13. a declared polarity is measured, or the certificate cannot pass', () => {
  it('declared B with no measured map is INVALID; measured B passes; 3 and 4 swapped fails naming them', () => {
    const declared = evaluateRecord(assembly({ polarity: { declared: 'B' } }), library);
    expect(declared.verdict).toBe('INVALID');
    expect(declared.reasons).toEqual([expect.stringMatching(/^polarity B is declared but was not measured: a declared polarity cannot pass unverified/)]);
    expect(evaluateRecord(assembly({ polarity: { declared: 'B', measuredMap: typeMap('B', 12) } }), library).verdict).toBe('PASS');
    const swapped = { ...typeMap('B', 12), '3': 9, '4': 10 };
    const e = evaluateRecord(assembly({ polarity: { declared: 'B', measuredMap: swapped } }), library);
    expect(e.verdict).toBe('FAIL');
    expect(e.reasons[0]).toMatch(/^polarity: declared B \(expected type B\) but 2 position\(s\) differ \(3 swapped, 4 swapped\)/);
  });
});

describe("an independent auditor's findings", () => {
  const v = (over: Record<string, unknown>) => ({ id: 'V-9', at: '2026-11-23T09:00:00.000Z', matingCount: 100, against: 'RP-1', wavelengthsNm: [850, 1300], maxLossDb: 0.05, minLossDb: 0.03, ...over });
  const withVerification = (over: Record<string, unknown>) => assembly({ setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }, undefined, { verification: v(over) as never }) } });

  it('a cord verification with a negative loss (reference taken through a device) or about 0 dB everywhere (no plug) is refused', () => {
    const negative = evaluateRecord(withVerification({ minLossDb: -0.08, maxLossDb: -0.01 }), library);
    expect([negative.verdict, ...refusals(negative)]).toEqual(['INVALID', 'CORD_VERIFICATION_IMPLAUSIBLE']);
    expect(negative.setup.refusals[0]!.message).toMatch(/reads as low as -0\.08 dB against RP-1: a negative loss is a reference error/);
    const zero = evaluateRecord(withVerification({ minLossDb: 0, maxLossDb: 0 }), library);
    expect([zero.verdict, ...refusals(zero)]).toEqual(['INVALID', 'CORD_VERIFICATION_IMPLAUSIBLE']);
    // The boundary: -0.05 dB and 0.04 dB are a real (if excellent) pair.
    expect(refusals(evaluateRecord(withVerification({ minLossDb: -0.05, maxLossDb: 0.04 }), library))).toEqual([]);
  });

  it('rounding is on the strict side: 0.6004 dB is judged 0.601 dB (FAIL), return loss 25.9996 dB is 25.999 dB (FAIL)', () => {
    const il6004 = evaluateRecord(assembly({ readings: readings(0.3, { '1/850': { lossDb: 0.6004 } }) }), library);
    expect(il(il6004, 1)).toMatchObject({ value: 0.601, margin: -0.001, outcome: 'FAIL' });
    const rl = evaluateRecord(assembly({ requiredQuantities: undefined, readings: readings(0.3).map((r) => ({ ...r, returnLossDb: r.fiber === 1 && r.wavelengthNm === 850 && r.end === undefined ? 25.9996 : 40 })) }), library);
    expect(rl.fibers[0]!.judgments.find((j) => j.quantity === 'returnLoss')).toMatchObject({ value: 25.999, limit: 26, margin: -0.001, outcome: 'FAIL' });
  });

  it('a loss-test set reading at the noise floor is INVALID even with its loss given; a +60 dBm power is not a measurement', () => {
    const lts = evaluateRecord(assembly({ readings: readings(0.3, { '2/850': { lossDb: 0.3, measuredDbm: -75 } }) }), library);
    expect(il(lts, 2)).toMatchObject({ value: null, outcome: 'INVALID' });
    const hot = evaluateRecord(assembly({ readings: readings(0.3, { '2/850': { lossDb: undefined, referenceDbm: 60.3, measuredDbm: 60 } }).map(({ lossDb, ...r }) => (r.referenceDbm !== undefined ? r : { ...r, lossDb })) }), library);
    expect(il(hot, 2).reason).toMatch(/^reference 60\.3 dBm on fiber 2 at 850 nm, end A is above \+10 dBm/);
  });

  it('a link whose connectors are not declared cannot have its matings checked: refused', () => {
    const { connectors: _c, ...rest } = link();
    expect(refusals(evaluateRecord(rest as LinkRecord, library))).toEqual(['DEVICE_CONNECTORS_UNKNOWN']);
  });

  it('implausible inputs are bad input: a map key "01", a free-text testedAt, a 100 km multimode link', () => {
    expect(() => parseTestRecord({ ...assembly(), polarity: { declared: 'B', measuredMap: { '01': 5 } } })).toThrow('/polarity/measuredMap/01: is not an allowed property');
    expect(() => parseTestRecord({ ...assembly(), testedAt: 'Thu Nov 20 2025' })).toThrow(/^\/testedAt: /);
    expect(() => parseTestRecord({ ...link(), lengthM: 100_000 })).toThrow('/lengthM: 100000 m is longer than any multimode link (2000 m)');
  });
});

describe('every rule is documented', () => {
  it('docs/rules.md names every rule id with its source', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync('docs/rules.md', 'utf8');
    for (const [id, source] of Object.entries(RULES)) {
      expect(doc, id).toContain(`\`${id}\``);
      expect(doc, id).toContain(source);
    }
  });
});
