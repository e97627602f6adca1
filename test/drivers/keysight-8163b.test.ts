/**
 * Keysight 8163B power sensor and laser source tables (drivers/keysight-8163b.ts): per-property
 * transcripts in memory (expectedProtocol), then both modules end to end through the registry over
 * a real TCP socket and over a socat pty, against simulators driven by the same tables, with
 * injected faults. Powers are chosen so the expected values are exact by hand:
 * 1.0E-05 W = -20 dBm, 1.0E-06 W = -30 dBm.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectedProtocol, type Exchange } from '../helpers/expected-protocol.js';
import { createKeysight8163Meter, createKeysight8163Source, keysight8163Meter, lightwaveNumber, parse8163Idn } from '../../drivers/keysight-8163b.js';
import { createInstrument } from '../../drivers/registry.js';
import { ConfigError, InstrumentReplyError } from '../../src/errors.js';
import type { LightSource, PowerMeter } from '../../src/instruments/capabilities.js';
import { MeterSettingsChangedError } from '../../src/instruments/errors.js';
import { SourceSettingsChangedError } from '../../drivers/line-source.js';
import { keysight8163MeterDevice, keysight8163SourceDevice, KEYSIGHT_IDN } from '../../fixtures/simulators/keysight-8163b-sim.js';
import { serveLineDevice, type ServedDevice } from '../../fixtures/simulators/line-server.js';
import type { TableSourceDevice } from '../../fixtures/simulators/table-source-device.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const NO_ERROR = '+0,"No error"';

describe('keysight-8163b-meter table (slot 3, channel 2 of a dual sensor)', () => {
  const OPEN: Exchange[] = [
    ['*IDN?', KEYSIGHT_IDN],
    ['*CLS', null],
    [':SENS3:CHAN2:POW:REF:STAT 0', null],
    [':SENS3:CHAN2:POW:UNIT 1', null],
    // Auto-range goes to the master channel of a dual sensor.
    [':SENS3:CHAN1:POW:RANG:AUTO 1', null],
    [':SENS3:CHAN2:POW:WAV?', '+1.55000000E-006'],
    [':SENS3:CHAN2:POW:UNIT?', '+1'],
    [':SYST:ERR?', NO_ERROR],
  ];
  const SET_850: Exchange[] = [
    [':SENS3:CHAN2:POW:REF:STAT 0', null],
    [':SENS3:CHAN2:POW:UNIT 1', null],
    [':SENS3:CHAN2:POW:WAV 850NM', null],
    [':SYST:ERR?', NO_ERROR],
    [':SENS3:CHAN2:POW:WAV?', '+8.50000000E-007'],
  ];
  const meter = (script: Exchange[]) => expectedProtocol((endpoint) => createKeysight8163Meter({ id: 'pm', endpoint, slot: 3, channel: 2 }), script);

  it('connect: identity (a stray line drained), *CLS, reference absolute, W, auto-range on channel 1, wavelength adopted, unit read back, error queue', async () => {
    const p = meter([['*IDN?', ['+1.00000000E-005', KEYSIGHT_IDN]], ...OPEN.slice(1)]);
    expect(await p.instrument.connect()).toEqual({ manufacturer: 'Agilent Technologies', model: '8163B', serialNumber: 'DE12345678', firmware: 'V5.25(72637)', raw: KEYSIGHT_IDN });
    p.done();
  });

  it('a Keysight-branded mainframe identifies as Keysight', async () => {
    const idn = 'Keysight Technologies,8164B,MY12345678,V5.25(72637)';
    const p = meter([['*IDN?', idn], ...OPEN.slice(1)]);
    expect(await p.instrument.connect()).toMatchObject({ manufacturer: 'Keysight Technologies', model: '8164B', serialNumber: 'MY12345678' });
    p.done();
  });

  it('setWavelength: reference and unit re-asserted, set in NM, error queue, read back in m', async () => {
    const p = meter([...OPEN, ...SET_850]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    p.done();
  });

  it('setWavelength: a read-back 1 nm off (+8.51000000E-007) rejects naming the command', async () => {
    const p = meter([...OPEN, ...SET_850.slice(0, -1), [':SENS3:CHAN2:POW:WAV?', '+8.51000000E-007']]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(850)).rejects.toMatchObject({
      code: 'INSTRUMENT_REPORTED_ERROR',
      context: { command: ':SENS3:CHAN2:POW:WAV 850NM', received: '+8.51000000E-007' },
    });
    p.done();
  });

  it('readPowerDbm: one :READ in W -> dBm (+1.00000000E-005 W = -20 dBm, +1.00000000E-006 W = -30 dBm)', async () => {
    const p = meter([...OPEN, [':READ3:CHAN2:POW?', '+1.00000000E-005'], [':READ3:CHAN2:POW?', '+1.00000000E-006']]);
    await p.instrument.connect();
    expect(await p.instrument.readPowerDbm()).toBe(-20);
    expect(await p.instrument.readPowerDbm()).toBe(-30);
    p.done();
  });

  it('readPowerDbm: +9.91000000E+037 is saturated; a dBm reply (-2.00000000E+001) is not a power in W', async () => {
    const p = meter([...OPEN, [':READ3:CHAN2:POW?', '+9.91000000E+037'], [':READ3:CHAN2:POW?', '-2.00000000E+001'], [':READ3:CHAN2:POW?', '-2.00000000E+001']]);
    await p.instrument.connect();
    await expect(p.instrument.readPowerDbm()).rejects.toMatchObject({ condition: 'saturated' });
    await expect(p.instrument.readPowerDbm()).rejects.toBeInstanceOf(InstrumentReplyError);
    p.done();
  });

  it('confirmSettings: unit, wavelength, reference state, error queue', async () => {
    const p = meter([
      ...OPEN,
      ...SET_850,
      [':SENS3:CHAN2:POW:UNIT?', '+1'],
      [':SENS3:CHAN2:POW:WAV?', '+8.50000000E-007'],
      [':SENS3:CHAN2:POW:REF:STAT?', '+0'],
      [':SYST:ERR?', NO_ERROR],
    ]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    await p.instrument.confirmSettings(850);
    p.done();
  });

  it('confirmSettings: a dBm unit (+0) or a relative reference (+1, readings in dB) is a settings change', async () => {
    const dbm = meter([...OPEN, [':SENS3:CHAN2:POW:UNIT?', '+0'], [':SENS3:CHAN2:POW:WAV?', '+1.55000000E-006'], [':SENS3:CHAN2:POW:REF:STAT?', '+0']]);
    await dbm.instrument.connect();
    await expect(dbm.instrument.confirmSettings(1550)).rejects.toMatchObject({
      code: 'METER_SETTINGS_CHANGED',
      context: { command: ':SENS3:CHAN2:POW:UNIT?', received: '+0', expected: 1 },
    });
    dbm.done();
    const relative = meter([...OPEN, [':SENS3:CHAN2:POW:UNIT?', '+1'], [':SENS3:CHAN2:POW:WAV?', '+1.55000000E-006'], [':SENS3:CHAN2:POW:REF:STAT?', '+1']]);
    await relative.instrument.connect();
    await expect(relative.instrument.confirmSettings(1550)).rejects.toMatchObject({
      code: 'METER_SETTINGS_CHANGED',
      context: { command: ':SENS3:CHAN2:POW:REF:STAT?', received: '+1', expected: 0 },
    });
    relative.done();
  });

  it('an error in the queue is drained and reported with the command it followed', async () => {
    const p = meter([
      ...OPEN,
      [':SENS3:CHAN2:POW:REF:STAT 0', null],
      [':SENS3:CHAN2:POW:UNIT 1', null],
      [':SENS3:CHAN2:POW:WAV 1750NM', null],
      [':SYST:ERR?', '-222,"Data out of range"'],
      [':SYST:ERR?', NO_ERROR],
    ]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(1750)).rejects.toMatchObject({ context: { command: ':SENS3:CHAN2:POW:WAV 1750NM', received: '-222,"Data out of range"' } });
    p.done();
  });

  it('zero: one command, then the error queue', async () => {
    const p = meter([...OPEN, [':SENS3:CHAN2:CORR:COLL:ZERO', null], [':SYST:ERR?', NO_ERROR]]);
    await p.instrument.connect();
    await p.instrument.zero();
    p.done();
  });

  it('defaults to slot 1, channel 1', () => {
    const t = keysight8163Meter();
    expect([t.unit.query, t.wavelength.set, t.reading, t.autoRange]).toEqual([':SENS1:CHAN1:POW:UNIT?', ':SENS1:CHAN1:POW:WAV {}NM', ':READ1:CHAN1:POW?', ':SENS1:CHAN1:POW:RANG:AUTO 1']);
  });
});

describe('keysight-8163b-source table', () => {
  const OPEN: Exchange[] = [
    ['*IDN?', KEYSIGHT_IDN],
    ['*CLS', null],
    [':SYST:ERR?', NO_ERROR],
  ];
  const source = (script: Exchange[]) => expectedProtocol((endpoint) => createKeysight8163Source({ id: 'ls', endpoint, slot: 2 }), script);
  const SET_1310: Exchange[] = [
    [':SOUR2:WAV 1310NM', null],
    [':SYST:ERR?', NO_ERROR],
    [':SOUR2:WAV?', '+1.31000000E-006'],
  ];
  const ON: Exchange[] = [
    [':SOUR2:POW:STAT 1', null],
    [':SYST:ERR?', NO_ERROR],
    [':SOUR2:POW:STAT?', '+1'],
  ];
  /** While lit, every call first reads back the output state and the wavelength it was lit at. */
  const LIT_AT = (m: string): Exchange[] => [
    [':SOUR2:POW:STAT?', '+1'],
    [':SOUR2:WAV?', m],
  ];
  const OFF: Exchange[] = [
    [':SOUR2:POW:STAT 0', null],
    [':SYST:ERR?', NO_ERROR],
    [':SOUR2:POW:STAT?', '+0'],
  ];

  it('a sweep: wavelength set and read back in m, output on and read back; the next wavelength and the end confirm the lit period first', async () => {
    const p = source([
      ...OPEN,
      ...SET_1310,
      ...ON,
      ...LIT_AT('+1.31000000E-006'),
      [':SOUR2:WAV 1550NM', null],
      [':SYST:ERR?', NO_ERROR],
      [':SOUR2:WAV?', '+1.55000000E-006'],
      ...LIT_AT('+1.55000000E-006'),
      ...OFF,
    ]);
    expect((await p.instrument.connect()).model).toBe('8163B');
    await p.instrument.setWavelength(1310);
    await p.instrument.setOutput(true);
    await p.instrument.setWavelength(1550);
    await p.instrument.setOutput(false);
    p.done();
  });

  it('setWavelength: a read-back 1 nm off rejects naming the command (never lit at the wrong wavelength)', async () => {
    const p = source([...OPEN, ...SET_1310.slice(0, -1), [':SOUR2:WAV?', '+1.31100000E-006']]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(1310)).rejects.toMatchObject({
      code: 'INSTRUMENT_REPORTED_ERROR',
      context: { command: ':SOUR2:WAV 1310NM', received: '+1.31100000E-006' },
    });
    p.done();
  });

  it('setWavelength: an error in the queue (out of range) is drained and reported', async () => {
    const p = source([...OPEN, [':SOUR2:WAV 1700NM', null], [':SYST:ERR?', '-222,"Data out of range"'], [':SYST:ERR?', NO_ERROR]]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(1700)).rejects.toMatchObject({ context: { command: ':SOUR2:WAV 1700NM', received: '-222,"Data out of range"' } });
    p.done();
  });

  it('setOutput: an output that does not read back on rejects', async () => {
    const p = source([...OPEN, ...ON.slice(0, -1), [':SOUR2:POW:STAT?', '+0']]);
    await p.instrument.connect();
    await expect(p.instrument.setOutput(true)).rejects.toMatchObject({ context: { command: ':SOUR2:POW:STAT 1', received: '+0' } });
    p.done();
  });

  it('a source found dark while lit (a power cycle): switched off anyway, then SOURCE_SETTINGS_CHANGED', async () => {
    const p = source([...OPEN, ...SET_1310, ...ON, [':SOUR2:POW:STAT?', '+0'], ...OFF]);
    await p.instrument.connect();
    await p.instrument.setWavelength(1310);
    await p.instrument.setOutput(true);
    const err = await p.instrument.setOutput(false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceSettingsChangedError);
    expect(err).toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':SOUR2:POW:STAT?', received: '+0', expected: 1 } });
    p.done();
  });

  it('a source found at another wavelength while lit: the next setWavelength rejects before setting anything', async () => {
    const p = source([...OPEN, ...SET_1310, ...ON, ...LIT_AT('+1.55000000E-006')]);
    await p.instrument.connect();
    await p.instrument.setWavelength(1310);
    await p.instrument.setOutput(true);
    await expect(p.instrument.setWavelength(1310)).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':SOUR2:WAV?', expected: 1310 } });
    p.done();
  });

  it('a dual-wavelength module: the laser selected LOW/UPP and read back LOWER/UPPER; a wavelength it lacks is refused before anything is sent', async () => {
    const p = expectedProtocol((endpoint) => createKeysight8163Source({ id: 'ls', endpoint, slot: 1, dualWavelengthNm: [1310, 1550] }), [
      ['*IDN?', KEYSIGHT_IDN],
      ['*CLS', null],
      [':SYST:ERR?', NO_ERROR],
      [':SOUR1:POW:WAV UPP', null],
      [':SYST:ERR?', NO_ERROR],
      [':SOUR1:POW:WAV?', 'UPPER'],
      [':SOUR1:POW:WAV LOW', null],
      [':SYST:ERR?', NO_ERROR],
      [':SOUR1:POW:WAV?', 'UPPER'],
    ]);
    await p.instrument.connect();
    await p.instrument.setWavelength(1550);
    await expect(p.instrument.setWavelength(1300)).rejects.toThrow('cannot set the source to 1300 nm: this source emits only 1310 or 1550 nm');
    await expect(p.instrument.setWavelength(1310)).rejects.toMatchObject({ context: { command: ':SOUR1:POW:WAV LOW', received: 'UPPER' } });
    p.done();
  });
});

describe('keysight 8163B simulators', () => {
  it('take commands in any case, with or without the leading colon, and print numbers as the mainframe does', () => {
    const m = keysight8163MeterDevice({ powerDbm: () => -20 });
    expect(m.handle('sens1:chan1:pow:unit?')).toEqual(['+0']);
    m.handle(':SENS1:CHAN1:POW:UNIT 1');
    m.handle('sens1:chan1:pow:wav 850nm');
    expect(m.handle(':SENS1:CHAN1:POW:WAV?')).toEqual(['+8.50000000E-007']);
    expect(m.handle(':READ1:CHAN1:POW?')).toEqual(['+1.00000000E-005']);
    expect(m.handle(':SENS1:CHAN1:POW:WAV 1750NM')).toEqual([]);
    expect(m.handle(':SYST:ERR?')).toEqual(['-222,"Data out of range"']);
    m.powerCycle();
    expect([m.unit, m.wavelengthNm]).toEqual([0, 1550]);
    expect(lightwaveNumber(-20)).toBe('-2.00000000E+001');
  });

  it('the source emits at its wavelength only while the output is on; a power cycle darkens it', () => {
    const s = keysight8163SourceDevice();
    expect(s.emittingAt()).toBeNull();
    s.handle(':SOUR1:WAV 1550NM');
    s.handle(':sour1:pow:stat 1');
    expect(s.emittingAt()).toBe(1550);
    expect(s.handle(':SOUR1:WAV?')).toEqual(['+1.55000000E-006']);
    s.powerCycle();
    expect(s.emittingAt()).toBeNull();
    expect(s.wavelengthNm).toBe(1310);
    const dual = keysight8163SourceDevice({ dualWavelengthNm: [1310, 1550] });
    dual.handle(':SOUR1:POW:WAV UPP');
    expect(dual.handle(':SOUR1:POW:WAV?')).toEqual(['UPPER']);
    dual.handle(':SOUR1:POW:WAV 1300');
    expect(dual.handle(':SYST:ERR?')).toEqual(['-224,"Illegal parameter value"']);
  });
});

/**
 * A bench: the source's light reaches the sensor. 1310 nm arrives at -20 dBm, 1550 nm at -30 dBm
 * (exact in W: 1.0E-05 and 1.0E-06); a sensor corrected for another wavelength than the light's
 * reads 1.5 dB high; no light when the source is off.
 */
function bench(source: TableSourceDevice) {
  const arriving: Record<number, number> = { 1310: -20, 1550: -30 };
  return keysight8163MeterDevice({
    powerDbm: (meterNm) => {
      const nm = source.emittingAt();
      if (nm === null) return null;
      return (arriving[nm] ?? -40) + (meterNm === nm ? 0 : 1.5);
    },
  });
}

async function served(transport: 'tcp' | 'pty') {
  const sourceDevice = keysight8163SourceDevice();
  const meterDevice = bench(sourceDevice);
  const serve = (device: TableSourceDevice | ReturnType<typeof bench>, name: string) =>
    transport === 'pty' ? serveLineDevice(device, { transport: 'pty', name, baudRate: 9600 }) : serveLineDevice(device, { transport: 'tcp' });
  const meterSim = await serve(meterDevice, 'ks-meter');
  cleanups.push(() => meterSim.close());
  const sourceSim = await serve(sourceDevice, 'ks-source');
  cleanups.push(() => sourceSim.close());
  // Over serial the dialect's default framing (9600 8N1) applies: no baudRate in the config.
  const t = (s: ServedDevice) => (s.endpoint.kind === 'tcp' ? { kind: 'tcp' as const, host: s.endpoint.host, port: s.endpoint.port } : { kind: 'serial' as const, path: s.endpoint.path });
  const meter = createInstrument({ id: 'pm', dialect: 'keysight-8163b-meter', transport: t(meterSim), slot: 1, channel: 1, timeoutMs: 1000 }) as PowerMeter;
  const source = createInstrument({ id: 'ls', dialect: 'keysight-8163b-source', transport: t(sourceSim), slot: 1, timeoutMs: 1000 }) as LightSource;
  cleanups.push(() => meter.close(), () => source.close());
  await meter.connect();
  await source.connect();
  return { meter, source, meterSim, sourceSim, sourceDevice };
}

const reads = (s: ServedDevice): number => s.received.filter((l) => l === ':READ1:CHAN1:POW?').length;

describe('keysight 8163B end to end through the registry', () => {
  it('over TCP: a sweep at 1310 and 1550 nm; a garbled reading retried; a meter power cycle caught by confirmSettings; a source power cycle caught when the sweep ends', async () => {
    const { meter, source, meterSim, sourceSim, sourceDevice } = await served('tcp');
    expect(meter.status()).toMatchObject({ state: 'online', identity: { manufacturer: 'Agilent Technologies', model: '8163B' } });

    // Sweep at 1310 nm, the first reading's reply garbled: retried once, the value exact.
    await source.setWavelength(1310);
    await source.setOutput(true);
    await meter.setWavelength(1310);
    meterSim.inject({ kind: 'garble' });
    const before = reads(meterSim);
    expect(await meter.readPowerDbm()).toBe(-20);
    expect(reads(meterSim) - before).toBe(2);
    expect(await meter.readPowerDbm()).toBe(-20);
    await meter.confirmSettings(1310);

    // The source's next wavelength: the lit period confirmed first, then 1550 nm, exact.
    await source.setWavelength(1550);
    expect(sourceDevice.emittingAt()).toBe(1550);
    await meter.setWavelength(1550);
    expect(await meter.readPowerDbm()).toBe(-30);
    // The meter is power-cycled (dBm, 1550 nm): the sweep's confirmSettings rejects.
    meterSim.inject({ kind: 'reset' });
    const changed = await meter.confirmSettings(1550).catch((e: unknown) => e);
    expect(changed).toBeInstanceOf(MeterSettingsChangedError);
    expect(changed).toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: ':SENS1:CHAN1:POW:UNIT?', received: '+0', expected: 1 } });
    // The next sweep's setWavelength restores W: exact again.
    await meter.setWavelength(1550);
    expect(await meter.readPowerDbm()).toBe(-30);
    await meter.confirmSettings(1550);

    // The source is power-cycled mid-sweep: the meter sees no light, and ending the sweep says why.
    sourceSim.inject({ kind: 'reset' });
    const off = await source.setOutput(false).catch((e: unknown) => e);
    expect(off).toBeInstanceOf(SourceSettingsChangedError);
    expect(off).toMatchObject({ context: { command: ':SOUR1:POW:STAT?', received: '+0', expected: 1 } });
    expect(sourceDevice.output).toBe(0);
    await expect(meter.readPowerDbm()).rejects.toMatchObject({ condition: 'no-light' });
  });

  it('over a socat pty (serial, 9600 default): a sweep; a garbled source reply retried; a meter power cycle caught by confirmSettings', async () => {
    const { meter, source, meterSim, sourceSim, sourceDevice } = await served('pty');
    const stateQueries = (): number => sourceSim.received.filter((l) => l === ':SOUR1:POW:STAT?').length;
    await source.setWavelength(1310);
    await source.setOutput(true);
    await meter.setWavelength(1310);
    expect(await meter.readPowerDbm()).toBe(-20);
    await meter.confirmSettings(1310);
    // The next wavelength confirms the lit period first; its output-state reply is garbled: retried.
    sourceSim.inject({ kind: 'garble' });
    const before = stateQueries();
    await source.setWavelength(1550);
    expect(stateQueries() - before).toBe(2);
    expect(sourceDevice.emittingAt()).toBe(1550);
    await meter.setWavelength(1550);
    expect(await meter.readPowerDbm()).toBe(-30);
    // Power cycle after the next reply (the reading): that reading is right, the sweep is not.
    meterSim.inject({ kind: 'reset', arg: 1 });
    expect(await meter.readPowerDbm()).toBe(-30);
    await expect(meter.confirmSettings(1550)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: ':SENS1:CHAN1:POW:UNIT?', received: '+0', expected: 1 } });
    await source.setOutput(false);
    expect(sourceDevice.emittingAt()).toBeNull();
    // Still in dBm since the power cycle: -9.00000000E+001 is no power in W, never a number.
    await expect(meter.readPowerDbm()).rejects.toBeInstanceOf(InstrumentReplyError);
    await meter.setWavelength(1550);
    await expect(meter.readPowerDbm()).rejects.toMatchObject({ condition: 'no-light' });
  });

  it('the registry refuses fields a dialect would ignore', () => {
    const tcp = { kind: 'tcp' as const, host: '127.0.0.1', port: 1 };
    expect(() => createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: tcp, slot: 2 })).toThrow('dialect thorlabs-pm100 has no slot');
    expect(() => createInstrument({ id: 'ls', dialect: 'keysight-8163b-source', transport: tcp, channel: 2 })).toThrow('dialect keysight-8163b-source has no channel');
    expect(() => createInstrument({ id: 'pm', dialect: 'keysight-8163b-meter', transport: tcp, dualWavelengthNm: [1310, 1550] })).toThrow('has no dualWavelengthNm');
    expect(() => createInstrument({ id: 'ls', dialect: 'keysight-8163b-source', transport: tcp, dualWavelengthNm: [1550, 1310] })).toThrow('lower < upper');
    const slot18 = (() => {
      try {
        createInstrument({ id: 'ls', dialect: 'keysight-8163b-source', transport: tcp, slot: 18 });
      } catch (e) {
        return e;
      }
    })();
    expect(slot18).toBeInstanceOf(ConfigError);
    expect(slot18).toMatchObject({ context: { path: '/slot' } });
  });
});

describe('keysight 8163B identity and replies', () => {
  it('an identity that is not a whole *IDN? reply, or a state reply that is not +0/+1, is a reply error (retried), never a value', async () => {
    expect(() => parse8163Idn('Agilent Technologies,8163B')).toThrow(InstrumentReplyError);
    expect(() => parse8163Idn('THORLABS,PM101,M00512345,1.5.0')).toThrow(InstrumentReplyError);
    // A garbled unit reply is retried, not taken for a unit change.
    const p = expectedProtocol((endpoint) => createKeysight8163Meter({ id: 'pm', endpoint }), [
      ['*IDN?', KEYSIGHT_IDN],
      ['*CLS', null],
      [':SENS1:CHAN1:POW:REF:STAT 0', null],
      [':SENS1:CHAN1:POW:UNIT 1', null],
      [':SENS1:CHAN1:POW:RANG:AUTO 1', null],
      [':SENS1:CHAN1:POW:WAV?', '+1.55000000E-006'],
      [':SENS1:CHAN1:POW:UNIT?', '+1'],
      [':SYST:ERR?', NO_ERROR],
      [':SENS1:CHAN1:POW:UNIT?', '+\u00bf#'],
      [':SENS1:CHAN1:POW:UNIT?', '+1'],
      [':SENS1:CHAN1:POW:WAV?', '+1.55000000E-006'],
      [':SENS1:CHAN1:POW:REF:STAT?', '+0'],
      [':SYST:ERR?', NO_ERROR],
    ]);
    await p.instrument.connect();
    await p.instrument.confirmSettings(1550);
    p.done();
  });
});
