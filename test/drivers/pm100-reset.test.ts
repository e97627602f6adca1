/**
 * A power meter power-cycled behind an open link (fault `reset`) never yields a wrong number that
 * is then certified. The contract (drivers/thorlabs-pm100.ts header): one query per reading,
 * each reading valid as a power in W, and `confirmSettings(nm)` after every sweep. With a power
 * cycle at every position of a sweep (setWavelength, N readings, confirmSettings), either
 * setWavelength or a reading rejects, or confirmSettings rejects with METER_SETTINGS_CHANGED, or
 * every value returned is exactly right. A value that is wrong is always followed by a rejecting
 * confirmSettings.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulatedBench } from '../../fixtures/simulators/bench.js';
import { Pm100Device } from '../../fixtures/simulators/pm100-sim.js';
import { Newport1936Device } from '../../fixtures/simulators/newport-sim.js';
import { parseFault } from '../../fixtures/simulators/faults.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { InstrumentError, InstrumentReplyError, InstrumentReportedError } from '../../src/errors.js';
import { MeterSettingsChangedError, OpticalRangeError } from '../../src/instruments/errors.js';
import { transportOf } from '../helpers/sim-transport.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close().catch(() => undefined);
});

/** A simulated bench with the meter connected and the switch on fiber 7 (0.12 dB launch cord). */
async function meterOnFiber7(o: { transport?: 'tcp' | 'pty'; dialect?: 'thorlabs-pm100' | 'newport-1936'; timeoutMs?: number } = {}) {
  const dialect = o.dialect ?? 'thorlabs-pm100';
  const bench = await startSimulatedBench({ transport: o.transport ?? 'tcp', meterDialect: dialect });
  open.push(bench);
  const meter = createInstrument({ id: 'pm', dialect, transport: transportOf(bench.meter), timeoutMs: o.timeoutMs ?? 2000 }) as PowerMeter;
  const sw = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: transportOf(bench.switch), timeoutMs: 2000 }) as OpticalSwitch;
  open.push(meter, sw);
  await meter.connect();
  await sw.connect();
  await sw.selectChannel(7);
  return { bench, meter };
}

describe('simulator: Newport echo', () => {
  it('echoes every command line until ECHO 0, then replies alone; a power cycle turns echo back on', () => {
    const d = new Newport1936Device({ powerDbm: () => -20 });
    expect(d.handle('PM:L?')).toEqual(['PM:L?', '1300']);
    expect(d.handle('ECHO 0')).toEqual(['ECHO 0']);
    expect(d.handle('PM:L?')).toEqual(['1300']);
    expect(d.handle('PM:AUTO 0')).toEqual([]);
    expect(d.handle('ERRSTR?')).toEqual(['0, NO ERROR']);
    d.powerCycle();
    expect(d.handle('PM:UNIT?')).toEqual(['PM:UNIT?', '2']);
  });
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

type Outcome = 'setWavelength rejected' | 'reading rejected' | 'settings changed' | 'all right';

const READINGS = 3;
// Replies in one sweep: setWavelength 2 (error queue, wavelength read back), one per reading,
// confirmSettings 3 (unit, wavelength, error queue). reset <k> power-cycles after k replies.
const REPLIES_PER_SWEEP = 2 + READINGS + 3;

describe('a power cycle at every position of a sweep never yields a wrong number that passes confirmSettings', () => {
  const cases = [
    // Fiber 7 (0.12 dB launch cord). PM100 power-on: 1550 nm (reads -10.62); Newport: 1300 nm.
    { dialect: 'thorlabs-pm100', transport: 'tcp', wavelengths: { 850: -20.12, 1300: -20.62 }, digits: 6 },
    { dialect: 'thorlabs-pm100', transport: 'pty', wavelengths: { 850: -20.12, 1300: -20.62 }, digits: 6 },
    // The Newport prints 7 significant digits: right to about 2e-6 dB.
    { dialect: 'newport-1936', transport: 'tcp', wavelengths: { 850: -20.12, 1300: -20.62 }, digits: 4 },
  ] as const;
  for (const c of cases) {
    it(`${c.dialect} over ${c.transport}: setWavelength + ${READINGS} readings + confirmSettings, reset after 0..${REPLIES_PER_SWEEP - 1} replies`, async () => {
      const { bench, meter } = await meterOnFiber7({ transport: c.transport, dialect: c.dialect });
      const outcomes: Record<Outcome, number> = { 'setWavelength rejected': 0, 'reading rejected': 0, 'settings changed': 0, 'all right': 0 };
      let wrongValuesCaught = 0;
      for (const [nmText, expected] of Object.entries(c.wavelengths)) {
        const nm = Number(nmText);
        for (let k = 0; k < REPLIES_PER_SWEEP; k++) {
          bench.control_('FAULT CLEAR');
          expect(bench.control_(`FAULT meter reset ${k}`)).toBe('OK');
          const where = `reset ${k} at ${nm} nm`;
          try {
            await meter.setWavelength(nm);
          } catch (err) {
            expect(err, where).toBeInstanceOf(InstrumentError);
            outcomes['setWavelength rejected']++;
            continue;
          }
          const got: number[] = [];
          let readingRejected = false;
          for (let i = 0; i < READINGS; i++) {
            try {
              got.push(await meter.readPowerDbm());
            } catch (err) {
              expect(err, where).toBeInstanceOf(InstrumentError);
              expect(err, where).not.toBeInstanceOf(OpticalRangeError);
              readingRejected = true;
            }
          }
          const confirmed = await meter.confirmSettings(nm).then(
            () => true,
            (err: unknown) => err,
          );
          const wrong = got.filter((v) => Math.abs(v - expected) > 10 ** -c.digits);
          if (confirmed === true) {
            // Settings confirmed: every value returned is exactly right.
            expect(wrong, `${where}: ${got.join(', ')}`).toEqual([]);
            if (readingRejected) outcomes['reading rejected']++;
            else outcomes['all right']++;
          } else {
            expect(confirmed, where).toBeInstanceOf(MeterSettingsChangedError);
            expect(confirmed, where).toBeInstanceOf(InstrumentReportedError);
            expect(confirmed, where).toMatchObject({ code: 'METER_SETTINGS_CHANGED' });
            outcomes['settings changed']++;
            if (wrong.length) wrongValuesCaught++;
          }
        }
      }
      const powerCycles =
        c.dialect === 'thorlabs-pm100' ? (bench.devices.meter.device as Pm100Device).powerCycles : undefined;
      if (powerCycles !== undefined) expect(powerCycles).toBe(2 * REPLIES_PER_SWEEP);
      if (c.dialect === 'thorlabs-pm100') {
        // Per wavelength: k = 0 (before setWavelength) and k = 7 (after the sweep's unit and
        // wavelength were read back) leave every value right; k = 1 (between setting and reading
        // back the wavelength) rejects setWavelength; k = 2..4 give wrong readings (at 1550 nm)
        // and k = 5..6 a power cycle during confirmSettings: all rejected by confirmSettings.
        expect(outcomes).toEqual({ 'setWavelength rejected': 2, 'reading rejected': 0, 'settings changed': 10, 'all right': 4 });
        expect(wrongValuesCaught).toBe(6);
      } else {
        // Newport power-on is 1300 nm: at 1300 a power cycle changes nothing that matters; at 850 it is caught.
        expect(outcomes['settings changed']).toBeGreaterThanOrEqual(4);
        expect(wrongValuesCaught).toBeGreaterThanOrEqual(3);
      }
      expect(meter.status().state).toBe('online');
      await meter.setWavelength(850);
      expect(await meter.readPowerDbm()).toBeCloseTo(-20.12, c.digits);
      await meter.confirmSettings(850);
    }, 60_000);
  }
});

describe('front panel and reopen', () => {
  it('a front-panel switch to DBM: the reading rejects (negative), a 0.5 dBm reply rejects (ceiling), confirmSettings rejects', async () => {
    const { bench, meter } = await meterOnFiber7();
    await meter.setWavelength(850);
    expect(await meter.readPowerDbm()).toBeCloseTo(-20.12, 6);
    const dev = bench.devices.meter.device as Pm100Device;
    dev.unit = 'DBM'; // front panel
    const neg = await meter.readPowerDbm().catch((e: unknown) => e);
    expect(neg).toBeInstanceOf(InstrumentReplyError);
    expect(neg).toMatchObject({ context: { command: 'MEAS:POW?', received: '-2.012000E+01' } });
    await expect(meter.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { received: 'DBM', expected: 'W' } });
    expect(dev.unit).toBe('DBM'); // confirmSettings re-applies nothing
    // A sensor at +0.5 dBm in DBM replies 0.5: as W that would be +26.99 dBm. Above the 0.1 W ceiling.
    const hot = new Pm100Device({ powerDbm: () => 0.5 });
    hot.unit = 'DBM';
    expect(hot.reading()).toBe('5.000000E-01');
    const { bench: warm, meter: m2 } = await meterOnFiber7();
    const d2 = warm.devices.meter.device as Pm100Device;
    d2.unit = 'DBM';
    Object.assign(d2, { reading: () => hot.reading() });
    const high = await m2.readPowerDbm().catch((e: unknown) => e);
    expect(high).toBeInstanceOf(InstrumentReplyError);
    expect(high).toMatchObject({ context: { command: 'MEAS:POW?', received: '5.000000E-01', maxPlausibleW: 0.1 } });
    await expect(m2.confirmSettings(1550)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED' });
  });

  it('a power cycle while the link was down: readings after the reopen are right, but confirmSettings rejects the sweep', async () => {
    const { bench, meter } = await meterOnFiber7({ timeoutMs: 1000 });
    await meter.setWavelength(850);
    // The meter power-cycles before the next command and the link drops without its reply.
    bench.inject('meter', { kind: 'reset' });
    bench.inject('meter', { kind: 'disconnect', arg: 200 });
    // Retried after the reopen, which re-applied 850 nm: right.
    expect(await meter.readPowerDbm()).toBeCloseTo(-20.12, 6);
    expect((bench.devices.meter.device as Pm100Device).powerCycles).toBe(1);
    // But the reading before the drop (and any before it) was taken after the power cycle: the sweep is suspect.
    await expect(meter.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'SENS:CORR:WAV?', expected: 850 } });
    // A new sweep starts clean.
    await meter.setWavelength(850);
    expect(await meter.readPowerDbm()).toBeCloseTo(-20.12, 6);
    await meter.confirmSettings(850);
  });

  it('a reopen that finds the settings kept does not reject the sweep', async () => {
    const { bench, meter } = await meterOnFiber7({ timeoutMs: 1000 });
    await meter.setWavelength(1300);
    bench.inject('meter', { kind: 'disconnect', arg: 200 });
    await meter.readPowerDbm().catch(() => undefined);
    await meter.readPowerDbm().catch(() => undefined);
    await meter.confirmSettings(1300);
  });

  it('Newport: a unit switched to dBm (code 6) rejects the reading and confirmSettings; so does a power cycle (1300 nm) at 850 nm', async () => {
    const { bench, meter } = await meterOnFiber7({ dialect: 'newport-1936' });
    await meter.setWavelength(850);
    const dev = bench.devices.meter.device as Newport1936Device;
    dev.unit = 6;
    await expect(meter.readPowerDbm()).rejects.toBeInstanceOf(InstrumentReplyError);
    await expect(meter.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'PM:UNIT?', expected: 2 } });
    await meter.setWavelength(850);
    expect(dev.unit).toBe(2);
    await meter.confirmSettings(850);
    dev.powerCycle(); // echo on, 1300 nm
    expect(await meter.readPowerDbm()).toBeCloseTo(-20.62, 4); // a plausible number at the wrong wavelength...
    await expect(meter.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'PM:L?', received: '1300', expected: 850 } });
  });
});
