/** Transcript tests: exact bytes out, exact bytes in, per dialect. */
import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedPeer } from '../helpers/scripted-peer.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { InstrumentReplyError, InstrumentReportedError } from '../../src/errors.js';
import { MeterSettingsChangedError, OpticalRangeError } from '../../src/instruments/errors.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

/** A stateful PM100 for exact-byte transcripts: unit, wavelength, error queue, power-cycle. */
function pm100Peer(readingW: () => string) {
  const st = { unit: 'W', wav: 1550, errq: [] as string[] };
  const num = (x: number): string => x.toExponential(6).toUpperCase().replace(/E([+-])(\d)$/, 'E$10$2');
  const reply = (l: string): string | undefined => {
    if (l === '*IDN?') return 'THORLABS,PM101,M00512345,1.5.0\n';
    if (l === '*CLS') st.errq = [];
    if (l === 'SENS:POW:UNIT W') st.unit = 'W';
    if (l === 'SENS:POW:UNIT DBM') st.unit = 'DBM';
    if (l === 'SENS:POW:UNIT?') return `${st.unit}\n`;
    if (l === 'SYST:ERR?') return `${st.errq.shift() ?? '0,"No error"'}\n`;
    const w = /^SENS:CORR:WAV (\d+)$/.exec(l);
    if (w) {
      if (Number(w[1]) > 1700) st.errq.push('-222,"Data out of range"');
      else st.wav = Number(w[1]);
    }
    if (l === 'SENS:CORR:WAV?') return `${num(st.wav)}\n`;
    if (l === 'MEAS:POW?') return `${readingW()}\n`;
    return undefined;
  };
  /** Power-on defaults, as after a power cycle behind the open port. */
  const powerCycle = (): void => {
    st.unit = 'W';
    st.wav = 1550;
    st.errq = [];
  };
  return { st, reply, powerCycle };
}

const PM100_OPEN = '*IDN?\n*CLS\nSENS:POW:UNIT W\nSENS:POW:RANG:AUTO ON\nSENS:CORR:WAV?\nSENS:POW:UNIT?\nSYST:ERR?\n';
const PM100_OPEN_REPLIES = 'THORLABS,PM101,M00512345,1.5.0\n1.550000E+03\nW\n0,"No error"\n';

function pm100Meter(port: number, extra: { maxPlausibleW?: number } = {}): PowerMeter {
  const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port }, ...extra }) as PowerMeter;
  cleanups.push(() => m.close());
  return m;
}

const PM100_SET_850 = 'SENS:POW:UNIT W\nSENS:CORR:WAV 850\nSYST:ERR?\nSENS:CORR:WAV?\n';
const PM100_CONFIRM = 'SENS:POW:UNIT?\nSENS:CORR:WAV?\nSYST:ERR?\n';

describe('Thorlabs PM100 transcript', () => {
  it('connect, set wavelength, one MEAS:POW? per reading (W -> dBm), no-light, overload, confirmSettings, error queue', async () => {
    let power = '9.727472E-06';
    const pm = pm100Peer(() => power);
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = pm100Meter(peer.port);
    expect(await m.connect()).toEqual({ manufacturer: 'Thorlabs', model: 'PM101', serialNumber: 'M00512345', firmware: '1.5.0', raw: 'THORLABS,PM101,M00512345,1.5.0' });
    await m.setWavelength(850);
    expect(await m.readPowerDbm()).toBe(-20.12);
    power = '1.000000E-12';
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'no-light' });
    power = '0.000000E+00';
    await expect(m.readPowerDbm()).rejects.toBeInstanceOf(OpticalRangeError);
    power = '-3.000000E-13'; // zero-offset noise on a dark sensor, not a dBm reply
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'no-light' });
    power = '9.910000E+37';
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'saturated' });
    await m.confirmSettings(850);
    const err = await m.setWavelength(9999).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect((err as InstrumentReportedError).context).toMatchObject({ command: 'SENS:CORR:WAV 9999', received: '-222,"Data out of range"' });
    expect(peer.bytesIn()).toBe(
      PM100_OPEN + PM100_SET_850 + 'MEAS:POW?\n'.repeat(5) + PM100_CONFIRM + 'SENS:POW:UNIT W\nSENS:CORR:WAV 9999\nSYST:ERR?\nSYST:ERR?\n',
    );
    expect(peer.bytesOut()).toBe(
      PM100_OPEN_REPLIES +
        '0,"No error"\n8.500000E+02\n' +
        '9.727472E-06\n1.000000E-12\n0.000000E+00\n-3.000000E-13\n9.910000E+37\n' +
        'W\n8.500000E+02\n0,"No error"\n' +
        '-222,"Data out of range"\n0,"No error"\n',
    );
  });

  it('a negative reply cannot be a power in W: a reply error (retried once), never a number', async () => {
    const pm = pm100Peer(() => '-2.012000E+01');
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = pm100Meter(peer.port);
    await m.connect();
    const err = await m.readPowerDbm().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReplyError);
    expect((err as InstrumentReplyError).context).toMatchObject({ command: 'MEAS:POW?', received: '-2.012000E+01' });
    expect(peer.bytesIn()).toBe(PM100_OPEN + 'MEAS:POW?\n'.repeat(2));
  });

  it('a unit switched to DBM from the front panel: negative readings rejected, confirmSettings rejects, next setWavelength restores W', async () => {
    let dbm = '-2.012000E+01';
    const pm = pm100Peer(() => (pm.st.unit === 'DBM' ? dbm : '9.727472E-06'));
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = pm100Meter(peer.port);
    await m.connect();
    await m.setWavelength(850);
    expect(await m.readPowerDbm()).toBe(-20.12);
    pm.st.unit = 'DBM';
    await expect(m.readPowerDbm()).rejects.toBeInstanceOf(InstrumentReplyError);
    // +0.5 dBm in DBM would read as 0.5 W (+26.99 dBm) if taken as W: above the 0.1 W ceiling.
    dbm = '5.000000E-01';
    const high = await m.readPowerDbm().catch((e: unknown) => e);
    expect(high).toBeInstanceOf(InstrumentReplyError);
    expect((high as InstrumentReplyError).context).toMatchObject({ command: 'MEAS:POW?', received: '5.000000E-01', maxPlausibleW: 0.1 });
    const before = peer.bytesIn().length;
    const beforeOut = peer.bytesOut().length;
    const err = await m.confirmSettings(850).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterSettingsChangedError);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect(err).toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'SENS:POW:UNIT?', received: 'DBM', expected: 'W' } });
    expect(peer.bytesIn().slice(before)).toBe('SENS:POW:UNIT?\nSENS:CORR:WAV?\n');
    expect(peer.bytesOut().slice(beforeOut)).toBe('DBM\n8.500000E+02\n');
    // Not re-applied by confirmSettings; the next sweep's setWavelength does.
    expect(pm.st.unit).toBe('DBM');
    await m.setWavelength(850);
    expect(pm.st.unit).toBe('W');
    expect(await m.readPowerDbm()).toBe(-20.12);
    await m.confirmSettings(850);
  });

  it('maxPlausibleW is configurable: 1e-3 W rejects a 2 mW reply, 0.1 W (default) takes it', async () => {
    const pm = pm100Peer(() => '2.000000E-03');
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const strict = pm100Meter(peer.port, { maxPlausibleW: 1e-3 });
    await strict.connect();
    await expect(strict.readPowerDbm()).rejects.toBeInstanceOf(InstrumentReplyError);
    await strict.close();
    const lax = pm100Meter(peer.port);
    await lax.connect();
    expect(await lax.readPowerDbm()).toBe(3.0103);
    expect(() => createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: 1 }, maxPlausibleW: 0 })).toThrow(/maxPlausibleW|exclusiveMinimum|greater/i);
  });

  it('a meter power-cycled behind the open port: readings are one exchange each, confirmSettings rejects (1550 nm), never re-applies', async () => {
    // The sensor sees -20.12 dBm at 850 nm; at the power-on default 1550 nm the responsivity
    // correction is wrong and it reads -10.50 dBm: a plausible number, caught by confirmSettings.
    const pm = pm100Peer(() => (pm.st.wav === 850 ? '9.727472E-06' : '8.912509E-05'));
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = pm100Meter(peer.port);
    await m.connect();
    await m.setWavelength(850);
    const before = peer.bytesIn().length;
    const beforeOut = peer.bytesOut().length;
    pm.powerCycle();
    expect(await m.readPowerDbm()).toBe(-10.5);
    const err = await m.confirmSettings(850).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeterSettingsChangedError);
    expect(err).toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'SENS:CORR:WAV?', received: '1.550000E+03', expected: 850 } });
    expect((err as Error).message).toMatch(/wavelength reads 1550 nm, not 850 nm/);
    expect(peer.bytesIn().slice(before)).toBe('MEAS:POW?\n' + 'SENS:POW:UNIT?\nSENS:CORR:WAV?\n');
    expect(peer.bytesOut().slice(beforeOut)).toBe('8.912509E-05\n' + 'W\n1.550000E+03\n');
    expect(pm.st.wav).toBe(1550);
    await m.setWavelength(850);
    expect(await m.readPowerDbm()).toBe(-20.12);
    await m.confirmSettings(850);
  });

  it('confirmSettings also rejects a wavelength other than the one asked about, and an error in the queue', async () => {
    const pm = pm100Peer(() => '9.727472E-06');
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = pm100Meter(peer.port);
    await m.connect();
    await m.setWavelength(850);
    await expect(m.confirmSettings(1300)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED' });
    pm.st.errq.push('-231,"Data questionable"');
    const err = await m.confirmSettings(850).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect(err).toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { received: '-231,"Data questionable"' } });
    await m.confirmSettings(850);
  });
});

describe('DiCon MEMS switch transcript', () => {
  it('identifies, reads channel count, selects and verifies; an empty line precedes replies', async () => {
    let ch = 0;
    const peer = await startScriptedPeer('\r', (l) => {
      if (l === 'ID?') return '\r\nDiCon Fiberoptics,MEMS 1x12,SN1,FW2.10\r\n';
      if (l === 'CF?') return '\r\n1,12,MEMS,MM\r\n';
      if (l === 'I1?') return `\r\n${ch}\r\n`;
      const m = /^I1 (\d+)$/.exec(l);
      if (m) ch = Number(m[1]);
      return undefined;
    });
    cleanups.push(() => peer.close());
    const s = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as OpticalSwitch;
    cleanups.push(() => s.close());
    expect((await s.connect()).model).toBe('MEMS 1x12');
    expect(await s.channelCount()).toBe(12);
    await s.selectChannel(7);
    expect(await s.selectedChannel()).toBe(7);
    await expect(s.selectChannel(13)).rejects.toThrow(/out of range 1..12/);
    expect(peer.bytesIn()).toBe('ID?\rCF?\rI1 7\rI1?\rI1?\r');
  });

  it('an ERR reply to I1 n is a reported error naming the command', async () => {
    const peer = await startScriptedPeer('\r', (l) => {
      if (l === 'ID?') return '\r\nDiCon Fiberoptics,MEMS 1x12,SN1,FW2.10\r\n';
      if (l === 'CF?') return '\r\n1,12,MEMS,MM\r\n';
      if (l === 'I1 3') return '\r\nERR 4\r\n';
      if (l === 'I1?') return '\r\n1\r\n';
      return undefined;
    });
    cleanups.push(() => peer.close());
    const s = createInstrument({ id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as OpticalSwitch;
    cleanups.push(() => s.close());
    await s.connect();
    await expect(s.selectChannel(3)).rejects.toMatchObject({ context: { command: 'I1 3', received: 'ERR 4' } });
  });
});

describe('Newport 1936-R transcript', () => {
  it('turns echo off, keeps W and converts to dBm, strips the echo', async () => {
    let echo = true;
    const peer = await startScriptedPeer('\r', (l) => {
      const e = echo ? `${l}\r\n` : '';
      if (l === 'ECHO 0') {
        echo = false;
        return e || undefined;
      }
      if (l === '*IDN?') return `${e}NEWPORT 1936-R v1.2.3 08/12/21 SN31337\r\n`;
      if (l === 'PM:UNIT?') return `${e}2\r\n`;
      if (l === 'ERRSTR?') return `${e}0, NO ERROR\r\n`;
      if (l === 'PM:L?') return `${e}1300\r\n`;
      if (l === 'PM:P?') return `${e}1.000000E-05\r\n`;
      return e || undefined;
    });
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'np', dialect: 'newport-1936', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    expect(await m.connect()).toMatchObject({ manufacturer: 'Newport', model: '1936-R', serialNumber: '31337' });
    await m.setWavelength(1300);
    expect(await m.readPowerDbm()).toBe(-20);
    await m.confirmSettings(1300);
    await expect(m.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'PM:L?', received: '1300', expected: 850 } });
    expect(peer.bytesIn()).toBe(
      'ECHO 0\r*IDN?\rPM:UNIT 2\rPM:AUTO 1\rPM:UNIT?\rERRSTR?\r' +
        'PM:UNIT 2\rPM:L 1300\rERRSTR?\rPM:L?\r' +
        'PM:P?\r' +
        'PM:UNIT?\rPM:L?\rERRSTR?\r' +
        'PM:UNIT?\rPM:L?\r',
    );
    expect(peer.bytesOut().startsWith('ECHO 0\r\nNEWPORT 1936-R')).toBe(true);
  });
});
