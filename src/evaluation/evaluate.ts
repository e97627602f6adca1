import { InputError } from '../errors.js';
import { assemblyLimits } from './assembly-limits.js';
import { compareWithPrevious, type DriftReport, type PreviousCertificate } from './drift.js';
import { judgeFibers, type FiberResult } from './judge-readings.js';
import { assessLink, type LinkBudget, type LinkLengthJudgment } from './link-limits.js';
import { formatRef, type LimitLibrary, type LimitSet, type LimitSetVersionRef } from './limit-set.js';
import { worse, type Outcome } from './outcome.js';
import { evaluatePolarity, type PolarityResult } from './polarity-result.js';
import { checkRecordSemantics } from './record-semantics.js';
import type { TestRecord } from './record-schema.js';
import { checkSetupWith, type SetupCheck } from './setup-check.js';

export const DEFAULT_GUARD_BAND_DB = 0.05;
/** A loss below this is a reference error, never a very good fiber (FIBER-TEST-FACTS.md section 3). */
export const DEFAULT_REFERENCE_ERROR_THRESHOLD_DB = -0.05;
/** Between the 0.02 dB a year seen on MTP and the 0.08-0.12 dB seen on MPO (source document). */
export const DEFAULT_DRIFT_THRESHOLD_DB = 0.1;

export interface EvaluateOptions {
  /** A passing value within this many dB of its limit is MARGINAL. Default 0.05 dB. */
  guardBandDb?: number;
  /** A loss below this is INVALID (reference error). Default -0.05 dB. */
  referenceErrorThresholdDb?: number;
  /** The subject's previous certificate: per-fiber drift is reported against it. */
  previous?: PreviousCertificate;
  /** Drift beyond this is flagged (absolute, dB). Default 0.1 dB. */
  driftThresholdDb?: number;
}

export interface Evaluation {
  readonly schemaVersion: 1;
  readonly subject: { readonly kind: 'assembly' | 'link'; readonly id: string };
  readonly testedAt?: string;
  /** The set that judged this certificate, exactly: re-evaluating must pin this version. */
  readonly limitSet: LimitSetVersionRef & { readonly title: string; readonly origin: 'shipped' | 'user'; readonly includes: readonly LimitSetVersionRef[] };
  readonly settings: { readonly guardBandDb: number; readonly referenceErrorThresholdDb: number; readonly driftThresholdDb: number };
  /** The worst of every fiber, polarity, reach and the setup: PASS < MARGINAL < FAIL < INVALID. */
  readonly verdict: Outcome;
  /** One line per thing that kept the verdict from PASS. */
  readonly reasons: readonly string[];
  readonly summary: {
    readonly fibers: number;
    readonly pass: number;
    readonly marginal: number;
    readonly fail: number;
    readonly invalid: number;
    /** Smallest insertion-loss margin over all judged values, null when none could be judged. */
    readonly lowestMarginDb: number | null;
  };
  readonly fibers: readonly FiberResult[];
  readonly link?: {
    readonly budgets: readonly LinkBudget[];
    readonly application?: { readonly id: string; readonly fiberType: string; readonly channelLossDb: number; readonly reachM: number };
    readonly reach?: LinkLengthJudgment;
  };
  readonly polarity?: PolarityResult;
  readonly setup?: SetupCheck;
  readonly drift?: DriftReport;
}

/**
 * Judges a recorded test. Pure and synchronous: the daemon's pipeline and `mpocert evaluate` both
 * call this, so there is one evaluation path. Throws InputError when the record asks for something
 * the limit set cannot judge (unknown set, grade, application, missing figure).
 */
export function evaluateRecord(record: TestRecord, library: LimitLibrary, options: EvaluateOptions = {}): Evaluation {
  const settings = settingsFrom(options);
  checkRecordSemantics(record);
  const set = findLimitSet(record, library);
  const subject = record.kind === 'assembly' ? { kind: 'assembly' as const, id: record.serialNumber } : { kind: 'link' as const, id: record.linkId };
  const link = record.kind === 'link' ? assessLink(record, set) : undefined;
  const limitsFor = link ? link.limitsFor : record.kind === 'assembly' ? assemblyLimits(record, set) : unreachable();
  const fibers = judgeFibers(record, limitsFor, settings);
  const polarity = record.polarity ? evaluatePolarity(record.polarity, record.fiberCount) : undefined;
  const setup = record.setup ? checkSetupWith(record, set) : undefined;
  const drift = options.previous ? compareWithPrevious(subject, fibers, options.previous, settings.driftThresholdDb) : undefined;

  let verdict: Outcome = 'PASS';
  const reasons: string[] = [];
  const counts = { pass: 0, marginal: 0, fail: 0, invalid: 0 };
  let lowestMarginDb: number | null = null;
  for (const fiber of fibers) {
    verdict = worse(verdict, fiber.outcome);
    counts[outcomeKey[fiber.outcome]]++;
    for (const j of fiber.judgments) {
      if (j.reason !== undefined) reasons.push(j.reason);
      if (j.quantity === 'insertionLoss' && j.margin !== null && (lowestMarginDb === null || j.margin < lowestMarginDb)) lowestMarginDb = j.margin;
    }
  }
  if (counts.marginal > 0) reasons.push(`${counts.marginal} fiber(s) within the ${settings.guardBandDb} dB guard band of a limit`);
  if (link?.reach) {
    verdict = worse(verdict, link.reach.outcome);
    if (link.reach.reason !== undefined) reasons.push(link.reach.reason);
  }
  if (polarity?.outcome) {
    verdict = worse(verdict, polarity.outcome);
    if (polarity.reason !== undefined) reasons.push(polarity.reason);
  }
  if (setup && !setup.accepted) {
    // A refused setup (gender, worn cord) means the measurement cannot certify anything.
    verdict = worse(verdict, 'INVALID');
    reasons.push(...setup.refusals.map((r) => r.message));
  }

  return {
    schemaVersion: 1,
    subject,
    ...(record.testedAt === undefined ? {} : { testedAt: record.testedAt }),
    limitSet: { id: set.id, version: set.version, title: set.title, origin: set.origin, includes: set.includes },
    settings,
    verdict,
    reasons,
    summary: { fibers: fibers.length, ...counts, lowestMarginDb },
    fibers,
    ...(link ? { link: { budgets: link.budgets, ...(link.application ? { application: link.application } : {}), ...(link.reach ? { reach: link.reach } : {}) } } : {}),
    ...(polarity ? { polarity } : {}),
    ...(setup ? { setup } : {}),
    ...(drift ? { drift } : {}),
  };
}

const outcomeKey = { PASS: 'pass', MARGINAL: 'marginal', FAIL: 'fail', INVALID: 'invalid' } as const;

function findLimitSet(record: TestRecord, library: LimitLibrary): LimitSet {
  const set = library.find(record.limitSet);
  if (set) return set;
  const wanted = record.limitSet.version === undefined ? record.limitSet.id : formatRef({ id: record.limitSet.id, version: record.limitSet.version });
  const known = library.list().map(formatRef).join(', ');
  // A pinned version that is missing is an error, never a reason to judge by another version.
  throw new InputError(`/limitSet: limit set ${wanted} is not in the library (${known})`);
}

function settingsFrom(options: EvaluateOptions): Evaluation['settings'] {
  const settings = {
    guardBandDb: options.guardBandDb ?? DEFAULT_GUARD_BAND_DB,
    referenceErrorThresholdDb: options.referenceErrorThresholdDb ?? DEFAULT_REFERENCE_ERROR_THRESHOLD_DB,
    driftThresholdDb: options.driftThresholdDb ?? DEFAULT_DRIFT_THRESHOLD_DB,
  };
  if (!(Number.isFinite(settings.guardBandDb) && settings.guardBandDb >= 0)) throw new InputError(`guardBandDb: must be a number >= 0 (got ${settings.guardBandDb})`);
  if (!(Number.isFinite(settings.referenceErrorThresholdDb) && settings.referenceErrorThresholdDb <= 0)) {
    throw new InputError(`referenceErrorThresholdDb: must be a number <= 0 (got ${settings.referenceErrorThresholdDb})`);
  }
  if (!(Number.isFinite(settings.driftThresholdDb) && settings.driftThresholdDb >= 0)) throw new InputError(`driftThresholdDb: must be a number >= 0 (got ${settings.driftThresholdDb})`);
  return settings;
}

function unreachable(): never {
  throw new InputError('/kind: must be assembly or link');
}
