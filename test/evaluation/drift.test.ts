import { describe, expect, it } from 'vitest';
import { evaluateRecord } from '../../src/evaluation/index.js';
import { assembly, library, link, readingsFor } from '../helpers/records.js';

describe('drift against the previous certificate of the same serial number or link id', () => {
  it('reports per-fiber change and flags beyond the threshold (MTP 0.02 dB vs MPO 0.08-0.12 dB a year)', () => {
    const previous = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3, {}, ['A', 'B']) }), library);
    const now = assembly({
      readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: 0.32 }, '2/850': { lossDb: 0.38 }, '3/850': { lossDb: 0.42 }, '4/850': { lossDb: 0.2 } }, ['A', 'B']),
    });
    const e = evaluateRecord(now, library, { previous });
    const byFiber = (fiber: number) => e.drift?.entries.find((d) => d.fiber === fiber && d.wavelengthNm === 850 && d.end === 'A');
    // 12 fibers x 2 wavelengths x 2 ends
    expect(e.drift?.entries).toHaveLength(48);
    expect(byFiber(1)).toEqual({ fiber: 1, wavelengthNm: 850, end: 'A', previousDb: 0.3, currentDb: 0.32, changeDb: 0.02, flagged: false });
    expect(byFiber(2)).toMatchObject({ changeDb: 0.08, flagged: false });
    expect(byFiber(3)).toMatchObject({ changeDb: 0.12, flagged: true });
    expect(byFiber(4)).toMatchObject({ changeDb: -0.1, flagged: false }); // exactly at the threshold is not beyond it
    expect(e.drift).toMatchObject({ thresholdDb: 0.1, flaggedCount: 1, previous: { limitSet: { id: 'mtp-mpo-connector-grades', version: '1.1.0' } } });
    expect(e.drift?.largestChangeDb).toBe(0.12);
    // Drift is reported, not judged: the verdict follows the limits only.
    expect(e.verdict).toBe('PASS');
    expect(evaluateRecord(now, library, { previous, driftThresholdDb: 0.05 }).drift?.flaggedCount).toBe(3);
  });

  it('skips values that could not be judged and refuses a certificate of another subject', () => {
    const previous = evaluateRecord(link({ readings: readingsFor(12, [850, 1300], 1.0, { '5/850': { noLight: true, lossDb: undefined } }) }), library);
    const e = evaluateRecord(link(), library, { previous });
    expect(e.drift?.entries).toHaveLength(23);
    expect(() => evaluateRecord(link({ linkId: 'L-2' }), library, { previous })).toThrow('previous: the previous certificate is for link L-1, not link L-2');
  });
});
