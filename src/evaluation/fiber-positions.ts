export type FiberCount = 8 | 12 | 16 | 24;

const EIGHT_FIBER_POSITIONS = Object.freeze([1, 2, 3, 4, 9, 10, 11, 12]);
const positionsByCount = new Map<FiberCount, readonly number[]>([
  [8, EIGHT_FIBER_POSITIONS],
  [12, Object.freeze(range(1, 12))],
  [16, Object.freeze(range(1, 16))],
  [24, Object.freeze(range(1, 24))],
]);

/**
 * The ferrule positions that carry fiber. Readings and polarity maps both use positions, so an
 * 8-fiber connector (a 12-position ferrule with 5-8 empty) is numbered 1-4 and 9-12, never 1-8.
 */
export function fiberPositions(fiberCount: FiberCount): readonly number[] {
  const positions = positionsByCount.get(fiberCount);
  if (!positions) throw new RangeError(`unsupported fiber count ${String(fiberCount)}`);
  return positions;
}

export function describePositions(fiberCount: FiberCount): string {
  return fiberCount === 8 ? '1-4 and 9-12' : `1-${fiberCount}`;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
