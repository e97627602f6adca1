import type { Outcome } from './outcome.js';

/**
 * Values are kept at full precision, so 0.1 + 0.5 may land a hair above 0.6. A value within this
 * distance of its limit counts as equal to it: exactly at the limit passes.
 */
export const LIMIT_EPSILON_DB = 1e-9;

export type LimitKind = 'max' | 'min';

/** The limit a value is judged against, shared by every reading it applies to. */
export interface Limit {
  readonly value: number;
  readonly kind: LimitKind;
  /** How the limit was formed, for the certificate: "MTP/MTP mated pair, multimode 0.6 dB". */
  readonly basis: string;
  /** Some figure behind this limit is marked (verify) in its limit set. */
  readonly verify: boolean;
}

export interface Verdict {
  readonly margin: number;
  readonly outcome: Outcome;
}

/**
 * margin = limit - value for a maximum, value - limit for a minimum: negative when failing.
 * A passing value whose margin is at most the guard band is MARGINAL (the band is inclusive).
 */
export function judgeAgainst(value: number, limit: Limit, guardBandDb: number): Verdict {
  const margin = limit.kind === 'max' ? limit.value - value : value - limit.value;
  if (margin < -LIMIT_EPSILON_DB) return { margin, outcome: 'FAIL' };
  if (margin <= guardBandDb + LIMIT_EPSILON_DB && guardBandDb > 0) return { margin, outcome: 'MARGINAL' };
  return { margin, outcome: 'PASS' };
}

/** Rounds for people; judgments keep full precision. */
export function formatDb(value: number): string {
  return (Math.round(value * 100) / 100).toFixed(2);
}
