/** Transcript tests: exact bytes out, exact bytes in, per dialect. */
import { afterEach, describe, expect, it } from 'vitest';
import { startScriptedPeer } from '../helpers/scripted-peer.js';
import { createInstrument } from '../../drivers/registry.js';
import type { OpticalSwitch, PowerMeter } from '../../src/instruments/capabilities.js';
import { InstrumentReportedError } from '../../src/errors.js';
import { OpticalRangeError } from '../../drivers/common.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

describe('Thorlabs PM100 transcript', () => {
  it('connect, set wavelength, read dBm, no-light and error queue', async () => {
    let wav = '1.550000E+03';
    let power = '-2.012000E+01';
    let errq: string[] = [];
    const peer = await startScriptedPeer('\n', (l) => {
      if (l === '*IDN?') return 'THORLABS,PM101,M00512345,1.5.0\n';
      if (l === 'SENS:POW:UNIT?') return 'DBM\n';
      if (l === 'SYST:ERR?') return `${errq.shift() ?? '0,"No error"'}\n`;
      if (l === 'SENS:CORR:WAV 850') wav = '8.500000E+02';
      if (l === 'SENS:CORR:WAV 9999') errq = ['-222,"Data out of range"'];
      if (l === 'SENS:CORR:WAV?') return `${wav}\n`;
      if (l === 'MEAS:POW?') return `${power}\n`;
      return undefined;
    });
    cleanups.push(() => peer.close());
    const m = createInstrument({ id: 'pm', dialect: 'thorlabs-pm100', transport: { kind: 'tcp', host: '127.0.0.1', port: peer.port } }) as PowerMeter;
    cleanups.push(() => m.close());
    expect(await m.connect()).toEqual({ manufacturer: 'Thorlabs', model: 'PM101', serialNumber: 'M00512345', firmware: '1.5.0', raw: 'THORLABS,PM101,M00512345,1.5.0' });
    await m.setWavelength(850);
    expect(await m.readPowerDbm()).toBe(-20.12);
    power = '-9.000000E+01';
    await expect(m.readPowerDbm()).rejects.toBeInstanceOf(OpticalRangeError);
    power = '9.910000E+37';
    await expect(m.readPowerDbm()).rejects.toMatchObject({ condition: 'saturated' });
    const err = await m.setWavelength(9999).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect((err as InstrumentReportedError).context).toMatchObject({ command: 'SENS:CORR:WAV 9999', received: '-222,"Data out of range"' });
    expect(peer.bytesIn()).toBe(
      '*IDN?\n*CLS\nSENS:POW:UNIT DBM\nSENS:POW:RANG:AUTO ON\nSENS:POW:UNIT?\nSYST:ERR?\n' +
        'SENS:CORR:WAV 850\nSYST:ERR?\nSENS:CORR:WAV?\nMEAS:POW?\nMEAS:POW?\nMEAS:POW?\n' +
        'SENS:CORR:WAV 9999\nSYST:ERR?\nSYST:ERR?\n',
    );
    expect(peer.bytesOut()).toBe(
      'THORLABS,PM101,M00512345,1.5.0\nDBM\n0,"No error"\n0,"No error"\n8.500000E+02\n-2.012000E+01\n-9.000000E+01\n9.910000E+37\n-222,"Data out of range"\n0,"No error"\n',
    );
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
