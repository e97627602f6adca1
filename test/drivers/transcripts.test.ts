/** Transcript tests: exact bytes out, exact bytes in, per dialect. */
import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedPeer } from '../helpers/scripted-peer.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { InstrumentReplyError, InstrumentReportedError } from '../../src/errors.js';
import { OpticalRangeError } from '../../drivers/common.js';

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

describe('Thorlabs PM100 transcript', () => {
  it('connect, set wavelength, read W -> dBm with unit and wavelength read back, no-light, overload and error queue', async () => {
    let power = '9.727472E-06';
    const pm = pm100Peer(() => power);
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    expect(await m.connect()).toEqual({ manufacturer: 'Thorlabs', model: 'PM101', serialNumber: 'M00512345', firmware: '1.5.0', raw: 'THORLABS,PM101,M00512345,1.5.0' });
    await m.setWavelength(850);
    expect(await m.readPowerDbm()).toBe(-20.12);
    power = '1.000000E-12';
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'no-light' });
    power = '0.000000E+00';
    await expect(m.readPowerDbm()).rejects.toBeInstanceOf(OpticalRangeError);
    power = '9.910000E+37';
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'saturated' });
    const err = await m.setWavelength(9999).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect((err as InstrumentReportedError).context).toMatchObject({ command: 'SENS:CORR:WAV 9999', received: '-222,"Data out of range"' });
    const READ = 'MEAS:POW?\nSENS:POW:UNIT?\nSENS:CORR:WAV?\n';
    expect(peer.bytesIn()).toBe(PM100_OPEN + 'SENS:CORR:WAV 850\nSYST:ERR?\nSENS:CORR:WAV?\n' + READ.repeat(4) + 'SENS:CORR:WAV 9999\nSYST:ERR?\nSYST:ERR?\n');
    const back = (p: string): string => `${p}\nW\n8.500000E+02\n`;
    expect(peer.bytesOut()).toBe(
      PM100_OPEN_REPLIES +
        '0,"No error"\n8.500000E+02\n' +
        back('9.727472E-06') +
        back('1.000000E-12') +
        back('0.000000E+00') +
        back('9.910000E+37') +
        '-222,"Data out of range"\n0,"No error"\n',
    );
  });

  it('a negative reply cannot be a power in W: a reply error (retried once), never a number', async () => {
    const pm = pm100Peer(() => '-2.012000E+01');
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    await m.connect();
    const err = await m.readPowerDbm().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReplyError);
    expect((err as InstrumentReplyError).context).toMatchObject({ command: 'MEAS:POW?', received: '-2.012000E+01' });
    expect(peer.bytesIn()).toBe(PM100_OPEN + 'MEAS:POW?\nSENS:POW:UNIT?\nSENS:CORR:WAV?\n'.repeat(2));
  });

  it('a meter power-cycled behind the open port: the reading is discarded, settings re-applied, read again', async () => {
    // The sensor sees -20.12 dBm at 850 nm; at the power-on default 1550 nm the responsivity
    // correction is wrong and it would read -10.50 dBm: that value must never come back.
    const pm = pm100Peer(() => (pm.st.wav === 850 ? '9.727472E-06' : '8.912509E-05'));
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    await m.connect();
    await m.setWavelength(850);
    const before = peer.bytesIn().length;
    const beforeOut = peer.bytesOut().length;
    pm.powerCycle();
    expect(await m.readPowerDbm()).toBe(-20.12);
    expect(peer.bytesIn().slice(before)).toBe(
      'MEAS:POW?\nSENS:POW:UNIT?\nSENS:CORR:WAV?\n' +
        '*CLS\nSENS:POW:UNIT W\nSENS:POW:RANG:AUTO ON\nSENS:CORR:WAV 850\nSENS:POW:UNIT?\nSYST:ERR?\n' +
        'MEAS:POW?\nSENS:POW:UNIT?\nSENS:CORR:WAV?\n',
    );
    expect(peer.bytesOut().slice(beforeOut)).toBe('8.912509E-05\nW\n1.550000E+03\n' + 'W\n0,"No error"\n' + '9.727472E-06\nW\n8.500000E+02\n');
  });

  it('a unit switched to DBM from the front panel: the dBm reply is discarded, W restored, read again', async () => {
    const pm = pm100Peer(() => (pm.st.unit === 'DBM' ? '1.000000E+00' : '1.258925E-03'));
    const peer = await startScriptedPeer('\n', pm.reply);
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    await m.connect();
    await m.setWavelength(1310);
    pm.st.unit = 'DBM';
    // +1 dBm in DBM would read as 1 W (+30 dBm) if taken as W.
    expect(await m.readPowerDbm()).toBeCloseTo(1, 5);
    expect(pm.st.unit).toBe('W');
  });

  it('settings that do not hold after re-applying them: a typed error, never a number', async () => {
    const pm = pm100Peer(() => '9.727472E-06');
    const peer = await startScriptedPeer('\n', (l) => {
      const r = pm.reply(l);
      if (l === 'MEAS:POW?') pm.powerCycle(); // power-cycles during every reading
      return r;
    });
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    await m.connect();
    await m.setWavelength(850);
    const err = await m.readPowerDbm().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect(err).not.toBeInstanceOf(OpticalRangeError);
    expect((err as InstrumentReportedError).message).toMatch(/wavelength reads 1550 nm, not 850 nm/);
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
    expect(peer.bytesIn()).toBe('ECHO 0\r*IDN?\rPM:UNIT 2\rPM:AUTO 1\rPM:UNIT?\rERRSTR?\rPM:L 1300\rERRSTR?\rPM:L?\rPM:P?\r');
    expect(peer.bytesOut().startsWith('ECHO 0\r\nNEWPORT 1936-R')).toBe(true);
  });
});
