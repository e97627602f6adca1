/**
 * Transcript tests per property, in memory (expectedProtocol): each dialect table sends exactly
 * these commands and reads exactly these replies. The same sequences over a real TCP socket and
 * pty are in transcripts.test.ts and pm100-reset.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { expectedProtocol, type Exchange } from '../helpers/expected-protocol.js';
import { createThorlabsPm100 } from '../../drivers/thorlabs-pm100.js';
import { createNewport1936 } from '../../drivers/newport-1936.js';
import { createDiconMemsSwitch } from '../../drivers/dicon-mems-switch.js';

const PM100_OPEN: Exchange[] = [
  ['*IDN?', 'THORLABS,PM101,M00512345,1.5.0'],
  ['*CLS', null],
  ['SENS:POW:UNIT W', null],
  ['SENS:POW:RANG:AUTO ON', null],
  ['SENS:CORR:WAV?', '1.550000E+03'],
  ['SENS:POW:UNIT?', 'W'],
  ['SYST:ERR?', '0,"No error"'],
];

const pm100 = (script: Exchange[]) => expectedProtocol((endpoint) => createThorlabsPm100({ id: 'pm', endpoint }), script);

describe('thorlabs-pm100 table', () => {
  it('connect: identity (a stray line before it drained), *CLS, W, auto-range, wavelength adopted, unit read back, error queue', async () => {
    const p = pm100([['*IDN?', ['0.000123', 'THORLABS,PM101,M00512345,1.5.0']], ...PM100_OPEN.slice(1)]);
    expect(await p.instrument.connect()).toMatchObject({ manufacturer: 'Thorlabs', model: 'PM101', serialNumber: 'M00512345', firmware: '1.5.0' });
    expect(p.instrument.status().state).toBe('online');
    p.done();
  });

  it('setWavelength: unit re-asserted, set, error queue, read back', async () => {
    const p = pm100([...PM100_OPEN, ['SENS:POW:UNIT W', null], ['SENS:CORR:WAV 850', null], ['SYST:ERR?', '0,"No error"'], ['SENS:CORR:WAV?', '8.500000E+02']]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    p.done();
  });

  it('setWavelength: a read-back 1 nm off rejects naming the command', async () => {
    const p = pm100([...PM100_OPEN, ['SENS:POW:UNIT W', null], ['SENS:CORR:WAV 850', null], ['SYST:ERR?', '0,"No error"'], ['SENS:CORR:WAV?', '8.510000E+02']]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(850)).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: 'SENS:CORR:WAV 850', received: '8.510000E+02' } });
    p.done();
  });

  it('readPowerDbm: one MEAS:POW? in W -> dBm (1.0E-04 W = -10 dBm)', async () => {
    const p = pm100([...PM100_OPEN, ['MEAS:POW?', '1.000000E-04']]);
    await p.instrument.connect();
    expect(await p.instrument.readPowerDbm()).toBe(-10);
    p.done();
  });

  it('confirmSettings: unit, wavelength, error queue; DBM is a settings change', async () => {
    const ok = pm100([...PM100_OPEN, ['SENS:POW:UNIT?', 'W'], ['SENS:CORR:WAV?', '1.550000E+03'], ['SYST:ERR?', '0,"No error"']]);
    await ok.instrument.connect();
    await ok.instrument.confirmSettings(1550);
    ok.done();
    const changed = pm100([...PM100_OPEN, ['SENS:POW:UNIT?', 'DBM'], ['SENS:CORR:WAV?', '1.550000E+03']]);
    await changed.instrument.connect();
    await expect(changed.instrument.confirmSettings(1550)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'SENS:POW:UNIT?', received: 'DBM', expected: 'W' } });
    changed.done();
  });

  it('zero: start, poll until idle, error queue', async () => {
    const p = pm100([...PM100_OPEN, ['SENS:CORR:COLL:ZERO', null], ['SENS:CORR:COLL:ZERO:STAT?', '1'], ['SENS:CORR:COLL:ZERO:STAT?', '0'], ['SYST:ERR?', '0,"No error"']]);
    await p.instrument.connect();
    await p.instrument.zero();
    p.done();
  });

  it('an error in the queue is drained and reported with the command it followed', async () => {
    const p = pm100([
      ...PM100_OPEN,
      ['SENS:POW:UNIT W', null],
      ['SENS:CORR:WAV 9999', null],
      ['SYST:ERR?', '-222,"Data out of range"'],
      ['SYST:ERR?', '0,"No error"'],
    ]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(9999)).rejects.toMatchObject({ context: { command: 'SENS:CORR:WAV 9999', received: '-222,"Data out of range"' } });
    p.done();
  });
});

const NEWPORT_OPEN_CH2: Exchange[] = [
  ['ECHO 0', null],
  ['*IDN?', 'NEWPORT 2936-R v1.2.3 08/12/21 SN31337'],
  ['PM:CHAN 2', null],
  ['PM:UNIT 2', null],
  ['PM:AUTO 1', null],
  ['PM:UNIT?', '2'],
  ['ERRSTR?', '0, NO ERROR'],
];

describe('newport-1936 table (2936-R on channel 2)', () => {
  const newport = (script: Exchange[]) => expectedProtocol((endpoint) => createNewport1936({ id: 'np', endpoint, channel: 2 }), script, { terminator: '\r' });

  it('connect pins the channel; setWavelength rounds to whole nm and reads back', async () => {
    const p = newport([...NEWPORT_OPEN_CH2, ['PM:CHAN 2', null], ['PM:UNIT 2', null], ['PM:L 1310', null], ['ERRSTR?', '0, NO ERROR'], ['PM:L?', '1310']]);
    expect((await p.instrument.connect()).model).toBe('2936-R');
    await p.instrument.setWavelength(1310.2);
    p.done();
  });

  it('confirmSettings reads the channel back: a power cycle to channel 1 is a settings change', async () => {
    const p = newport([...NEWPORT_OPEN_CH2, ['PM:UNIT?', '2'], ['PM:L?', '1300'], ['PM:CHAN?', '1']]);
    await p.instrument.connect();
    await expect(p.instrument.confirmSettings(1300)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'PM:CHAN?', received: '1', expected: 2 } });
    p.done();
  });

  it('readPowerDbm: PM:P? in W; zero: PM:ZEROSTO then ERRSTR?', async () => {
    const p = newport([...NEWPORT_OPEN_CH2, ['PM:P?', '1.000000E-06'], ['PM:ZEROSTO', null], ['ERRSTR?', '0, NO ERROR']]);
    await p.instrument.connect();
    expect(await p.instrument.readPowerDbm()).toBe(-30);
    await p.instrument.zero();
    p.done();
  });
});

describe('dicon-mems-switch table', () => {
  const OPEN: Exchange[] = [
    ['ID?', 'DiCon Fiberoptics,MEMS 1x12,SN23A0457,FW2.10'],
    ['CF?', '1,12,MEMS,MM850/1300'],
  ];
  const dicon = (script: Exchange[]) => expectedProtocol((endpoint) => createDiconMemsSwitch({ id: 'sw', endpoint }), script, { terminator: '\r' });

  it('connect reads the channel count; select reads back; park reads 0', async () => {
    const p = dicon([...OPEN, ['I1 7', null], ['I1?', '7'], ['PK', null], ['I1?', '0']]);
    await p.instrument.connect();
    expect(await p.instrument.channelCount()).toBe(12);
    await p.instrument.selectChannel(7);
    await p.instrument.park();
    p.done();
  });

  it('an ERR line before the read-back is the switch refusing the command', async () => {
    const p = dicon([...OPEN, ['I1 3', null], ['I1?', ['ERR 2', '5']]]);
    await p.instrument.connect();
    await expect(p.instrument.selectChannel(3)).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: 'I1 3', received: 'ERR 2' } });
    p.done();
  });

  it('a channel beyond the count is refused before anything is sent', async () => {
    const p = dicon(OPEN);
    await p.instrument.connect();
    await expect(p.instrument.selectChannel(13)).rejects.toThrow('channel 13 out of range 1..12');
    p.done();
  });
});
