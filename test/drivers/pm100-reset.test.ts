/**
 * PM100 power-cycled behind an open link (fault `reset`): at every position in a reading sequence
 * the driver either returns the correct value (after re-applying its settings) or rejects with a
 * typed InstrumentError. It never returns the reading taken at the power-on wavelength.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedBench } from '../../fixtures/simulators/bench.js';
import { Pm100Device } from '../../fixtures/simulators/pm100-sim.js';
import { parseFault } from '../../fixtures/simulators/faults.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { InstrumentError } from '../../src/errors.js';
import { OpticalRangeError } from '../../drivers/common.js';
import { transportOf } from '../helpers/sim-transport.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close().catch(() => undefined);
});


describe('simulator: reset restores the power-on defaults', () => {
  it('unit W, 1550 nm, empty error queue; parsed from the control protocol', () => {
    const d = new Pm100Device({ powerDbm: () => -20 });
    d.handle('SENS:POW:UNIT DBM;SENS:CORR:WAV 850;BOGUS');
    expect(d.errors).toHaveLength(1);
    d.powerCycle();
    expect(d.handle('SENS:POW:UNIT?')).toEqual(['W']);
    expect(d.handle('SENS:CORR:WAV?')).toEqual(['1.550000E+03']);
    expect(d.handle('SYST:ERR?')).toEqual(['0,"No error"']);
    expect(d.handle('MEAS:POW?')).toEqual(['1.000000000E-05']);
    expect(parseFault(['reset'])).toEqual({ kind: 'reset', arg: 0 });
    expect(parseFault(['reset', '2', '3'])).toEqual({ kind: 'reset', arg: 2, count: 3 });
  });
});

describe('PM100 power-cycled mid-sequence never yields a wrong dBm value', () => {
  for (const transport of ['tcp', 'pty'] as const) {
    it(`at every position of set-wavelength + 3 readings, over ${transport}`, async () => {
      const bench = await startSimulatedBench({ transport });
      open.push(bench);
      const meter = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: transportOf(bench.meter), timeoutMs: 2000 }) as PowerMeter;
      const sw = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: transportOf(bench.switch), timeoutMs: 2000 }) as OpticalSwitch;
      open.push(meter, sw);
      await meter.connect();
      await sw.connect();
      await sw.selectChannel(7);
      // The right answers: fiber 7 (0.12 dB launch cord) at 850 and at 1300 nm. At the power-on
      // wavelength (1550 nm) the meter would read -10.62 dBm.
      const expected: Record<number, number> = { 850: -20.12, 1300: -20.62 };
      let typedErrors = 0;
      let values = 0;
      // reset <k>: the meter power-cycles after k more replies: k = 0..10 walks the power cycle
      // through every exchange of setWavelength (3) and of the readings (3 each, more after a re-setup).
      for (const nm of [850, 1300]) {
        for (let k = 0; k <= 10; k++) {
          // Start from a meter in the wrong state for this wavelength, with no fault pending.
          bench.control_('FAULT CLEAR');
          expect(bench.control_(`FAULT meter reset ${k}`)).toBe('OK');
          const got: (number | string)[] = [];
          try {
            await meter.setWavelength(nm);
          } catch (err) {
            expect(err).toBeInstanceOf(InstrumentError);
            typedErrors++;
            continue;
          }
          for (let i = 0; i < 3; i++) {
            try {
              got.push(await meter.readPowerDbm());
              values++;
            } catch (err) {
              expect(err).toBeInstanceOf(InstrumentError);
              expect(err).not.toBeInstanceOf(OpticalRangeError);
              typedErrors++;
              got.push('error');
            }
          }
          for (const v of got) if (typeof v === 'number') expect(v, `reset ${k} at ${nm} nm: ${got.join(', ')}`).toBeCloseTo(expected[nm]!, 6);
        }
      }
      // The power cycles really happened, and the driver recovered from them with correct values.
      expect((bench.devices.meter.device as Pm100Device).powerCycles).toBe(22);
      expect(values).toBeGreaterThanOrEqual(50);
      expect(typedErrors).toBeLessThanOrEqual(6);
      expect(meter.status().state).toBe('online');
      // And after all that, a clean reading at 850 nm.
      await meter.setWavelength(850);
      expect(await meter.readPowerDbm()).toBeCloseTo(-20.12, 6);
    });
  }
});
