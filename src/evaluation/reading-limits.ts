import type { Limit } from './judge.js';
import type { End } from './record-schema.js';

/** The limits that apply to one reading: they depend on the end measured and the wavelength only. */
export interface ReadingLimits {
  readonly insertionLoss: Limit;
  /** Absent when the limit set cannot judge return loss here; `returnLossProblem` says why. */
  readonly returnLoss?: Limit;
  readonly returnLossProblem?: string;
}

export type LimitsFor = (end: End, wavelengthNm: number) => ReadingLimits;

/**
 * Builds every (end, wavelength) limit once per record, so judging 24 fibers costs a lookup each
 * and every judgment shares one limit object (and one basis text).
 */
export function tabulateLimits(ends: readonly End[], wavelengthsNm: readonly number[], build: LimitsFor): LimitsFor {
  const table = new Map<string, ReadingLimits>();
  for (const end of ends) for (const wl of wavelengthsNm) table.set(end + wl, build(end, wl));
  return (end, wl) => {
    const limits = table.get(end + wl);
    if (!limits) throw new RangeError(`no limits tabulated for end ${end} at ${wl} nm`);
    return limits;
  };
}
