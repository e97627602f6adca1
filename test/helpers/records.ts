import { fiberPositions, loadLimitLibrary, type AssemblyRecord, type End, type FiberCount, type LinkRecord, type Reading, type TestCord } from '../../src/evaluation/index.js';

export const library = loadLimitLibrary();

export const TESTED_AT = '2026-11-24T09:00:00.000Z';

/** One reading per position, wavelength and end, all at `lossDb` unless `at` (`fiber/wl` or `fiber/wl/B`) says otherwise. */
export function readingsFor(
  fiberCount: FiberCount,
  wavelengthsNm: readonly number[],
  lossDb: number,
  at: Record<string, Partial<Reading>> = {},
  ends: readonly End[] = ['A'],
): Reading[] {
  return ends.flatMap((end) =>
    fiberPositions(fiberCount).flatMap((fiber) =>
      wavelengthsNm.map((wavelengthNm) => ({
        fiber,
        wavelengthNm,
        ...(end === 'B' ? { end } : {}),
        lossDb,
        ...at[end === 'A' ? `${fiber}/${wavelengthNm}` : `${fiber}/${wavelengthNm}/B`],
      })),
    ),
  );
}

/**
 * A launch cord verified the day before the test as reference grade (0.05 dB against reference
 * plug RP-1) at the given wavelengths, mated 10 times since.
 */
export function verifiedCord(connector: TestCord['connector'], wavelengthsNm: readonly number[] = [850, 1300], overrides: Partial<TestCord> = {}): TestCord {
  return {
    id: 'LC-1',
    connector,
    matingCount: 110,
    verification: { id: 'V-1', at: '2026-11-23T09:00:00.000Z', matingCount: 100, against: 'RP-1', wavelengthsNm: [...wavelengthsNm], maxLossDb: 0.05, minLossDb: 0.03 },
    ...overrides,
  };
}

/** A 12-fiber OM4 test at 850 and 1300 nm with every reading at `lossDb`. */
function twelveFiberOm4(lossDb: number, ends: readonly End[]) {
  return { fiberCount: 12 as const, fiberType: 'OM4' as const, wavelengthsNm: [850, 1300], readings: readingsFor(12, [850, 1300], lossDb, {}, ends) };
}

/**
 * An MTP-12 OM4 assembly (both ends female) measured at both ends through a verified, pinned MTP
 * launch cord: a record every rule accepts, which tests then change one field at a time.
 */
export function assembly(overrides: Partial<AssemblyRecord> = {}): AssemblyRecord {
  const connectors: AssemblyRecord['connectors'] = { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } };
  return {
    kind: 'assembly',
    serialNumber: 'SN-1',
    limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' },
    connectors,
    testedAt: TESTED_AT,
    setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }) },
    requiredQuantities: ['insertionLoss'],
    ...twelveFiberOm4(0.3, ['A', 'B']),
    ...overrides,
  };
}

/** A 100 m OM4 link with 2 connections, measured from end A through a verified launch cord. */
export function link(overrides: Partial<LinkRecord> = {}): LinkRecord {
  const budget = { lengthM: 100, connections: 2, splices: 0 };
  return {
    kind: 'link',
    linkId: 'L-1',
    limitSet: { id: 'mpocert-default', version: '1.1.0' },
    testedAt: TESTED_AT,
    connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
    setup: { launchCord: verifiedCord({ family: 'MTP', gender: 'male' }) },
    requiredQuantities: ['insertionLoss'],
    ...budget,
    ...twelveFiberOm4(1.0, ['A']),
    ...overrides,
  };
}
