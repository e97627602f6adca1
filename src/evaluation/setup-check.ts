import { InputError, JobRefusedError } from '../errors.js';
import { ratedMatingCycles, type LocatedConnector } from './connector-grades.js';
import { formatRef, type LimitLibrary, type LimitSet } from './limit-set.js';
import type { Connector, End, TestSetup } from './record-schema.js';

/** What the pipeline knows before measuring; a whole TestRecord fits this shape too. */
export interface SetupPlan {
  readonly limitSet: { readonly id: string; readonly version?: string | undefined };
  readonly setup?: TestSetup | undefined;
  readonly connectors?: { readonly A: Connector; readonly B: Connector } | undefined;
  readonly endsMeasured?: readonly End[] | undefined;
}

export type SetupIssueCode = 'GENDER_MISMATCH' | 'CORD_WORN_OUT' | 'CORD_WEAR_WARNING' | 'RATED_CYCLES_UNKNOWN';

export interface SetupIssue {
  readonly code: SetupIssueCode;
  /** The cord or port concerned, by id, or the mating ("launch cord LC-7 / end A"). */
  readonly subject: string;
  readonly message: string;
}

export interface WearStatus {
  readonly role: 'launchCord' | 'receiveCord' | 'benchPort';
  readonly id: string;
  /** Matings since the item was new or last re-verified, including this test's. */
  readonly matingsSinceVerification: number;
  readonly ratedMatingCycles: number | null;
}

export interface SetupCheck {
  /** False when anything is refused: the pipeline must not measure, and no certificate may pass. */
  readonly accepted: boolean;
  readonly refusals: readonly SetupIssue[];
  readonly warnings: readonly SetupIssue[];
  readonly wear: readonly WearStatus[];
}

/** Share of the rated cycles at which a cord or port is reported as nearly worn. */
export const WEAR_WARNING_FRACTION = 0.8;

export function checkSetup(plan: SetupPlan, library: LimitLibrary): SetupCheck {
  const set = library.find(plan.limitSet);
  if (!set) throw new InputError(`/limitSet: limit set ${plan.limitSet.id}${plan.limitSet.version ? `@${plan.limitSet.version}` : ''} is not in the library`);
  return checkSetupWith(plan, set);
}

export function checkSetupWith(plan: SetupPlan, set: LimitSet): SetupCheck {
  const refusals: SetupIssue[] = [];
  const warnings: SetupIssue[] = [];
  const wear: WearStatus[] = [];
  const setup = plan.setup ?? {};
  for (const mating of matingsOf(plan, setup)) {
    const issue = genderIssue(mating[0], mating[1]);
    if (issue) refusals.push(issue);
  }
  const items = [
    setup.launchCord && { role: 'launchCord' as const, item: setup.launchCord, label: `launch cord ${setup.launchCord.id}` },
    setup.receiveCord && { role: 'receiveCord' as const, item: setup.receiveCord, label: `receive cord ${setup.receiveCord.id}` },
    setup.benchPort && { role: 'benchPort' as const, item: setup.benchPort, label: `bench port ${setup.benchPort.id}` },
  ];
  for (const entry of items) {
    if (!entry) continue;
    const { role, item, label } = entry;
    const path = `/setup/${role}`;
    const verifiedAt = item.reverifiedAtMatingCount ?? 0;
    if (verifiedAt > item.matingCount) {
      throw new InputError(`${path}/reverifiedAtMatingCount: ${verifiedAt} is more than matingCount ${item.matingCount}`);
    }
    const used = item.matingCount - verifiedAt;
    const rated = item.ratedMatingCycles ?? ratedMatingCycles({ connector: item.connector, path: `${path}/connector`, label }, set)?.value;
    wear.push({ role, id: item.id, matingsSinceVerification: used, ratedMatingCycles: rated ?? null });
    if (rated === undefined) {
      warnings.push({ code: 'RATED_CYCLES_UNKNOWN', subject: item.id, message: `${label}: limit set ${formatRef(set)} gives no rated mating cycles for its grade; wear is not checked` });
    } else if (used > rated) {
      refusals.push({
        code: 'CORD_WORN_OUT',
        subject: item.id,
        message: `${label} has ${used} matings, past its rated ${rated}: replace it or re-verify it (record reverifiedAtMatingCount)`,
      });
    } else if (used >= WEAR_WARNING_FRACTION * rated) {
      warnings.push({ code: 'CORD_WEAR_WARNING', subject: item.id, message: `${label} has ${used} of ${rated} rated matings (${Math.round((used / rated) * 100)}%)` });
    }
  }
  return { accepted: refusals.length === 0, refusals, warnings, wear };
}

/** For the pipeline: stop before measuring when the setup is refused. */
export function assertSetupAccepted(check: SetupCheck): void {
  const first = check.refusals[0];
  if (first) throw new JobRefusedError(first.code, check.refusals.map((r) => r.message).join('; '), { subject: first.subject });
}

function matingsOf(plan: SetupPlan, setup: TestSetup): [LocatedConnector, LocatedConnector][] {
  const matings: [LocatedConnector, LocatedConnector][] = [];
  const { launchCord, receiveCord, benchPort } = setup;
  if (benchPort && launchCord?.benchConnector) {
    matings.push([
      { connector: benchPort.connector, path: '/setup/benchPort/connector', label: `bench port ${benchPort.id}` },
      { connector: launchCord.benchConnector, path: '/setup/launchCord/benchConnector', label: `launch cord ${launchCord.id} (bench end)` },
    ]);
  }
  const connectors = plan.connectors;
  if (!connectors) return matings;
  for (const end of plan.endsMeasured ?? ['A']) {
    const far: End = end === 'A' ? 'B' : 'A';
    if (launchCord) {
      matings.push([
        { connector: launchCord.connector, path: '/setup/launchCord/connector', label: `launch cord ${launchCord.id}` },
        { connector: connectors[end], path: `/connectors/${end}`, label: `end ${end} of the device` },
      ]);
    }
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
function genderIssue(a: LocatedConnector, b: LocatedConnector): SetupIssue | undefined {
  if (a.connector.gender !== b.connector.gender) return undefined;
  const consequence = a.connector.gender === 'female' ? 'no guide pins to align the ferrules (high loss)' : 'pins against pins damage both connectors';
  return {
    code: 'GENDER_MISMATCH',
    subject: `${a.label} / ${b.label}`,
    message: `${a.connector.gender}-${b.connector.gender} mating refused: ${a.label} (${a.connector.family} ${a.connector.gender}) with ${b.label} (${b.connector.family} ${b.connector.gender}): ${consequence}`,
  };
}
