import { fiberPositions, type FiberCount } from './fiber-positions.js';
import type { PolarityDeclaration, PolarityType } from './record-schema.js';

/** Position at end A -> position at end B where its light arrives; null when dark. */
export type FiberMap = Readonly<Record<number, number | null>>;

const POLARITY_TYPES: readonly PolarityType[] = ['A', 'B', 'C'];

/**
 * Every connectivity method's end-to-end MPO map is the map of its trunk type (FIBER-TEST-FACTS.md
 * section 4): A and C as named; B, U1 and U2 use a type B trunk. U1 and U2 differ only in adapter
 * keying and patch cords, which do not change the MPO-to-MPO map (verify against TIA-568.3-E figures).
 */
const TRUNK_TYPE_OF: Readonly<Record<PolarityDeclaration, PolarityType>> = {
  A: 'A',
  B: 'B',
  C: 'C',
  'method-A': 'A',
  'method-B': 'B',
  'method-C': 'C',
  U1: 'B',
  U2: 'B',
};

export function polarityTypeOf(declared: PolarityDeclaration): PolarityType {
  return TRUNK_TYPE_OF[declared];
}

/**
 * Rows within which type B reverses: one row of 12 (8 fibers use its positions 1-4 and 9-12), one
 * row of 16, or two rows of 12 for 24 fibers (13 -> 24).
 */
function rowsOf(fiberCount: FiberCount): readonly (readonly [number, number])[] {
  switch (fiberCount) {
    case 8:
    case 12:
      return [[1, 12]];
    case 16:
      return [[1, 16]];
    case 24:
      return [[1, 12], [13, 24]];
  }
}

const mapCache = new Map<string, FiberMap>();

export function expectedMap(polarity: PolarityDeclaration, fiberCount: FiberCount): FiberMap {
  const type = polarityTypeOf(polarity);
  const key = `${type}/${fiberCount}`;
  const cached = mapCache.get(key);
  if (cached) return cached;
  const map = Object.freeze(buildMap(type, fiberCount));
  mapCache.set(key, map);
  return map;
}

function buildMap(type: PolarityType, fiberCount: FiberCount): Record<number, number> {
  const positions = fiberPositions(fiberCount);
  const map: Record<number, number> = {};
  if (type === 'A') {
    for (const p of positions) map[p] = p;
  } else if (type === 'B') {
    for (const [first, last] of rowsOf(fiberCount)) {
      for (const p of positions) if (p >= first && p <= last) map[p] = first + last - p;
    }
  } else {
    // Type C flips adjacent pairs of occupied positions: (1,2), (3,4), ... and for 8 fibers (9,10), (11,12).
    for (let i = 0; i + 1 < positions.length; i += 2) {
      const a = positions[i] as number;
      const b = positions[i + 1] as number;
      map[a] = b;
      map[b] = a;
    }
  }
  return map;
}

/** Light entering `first` and then `second`: p -> second[first[p]]. Dark stays dark. */
export function composeMaps(first: FiberMap, second: FiberMap, fiberCount: FiberCount): Record<number, number | null> {
  const out: Record<number, number | null> = {};
  for (const p of fiberPositions(fiberCount)) {
    const via = first[p];
    out[p] = via === null || via === undefined ? null : (second[via] ?? null);
  }
  return out;
}

export type PolarityDifferenceKind = 'dark' | 'swapped' | 'crossed';

export interface PolarityDifference {
  readonly position: number;
  readonly expected: number;
  readonly measured: number | null;
  /** dark: no light; swapped: exchanged with `withPosition`; crossed: arrives somewhere else. */
  readonly kind: PolarityDifferenceKind;
  readonly withPosition?: number;
}

export interface PolarityClassification {
  /** The type the measured map matches at the most positions; null when it matches none. */
  readonly bestFit: PolarityType | null;
  readonly matchingPositions: number;
  readonly positions: number;
  readonly scores: Readonly<Record<PolarityType, number>>;
  /** Every position that differs from the best fit (from type A when nothing fits). */
  readonly differences: readonly PolarityDifference[];
}

export type MeasuredMapInput = Readonly<Record<string | number, number | null | undefined>>;

export function classifyPolarity(measured: MeasuredMapInput, fiberCount: FiberCount): PolarityClassification {
  const positions = fiberPositions(fiberCount);
  const scores = { A: 0, B: 0, C: 0 } as Record<PolarityType, number>;
  let bestFit: PolarityType | null = null;
  for (const type of POLARITY_TYPES) {
    const template = expectedMap(type, fiberCount);
    scores[type] = positions.filter((p) => (measured[p] ?? null) === template[p]).length;
    // Ties go to the earlier type (A, then B, then C): any order is arbitrary, a stable one is testable.
    if (scores[type] > 0 && (bestFit === null || scores[type] > scores[bestFit])) bestFit = type;
  }
  return {
    bestFit,
    matchingPositions: bestFit === null ? 0 : scores[bestFit],
    positions: positions.length,
    scores,
    differences: differencesFrom(measured, expectedMap(bestFit ?? 'A', fiberCount), fiberCount),
  };
}

export function differencesFrom(measured: MeasuredMapInput, expected: FiberMap, fiberCount: FiberCount): PolarityDifference[] {
  const differences: PolarityDifference[] = [];
  for (const position of fiberPositions(fiberCount)) {
    const want = expected[position] ?? null;
    const got = measured[position] ?? null;
    if (want === null || got === want) continue;
    if (got === null) {
      differences.push({ position, expected: want, measured: null, kind: 'dark' });
      continue;
    }
    const partner = partnerOfSwap(position, got, measured, expected, fiberCount);
    differences.push(
      partner === undefined
        ? { position, expected: want, measured: got, kind: 'crossed' }
        : { position, expected: want, measured: got, kind: 'swapped', withPosition: partner },
    );
  }
  return differences;
}

/** The position q whose expected destination p took, when q in turn took p's: a two-fiber exchange. */
function partnerOfSwap(position: number, got: number, measured: MeasuredMapInput, expected: FiberMap, fiberCount: FiberCount): number | undefined {
  for (const q of fiberPositions(fiberCount)) {
    if (q !== position && expected[q] === got && (measured[q] ?? null) === expected[position]) return q;
  }
  return undefined;
}

