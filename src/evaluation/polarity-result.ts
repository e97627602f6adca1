import type { FiberCount } from './fiber-positions.js';
import {
  classifyPolarity,
  differencesFrom,
  expectedMap,
  polarityTypeOf,
  type PolarityClassification,
  type PolarityDifference,
} from './polarity.js';
import type { PolarityDeclaration, PolarityType } from './record-schema.js';
import { cite } from './rules.js';

export interface PolarityResult {
  readonly declared?: PolarityDeclaration;
  /** The trunk type the declaration expects end to end. */
  readonly expectedType?: PolarityType;
  /** PASS or FAIL when a declared polarity was checked against a measured map; absent otherwise. */
  readonly outcome?: 'PASS' | 'FAIL';
  readonly reason?: string;
  /** Positions that differ from the declared polarity's map. */
  readonly differencesFromDeclared?: readonly PolarityDifference[];
  readonly classification?: PolarityClassification;
}

/** A link can pass loss and still not light up: a declared polarity is verified when a map was measured. */
export function evaluatePolarity(
  polarity: { readonly declared?: PolarityDeclaration; readonly measuredMap?: Readonly<Record<string, number | null>> },
  fiberCount: FiberCount,
  endToEnd?: { readonly type: PolarityType; readonly why: string },
): PolarityResult {
  const { declared, measuredMap } = polarity;
  const expectedType = declared === undefined ? undefined : (endToEnd?.type ?? polarityTypeOf(declared));
  const base = { ...(declared === undefined ? {} : { declared }), ...(expectedType === undefined ? {} : { expectedType }) };
  if (!measuredMap) return base;
  const classification = classifyPolarity(measuredMap, fiberCount);
  if (declared === undefined) return { ...base, classification };
  const differencesFromDeclared = differencesFrom(measuredMap, expectedMap(expectedType ?? declared, fiberCount), fiberCount);
  if (differencesFromDeclared.length === 0) return { ...base, outcome: 'PASS', differencesFromDeclared, classification };
  const positions = differencesFromDeclared.map((d) => `${d.position} ${d.kind}`).join(', ');
  const fit = classification.bestFit === null ? 'no type fits' : `best fit is type ${classification.bestFit}`;
  return {
    ...base,
    outcome: 'FAIL',
    reason: `polarity: declared ${declared} (expected type ${expectedType ?? '?'}${endToEnd ? `: ${endToEnd.why}` : ''}) but ${differencesFromDeclared.length} position(s) differ (${positions}); ${fit}${cite('polarity')}`,
    differencesFromDeclared,
    classification,
  };
}
