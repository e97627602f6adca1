import type { BenchConfig } from '../config/schema.js';
import { cite } from '../evaluation/rules.js';
import { formatDb, roundDb } from '../evaluation/index.js';
import type { BenchReference } from './readings.js';

/**
 * A reference is the launch cord alone. Taken with a device still in the path (or through a dirty
 * or damaged cord), it is too low, and every later loss reads too low by as much: a bad assembly
 * then passes. Two checks, each naming the fibers concerned and the likely cause:
 * - against the last accepted reference through the same launch cord and switch channels: no
 *   fiber may drop by more than `maxDropDb` at a wavelength both measured;
 * - against the source's nominal output, when the bench config gives it: no fiber may be more
 *   than `source.maxBelowDb` below it.
 * Returns the problems found (empty: plausible).
 */
/** Whether two references were taken through the same method, launch cord and switch channels (comparable fiber by fiber). */
export function sameReferenceSetup(a: BenchReference, b: BenchReference): boolean {
  return a.method === b.method && (a.launchCordId ?? null) === (b.launchCordId ?? null) && (a.channelOffset ?? 0) === (b.channelOffset ?? 0);
}

export function checkReferencePlausible(taken: BenchReference, previous: BenchReference | undefined, bench: BenchConfig, maxDropDb: number): string[] {
  const problems: string[] = [];
  const sameSetup = previous !== undefined && sameReferenceSetup(previous, taken);
  for (const wl of taken.wavelengthsNm) {
    const now = taken.powerDbm[String(wl)];
    if (!now) continue;
    const before = sameSetup ? previous!.powerDbm[String(wl)] : undefined;
    if (before) {
      const dropped = now.flatMap((p, i) => {
        const was = before[i];
        return was !== undefined && was - p > maxDropDb ? [`fiber ${i + 1} ${formatDb(roundDb(was - p))} dB`] : [];
      });
      if (dropped.length > 0) {
        problems.push(
          `at ${wl} nm the reference is lower than the last accepted one through ${taken.launchCordId ?? 'the bench port'} (${previous!.takenAt}) by more than ${formatDb(maxDropDb)} dB on ${dropped.join(', ')}: a device or adapter still in the light path, or a dirty or damaged launch cord. Remove anything between the launch cord and the detector, clean both, and reference again${cite('reference-drop')}`,
        );
      }
    }
    const nominal = bench.source?.nominalDbm[String(wl)];
    if (nominal !== undefined) {
      const floor = nominal - bench.source!.maxBelowDb;
      const low = now.flatMap((p, i) => (p < floor ? [`fiber ${i + 1} ${p.toFixed(2)} dBm`] : []));
      if (low.length > 0) {
        problems.push(
          `at ${wl} nm the reference is more than ${formatDb(bench.source!.maxBelowDb)} dB below the source's nominal ${nominal.toFixed(2)} dBm on ${low.join(', ')}: something besides the launch cord is in the path, or the source is failing${cite('reference-below-source')}`,
        );
      }
    }
  }
  return problems;
}
