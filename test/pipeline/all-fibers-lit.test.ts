/**
 * The all-fibers-lit method's code words and decode, with expected values worked out from the
 * definition (m bits, floor(m/2) set, words in increasing value), and everything the decode must
 * refuse: light leaking between fibers (the auditor's case: fiber 6 into fiber 7's port), an output
 * stuck on, readings that disagree, light beyond the measured positions.
 */
import { describe, expect, it } from 'vitest';
import { codedPatterns, codeWords, decodeArrivals, LIT_CONSISTENT_DB } from '../../src/pipeline/all-fibers-lit.js';
import type { PortReading } from '../../src/instruments/capabilities.js';

const TWELVE = Array.from({ length: 12 }, (_, i) => i + 1);
const straight = Object.fromEntries(TWELVE.map((f) => [f, f]));
const typeB = Object.fromEntries(TWELVE.map((f) => [f, 13 - f]));

/**
 * What each port reads in each pattern: fiber f (lit) arrives at mapping[f] with power(f);
 * `leak` adds light from a lit fiber to another port.
 */
function read(mapping: Record<number, number>, opts: { power?: (f: number, k: number) => number; leak?: { from: number; toPort: number; dbm: number }; stuckOn?: number; ports?: number; fibers?: number[] } = {}): PortReading[][] {
  const fibers = opts.fibers ?? TWELVE;
  return codedPatterns(fibers).map((lit, k) => {
    const out: PortReading[] = Array.from({ length: opts.ports ?? 12 }, () => 'no-light');
    const on = new Set(lit);
    if (opts.stuckOn !== undefined) on.add(opts.stuckOn);
    for (const f of on) if (mapping[f] !== undefined) out[mapping[f]! - 1] = opts.power?.(f, k) ?? -20.5;
    if (opts.leak && on.has(opts.leak.from)) {
      const at = opts.leak.toPort - 1;
      const here = out[at]!;
      out[at] = here === 'no-light' ? opts.leak.dbm : 10 * Math.log10(10 ** ((here as number) / 10) + 10 ** (opts.leak.dbm / 10));
    }
    return out;
  });
}

describe('code words', () => {
  it('12 fibers: 6 bits, 3 set: 7, 11, 13, 14, 19, 21, 22, 25, 26, 28, 35, 37; pattern k lights the fibers with bit k', () => {
    expect(codeWords(TWELVE)).toEqual({ bits: 6, words: [7, 11, 13, 14, 19, 21, 22, 25, 26, 28, 35, 37] });
    expect(codedPatterns(TWELVE)).toEqual([
      [1, 2, 3, 5, 6, 8, 11, 12],
      [1, 2, 4, 5, 7, 9, 11],
      [1, 3, 4, 6, 7, 10, 12],
      [2, 3, 4, 8, 9, 10],
      [5, 6, 7, 8, 9, 10],
      [11, 12],
    ]);
  });
  it('24 fibers: 7 bits (C(7,3) = 35); an 8-fiber MPO at positions 1-4, 9-12: 5 bits (C(5,2) = 10), coded by order', () => {
    expect(codeWords(Array.from({ length: 24 }, (_, i) => i + 1)).bits).toBe(7);
    expect(codedPatterns([1, 2, 3, 4, 9, 10, 11, 12])).toEqual([
      [1, 2, 4, 11],
      [1, 3, 9, 12],
      [2, 3, 10],
      [4, 9, 10],
      [11, 12],
    ]);
  });
});

describe('decodeArrivals', () => {
  it('straight through, type B (fiber f at 13 - f) and a swapped pair decode exactly; each reading is the lowest of its lit patterns', () => {
    expect([...decodeArrivals(TWELVE, read(straight), 12).arrivals]).toEqual(TWELVE.map((f) => [f, f]));
    expect(Object.fromEntries(decodeArrivals(TWELVE, read(typeB), 12).arrivals)).toEqual(typeB);
    const swapped = decodeArrivals(TWELVE, read({ ...typeB, 3: 9, 4: 10 }), 12).arrivals;
    expect([swapped.get(3), swapped.get(4)]).toEqual([9, 10]);
    // Fiber 1 is lit in patterns 1, 2, 3, reading -20.50, -20.52, -20.47 dBm: it reads -20.52.
    const drift = [-20.5, -20.52, -20.47];
    expect(decodeArrivals(TWELVE, read(typeB, { power: (f, k) => (f === 1 ? drift[k]! : -20.5) }), 12).readings.get(1)).toBe(-20.52);
  });

  it('a dark fiber arrives nowhere; the others still decode', () => {
    const { 5: _dark, ...rest } = typeB;
    const d = decodeArrivals(TWELVE, read(rest), 12);
    expect(d.arrivals.has(5)).toBe(false);
    expect(d.arrivals.size).toBe(11);
    expect(d.arrivals.get(6)).toBe(7);
  });

  it('refuses light leaking between fibers, even from a fiber whose code the victim shares bits with: fiber 6 into fiber 7\'s port', () => {
    // Type B: fiber 7 arrives at port 6. Fiber 6 (word 21) has bit 1 that fiber 7 (word 22) lacks.
    for (const dbm of [-26.5, -50]) {
      expect(() => decodeArrivals(TWELVE, read(typeB, { leak: { from: 6, toPort: 6, dbm } }), 12)).toThrow(expect.objectContaining({ code: 'POLARITY_DECODE_REFUSED', context: expect.objectContaining({ port: 6 }) }));
    }
  });

  it('refuses an output stuck on: its port sees light in every pattern, which is no fiber\'s code', () => {
    expect(() => decodeArrivals(TWELVE, read(typeB, { stuckOn: 2 }), 12)).toThrow(/port 11 saw light in patterns 1, 2, 3, 4, 5, 6, which is no fiber's code/);
  });

  it(`refuses readings of one fiber more than ${LIT_CONSISTENT_DB} dB apart across its patterns, and accepts ${LIT_CONSISTENT_DB} dB`, () => {
    const apart = (db: number) => read(typeB, { power: (f, k) => (f === 4 && k === 1 ? -20.5 - db : -20.5) });
    expect(() => decodeArrivals(TWELVE, apart(0.051), 12)).toThrow(/port 9 \(fiber 4\) read -20\.551 to -20\.500 dBm/);
    expect(decodeArrivals(TWELVE, apart(0.05), 12).readings.get(4)).toBeCloseTo(-20.55, 12);
  });

  it('refuses light on a port beyond the measured positions, and a fiber decoded at two ports', () => {
    expect(() => decodeArrivals(TWELVE, read(typeB, { leak: { from: 1, toPort: 17, dbm: -40 }, ports: 20 }), 12)).toThrow(/port 17 has light, beyond the 12 positions measured/);
    const twice = read(typeB);
    for (const p of twice) p[12 - 1] = p[1 - 1]!; // port 12 copies port 1 (fiber 12's light) in every pattern
    expect(() => decodeArrivals(TWELVE, twice, 12)).toThrow(/fiber 12 decodes at ports 1 and 12/);
  });
});
