import { attenuationFor } from './attenuation.js';
import { formatDb, roundLimitDb, type Limit } from './judge.js';
import type { LimitSet } from './limit-set.js';
import { pairsForEnd } from './mated-pairs.js';
import { fiberClassOf, type AssemblyRecord, type End } from './record-schema.js';
import { tabulateLimits, type LimitsFor, type ReadingLimits } from './reading-limits.js';

/**
 * Factory assembly: the insertion-loss limit of a reading is the sum of the mated pairs in the
 * measurement (see mated-pairs.ts; one pair with the usual launch cord into a power meter), plus
 * length x attenuation when the record gives a length. Return loss is judged at the launch pair.
 */
export function assemblyLimits(record: AssemblyRecord, set: LimitSet): LimitsFor {
  const fiberClass = fiberClassOf(record.fiberType);
  const ends: readonly End[] = record.endsMeasured ?? ['A'];
  return tabulateLimits(ends, record.wavelengthsNm, (end, wavelengthNm): ReadingLimits => {
    const pairs = pairsForEnd(end, record.connectors, record.setup, fiberClass, set, `assembly ${record.serialNumber}`);
    let value = pairs.launch.insertionLoss.value;
    let verify = pairs.launch.insertionLoss.verify;
    const parts = [`${pairs.launch.description} ${formatDb(pairs.launch.insertionLoss.value)} dB`];
    if (pairs.receive) {
      value += pairs.receive.insertionLoss.value;
      verify ||= pairs.receive.insertionLoss.verify;
      parts.push(`${pairs.receive.description} ${formatDb(pairs.receive.insertionLoss.value)} dB`);
    }
    if (record.lengthM !== undefined && record.lengthM > 0) {
      const perKm = attenuationFor(set, record.fiberType, wavelengthNm, 'inside', '/lengthM');
      value += (record.lengthM / 1000) * perKm.value;
      verify ||= perKm.verify;
      parts.push(`${record.lengthM} m x ${perKm.value} dB/km`);
    }
    const insertionLoss: Limit = { value: roundLimitDb(value, 'max'), kind: 'max', basis: `${parts.join(' + ')} (${fiberClass})`, verify };
    if (!pairs.returnLoss) return { insertionLoss, returnLossProblem: pairs.returnLossProblem ?? 'no return-loss limit' };
    const returnLoss: Limit = {
      value: pairs.returnLoss.value,
      kind: 'min',
      basis: `${pairs.launch.description} return loss (${fiberClass})`,
      verify: pairs.returnLoss.verify,
    };
    return { insertionLoss, returnLoss };
  });
}
