import { JobRefusedError } from '../errors.js';
import type { InstrumentIdentity } from '../instruments/capabilities.js';

/**
 * The reference belongs to the instruments it was taken with: a meter replaced since (another
 * serial number) makes it stale, and so does any change of identity during a job.
 */
export function assertSameInstruments(expected: InstrumentIdentity[], actual: InstrumentIdentity[], benchId: string): void {
  const key = (i: InstrumentIdentity): string => `${i.manufacturer}|${i.model}|${i.serialNumber}`;
  const want = expected.map(key).sort().join('\n');
  const have = actual.map(key).sort().join('\n');
  if (want !== have) {
    throw new JobRefusedError(
      'INSTRUMENTS_CHANGED',
      `bench "${benchId}" instruments are not the ones it was referenced with (${actual.map((i) => `${i.model} ${i.serialNumber}`).join(', ')}): reference it again`,
      { bench: benchId },
    );
  }
}

