import { InputError, JobRefusedError } from '../errors.js';
import { ratedMatingCycles, resolveGrade, type LocatedConnector } from './connector-grades.js';
import { endsCertified } from './ends.js';
import { formatDb, LIMIT_EPSILON_DB } from './judge.js';
import { formatRef, type Application, type LimitLibrary, type LimitSet } from './limit-set.js';
import { polarityTypeOf } from './polarity.js';
import { fiberClassOf, type BenchPort, type Connector, type End, type FiberClass, type TestCord, type TestRecord } from './record-schema.js';
import { cite, type RuleId } from './rules.js';
import { DEFAULT_NO_DEVICE_BELOW_DB, DEFAULT_REFERENCE_ERROR_THRESHOLD_DB } from './thresholds.js';

/** What the pipeline knows before measuring: a test record without readings. */
export type SetupPlan = Pick<TestRecord, 'kind' | 'limitSet' | 'fiberType' | 'fiberCount' | 'wavelengthsNm' | 'setup' | 'connectors' | 'endsMeasured' | 'testedAt' | 'polarity'> & {
  readonly oneEndCertifiedElsewhere?: { readonly end: End; readonly note: string } | undefined;
  readonly application?: string | undefined;
};

export type SetupIssueCode =
  | 'GENDER_MISMATCH'
  | 'POLISH_MISMATCH'
  | 'CORD_WORN_OUT'
  | 'CORD_WEAR_WARNING'
  | 'RATED_CYCLES_UNKNOWN'
  | 'NO_LAUNCH_CORD'
  | 'CORD_NOT_VERIFIED'
  | 'CORD_NOT_REFERENCE_GRADE'
  | 'CORD_VERIFICATION_EXPIRED'
  | 'CORD_BELOW_PRODUCT_GRADE'
  | 'CORD_VERIFICATION_IMPLAUSIBLE'
  | 'DEVICE_CONNECTORS_UNKNOWN'
  | 'TWO_CONNECTORS_PER_READING'
  | 'APPLICATION_FIBER_COUNT'
  | 'APPLICATION_WAVELENGTH'
  | 'APPLICATION_POLARITY';

export interface SetupIssue {
  readonly code: SetupIssueCode;
  /** The cord or port concerned, by id, or the mating ("launch cord LC-7 / end A"). */
  readonly subject: string;
  readonly message: string;
}

export interface WearStatus {
  readonly role: 'launchCord' | 'receiveCord' | 'benchPort';
  readonly id: string;
  /** Matings since the item was new or last verified, including this test's. */
  readonly matingsSinceVerification: number;
  readonly ratedMatingCycles: number | null;
}

/** The verification each reference-grade connector of the setup relied on, as the certificate names it. */
export interface VerificationRelied {
  readonly role: 'launchCord' | 'receiveCord' | 'benchPort';
  readonly cordId: string;
  readonly verificationId: string;
  readonly at: string;
  readonly against: string;
  readonly maxLossDb: number;
  readonly limitDb: number;
  readonly matingsSince: number;
}

export interface SetupCheck {
  /** False when anything is refused: the pipeline must not measure, and no certificate may pass. */
  readonly accepted: boolean;
  readonly refusals: readonly SetupIssue[];
  readonly warnings: readonly SetupIssue[];
  readonly wear: readonly WearStatus[];
  readonly verifications: readonly VerificationRelied[];
}

/** How long a cord verification stays valid: the lab's quality plan, recorded on every certificate. */
export interface CordVerificationPolicy {
  readonly maxAgeDays: number;
  readonly maxMatings: number;
}

/** Re-verify reference cords at least weekly and every 100 matings unless the quality plan says otherwise. */
export const DEFAULT_CORD_VERIFICATION_POLICY: CordVerificationPolicy = { maxAgeDays: 7, maxMatings: 100 };

/** Share of the rated cycles at which a cord or port is reported as nearly worn. */
export const WEAR_WARNING_FRACTION = 0.8;

export function checkSetup(plan: SetupPlan, library: LimitLibrary, policy: CordVerificationPolicy = DEFAULT_CORD_VERIFICATION_POLICY): SetupCheck {
  const set = library.find(plan.limitSet);
  if (!set) throw new InputError(`/limitSet: limit set ${plan.limitSet.id}${plan.limitSet.version ? `@${plan.limitSet.version}` : ''} is not in the library`);
  return checkSetupWith(plan, set, policy);
}

type Role = 'launchCord' | 'receiveCord' | 'benchPort';
interface Item {
  readonly role: Role;
  readonly item: TestCord | BenchPort;
  readonly label: string;
}

/**
 * Everything about the test setup that must hold before a reading can certify anything: genders,
 * polishes, a verified reference-grade connector on the launch side (and on the receive side when
 * there is one), wear, and for an assembly: one of its connectors per reading, a cord at least as
 * good as the product's grade. Refusals stop a job before measuring and make a record INVALID.
 */
export function checkSetupWith(plan: SetupPlan, set: LimitSet, policy: CordVerificationPolicy = DEFAULT_CORD_VERIFICATION_POLICY): SetupCheck {
  const refusals: SetupIssue[] = [];
  const warnings: SetupIssue[] = [];
  const wear: WearStatus[] = [];
  const verifications: VerificationRelied[] = [];
  const refuse = (code: SetupIssueCode, subject: string, message: string, rule: RuleId): void => {
    refusals.push({ code, subject, message: message + cite(rule) });
  };
  const setup = plan.setup ?? {};
  const fiberClass = fiberClassOf(plan.fiberType);
  const matings = matingsOf(plan);
  for (const [a, b] of matings) {
    const gender = genderIssue(a, b);
    if (gender) refuse('GENDER_MISMATCH', `${a.label} / ${b.label}`, gender, 'gender');
    const pa = polishOf(a.connector, fiberClass);
    const pb = polishOf(b.connector, fiberClass);
    if (pa !== pb) {
      refuse(
        'POLISH_MISMATCH',
        `${a.label} / ${b.label}`,
        `${pa}-${pb} mating refused: ${a.label} is ${pa}, ${b.label} is ${pb}; an angled end face against a flat one leaves an air gap: use a ${pb} cord`,
        'polish-match',
      );
    }
  }

  // The connector the device's light enters through: the launch cord, or the bench port itself.
  const launchSide: Item | undefined = setup.launchCord
    ? { role: 'launchCord', item: setup.launchCord, label: `launch cord ${setup.launchCord.id}` }
    : setup.benchPort
      ? { role: 'benchPort', item: setup.benchPort, label: `bench port ${setup.benchPort.id}` }
      : undefined;
  if (!launchSide) {
    refuse(
      'NO_LAUNCH_CORD',
      'setup',
      'the test names no launch cord (or bench port) the device was mated to, so nothing shows it was measured against a verified reference-grade connector: record setup.launchCord with its verification',
      'cord-verified',
    );
  }
  const receiveSide: Item | undefined = setup.receiveCord ? { role: 'receiveCord', item: setup.receiveCord, label: `receive cord ${setup.receiveCord.id}` } : undefined;

  if (!plan.connectors && (launchSide || receiveSide)) {
    refuse(
      'DEVICE_CONNECTORS_UNKNOWN',
      'connectors',
      'the test does not declare the connectors of the device, so its mating with the test cords cannot be checked (gender, polish, grade): declare connectors A and B',
      'gender',
    );
  }

  if (plan.kind === 'assembly' && receiveSide) {
    refuse(
      'TWO_CONNECTORS_PER_READING',
      receiveSide.item.id,
      `a receive cord (${receiveSide.item.id}) puts both of the assembly's connectors in every reading, so neither can be certified on its own: put the far end into the meter's detector (no receive cord), measure end A, turn the assembly, measure end B`,
      'one-connector-per-reading',
    );
  }

  for (const side of [launchSide, receiveSide]) {
    if (!side) continue;
    const relied = checkVerification(side, plan, set, fiberClass, policy, refuse);
    if (relied) verifications.push(relied);
  }

  if (plan.kind === 'assembly' && launchSide && plan.connectors) {
    for (const end of endsCertified(plan)) {
      const device: LocatedConnector = { connector: plan.connectors[end], path: `/connectors/${end}`, label: `end ${end}` };
      const cord: LocatedConnector = { connector: launchSide.item.connector, path: `/setup/${launchSide.role}/connector`, label: launchSide.label };
      const product = resolveGrade(device, set);
      const cordGrade = resolveGrade(cord, set);
      const productLoss = product.insertionLossDb[fiberClass]?.value;
      const cordLoss = cordGrade.insertionLossDb[fiberClass]?.value;
      if (productLoss !== undefined && cordLoss === undefined) {
        refuse(
          'CORD_BELOW_PRODUCT_GRADE',
          launchSide.item.id,
          `${launchSide.label} is grade ${cordGrade.id}, which has no ${fiberClass} insertion-loss figure, so nothing shows it is as good as end ${end}'s grade ${product.id}: use a ${fiberClass} ${product.id} (or better) reference cord`,
          'cord-grade',
        );
      } else if (productLoss !== undefined && cordLoss !== undefined && cordLoss > productLoss) {
        refuse(
          'CORD_BELOW_PRODUCT_GRADE',
          launchSide.item.id,
          `${launchSide.label} is grade ${cordGrade.id} (${formatDb(cordLoss)} dB ${fiberClass}), below end ${end}'s grade ${product.id} (${formatDb(productLoss)} dB): a product is measured against a cord at least as good as its own grade; use a ${product.id} (or better) reference cord`,
          'cord-grade',
        );
      }
    }
  }

  if (plan.application !== undefined) {
    const app = set.applications.get(plan.application);
    if (app) checkApplication(plan, app, refuse);
  }

  const counted: Item[] = [
    ...(setup.launchCord ? [{ role: 'launchCord' as const, item: setup.launchCord, label: `launch cord ${setup.launchCord.id}` }] : []),
    ...(setup.receiveCord ? [{ role: 'receiveCord' as const, item: setup.receiveCord, label: `receive cord ${setup.receiveCord.id}` }] : []),
    ...(setup.benchPort ? [{ role: 'benchPort' as const, item: setup.benchPort, label: `bench port ${setup.benchPort.id}` }] : []),
  ];
  for (const { role, item, label } of counted) {
    const path = `/setup/${role}`;
    const verifiedAt = item.verification?.matingCount ?? 0;
    if (verifiedAt > item.matingCount) {
      throw new InputError(`${path}/verification/matingCount: ${verifiedAt} is more than matingCount ${item.matingCount}`);
    }
    const used = item.matingCount - verifiedAt;
    const rated = item.ratedMatingCycles ?? ratedMatingCycles({ connector: item.connector, path: `${path}/connector`, label }, set)?.value;
    wear.push({ role, id: item.id, matingsSinceVerification: used, ratedMatingCycles: rated ?? null });
    if (rated === undefined) {
      warnings.push({ code: 'RATED_CYCLES_UNKNOWN', subject: item.id, message: `${label}: limit set ${formatRef(set)} gives no rated mating cycles for its grade; wear is not checked` });
    } else if (used > rated) {
      refuse('CORD_WORN_OUT', item.id, `${label} has ${used} matings since it was verified, past its rated ${rated}: replace it or verify it again`, 'cord-wear');
    } else if (used >= WEAR_WARNING_FRACTION * rated) {
      warnings.push({ code: 'CORD_WEAR_WARNING', subject: item.id, message: `${label} has ${used} of ${rated} rated matings (${Math.round((used / rated) * 100)}%)` });
    }
  }
  return { accepted: refusals.length === 0, refusals, warnings, wear, verifications };
}

function checkVerification(
  side: Item,
  plan: SetupPlan,
  set: LimitSet,
  fiberClass: FiberClass,
  policy: CordVerificationPolicy,
  refuse: (code: SetupIssueCode, subject: string, message: string, rule: RuleId) => void,
): VerificationRelied | undefined {
  const { item, label, role } = side;
  const v = item.verification;
  if (!v) {
    refuse('CORD_NOT_VERIFIED', item.id, `${label} has no recorded verification as a reference-grade cord: verify it against a reference-grade connector first`, 'cord-verified');
    return undefined;
  }
  const limit = set.referenceGradeCordLossDb[fiberClass];
  if (!limit) {
    throw new InputError(`/limitSet: limit set ${formatRef(set)} gives no ${fiberClass} reference-grade cord loss (referenceGradeCordLossDb): name a set that does (e.g. mtp-mpo-connector-grades@1.1.0)`);
  }
  const matingsSince = item.matingCount - v.matingCount;
  let ok = true;
  // A reference-grade pair still loses something on every fiber, and never a negative amount: a
  // verification reading about 0 dB everywhere had no plug mated, and one below the reference-
  // error threshold was measured against a reference taken through something (a device left in
  // the path). Either way the reference behind it is bad, and so is every loss measured against it.
  const implausible = verificationImplausibility(v);
  if (implausible === 'negative') {
    ok = false;
    refuse(
      'CORD_VERIFICATION_IMPLAUSIBLE',
      item.id,
      `${label}'s verification ${v.id} reads as low as ${formatDb(v.minLossDb)} dB against ${v.against}: a negative loss is a reference error (the reference was taken through something, e.g. a device left in the path). Remove it, reference and verify again`,
      'reference-error',
    );
  } else if (implausible === 'no-plug') {
    ok = false;
    refuse(
      'CORD_VERIFICATION_IMPLAUSIBLE',
      item.id,
      `${label}'s verification ${v.id} reads within ${formatDb(DEFAULT_NO_DEVICE_BELOW_DB)} dB of 0 dB on every fiber: the plug ${v.against} was not in the light path (not mated, or the reference was taken through it). Reference and verify again`,
      'no-device-in-path',
    );
  }
  if (v.maxLossDb > limit.value) {
    ok = false;
    refuse(
      'CORD_NOT_REFERENCE_GRADE',
      item.id,
      `${label} lost up to ${formatDb(v.maxLossDb)} dB in verification ${v.id} against ${v.against}, above the ${formatDb(limit.value)} dB ${fiberClass} reference grade: clean or replace it`,
      'cord-verified',
    );
  }
  const testedAt = plan.testedAt === undefined ? Number.NaN : Date.parse(plan.testedAt);
  const verifiedAt = Date.parse(v.at);
  if (!Number.isFinite(testedAt)) {
    ok = false;
    refuse('CORD_VERIFICATION_EXPIRED', item.id, `the test has no testedAt, so the age of ${label}'s verification ${v.id} cannot be checked: record when it was tested`, 'cord-verified');
  } else if (!Number.isFinite(verifiedAt) || verifiedAt > testedAt) {
    ok = false;
    refuse('CORD_VERIFICATION_EXPIRED', item.id, `${label}'s verification ${v.id} is dated ${v.at}, after the test (${plan.testedAt ?? '?'}): a verification must come before the test`, 'cord-verified');
  } else {
    const ageDays = (testedAt - verifiedAt) / 86_400_000;
    if (ageDays > policy.maxAgeDays) {
      ok = false;
      refuse('CORD_VERIFICATION_EXPIRED', item.id, `${label}'s verification ${v.id} is ${ageDays.toFixed(1)} days old, older than the ${policy.maxAgeDays} days allowed: verify it again`, 'cord-verified');
    }
  }
  if (matingsSince > policy.maxMatings) {
    ok = false;
    refuse('CORD_VERIFICATION_EXPIRED', item.id, `${label} has been mated ${matingsSince} times since verification ${v.id}, more than the ${policy.maxMatings} allowed: verify it again`, 'cord-verified');
  }
  const unverified = plan.wavelengthsNm.filter((wl) => !v.wavelengthsNm.includes(wl));
  if (unverified.length > 0) {
    ok = false;
    refuse('CORD_NOT_VERIFIED', item.id, `${label}'s verification ${v.id} covers ${v.wavelengthsNm.join(', ')} nm, not ${unverified.join(', ')} nm of this test: verify it at every test wavelength`, 'cord-verified');
  }
  return ok ? { role, cordId: item.id, verificationId: v.id, at: v.at, against: v.against, maxLossDb: v.maxLossDb, limitDb: limit.value, matingsSince } : undefined;
}

/** For the pipeline: stop before measuring when the setup is refused. */
/**
 * Why a cord verification cannot be a reference-grade pair, or undefined. A reference-grade pair
 * still loses something on every fiber, and never a negative amount: below the reference-error
 * threshold the reference was taken through something; about 0 dB everywhere, no plug was mated.
 * The daemon refuses such a verification when it measures it; the engine refuses to rely on one.
 */
export function verificationImplausibility(v: { minLossDb: number; maxLossDb: number }): 'negative' | 'no-plug' | undefined {
  if (v.minLossDb < DEFAULT_REFERENCE_ERROR_THRESHOLD_DB - LIMIT_EPSILON_DB) return 'negative';
  if (v.maxLossDb <= DEFAULT_NO_DEVICE_BELOW_DB + LIMIT_EPSILON_DB) return 'no-plug';
  return undefined;
}

export function assertSetupAccepted(check: SetupCheck): void {
  const first = check.refusals[0];
  if (first) throw new JobRefusedError(first.code, check.refusals.map((r) => r.message).join('; '), { subject: first.subject });
}

/** Multimode connectors are flat (PC/UPC) unless they say APC; single-mode ones must say (record-semantics checks). */
function polishOf(connector: Connector, fiberClass: FiberClass): 'UPC' | 'APC' {
  void fiberClass;
  return connector.polish ?? 'UPC';
}

function matingsOf(plan: SetupPlan): [LocatedConnector, LocatedConnector][] {
  const matings: [LocatedConnector, LocatedConnector][] = [];
  const { launchCord, receiveCord, benchPort } = plan.setup ?? {};
  if (benchPort && launchCord?.benchConnector) {
    matings.push([
      { connector: benchPort.connector, path: '/setup/benchPort/connector', label: `bench port ${benchPort.id}` },
      { connector: launchCord.benchConnector, path: '/setup/launchCord/benchConnector', label: `launch cord ${launchCord.id} (bench end)` },
    ]);
  }
  const connectors = plan.connectors;
  if (!connectors) return matings;
  const launch = launchCord
    ? { connector: launchCord.connector, path: '/setup/launchCord/connector', label: `launch cord ${launchCord.id}` }
    : benchPort
      ? { connector: benchPort.connector, path: '/setup/benchPort/connector', label: `bench port ${benchPort.id}` }
      : undefined;
  for (const end of plan.kind === 'assembly' ? endsCertified(plan) : (plan.endsMeasured ?? ['A'])) {
    const far: End = end === 'A' ? 'B' : 'A';
    if (launch) matings.push([launch, { connector: connectors[end], path: `/connectors/${end}`, label: `end ${end} of the device` }]);
    if (receiveCord) {
      matings.push([
        { connector: receiveCord.connector, path: '/setup/receiveCord/connector', label: `receive cord ${receiveCord.id}` },
        { connector: connectors[far], path: `/connectors/${far}`, label: `end ${far} of the device` },
      ]);
    }
  }
  return matings;
}

/** Male (pinned) mates female (unpinned) only. */
function genderIssue(a: LocatedConnector, b: LocatedConnector): string | undefined {
  if (a.connector.gender !== b.connector.gender) return undefined;
  const consequence = a.connector.gender === 'female' ? 'no guide pins to align the ferrules (high loss)' : 'pins against pins damage both connectors';
  return `${a.connector.gender}-${b.connector.gender} mating refused: ${a.label} (${a.connector.family} ${a.connector.gender}) with ${b.label} (${b.connector.family} ${b.connector.gender}): ${consequence}`;
}

/** What an application needs of the link certified for it: its fiber count, its wavelengths, a lane-keeping polarity. */
function checkApplication(plan: SetupPlan, app: Application, refuse: (code: SetupIssueCode, subject: string, message: string, rule: RuleId) => void): void {
  if (app.fiberCounts && !app.fiberCounts.includes(plan.fiberCount as 8 | 12 | 16 | 24)) {
    refuse(
      'APPLICATION_FIBER_COUNT',
      app.id,
      `${app.id} runs on ${app.fiberCounts.join(' or ')}-fiber MPO links; this link has ${plan.fiberCount} fibers: certify it for an application that fits, or on a link of the right count`,
      'application-fibers',
    );
  }
  const missing = (app.testWavelengthsNm ?? []).filter((wl) => !plan.wavelengthsNm.includes(wl));
  if (missing.length > 0) {
    refuse(
      'APPLICATION_WAVELENGTH',
      app.id,
      `${app.id} runs at ${app.testWavelengthsNm!.join(', ')} nm; this test does not measure ${missing.join(', ')} nm: add the wavelength`,
      'application-wavelengths',
    );
  }
  if (app.signal === 'parallel') {
    const declared = plan.polarity?.declared;
    if (declared === undefined) {
      refuse('APPLICATION_POLARITY', app.id, `${app.id} is parallel optics: declare the link's polarity method (A, B, U1 or U2) so the lane order can be verified`, 'application-polarity');
    } else if (polarityTypeOf(declared) === 'C') {
      refuse(
        'APPLICATION_POLARITY',
        app.id,
        `${app.id} is parallel optics, and ${declared} (type C, pair-flipped) does not keep lanes in order: use method B, or A/U1/U2 with the right patch cords`,
        'application-polarity',
      );
    }
  }
}
