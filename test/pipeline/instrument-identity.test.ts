import { describe, expect, it } from 'vitest';
import { JobRefusedError } from '../../src/errors.js';
import { assertSameInstruments } from '../../src/pipeline/instrument-identity.js';

const meter = { manufacturer: 'THORLABS', model: 'PM101', serialNumber: 'M00512345', firmware: '1.5.0', raw: 'THORLABS,PM101,M00512345,1.5.0' };
const sw = { manufacturer: 'DiCon Fiberoptics', model: 'MEMS 1x12', serialNumber: 'SN23A0457', firmware: 'FW2.10', raw: '' };

describe('a reference belongs to its instruments', () => {
  it('accepts the same instruments in any order, and a firmware update', () => {
    expect(() => assertSameInstruments([meter, sw], [sw, { ...meter, firmware: '1.6.0' }], 'b1')).not.toThrow();
  });

  it('refuses another meter (serial number) with a message that says what to do', () => {
    let err: unknown;
    try {
      assertSameInstruments([meter, sw], [{ ...meter, serialNumber: 'M00599999' }, sw], 'b1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(JobRefusedError);
    expect((err as JobRefusedError).code).toBe('INSTRUMENTS_CHANGED');
    expect((err as JobRefusedError).message).toBe(
      'bench "b1" instruments are not the ones it was referenced with (PM101 M00599999, MEMS 1x12 SN23A0457): reference it again',
    );
  });

  it('refuses a missing instrument', () => {
    expect(() => assertSameInstruments([meter, sw], [meter], 'b1')).toThrow(JobRefusedError);
  });
});
