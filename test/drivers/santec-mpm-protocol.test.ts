/**
 * The Santec MPM-210H driver per property, in memory (expectedProtocol): the exact commands it
 * sends and how it reads each reply. Commands and replies end CR LF.
 */
import { describe, expect, it } from 'vitest';
import { expectedProtocol, type Exchange } from '../helpers/expected-protocol.js';
import { SantecMpm210h } from '../../drivers/santec-mpm-210h.js';

const OPEN: Exchange[] = [
  ['*IDN?', 'SANTEC,MPM-210H,22110451,Ver.2.0'],
  ['IDIS?', '1,1,1,0,0'],
  ['WMOD CONST1', null],
  ['AUTO 1', null],
  ['UNIT 0', null],
  ['ERR?', '0,"No error"'],
];
const SET_850: Exchange[] = [
  ['WAV 850', null],
  ['ERR?', '0,"No error"'],
  ['WAV?', '850.000'],
];
const santec = (script: Exchange[]) => expectedProtocol((endpoint) => new SantecMpm210h({ id: 'mpm', endpoint }), script, { terminator: '\r\n' });

describe('santec-mpm-210h per property', () => {
  it('connect: identity (a stray line drained), 3 modules = 12 ports, constant wavelength, auto range, dBm, error queue', async () => {
    const p = santec([['*IDN?', ['-20.000', 'SANTEC,MPM-210H,22110451,Ver.2.0']], ...OPEN.slice(1)]);
    expect(await p.instrument.connect()).toMatchObject({ manufacturer: 'Santec', model: 'MPM-210H', serialNumber: '22110451' });
    expect(await p.instrument.portCount()).toBe(12);
    p.done();
  });

  it('setWavelength: set, error queue, read back; a read-back 1 nm off is refused naming the command', async () => {
    const ok = santec([...OPEN, ...SET_850]);
    await ok.instrument.connect();
    await ok.instrument.setWavelength(850);
    ok.done();
    const off = santec([...OPEN, ['WAV 850', null], ['ERR?', '0,"No error"'], ['WAV?', '851.000']]);
    await off.instrument.connect();
    await expect(off.instrument.setWavelength(850)).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: 'WAV 850', received: '851.000' } });
    off.done();
  });

  it('readAllPorts: one READ? per module; below -60 dBm is no light, above +10 dBm saturated', async () => {
    const p = santec([
      ...OPEN,
      ['READ? 0', '-20.110,-90.000,-60.001,-59.999'],
      ['READ? 1', '10.001,10.000,-35.5,-90.000'],
      ['READ? 2', '-90.000,-90.000,-90.000,-90.000'],
    ]);
    await p.instrument.connect();
    expect(await p.instrument.readAllPorts()).toEqual([-20.11, 'no-light', 'no-light', -59.999, 'saturated', 10, -35.5, 'no-light', 'no-light', 'no-light', 'no-light', 'no-light']);
    p.done();
  });

  it('readAllPorts: a module answering with 3 values is a bad reply, not three ports (retried once)', async () => {
    const p = santec([...OPEN, ['READ? 0', '-20.1,-20.2,-20.3'], ['READ? 0', '-20.1,-20.2,-20.3']]);
    await p.instrument.connect();
    await expect(p.instrument.readAllPorts()).rejects.toMatchObject({ code: 'INSTRUMENT_BAD_REPLY', context: { command: 'READ? 0', received: '-20.1,-20.2,-20.3' } });
    p.done();
  });

  it('confirmSettings: unit and wavelength read back, error queue; unit 1 (W) is a settings change', async () => {
    const ok = santec([...OPEN, ...SET_850, ['UNIT?', '0'], ['WAV?', '850.000'], ['ERR?', '0,"No error"']]);
    await ok.instrument.connect();
    await ok.instrument.setWavelength(850);
    await ok.instrument.confirmSettings(850);
    ok.done();
    const changed = santec([...OPEN, ...SET_850, ['UNIT?', '1'], ['WAV?', '850.000']]);
    await changed.instrument.connect();
    await changed.instrument.setWavelength(850);
    await expect(changed.instrument.confirmSettings(850)).rejects.toMatchObject({ code: 'METER_SETTINGS_CHANGED', context: { command: 'UNIT?', received: '1', expected: '0' } });
    changed.done();
  });
});
