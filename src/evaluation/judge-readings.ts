import { endsJudged } from './ends.js';
import { InputError } from '../errors.js';
import { fiberPositions } from './fiber-positions.js';
import { formatDb, judgeAgainst, LIMIT_EPSILON_DB, roundValueDb, type Limit } from './judge.js';
import { worse, type Outcome } from './outcome.js';
import type { End, Quantity, Reading, TestRecord } from './record-schema.js';
import { cite } from './rules.js';
import { END_B_SAME_AS_A_DB, NO_DEVICE_UNIFORM } from './thresholds.js';
import type { LimitsFor } from './reading-limits.js';

export interface Judgment {
  readonly quantity: 'insertionLoss' | 'returnLoss';
  readonly wavelengthNm: number;
  readonly end: End;
  /** Full precision; null when there was nothing to judge (missing, no light, saturated). */
  readonly value: number | null;
  readonly limit: number;
  readonly limitKind: 'max' | 'min';
  /** limit - value for a maximum, value - limit for a minimum; negative when failing. */
  readonly margin: number | null;
  readonly outcome: Outcome;
  readonly basis: string;
  /** Why it is FAIL or INVALID. */
  readonly reason?: string;
  /** The limit rests on a figure marked (verify) in its limit set. */
  readonly verify?: true;
  /** A link with an application: the application's channel loss minus this loss. */
  readonly headroomDb?: number;
  /** Every fiber of this end and wavelength read about 0 dB: nothing was in the light path. */
  readonly noDeviceInPath?: true;
}

export interface FiberResult {
  readonly fiber: number;
  readonly outcome: Outcome;
  readonly judgments: readonly Judgment[];
}

/** A test source delivers well under this; a meter saturates around it. Above it is not a reading. */
const MAX_PLAUSIBLE_DBM = 10;

export interface JudgeSettings {
  readonly guardBandDb: number;
  readonly referenceErrorThresholdDb: number;
  /** A power below this (dBm) is no light, reference or measurement (the drivers' floor). */
  readonly powerFloorDbm: number;
  /** Every fiber of an end and wavelength within this of 0 dB: nothing was in the light path. */
  readonly noDeviceBelowDb: number;
}

/**
 * Judges every expected (fiber, wavelength, end): a combination with no reading is INVALID, never
 * skipped, so a missing fiber cannot pass by absence.
 */
export function judgeFibers(record: TestRecord, limitsFor: LimitsFor, settings: JudgeSettings): FiberResult[] {
  const ends: readonly End[] = endsJudged(record);
  const byKey = indexReadings(record.readings);
  const required = (end: End, wavelengthNm: number): ReadonlySet<Quantity> => requiredQuantities(record, limitsFor(end, wavelengthNm));
  return fiberPositions(record.fiberCount).map((fiber) => {
    const judgments: Judgment[] = [];
    let outcome: Outcome = 'PASS';
    for (const end of ends) {
      for (const wavelengthNm of record.wavelengthsNm) {
        const limits = limitsFor(end, wavelengthNm);
        const indexed = byKey.get(readingKey(fiber, wavelengthNm, end));
        if (!indexed) {
          const missing = invalid(limits.insertionLoss, 'insertionLoss', wavelengthNm, end, `no reading for fiber ${fiber} at ${wavelengthNm} nm, end ${end}${cite(end === 'B' && record.kind === 'assembly' ? 'both-ends' : 'missing-reading')}`);
          judgments.push(missing);
          outcome = 'INVALID';
          continue;
        }
        const il = judgeInsertionLoss(indexed.reading, fiber, end, limits.insertionLoss, settings);
        judgments.push(il);
        outcome = worse(outcome, il.outcome);
        const rl = indexed.reading.returnLossDb;
        if (rl === undefined) {
          if (required(end, wavelengthNm).has('returnLoss') && limits.returnLoss) {
            judgments.push(
              invalid(limits.returnLoss, 'returnLoss', wavelengthNm, end, `no return-loss reading for fiber ${fiber} at ${wavelengthNm} nm, end ${end}, which the product requires${cite('required-quantities')}`),
            );
            outcome = 'INVALID';
          }
          continue;
        }
        if (!limits.returnLoss) {
          throw new InputError(`/readings/${indexed.index}/returnLossDb: ${limits.returnLossProblem ?? 'no return-loss limit'}`);
        }
        const judged = judgeValue(roundValueDb(rl, 'min'), 'returnLoss', limits.returnLoss, wavelengthNm, end, fiber, settings.guardBandDb);
        judgments.push(judged);
        outcome = worse(outcome, judged.outcome);
      }
    }
    return { fiber, outcome, judgments };
  });
}

/** Loss from the 1-cord reference, exact: IL = P_ref - P_meas, or as given. */
function exactLossOf(reading: Reading): number | undefined {
  if (reading.lossDb !== undefined) return reading.lossDb;
  if (reading.referenceDbm !== undefined && reading.measuredDbm !== undefined) return reading.referenceDbm - reading.measuredDbm;
  return undefined;
}

/**
 * The loss judged: IL = P_ref - P_meas, or as given, at DB_RESOLUTION rounded up (a record carries
 * losses to 0.001 dB; a finer digit is not evidence, and never makes a loss look better).
 */
export function lossOf(reading: Reading): number | undefined {
  const exact = exactLossOf(reading);
  if (exact !== undefined) return roundValueDb(exact, 'max');
  return undefined;
}

export function readingKey(fiber: number, wavelengthNm: number, end: End): number {
  return (fiber * 100_000 + wavelengthNm) * 2 + (end === 'B' ? 1 : 0);
}

function indexReadings(readings: readonly Reading[]): Map<number, { reading: Reading; index: number }> {
  const byKey = new Map<number, { reading: Reading; index: number }>();
  readings.forEach((reading, index) => byKey.set(readingKey(reading.fiber, reading.wavelengthNm, reading.end ?? 'A'), { reading, index }));
  return byKey;
}

function judgeInsertionLoss(reading: Reading, fiber: number, end: End, limit: Limit, settings: JudgeSettings): Judgment {
  const where = `fiber ${fiber} at ${reading.wavelengthNm} nm, end ${end}`;
  if (reading.noLight) return invalid(limit, 'insertionLoss', reading.wavelengthNm, end, `no light on ${where}${cite('no-light')}`);
  const floor = settings.powerFloorDbm;
  if (reading.referenceDbm !== undefined && reading.referenceDbm < floor) {
    return invalid(limit, 'insertionLoss', reading.wavelengthNm, end,
      `reference ${reading.referenceDbm} dBm on ${where} is below the meter's ${floor} dBm noise floor: no loss can be measured against it; check the source and launch cord, re-reference${cite('power-floor')}`);
  }
  if (reading.measuredDbm !== undefined && reading.measuredDbm < floor) {
    return invalid(limit, 'insertionLoss', reading.wavelengthNm, end, `no light on ${where}: ${reading.measuredDbm} dBm is below the meter's ${floor} dBm noise floor${cite('power-floor')}`);
  }
  for (const [name, dbm] of [['reference', reading.referenceDbm], ['measured power', reading.measuredDbm]] as const) {
    if (dbm !== undefined && dbm > MAX_PLAUSIBLE_DBM) {
      return invalid(limit, 'insertionLoss', reading.wavelengthNm, end, `${name} ${dbm} dBm on ${where} is above +${MAX_PLAUSIBLE_DBM} dBm, beyond any test source and meter here: not a measurement${cite('saturated')}`);
    }
  }
  if (reading.saturated) return invalid(limit, 'insertionLoss', reading.wavelengthNm, end, `meter saturated on ${where}: the power is above its range${cite('saturated')}`);
  const exact = exactLossOf(reading);
  if (exact === undefined || !Number.isFinite(exact)) return invalid(limit, 'insertionLoss', reading.wavelengthNm, end, `no loss value for ${where}${cite('missing-reading')}`);
  // The reference-error check is on the exact value: rounding up must not lift -0.0505 dB over it.
  const loss = roundValueDb(exact, 'max');
  if (exact < settings.referenceErrorThresholdDb - LIMIT_EPSILON_DB) {
    return {
      ...invalid(limit, 'insertionLoss', reading.wavelengthNm, end,
        `loss ${formatDb(loss)} dB on ${where} is below the reference-error threshold ${formatDb(settings.referenceErrorThresholdDb)} dB: re-reference and retest${cite('reference-error')}`),
      value: loss,
    };
  }
  return judgeValue(loss, 'insertionLoss', limit, reading.wavelengthNm, end, fiber, settings.guardBandDb);
}

function judgeValue(value: number, quantity: Judgment['quantity'], limit: Limit, wavelengthNm: number, end: End, fiber: number, guardBandDb: number): Judgment {
  const { margin, outcome } = judgeAgainst(value, limit, guardBandDb);
  // Built field by field rather than by spreading: this runs once per fiber, wavelength and end.
  const judgment: Writable<Judgment> = { quantity, wavelengthNm, end, value, limit: limit.value, limitKind: limit.kind, margin, outcome, basis: limit.basis };
  if (limit.verify) judgment.verify = true;
  if (outcome === 'FAIL') {
    const what = quantity === 'insertionLoss' ? 'insertion loss' : 'return loss';
    const relation = limit.kind === 'max' ? 'exceeds the maximum' : 'is below the minimum';
    judgment.reason = `${what} ${formatDb(value)} dB on fiber ${fiber} at ${wavelengthNm} nm, end ${end} ${relation} ${formatDb(limit.value)} dB (${limit.basis})`;
  }
  return judgment;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

function invalid(limit: Limit, quantity: Judgment['quantity'], wavelengthNm: number, end: End, reason: string): Judgment {
  return {
    quantity,
    wavelengthNm,
    end,
    value: null,
    limit: limit.value,
    limitKind: limit.kind,
    margin: null,
    outcome: 'INVALID',
    basis: limit.basis,
    reason,
    ...(limit.verify ? { verify: true as const } : {}),
  };
}

/**
 * What every fiber must have a reading of: the record's list, else insertion loss and, where the
 * grade has a return-loss limit, return loss (a grade with an RL limit is not certified without RL).
 */
export function requiredQuantities(record: TestRecord, limits: { readonly returnLoss?: Limit | undefined; readonly returnLossProblem?: string | undefined }): ReadonlySet<Quantity> {
  if (record.requiredQuantities) {
    if (record.requiredQuantities.includes('returnLoss') && !limits.returnLoss) {
      throw new InputError(`/requiredQuantities: return loss is required but ${limits.returnLossProblem ?? 'there is no return-loss limit'}`);
    }
    return new Set(record.requiredQuantities);
  }
  return new Set<Quantity>(limits.returnLoss ? ['insertionLoss', 'returnLoss'] : ['insertionLoss']);
}

/**
 * A real assembly or link has at least one mated pair in every fiber's path. When every fiber of
 * an end and wavelength reads within `noDeviceBelowDb` of 0 dB, the launch cord was measured against
 * itself (the device was forgotten, or the reference was taken through it): every such judgment
 * becomes INVALID and the returned reason says why.
 */
export function checkSomethingInThePath(fibers: FiberResult[], noDeviceBelowDb: number): string[] {
  const groups = new Map<string, Judgment[]>();
  for (const f of fibers) {
    for (const j of f.judgments) {
      if (j.quantity !== 'insertionLoss') continue;
      const key = `${j.end}/${j.wavelengthNm}`;
      const group = groups.get(key);
      if (group) group.push(j);
      else groups.set(key, [j]);
    }
  }
  const reasons: string[] = [];
  for (const [key, group] of groups) {
    const values = group.map((j) => j.value);
    if (values.length === 0 || values.some((v) => v === null)) continue;
    const numbers = (values as number[]).slice().sort((a, b) => a - b);
    const largest = Math.max(...numbers.map((v) => Math.abs(v)));
    const median = numbers[Math.floor((numbers.length - 1) / 2)]!;
    const spread = numbers[numbers.length - 1]! - numbers[0]!;
    const nearZero = largest <= noDeviceBelowDb + LIMIT_EPSILON_DB;
    // Meter noise around 0 dB, or one fiber a little off, must not hide it: a real mated pair on
    // every fiber puts the median loss above this (readings below 0 dB are noise, not a device).
    const mostNearZero = !nearZero && median <= noDeviceBelowDb + LIMIT_EPSILON_DB;
    // The source may have drifted since the reference: then every fiber reads the same small amount.
    const uniform = median <= NO_DEVICE_UNIFORM.medianBelowDb + LIMIT_EPSILON_DB && spread <= NO_DEVICE_UNIFORM.spreadBelowDb + LIMIT_EPSILON_DB;
    if (!nearZero && !mostNearZero && !uniform) continue;
    const [end, wl] = key.split('/');
    const what = nearZero
      ? `every fiber at ${wl} nm, end ${end} reads within ${formatDb(noDeviceBelowDb)} dB of 0 dB (largest ${formatDb(largest)} dB)`
      : mostNearZero
        ? `the fibers at ${wl} nm, end ${end} read within ${formatDb(noDeviceBelowDb)} dB of 0 dB but for noise or a few (median ${formatDb(median)} dB, largest |loss| ${formatDb(largest)} dB)`
        : `every fiber at ${wl} nm, end ${end} reads the same small loss (median ${formatDb(median)} dB, all within ${formatDb(spread)} dB of each other), as a drifted source does with nothing in the path`;
    const reason = `${what}: nothing is in the light path. The launch cord was measured against itself: the device under test was not connected, or the reference was taken through it. Connect the device (or re-reference with the launch cord alone) and test again${cite('no-device-in-path')}`;
    reasons.push(reason);
    invalidate(fibers, (j) => j.quantity === 'insertionLoss' && `${j.end}/${j.wavelengthNm}` === key, { noDeviceInPath: true });
  }
  return reasons;
}

/** Marks the matching judgments INVALID (a test-level reason explains it once) and each fiber's outcome again. */
function invalidate(fibers: FiberResult[], matches: (j: Judgment) => boolean, extra: Partial<Judgment> = {}): void {
  for (const f of fibers) {
    const judgments = f.judgments as Judgment[];
    judgments.forEach((j, i) => {
      if (matches(j)) judgments[i] = { ...j, ...extra, outcome: 'INVALID' };
    });
    (f as Writable<FiberResult>).outcome = judgments.reduce<Outcome>((o, j) => worse(o, j.outcome), 'PASS');
  }
}

/**
 * End B is measured after the person turns the assembly. Two different connectors never give
 * the same loss on every fiber at every wavelength: end B readings that all repeat end A's
 * within the meter's repeatability are end A measured twice (the turn was confirmed, not made).
 */
export function checkEndBTurned(fibers: FiberResult[]): string[] {
  let pairs = 0;
  let largest = 0;
  for (const f of fibers) {
    for (const a of f.judgments) {
      if (a.quantity !== 'insertionLoss' || a.end !== 'A' || a.value === null) continue;
      const b = f.judgments.find((x) => x.quantity === 'insertionLoss' && x.end === 'B' && x.wavelengthNm === a.wavelengthNm);
      if (!b || b.value === null) continue;
      pairs += 1;
      largest = Math.max(largest, Math.abs(a.value - b.value));
      if (largest > END_B_SAME_AS_A_DB + LIMIT_EPSILON_DB) return [];
    }
  }
  if (pairs === 0) return [];
  invalidate(fibers, (j) => j.quantity === 'insertionLoss' && j.end === 'B');
  return [
    `every end B reading repeats end A's within ${formatDb(END_B_SAME_AS_A_DB)} dB (largest difference ${formatDb(largest)} dB, ${pairs} readings): end A was measured twice, the assembly was not turned. Turn it, connect end B to the launch cord and test again${cite('end-b-turned')}`,
  ];
}
