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
import type { Judgment } from './judge-readings.js';
import { checkSetupWith, DEFAULT_CORD_VERIFICATION_POLICY, type CordVerificationPolicy, type SetupCheck } from './setup-check.js';
import { checkEndBTurned, checkSomethingInThePath } from './judge-readings.js';
import { endsCertified } from './ends.js';
import { roundDb } from './judge.js';
import { cite } from './rules.js';
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../instruments/power-floor.js';

export {
  DEFAULT_GUARD_BAND_DB,
  DEFAULT_REFERENCE_ERROR_THRESHOLD_DB,
  DEFAULT_DRIFT_THRESHOLD_DB,
  DEFAULT_NO_DEVICE_BELOW_DB,
} from './thresholds.js';
import { DEFAULT_DRIFT_THRESHOLD_DB, DEFAULT_GUARD_BAND_DB, DEFAULT_NO_DEVICE_BELOW_DB, DEFAULT_REFERENCE_ERROR_THRESHOLD_DB } from './thresholds.js';

export interface EvaluateOptions {
  /** A passing value within this many dB of its limit is MARGINAL. Default 0.05 dB. */
  guardBandDb?: number;
  /** A loss below this is INVALID (reference error). Default -0.05 dB. */
  referenceErrorThresholdDb?: number;
  /** The subject's previous certificate: per-fiber drift is reported against it. */
  previous?: PreviousCertificate;
  /** Drift beyond this is flagged (absolute, dB). Default 0.1 dB. */
  driftThresholdDb?: number;
  /** A power below this (dBm) is no light. Default -60 dBm, the drivers' default. */
  powerFloorDbm?: number;
  /** Every fiber of an end and wavelength within this of 0 dB: nothing in the path. Default 0.03 dB. */
  noDeviceBelowDb?: number;
  /** How long a reference-cord verification stays valid. Default 7 days, 100 matings. */
  cordVerification?: CordVerificationPolicy;
  /**
   * A bench job: end B readings that repeat end A's are end A measured twice (rule end-b-turned).
   * Off for offline records, whose ends may come from anywhere (and test records are symmetric).
   */
  endBTurnedCheck?: boolean;
}

export interface Evaluation {
  readonly schemaVersion: 1;
  readonly subject: { readonly kind: 'assembly' | 'link'; readonly id: string };
  readonly testedAt?: string;
  /** The set that judged this certificate, exactly: re-evaluating must pin this version. */
  readonly limitSet: LimitSetVersionRef & {
    readonly title: string;
    readonly origin: 'shipped' | 'user';
    /** SHA-256 of the limit-set file that judged this certificate. */
    readonly fileSha256: string;
    readonly includes: readonly LimitSetVersionRef[];
  };
  readonly settings: {
    readonly guardBandDb: number;
    readonly referenceErrorThresholdDb: number;
    readonly driftThresholdDb: number;
    readonly powerFloorDbm: number;
    readonly noDeviceBelowDb: number;
    readonly cordVerification: CordVerificationPolicy;
  };
  /** The connector ends this certificate covers; an assembly names an end certified elsewhere. */
  readonly ends: { readonly certified: readonly ('A' | 'B')[]; readonly certifiedElsewhere?: { readonly end: 'A' | 'B'; readonly note: string } };
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
  readonly setup: SetupCheck;
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
  const nothingInPath = checkSomethingInThePath(fibers, settings.noDeviceBelowDb);
  // With nothing in the path both ends read the same anyway: that reason already says why.
  const noDevice = nothingInPath.length === 0 && options.endBTurnedCheck ? checkEndBTurned(fibers) : nothingInPath;
  if (link?.application) addHeadroom(fibers, link.application.channelLossDb);
  const polarity = record.polarity ? evaluatePolarity(record.polarity, record.fiberCount, parallelChannel(record, link?.application?.id, set)) : undefined;
  const setup = checkSetupWith(record, set, settings.cordVerification);
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
  if (counts.marginal > 0) reasons.push(`${counts.marginal} fiber(s) within the ${settings.guardBandDb} dB guard band of a limit${cite('guard-band')}`);
  if (noDevice.length > 0) {
    verdict = worse(verdict, 'INVALID');
    reasons.push(...noDevice);
  }
  if (link?.reach) {
    verdict = worse(verdict, link.reach.outcome);
    if (link.reach.reason !== undefined) reasons.push(link.reach.reason);
  }
  if (polarity?.outcome) {
    verdict = worse(verdict, polarity.outcome);
    if (polarity.reason !== undefined) reasons.push(polarity.reason);
  } else if (polarity?.declared !== undefined) {
    verdict = worse(verdict, 'INVALID');
    reasons.push(`polarity ${polarity.declared} is declared but was not measured: a declared polarity cannot pass unverified; test on a bench that resolves where each fiber's light arrives${cite('polarity-measured')}`);
  }
  if (!setup.accepted) {
    // A refused setup (gender, worn cord) means the measurement cannot certify anything.
    verdict = worse(verdict, 'INVALID');
    reasons.push(...setup.refusals.map((r) => r.message));
  }

  return {
    schemaVersion: 1,
    subject,
    ...(record.testedAt === undefined ? {} : { testedAt: record.testedAt }),
    limitSet: { id: set.id, version: set.version, title: set.title, origin: set.origin, fileSha256: set.fileSha256, includes: set.includes },
    settings,
    ends: {
      certified: endsCertified(record),
      ...(record.kind === 'assembly' && record.oneEndCertifiedElsewhere ? { certifiedElsewhere: record.oneEndCertifiedElsewhere } : {}),
    },
    verdict,
    reasons,
    summary: { fibers: fibers.length, ...counts, lowestMarginDb },
    fibers,
    ...(link ? { link: { budgets: link.budgets, ...(link.application ? { application: link.application } : {}), ...(link.reach ? { reach: link.reach } : {}) } } : {}),
    ...(polarity ? { polarity } : {}),
    setup,
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
    powerFloorDbm: options.powerFloorDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM,
    noDeviceBelowDb: options.noDeviceBelowDb ?? DEFAULT_NO_DEVICE_BELOW_DB,
    cordVerification: options.cordVerification ?? DEFAULT_CORD_VERIFICATION_POLICY,
  };
  if (!Number.isFinite(settings.powerFloorDbm)) throw new InputError(`powerFloorDbm: must be a number (got ${settings.powerFloorDbm})`);
  if (!(Number.isFinite(settings.noDeviceBelowDb) && settings.noDeviceBelowDb >= 0)) throw new InputError(`noDeviceBelowDb: must be a number >= 0 (got ${settings.noDeviceBelowDb})`);
  const { maxAgeDays, maxMatings } = settings.cordVerification;
  if (!(maxAgeDays > 0 && Number.isInteger(maxMatings) && maxMatings >= 0)) throw new InputError('cordVerification: maxAgeDays must be > 0 and maxMatings a whole number >= 0');
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

/** A link with an application: each insertion loss also shows its headroom against the channel loss. */
function addHeadroom(fibers: FiberResult[], channelLossDb: number): void {
  for (const f of fibers) {
    const judgments = f.judgments as Judgment[];
    judgments.forEach((j, i) => {
      if (j.quantity === 'insertionLoss' && j.value !== null) judgments[i] = { ...j, headroomDb: roundDb(channelLossDb - j.value) };
    });
  }
}

/**
 * A channel (equipment cords included) for parallel optics must bring transmit lane n to receive
 * lane n whatever the method: end to end that is the type B map. A trunk or permanent link is
 * checked against its declared method's trunk map.
 */
function parallelChannel(record: TestRecord, application: string | undefined, set: LimitSet): { type: 'B'; why: string } | undefined {
  if (record.kind !== 'link' || record.linkType !== 'channel' || application === undefined) return undefined;
  if (set.applications.get(application)?.signal !== 'parallel') return undefined;
  return { type: 'B', why: `a ${application} channel carries parallel lanes, so end to end it maps like type B (transmit lane n reaches receive lane n)` };
}
