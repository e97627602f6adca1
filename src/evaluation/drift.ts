import { InputError } from '../errors.js';
import { LIMIT_EPSILON_DB, roundDb } from './judge.js';
import type { FiberResult } from './judge-readings.js';
import type { LimitSetVersionRef } from './limit-set.js';
import type { End } from './record-schema.js';

/** What drift needs from a stored certificate: its subject, the set that judged it and its values. */
export interface PreviousCertificate {
  readonly subject: { readonly kind: 'assembly' | 'link'; readonly id: string };
  readonly limitSet: LimitSetVersionRef;
  readonly testedAt?: string;
  readonly fibers: readonly FiberResult[];
}

export interface DriftEntry {
  readonly fiber: number;
  readonly wavelengthNm: number;
  readonly end: End;
  readonly previousDb: number;
  readonly currentDb: number;
  /** current - previous: positive means the loss grew. */
  readonly changeDb: number;
  readonly flagged: boolean;
}

export interface DriftReport {
  /** The previous certificate keeps its own verdict and limit set: only the values are compared. */
  readonly previous: { readonly limitSet: LimitSetVersionRef; readonly testedAt?: string };
  readonly thresholdDb: number;
  readonly entries: readonly DriftEntry[];
  readonly flaggedCount: number;
  readonly largestChangeDb: number | null;
}

export function compareWithPrevious(
  subject: PreviousCertificate['subject'],
  fibers: readonly FiberResult[],
  previous: PreviousCertificate,
  thresholdDb: number,
): DriftReport {
  if (previous.subject.kind !== subject.kind || previous.subject.id !== subject.id) {
    throw new InputError(`previous: the previous certificate is for ${previous.subject.kind} ${previous.subject.id}, not ${subject.kind} ${subject.id}`);
  }
  const before = new Map<string, number>();
  for (const fiber of previous.fibers) {
    for (const j of fiber.judgments) {
      if (j.quantity === 'insertionLoss' && j.value !== null) before.set(`${fiber.fiber}/${j.wavelengthNm}/${j.end}`, j.value);
    }
  }
  const entries: DriftEntry[] = [];
  for (const fiber of fibers) {
    for (const j of fiber.judgments) {
      if (j.quantity !== 'insertionLoss' || j.value === null) continue;
      const previousDb = before.get(`${fiber.fiber}/${j.wavelengthNm}/${j.end}`);
      if (previousDb === undefined) continue;
      const changeDb = roundDb(j.value - previousDb);
      entries.push({ fiber: fiber.fiber, wavelengthNm: j.wavelengthNm, end: j.end, previousDb, currentDb: j.value, changeDb, flagged: Math.abs(changeDb) > thresholdDb + LIMIT_EPSILON_DB });
    }
  }
  const largest = entries.reduce<number | null>((max, e) => (max === null || Math.abs(e.changeDb) > Math.abs(max) ? e.changeDb : max), null);
  return {
    previous: { limitSet: previous.limitSet, ...(previous.testedAt === undefined ? {} : { testedAt: previous.testedAt }) },
    thresholdDb,
    entries,
    flaggedCount: entries.filter((e) => e.flagged).length,
    largestChangeDb: largest,
  };
}
