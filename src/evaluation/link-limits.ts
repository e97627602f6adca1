import { endsJudged } from './ends.js';
import { InputError } from '../errors.js';
import { attenuationFor } from './attenuation.js';
import { formatDb, judgeAgainst, roundDb, roundLimitDb, type Limit } from './judge.js';
import { cite } from './rules.js';
import { formatRef, type ApplicationChannel, type Figure, type LimitSet } from './limit-set.js';
import { pairsForEnd } from './mated-pairs.js';
import type { Outcome } from './outcome.js';
import { fiberClassOf, type End, type LinkRecord } from './record-schema.js';
import { tabulateLimits, type LimitsFor } from './reading-limits.js';

export interface LinkBudget {
  readonly wavelengthNm: number;
  /** connections x allowance + splices x allowance + length x attenuation. */
  readonly budgetDb: number;
  readonly budgetBasis: string;
  /** The application's channel insertion-loss limit, when an application is named. */
  readonly channelLimitDb?: number;
  /** The lower of budget and channel limit: what each fiber is judged against. */
  readonly limitDb: number;
  /**
   * The application's channel loss minus the link's budget: what the design leaves for the
   * transceivers' margin (the source document's arithmetic: 6 dB less one MPO pair, 5.25 dB).
   */
  readonly designHeadroomDb?: number;
  readonly verify: boolean;
}

export interface LinkLengthJudgment {
  readonly quantity: 'length';
  readonly value: number;
  readonly limit: number;
  readonly limitKind: 'max';
  readonly margin: number;
  readonly outcome: Extract<Outcome, 'PASS' | 'FAIL'>;
  readonly basis: string;
  readonly reason?: string;
  readonly verify?: true;
}

export interface LinkAssessment {
  readonly limitsFor: LimitsFor;
  readonly budgets: readonly LinkBudget[];
  readonly application?: { readonly id: string; readonly fiberType: string; readonly channelLossDb: number; readonly reachM: number };
  readonly reach?: LinkLengthJudgment;
}

/** Installed link: each fiber is judged against the lower of the component budget and the application's channel limit. */
export function assessLink(record: LinkRecord, set: LimitSet): LinkAssessment {
  const channel = applicationChannel(record, set);
  const ends: readonly End[] = endsJudged(record);
  const fiberClass = fiberClassOf(record.fiberType);
  const budgets = record.wavelengthsNm.map((wl) => linkBudget(record, set, wl, channel));
  const budgetByWavelength = new Map(budgets.map((b) => [b.wavelengthNm, b]));
  const limitsFor = tabulateLimits(ends, record.wavelengthsNm, (end, wl) => {
    const budget = budgetByWavelength.get(wl);
    if (!budget) throw new RangeError(`no budget at ${wl} nm`);
    const basis = budget.channelLimitDb === undefined
      ? `link budget ${budget.budgetBasis}`
      : `lower of link budget ${budget.budgetBasis} and ${record.application ?? ''} on ${record.fiberType} channel ${formatDb(budget.channelLimitDb)} dB`;
    const insertionLoss: Limit = { value: budget.limitDb, kind: 'max', basis, verify: budget.verify };
    if (!record.connectors) return { insertionLoss, returnLossProblem: 'the link record declares no connectors, so return loss has no grade to be judged against' };
    const pairs = pairsForEnd(end, record.connectors, record.setup, fiberClass, set, `link ${record.linkId}`);
    if (!pairs.returnLoss) return { insertionLoss, returnLossProblem: pairs.returnLossProblem ?? 'no return-loss limit' };
    return {
      insertionLoss,
      returnLoss: { value: pairs.returnLoss.value, kind: 'min', basis: `${pairs.launch.description} return loss (${fiberClass})`, verify: pairs.returnLoss.verify },
    };
  });
  if (!channel || record.application === undefined) return { limitsFor, budgets };
  return {
    limitsFor,
    budgets,
    application: { id: record.application, fiberType: record.fiberType, channelLossDb: channel.channelLossDb.value, reachM: channel.reachM.value },
    reach: judgeReach(record.lengthM, record.application, channel.reachM),
  };
}

function applicationChannel(record: LinkRecord, set: LimitSet): ApplicationChannel | undefined {
  if (record.application === undefined) return undefined;
  const application = set.applications.get(record.application);
  if (!application) {
    throw new InputError(`/application: ${record.application} is not in limit set ${formatRef(set)} (${[...set.applications.keys()].join(', ') || 'it has no applications'})`);
  }
  const channel = application.channels.get(record.fiberType);
  if (!channel) {
    throw new InputError(`/fiberType: ${record.application} in limit set ${formatRef(set)} defines no channel on ${record.fiberType} (${[...application.channels.keys()].join(', ')})`);
  }
  return channel;
}

function linkBudget(record: LinkRecord, set: LimitSet, wavelengthNm: number, channel: ApplicationChannel | undefined): LinkBudget {
  // An allowance is only required when the link has such components; a zero count needs no figure.
  const { matedPairDb, spliceDb } = set.componentAllowances;
  const mated = record.connections > 0 ? requireAllowance(matedPairDb, set, 'matedPairDb', '/connections') : (matedPairDb ?? zero);
  const splice = record.splices > 0 ? requireAllowance(spliceDb, set, 'spliceDb', '/splices') : (spliceDb ?? zero);
  const perKm = record.lengthM > 0 ? attenuationFor(set, record.fiberType, wavelengthNm, record.cablePlant ?? 'inside', '/lengthM') : zero;
  const km = record.lengthM / 1000;
  const budgetDb = roundLimitDb(record.connections * mated.value + record.splices * splice.value + km * perKm.value, 'max');
  const budgetBasis = `${record.connections} x ${mated.value} + ${record.splices} x ${splice.value} + ${km} km x ${perKm.value} dB/km = ${formatDb(budgetDb)} dB`;
  const verify = mated.verify || splice.verify || perKm.verify || (channel?.channelLossDb.verify ?? false);
  if (!channel) return { wavelengthNm, budgetDb, budgetBasis, limitDb: budgetDb, verify };
  const channelLimitDb = channel.channelLossDb.value;
  return { wavelengthNm, budgetDb, budgetBasis, channelLimitDb, limitDb: Math.min(budgetDb, channelLimitDb), designHeadroomDb: roundDb(channelLimitDb - budgetDb), verify };
}

const zero: Figure = { value: 0, verify: false };

function requireAllowance(figure: Figure | undefined, set: LimitSet, name: string, path: string): Figure {
  if (!figure) throw new InputError(`${path}: limit set ${formatRef(set)} has no ${name} allowance for the link budget`);
  return figure;
}

function judgeReach(lengthM: number, application: string, reach: Figure): LinkLengthJudgment {
  const limit: Limit = { value: reach.value, kind: 'max', basis: `${application} reach`, verify: reach.verify };
  // Reach is a hard limit in metres: no dB guard band applies.
  const { margin, outcome } = judgeAgainst(lengthM, limit, 0);
  const verdict = outcome === 'FAIL' ? 'FAIL' : 'PASS';
  return {
    quantity: 'length',
    value: lengthM,
    limit: reach.value,
    limitKind: 'max',
    margin,
    outcome: verdict,
    basis: limit.basis,
    ...(verdict === 'FAIL' ? { reason: `length ${lengthM} m exceeds the ${application} reach of ${reach.value} m${cite('application-reach')}` } : {}),
    ...(reach.verify ? { verify: true as const } : {}),
  };
}
