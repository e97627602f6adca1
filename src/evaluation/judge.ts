import { InputError } from '../errors.js';
import type { Outcome } from './outcome.js';

/**
 * Values are kept at full precision, so 0.1 + 0.5 may land a hair above 0.6. A value within this
 * distance of its limit counts as equal to it: exactly at the limit passes.
 */
export const LIMIT_EPSILON_DB = 1e-9;

/**
 * Resolution of every derived dB value (loss from two powers, limit sums, margins, drift): 0.001 dB,
 * ten times finer than the 0.01 dB any meter here resolves. Each is rounded once, where it is
 * computed, and the rounded value is what is judged, stored and shown, so a person re-checking a
 * certificate by hand gets the same numbers (0.21 dB, not 0.2099999999999973).
 */
export const DB_RESOLUTION = 0.001;

/**
 * Rounds to DB_RESOLUTION, halves away from zero (a loss of 0.6005 dB is 0.601 dB: the rounding
 * never makes a loss look better). The 1e-6 nudge keeps 1.0005, stored as 1.000499999..., a half.
 */
export function roundDb(value: number): number {
  if (!Number.isFinite(value)) return value;
  const rounded = (Math.sign(value) * Math.round(Math.abs(value) / DB_RESOLUTION + 1e-6)) * DB_RESOLUTION;
  const clean = Number(rounded.toFixed(3));
  return clean === 0 ? 0 : clean; // never -0
}

/**
 * A derived limit (a sum of allowances, length x attenuation) at DB_RESOLUTION, rounded towards
 * the stricter side: a maximum down, a minimum up (a 1.7975 dB budget judges against 1.797 dB), so
 * rounding can never let a value pass that the exact limit would fail.
 */
export function roundLimitDb(value: number, kind: LimitKind): number {
  if (!Number.isFinite(value)) return value;
  const steps = value / DB_RESOLUTION;
  const whole = kind === 'max' ? Math.floor(steps + 1e-6) : Math.ceil(steps - 1e-6);
  const clean = Number((whole * DB_RESOLUTION).toFixed(3));
  return clean === 0 ? 0 : clean;
}

/**
 * A measured value at DB_RESOLUTION, rounded towards the stricter side for the limit it meets: a
 * loss (judged against a maximum) up, a return loss (against a minimum) down. 0.6004 dB is judged
 * as 0.601 dB against 0.60: rounding never makes a value look better. The 1e-6 step nudge keeps
 * binary noise (0.6000000000000014) from crossing a step.
 */
export function roundValueDb(value: number, against: LimitKind): number {
  return roundLimitDb(value, against === 'max' ? 'min' : 'max');
}

/** A loss from two powers, P_ref - P_meas, at DB_RESOLUTION on the strict side (rounded up). */
export function lossFromPowers(referenceDbm: number, measuredDbm: number): number {
  return roundValueDb(referenceDbm - measuredDbm, 'max');
}

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
  if (!Number.isFinite(value) || !Number.isFinite(limit.value)) {
    throw new InputError(`cannot judge ${value} against ${limit.value} (${limit.basis}): not a finite number`);
  }
  // Value and limit each on the 0.001 dB grid on the strict side, then subtracted: the margin is
  // exact, so a limit between grid steps (a return-loss or application figure) gives no slack.
  const margin = roundDb(limit.kind === 'max' ? roundLimitDb(limit.value, 'max') - roundValueDb(value, 'max') : roundValueDb(value, 'min') - roundLimitDb(limit.value, 'min'));
  if (margin < -LIMIT_EPSILON_DB) return { margin, outcome: 'FAIL' };
  if (margin <= guardBandDb + LIMIT_EPSILON_DB && guardBandDb > 0) return { margin, outcome: 'MARGINAL' };
  return { margin, outcome: 'PASS' };
}

/**
 * A dB value for people: two decimals, or three when the value (at DB_RESOLUTION) has a third, so
 * a reason never reads "0.60 dB exceeds the maximum 0.60 dB" for 0.601 against 0.600.
 */
export function formatDb(value: number): string {
  const three = roundDb(value).toFixed(3);
  return three.endsWith('0') ? three.slice(0, -1) : three;
}
