import {
  evaluateRecord,
  parseTestRecord,
  type EvaluateOptions,
  type Evaluation,
  type Judgment,
  type LimitLibrary,
  type LimitSetVersionRef,
  type Reading,
  type TestRecord,
} from '../evaluation/index.js';
import { endsCertified } from '../evaluation/ends.js';
import { describeError } from '../errors.js';
import { canonicalJson } from '../store/canonical-json.js';
import type { CertificateDocument, CertifiedReading } from '../store/certificate-store.js';

/**
 * Re-judging a stored certificate against another limit set (or version), never changing it: the
 * test record is rebuilt from what the certificate signed exactly as the bench built it for its
 * judge (src/jobs/judge-job.ts): the subject's description (the product, with the bench's test
 * cords and their matings), the operator and test time, every reading as measured, the ends the
 * job was to measure, the measured polarity map; the bench's settings come from what its
 * evaluation recorded (guard band, thresholds, meter floor, cord-verification policy). Then the
 * one evaluation engine judges it, and what changes is reported judgment by judgment.
 */

/** What a re-judgement assumes, said in its report. */
export const REJUDGE_ASSUMPTIONS: readonly string[] = [
  'the test record is rebuilt from the signed certificate: subject description (product, test cords and their matings), operator, test time, readings, ends measured, measured polarity map',
  "the bench's settings are those its evaluation recorded (evaluation.settings: guard band, reference-error threshold, meter floor, nothing-in-the-path threshold, cord-verification policy); the end-B-turned check is on, as for every bench job",
  'drift against an earlier certificate is not re-judged: it never changes a verdict',
  'the old values are the stored judgments, exactly as signed; each certificate is first re-judged against its own limit set version, and "reproduced" says whether that gives the stored evaluation again',
];

/** The record the bench judged, rebuilt from its certificate (judge-job.ts `judge`). */
export function recordOf(doc: CertificateDocument): TestRecord {
  const template = doc.subject.description;
  const readings = doc.readings;
  const wl = template.wavelengthsNm[0];
  const located = readings.filter((r) => r.end === 'A' && r.wavelengthNm === wl && r.receivedAt !== undefined);
  const measuredMap = located.length === 0 ? {} : { measuredMap: Object.fromEntries(located.map((r) => [String(r.fiber), r.receivedAt ?? null])) };
  return {
    ...template,
    operator: doc.job.operator,
    testedAt: doc.job.testedAt,
    readings: readings.map(toRecordReading),
    endsMeasured: [...endsCertified(template)],
    polarity: { ...template.polarity, ...measuredMap },
  } as TestRecord;
}

/** judge-job.ts toRecordReading: only readings with both powers carry a loss; a flagged one stays flagged. */
function toRecordReading(r: CertifiedReading): Reading {
  const base = { fiber: r.fiber, wavelengthNm: r.wavelengthNm, ...(r.end === 'B' ? { end: 'B' as const } : {}) };
  if (r.condition === 'no-light') return { ...base, noLight: true };
  if (r.condition === 'saturated') return { ...base, saturated: true };
  if (r.referenceDbm !== null && r.measuredDbm !== null) return { ...base, referenceDbm: r.referenceDbm, measuredDbm: r.measuredDbm };
  if (r.lossDb !== null) return { ...base, lossDb: r.lossDb, ...(r.measuredDbm !== null ? { measuredDbm: r.measuredDbm } : {}) };
  return base;
}

/** The bench's options, from what its evaluation recorded. */
export function optionsOf(ev: Evaluation): EvaluateOptions {
  const s = ev.settings;
  return {
    guardBandDb: s.guardBandDb,
    referenceErrorThresholdDb: s.referenceErrorThresholdDb,
    driftThresholdDb: s.driftThresholdDb,
    powerFloorDbm: s.powerFloorDbm,
    noDeviceBelowDb: s.noDeviceBelowDb,
    cordVerification: s.cordVerification,
    endBTurnedCheck: true,
  };
}

type Side = { limitDb: number; limitKind: 'max' | 'min'; marginDb: number | null; outcome: string; basis: string };

/** One judgment whose outcome the other limit set changes. */
export interface JudgmentChange {
  fiber: number;
  quantity: Judgment['quantity'];
  wavelengthNm: number;
  end: 'A' | 'B';
  /** The value judged (the same under both sets: the readings do not change). */
  valueDb: number | null;
  old: Side;
  new: Side;
}

export interface LimitChange {
  quantity: Judgment['quantity'];
  wavelengthNm: number;
  end: 'A' | 'B';
  old: { limitDb: number; basis: string };
  new: { limitDb: number; basis: string };
}

export interface CertificateRejudgement {
  oldVerdict: string;
  newVerdict: string | null;
  verdictChanged: boolean;
  /** Re-judged against its own limit set version, it gives its stored evaluation again (null: that version is not in the hub's library). */
  reproduced: boolean | null;
  reproducedNote?: string;
  /** Every judgment whose outcome changes, fiber by fiber. */
  changes: JudgmentChange[];
  /** The limits that change (each quantity, wavelength and end once, from the first fiber that shows it). */
  limitChanges: LimitChange[];
  /** Reasons (per judgment, polarity, setup, reach, guard band...) the new judgement adds or no longer gives. */
  reasonsAdded: string[];
  reasonsRemoved: string[];
  /** Why it could not be re-judged against the new set (an unknown grade, a missing figure...). */
  error?: string;
}

/** What "reproduced" compares: the evaluation without drift (not re-judged). */
function comparable(ev: Evaluation): string {
  const { drift: _drift, ...rest } = ev;
  return canonicalJson(rest);
}

function evaluateAgainst(doc: CertificateDocument, ref: LimitSetVersionRef, library: LimitLibrary): Evaluation {
  const record = parseTestRecord({ ...recordOf(doc), limitSet: { id: ref.id, version: ref.version } });
  return evaluateRecord(record, library, optionsOf(doc.evaluation));
}

const keyOf = (fiber: number, j: Pick<Judgment, 'quantity' | 'wavelengthNm' | 'end'>): string => `${fiber}/${j.quantity}/${j.wavelengthNm}/${j.end}`;

const side = (j: Judgment): Side => ({ limitDb: j.limit, limitKind: j.limitKind, marginDb: j.margin, outcome: j.outcome, basis: j.basis });

/** Whether it gives its stored evaluation again against its own limit set version, and if not, why. */
function reproduction(doc: CertificateDocument, library: LimitLibrary): { reproduced: boolean | null; reproducedNote?: string } {
  const own = { id: doc.limitSet.id, version: doc.limitSet.version };
  const stored = doc.evaluation;
  if (!library.find(own)) return { reproduced: null, reproducedNote: `${own.id}@${own.version} is not in the hub's limit library: not re-checked; compared with the stored judgments` };
  try {
    const again = evaluateAgainst(doc, own, library);
    if (comparable(again) === comparable(stored)) return { reproduced: true };
    return {
      reproduced: false,
      reproducedNote:
        again.limitSet.fileSha256 !== stored.limitSet.fileSha256
          ? `the hub's file of ${own.id}@${own.version} (sha256 ${again.limitSet.fileSha256}) is not the one that judged it (sha256 ${stored.limitSet.fileSha256}): compared with the stored judgments`
          : `re-judged against its own ${own.id}@${own.version} it does not give its stored evaluation again (verdict ${again.verdict}, stored ${stored.verdict}): compared with the stored judgments`,
    };
  } catch (err) {
    return { reproduced: false, reproducedNote: `re-judging it against its own ${own.id}@${own.version} failed: ${describeError(err)}` };
  }
}

/** Re-judges one certificate's stored test against `target`; the certificate is only read. */
export function rejudgeDocument(doc: CertificateDocument, target: LimitSetVersionRef, library: LimitLibrary): CertificateRejudgement {
  const stored = doc.evaluation;
  const repro = reproduction(doc, library);
  let fresh: Evaluation;
  try {
    fresh = evaluateAgainst(doc, target, library);
  } catch (err) {
    return { oldVerdict: doc.verdict, newVerdict: null, verdictChanged: false, ...repro, changes: [], limitChanges: [], reasonsAdded: [], reasonsRemoved: [], error: describeError(err) };
  }
  const before = new Map<string, Judgment>();
  for (const f of stored.fibers) for (const j of f.judgments) before.set(keyOf(f.fiber, j), j);
  const changes: JudgmentChange[] = [];
  const limitChanges = new Map<string, LimitChange>();
  for (const f of fresh.fibers) {
    for (const j of f.judgments) {
      const o = before.get(keyOf(f.fiber, j));
      if (!o) continue;
      const k = `${j.quantity}/${j.wavelengthNm}/${j.end}`;
      if ((o.limit !== j.limit || o.basis !== j.basis) && !limitChanges.has(k)) {
        limitChanges.set(k, { quantity: j.quantity, wavelengthNm: j.wavelengthNm, end: j.end, old: { limitDb: o.limit, basis: o.basis }, new: { limitDb: j.limit, basis: j.basis } });
      }
      if (o.outcome !== j.outcome) changes.push({ fiber: f.fiber, quantity: j.quantity, wavelengthNm: j.wavelengthNm, end: j.end, valueDb: j.value, old: side(o), new: side(j) });
    }
  }
  const oldReasons = new Set(stored.reasons);
  const newReasons = new Set(fresh.reasons);
  return {
    oldVerdict: doc.verdict,
    newVerdict: fresh.verdict,
    verdictChanged: fresh.verdict !== doc.verdict,
    ...repro,
    changes,
    limitChanges: [...limitChanges.values()],
    reasonsAdded: fresh.reasons.filter((r) => !oldReasons.has(r)),
    reasonsRemoved: stored.reasons.filter((r) => !newReasons.has(r)),
  };
}
