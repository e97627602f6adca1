import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyPolarity,
  composeMaps,
  evaluateRecord,
  expectedMap,
  fiberPositions,
  type FiberCount,
  type PolarityDeclaration,
} from '../../src/evaluation/index.js';
import { assembly, library, readingsFor } from '../helpers/records.js';

const COUNTS: readonly FiberCount[] = [8, 12, 16, 24];

/** Written out by hand from FIBER-TEST-FACTS.md section 4, position at end A -> end B. */
const HAND_MAPS: Record<string, Record<number, number>> = {
  'A/8': { 1: 1, 2: 2, 3: 3, 4: 4, 9: 9, 10: 10, 11: 11, 12: 12 },
  'B/8': { 1: 12, 2: 11, 3: 10, 4: 9, 9: 4, 10: 3, 11: 2, 12: 1 },
  'C/8': { 1: 2, 2: 1, 3: 4, 4: 3, 9: 10, 10: 9, 11: 12, 12: 11 },
  'A/12': { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10, 11: 11, 12: 12 },
  'B/12': { 1: 12, 2: 11, 3: 10, 4: 9, 5: 8, 6: 7, 7: 6, 8: 5, 9: 4, 10: 3, 11: 2, 12: 1 },
  'C/12': { 1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 7: 8, 8: 7, 9: 10, 10: 9, 11: 12, 12: 11 },
  'A/16': { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 7, 8: 8, 9: 9, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14, 15: 15, 16: 16 },
  'B/16': { 1: 16, 2: 15, 3: 14, 4: 13, 5: 12, 6: 11, 7: 10, 8: 9, 9: 8, 10: 7, 11: 6, 12: 5, 13: 4, 14: 3, 15: 2, 16: 1 },
  'C/16': { 1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 7: 8, 8: 7, 9: 10, 10: 9, 11: 12, 12: 11, 13: 14, 14: 13, 15: 16, 16: 15 },
  'A/24': Object.fromEntries(Array.from({ length: 24 }, (_, i) => [i + 1, i + 1])),
  'B/24': {
    1: 12, 2: 11, 3: 10, 4: 9, 5: 8, 6: 7, 7: 6, 8: 5, 9: 4, 10: 3, 11: 2, 12: 1,
    13: 24, 14: 23, 15: 22, 16: 21, 17: 20, 18: 19, 19: 18, 20: 17, 21: 16, 22: 15, 23: 14, 24: 13,
  },
  'C/24': {
    1: 2, 2: 1, 3: 4, 4: 3, 5: 6, 6: 5, 7: 8, 8: 7, 9: 10, 10: 9, 11: 12, 12: 11,
    13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 19: 20, 20: 19, 21: 22, 22: 21, 23: 24, 24: 23,
  },
};

/** The trunk type behind each connectivity method (A, B, C; U1 and U2 use a type B trunk). */
const METHOD_TYPES: Record<PolarityDeclaration, 'A' | 'B' | 'C'> = {
  A: 'A', B: 'B', C: 'C', 'method-A': 'A', 'method-B': 'B', 'method-C': 'C', U1: 'B', U2: 'B',
};

describe('expected maps for every type and method, for 8, 12, 16 and 24 fibers', () => {
  for (const [declared, type] of Object.entries(METHOD_TYPES) as [PolarityDeclaration, 'A' | 'B' | 'C'][]) {
    for (const count of COUNTS) {
      it(`${declared} on ${count} fibers is the type ${type} map`, () => {
        expect({ ...expectedMap(declared, count) }).toEqual(HAND_MAPS[`${type}/${count}`]);
      });
    }
  }

  it('an 8-fiber map never uses positions 5-8', () => {
    for (const t of ['A', 'B', 'C'] as const) expect(Object.keys(expectedMap(t, 8)).map(Number)).toEqual([1, 2, 3, 4, 9, 10, 11, 12]);
  });
});

describe('classifying a measured map', () => {
  for (const type of ['A', 'B', 'C'] as const) {
    for (const count of COUNTS) {
      it(`names type ${type} on ${count} fibers with no differences`, () => {
        const c = classifyPolarity(expectedMap(type, count), count);
        expect(c).toMatchObject({ bestFit: type, matchingPositions: count, positions: count, differences: [] });
      });
    }
  }

  it('lists a swapped pair, a crossed fiber and a dark one against the best fit', () => {
    const measured: Record<number, number | null> = { ...expectedMap('B', 12) };
    measured[1] = 11; // 1 and 2 exchanged destinations
    measured[2] = 12;
    measured[5] = 3; // light from 5 arrives at 3 (expected 8): nothing took 8 in exchange
    measured[9] = null;
    const c = classifyPolarity(measured, 12);
    expect(c.bestFit).toBe('B');
    expect(c.matchingPositions).toBe(8);
    expect(c.differences).toEqual([
      { position: 1, expected: 12, measured: 11, kind: 'swapped', withPosition: 2 },
      { position: 2, expected: 11, measured: 12, kind: 'swapped', withPosition: 1 },
      { position: 5, expected: 8, measured: 3, kind: 'crossed' },
      { position: 9, expected: 4, measured: null, kind: 'dark' },
    ]);
  });

  it('treats missing positions as dark and fits nothing when all are dark', () => {
    const c = classifyPolarity({}, 8);
    expect(c.bestFit).toBeNull();
    expect(c.differences).toHaveLength(8);
    expect(c.differences.every((d) => d.kind === 'dark')).toBe(true);
  });

  it('fails an assembly whose map differs from its declared type and names the best fit', () => {
    const e = evaluateRecord(assembly({ polarity: { declared: 'U1', measuredMap: stringKeys(expectedMap('A', 12)) } }), library);
    expect(e.polarity).toMatchObject({ declared: 'U1', expectedType: 'B', outcome: 'FAIL', classification: { bestFit: 'A' } });
    expect(e.polarity?.differencesFromDeclared).toHaveLength(12);
    // Straight through where B reverses: each position p took 13 - p's destination and the reverse.
    const swapped = Array.from({ length: 12 }, (_, i) => `${i + 1} swapped`).join(', ');
    expect(e.polarity?.reason).toBe(
      `polarity: declared U1 (expected type B) but 12 position(s) differ (${swapped}); best fit is type A [rule polarity: TIA-568.3-E: the measured end-to-end map must equal the declared polarity's map]`,
    );
    expect(e.reasons).toEqual([e.polarity?.reason]);
    expect(e.verdict).toBe('FAIL');
    expect(e.fibers.every((f) => f.outcome === 'PASS')).toBe(true);
  });

  it('passes a matching map and only reports when nothing is declared', () => {
    const ok = evaluateRecord(
      assembly({ fiberCount: 24, readings: readingsFor(24, [850, 1300], 0.3, {}, ['A', 'B']), polarity: { declared: 'method-C', measuredMap: stringKeys(expectedMap('C', 24)) } }),
      library,
    );
    expect(ok.polarity).toMatchObject({ declared: 'method-C', expectedType: 'C', outcome: 'PASS', differencesFromDeclared: [] });
    expect(ok.verdict).toBe('PASS');
    const undeclared = evaluateRecord(assembly({ polarity: { measuredMap: stringKeys(expectedMap('B', 12)) } }), library);
    expect(undeclared.polarity?.outcome).toBeUndefined();
    expect(undeclared.polarity?.classification?.bestFit).toBe('B');
    expect(undeclared.verdict).toBe('PASS');
  });
});

describe('properties of the maps (fast-check)', () => {
  const count = fc.constantFrom<FiberCount>(...COUNTS);
  const identity = (n: FiberCount) => ({ ...expectedMap('A', n) });

  it('B and C are involutions: applying either twice is straight through', () => {
    fc.assert(
      fc.property(count, fc.constantFrom('B' as const, 'C' as const), (n, t) => {
        expect(composeMaps(expectedMap(t, n), expectedMap(t, n), n)).toEqual(identity(n));
      }),
    );
  });

  it('A then B is B, and B then A is B', () => {
    fc.assert(
      fc.property(count, (n) => {
        expect(composeMaps(expectedMap('A', n), expectedMap('B', n), n)).toEqual({ ...expectedMap('B', n) });
        expect(composeMaps(expectedMap('B', n), expectedMap('A', n), n)).toEqual({ ...expectedMap('B', n) });
      }),
    );
  });

  it('every map is a permutation of the occupied positions', () => {
    fc.assert(
      fc.property(count, fc.constantFrom('A' as const, 'B' as const, 'C' as const), (n, t) => {
        const map = expectedMap(t, n);
        expect(Object.values(map).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([...fiberPositions(n)]);
      }),
    );
  });

  it('exchanging two destinations of a template is reported as exactly that swap', () => {
    fc.assert(
      fc.property(
        count.chain((n) => fc.tuple(fc.constant(n), fc.constantFrom('A' as const, 'B' as const, 'C' as const), fc.uniqueArray(fc.constantFrom(...fiberPositions(n)), { minLength: 2, maxLength: 2 }))),
        ([n, t, [p, q]]) => {
          const measured: Record<number, number | null> = { ...expectedMap(t, n) };
          const mp = measured[p as number] ?? null;
          measured[p as number] = measured[q as number] ?? null;
          measured[q as number] = mp;
          const c = classifyPolarity(measured, n);
          // Templates differ at every position, so n-2 matches (n >= 8) beat the 2 another type could reach.
          expect(c.bestFit).toBe(t);
          expect(c.differences.map((d) => [d.position, d.kind, d.withPosition])).toEqual(
            [p as number, q as number].sort((a, b) => a - b).map((x) => [x, 'swapped', x === p ? q : p]),
          );
        },
      ),
    );
  });

  it('a dark position is always listed as dark', () => {
    fc.assert(
      fc.property(
        count.chain((n) => fc.tuple(fc.constant(n), fc.constantFrom('A' as const, 'B' as const, 'C' as const), fc.constantFrom(...fiberPositions(n)))),
        ([n, t, p]) => {
          const measured: Record<number, number | null> = { ...expectedMap(t, n), [p]: null };
          const c = classifyPolarity(measured, n);
          expect(c.bestFit).toBe(t);
          expect(c.differences).toEqual([{ position: p, expected: expectedMap(t, n)[p], measured: null, kind: 'dark' }]);
        },
      ),
    );
  });
});

function stringKeys(map: Readonly<Record<number, number | null>>): Record<string, number | null> {
  return Object.fromEntries(Object.entries(map));
}
