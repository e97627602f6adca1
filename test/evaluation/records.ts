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

export function assembly(overrides: Partial<AssemblyRecord> = {}): AssemblyRecord {
  return {
    kind: 'assembly',
    serialNumber: 'SN-1',
    limitSet: { id: 'mtp-mpo-connector-grades' },
    fiberCount: 12,
    fiberType: 'OM4',
    connectors: { A: { family: 'MTP', gender: 'male' }, B: { family: 'MTP', gender: 'male' } },
    wavelengthsNm: [850, 1300],
    readings: readingsFor(12, [850, 1300], 0.3),
    ...overrides,
  };
}

export function link(overrides: Partial<LinkRecord> = {}): LinkRecord {
  return {
    kind: 'link',
    linkId: 'L-1',
    limitSet: { id: 'mpocert-default' },
    fiberCount: 12,
    fiberType: 'OM4',
    lengthM: 100,
    connections: 2,
    splices: 0,
    wavelengthsNm: [850, 1300],
    readings: readingsFor(12, [850, 1300], 1.0),
    ...overrides,
  };
}
