/** The registry refuses a field the dialect would ignore, naming the fields it does use. */
import { describe, expect, it } from 'vitest';
import { createInstrument } from '../../drivers/registry.js';

const tcp = { kind: 'tcp' as const, host: '127.0.0.1', port: 5025 };

describe('instrument config fields per dialect', () => {
  it('refuses a meter-only field on a switch or a source, and a Modbus profile on a meter', () => {
    expect(() => createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: tcp, noLightBelowDbm: -50 })).toThrow(
      'dialect dicon-mems-switch has no noLightBelowDbm (it uses: none of the optional fields)',
    );
    expect(() => createInstrument({ id: 'ls', dialect: 'keysight-8163b-source', transport: tcp, maxPlausibleW: 0.01 })).toThrow(
      'dialect keysight-8163b-source has no maxPlausibleW (it uses: slot, dualWavelengthNm)',
    );
    expect(() => createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: tcp, profile: 'mpocert-reference' })).toThrow(
      'dialect thorlabs-pm100 has no profile (it uses: noLightBelowDbm, maxPlausibleW)',
    );
  });
  it('takes the fields a dialect uses', () => {
    expect(createInstrument({ id: 'np', dialect: 'newport-1936', transport: tcp, channel: 2, noLightBelowDbm: -55, maxPlausibleW: 0.05 }).dialect).toBe('newport-1936');
    expect(createInstrument({ id: 'km', dialect: 'keysight-8163b-meter', transport: tcp, slot: 2, channel: 1, noLightBelowDbm: -70 }).dialect).toBe('keysight-8163b-meter');
  });
});
