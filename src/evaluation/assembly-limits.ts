import { endsJudged } from './ends.js';
import { attenuationFor } from './attenuation.js';
import { formatDb, roundLimitDb, type Limit } from './judge.js';
import type { LimitSet } from './limit-set.js';
import { resolveGrade, returnLossOf } from './connector-grades.js';
import { InputError } from '../errors.js';
import { formatRef } from './limit-set.js';
import { fiberClassOf, type AssemblyRecord } from './record-schema.js';
import { tabulateLimits, type LimitsFor, type ReadingLimits } from './reading-limits.js';

/**
 * Factory assembly: each end is certified at its own connector grade (the product's, never the
 * lower grade of the pair: a reference-grade cord is required instead, see setup-check.ts), one
 * connector per reading (1-cord method, far end into the meter's detector), plus length x
 * attenuation when the record gives a length. Return loss by the same grade and the end's polish.
 */
export function assemblyLimits(record: AssemblyRecord, set: LimitSet): LimitsFor {
  const fiberClass = fiberClassOf(record.fiberType);
  return tabulateLimits(endsJudged(record), record.wavelengthsNm, (end, wavelengthNm): ReadingLimits => {
    const connector = record.connectors[end];
    const located = { connector, path: `/connectors/${end}`, label: `end ${end} of assembly ${record.serialNumber}` };
    const grade = resolveGrade(located, set);
    const own = grade.insertionLossDb[fiberClass];
    if (!own) {
      throw new InputError(`/connectors/${end}: grade ${grade.id} in limit set ${formatRef(set)} has no ${fiberClass} insertion-loss limit (fiberType and grade do not fit)`);
    }
    let value = own.value;
    let verify = own.verify;
    const parts = [`end ${end} grade ${grade.id} ${formatDb(own.value)} dB (own grade, one connector per reading)`];
    if (record.lengthM !== undefined && record.lengthM > 0) {
      const perKm = attenuationFor(set, record.fiberType, wavelengthNm, 'inside', '/lengthM');
      value += (record.lengthM / 1000) * perKm.value;
      verify ||= perKm.verify;
      parts.push(`${record.lengthM} m x ${perKm.value} dB/km`);
    }
    const insertionLoss: Limit = { value: roundLimitDb(value, 'max'), kind: 'max', basis: `${parts.join(' + ')} (${fiberClass})`, verify };
    const rl = returnLossOf(grade, fiberClass, connector);
    if ('problem' in rl) return { insertionLoss, returnLossProblem: rl.problem };
    return { insertionLoss, returnLoss: { value: rl.figure.value, kind: 'min', basis: `end ${end} grade ${grade.id} return loss (${rl.label})`, verify: rl.figure.verify } };
  });
}
