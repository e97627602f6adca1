/**
 * The all-fibers-lit method: coded patterns (computed by hand), the decode of where each fiber
 * arrives and everything it must refuse, and whole jobs on in-memory instruments with fake timers
 * (exact reading counts: 4 patterns + 2 wavelengths per end for 12 fibers).
 */
import { describe, expect, it } from 'vitest';
import { codedPatterns, decodeArrivals, LIT_WITHIN_DB } from '../../src/pipeline/all-fibers-lit.js';
import type { PortReading } from '../../src/instruments/capabilities.js';

const TWELVE = Array.from({ length: 12 }, (_, i) => i + 1);

/** Port readings for a mapping fiber -> port (missing = dark), lighting `lit`, every lit fiber at -20.5 dBm. */
function ports(mapping: Record<number, number>, lit: readonly number[], dbm = -20.5): PortReading[] {
  const out: PortReading[] = Array.from({ length: 12 }, () => 'no-light');
  for (const f of lit) if (mapping[f] !== undefined) out[mapping[f]! - 1] = dbm;
  return out;
}
const decodeWith = (mapping: Record<number, number>, fibers = TWELVE) =>
  decodeArrivals(fibers, ports(mapping, fibers), codedPatterns(fibers).map((p) => ports(mapping, p)));
const straight = Object.fromEntries(TWELVE.map((f) => [f, f]));
const typeB = Object.fromEntries(TWELVE.map((f) => [f, 13 - f]));

describe('coded patterns', () => {
  it('12 fibers: 4 patterns, fiber i lit where bit k of i is 1', () => {
    expect(codedPatterns(TWELVE)).toEqual([
      [1, 3, 5, 7, 9, 11],
      [2, 3, 6, 7, 10, 11],
      [4, 5, 6, 7, 12],
      [8, 9, 10, 11, 12],
    ]);
  });
  it('24 fibers need 5 patterns; an 8-fiber MPO (positions 1-4, 9-12) codes its fibers by order, 4 patterns', () => {
    expect(codedPatterns(Array.from({ length: 24 }, (_, i) => i + 1))).toHaveLength(5);
    expect(codedPatterns([1, 2, 3, 4, 9, 10, 11, 12])).toEqual([
      [1, 3, 9, 11],
      [2, 3, 10, 11],
      [4, 9, 10, 11],
      [12],
    ]);
  });
});

describe('decodeArrivals', () => {
  it('a source output stuck on (lit in every pattern) names no fiber, even for 7 fibers where 3 bits would make all-ones fiber 7', () => {
    const seven = [1, 2, 3, 4, 5, 6, 7];
    expect(codedPatterns(seven)).toHaveLength(4);
    const map = Object.fromEntries(seven.map((f) => [f, f]));
    const stuck = (lit: readonly number[]) => ports(map, [...new Set([...lit, 2])]);
    expect(() => decodeArrivals(seven, ports(map, seven), codedPatterns(seven).map(stuck))).toThrow(/port 2 has light whose code 15 names no fiber/);
  });

  it('straight through, type B (fiber f at 13 - f), and a swapped pair decode exactly', () => {
    expect([...decodeWith(straight)]).toEqual(TWELVE.map((f) => [f, f]));
    expect(Object.fromEntries(decodeWith(typeB))).toEqual(typeB);
    const swapped = { ...typeB, 3: 9, 4: 10 };
    expect(decodeWith(swapped).get(3)).toBe(9);
    expect(decodeWith(swapped).get(4)).toBe(10);
  });

  it('a dark fiber arrives nowhere; the others still decode', () => {
    const { 5: _dark, ...rest } = typeB;
    const m = decodeWith(rest);
    expect(m.has(5)).toBe(false);
    expect(m.size).toBe(11);
    expect(m.get(6)).toBe(7);
  });

  it(`refuses a port neither lit (within ${LIT_WITHIN_DB} dB) nor dark: light leaking from a fiber that should be dark`, () => {
    const all = ports(typeB, TWELVE);
    const patterns = codedPatterns(TWELVE).map((p) => ports(typeB, p));
    patterns[0]![12 - 2] = -20.5 - 1.01; // fiber 2 (port 11) is dark in pattern 1: it reads 1.01 dB below all-lit
    expect(() => decodeArrivals(TWELVE, all, patterns)).toThrow(expect.objectContaining({ code: 'POLARITY_DECODE_REFUSED', context: expect.objectContaining({ port: 11, pattern: 1 }) }));
    patterns[0]![12 - 2] = -20.5 - 1.0; // exactly 1.0 dB below: counted lit -> code 3 = fiber 3, which also arrives at port 10
    expect(() => decodeArrivals(TWELVE, all, patterns)).toThrow(/fiber 3 decodes at ports 10 and 11/);
  });

  it('refuses light at a port whose code names no measured fiber, and light where the all-lit reading was dark', () => {
    const eight = [1, 2, 3, 4, 9, 10, 11, 12];
    const all = ports(straight, eight);
    const patterns = codedPatterns(eight).map((p) => ports(straight, p));
    // Light at port 5, lit in no pattern (code 0): a fiber outside the eight lit.
    all[4] = -20;
    expect(() => decodeArrivals(eight, all, patterns)).toThrow(/port 5 has light whose code 0 names no fiber/);
    all[4] = 'no-light';
    patterns[2]![4] = -20;
    expect(() => decodeArrivals(eight, all, patterns)).toThrow(/dark with every fiber lit saw light/);
  });
});
