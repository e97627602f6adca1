import { describe, expect, it } from 'vitest';
import { evaluateRecord } from '../../src/evaluation/index.js';
import { assembly, library, link, readingsFor } from './records.js';

describe('drift against the previous certificate of the same serial number or link id', () => {
  it('reports per-fiber change and flags beyond the threshold (MTP 0.02 dB vs MPO 0.08-0.12 dB a year)', () => {
    const previous = evaluateRecord(assembly({ readings: readingsFor(12, [850, 1300], 0.3) }), library);
    const now = assembly({ readings: readingsFor(12, [850, 1300], 0.3, { '1/850': { lossDb: 0.32 }, '2/850': { lossDb: 0.38 }, '3/850': { lossDb: 0.42 }, '4/850': { lossDb: 0.2 } }) });
    const e = evaluateRecord(now, library, { previous });
    const byFiber = (fiber: number) => e.drift?.entries.find((d) => d.fiber === fiber && d.wavelengthNm === 850);
    expect(e.drift?.entries).toHaveLength(24);
    expect(byFiber(1)?.changeDb).toBeCloseTo(0.02, 12);
    expect(byFiber(1)?.flagged).toBe(false);
    expect(byFiber(2)?.flagged).toBe(false);
    expect(byFiber(3)?.changeDb).toBeCloseTo(0.12, 12);
    expect(byFiber(3)?.flagged).toBe(true);
    expect(byFiber(4)?.changeDb).toBeCloseTo(-0.1, 12);
    expect(byFiber(4)?.flagged).toBe(false); // exactly at the threshold is not beyond it
    expect(e.drift).toMatchObject({ thresholdDb: 0.1, flaggedCount: 1, previous: { limitSet: { id: 'mtp-mpo-connector-grades', version: '1.0.0' } } });
    expect(e.drift?.largestChangeDb).toBeCloseTo(0.12, 12);
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
