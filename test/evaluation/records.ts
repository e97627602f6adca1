import { fiberPositions, loadLimitLibrary, type AssemblyRecord, type FiberCount, type LinkRecord, type Reading } from '../../src/evaluation/index.js';

export const library = loadLimitLibrary();

/** One reading per position and wavelength, all at `lossDb` unless `at` says otherwise. */
export function readingsFor(
  fiberCount: FiberCount,
  wavelengthsNm: readonly number[],
  lossDb: number,
  at: Record<string, Partial<Reading>> = {},
): Reading[] {
  return fiberPositions(fiberCount).flatMap((fiber) =>
    wavelengthsNm.map((wavelengthNm) => ({ fiber, wavelengthNm, lossDb, ...at[`${fiber}/${wavelengthNm}`] })),
  );
}

/** A 12-fiber OM4 test at 850 and 1300 nm with every reading at `lossDb`. */
function twelveFiberOm4(lossDb: number) {
  return { fiberCount: 12 as const, fiberType: 'OM4' as const, wavelengthsNm: [850, 1300], readings: readingsFor(12, [850, 1300], lossDb) };
}

export function assembly(overrides: Partial<AssemblyRecord> = {}): AssemblyRecord {
  const connectors: AssemblyRecord['connectors'] = { A: { family: 'MTP', gender: 'male' }, B: { family: 'MTP', gender: 'male' } };
  return { kind: 'assembly', serialNumber: 'SN-1', limitSet: { id: 'mtp-mpo-connector-grades' }, connectors, ...twelveFiberOm4(0.3), ...overrides };
}

export function link(overrides: Partial<LinkRecord> = {}): LinkRecord {
  const budget = { lengthM: 100, connections: 2, splices: 0 };
  return { kind: 'link', linkId: 'L-1', limitSet: { id: 'mpocert-default' }, ...budget, ...twelveFiberOm4(1.0), ...overrides };
}
