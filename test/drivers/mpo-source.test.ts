/**
 * `mpocert-mpo-source` (drivers/mpo-source.ts, the project's reference command set for a
 * multi-fiber light source): per-property transcripts in memory (expectedProtocol), then end to end
 * through the registry over a real TCP socket and over a socat pty against the simulator driven by
 * the same table, with a multi-port meter (Santec MPM-210H simulator) that sees exactly the fibers
 * the source lights: -20 dBm per lit fiber at the source's wavelength, no light elsewhere.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { expectedProtocol, type Exchange } from '../helpers/expected-protocol.js';
import { createMpoSource, fibersOf, maskOf, mpoSourceTable, parseMask, printMask } from '../../drivers/mpo-source.js';
import { SourceSettingsChangedError } from '../../drivers/line-source.js';
import { createInstrument } from '../../drivers/registry.js';
import { ConfigError, InstrumentReplyError, InstrumentReportedError } from '../../src/errors.js';
import { isMultiFiberLightSource, type MultiFiberLightSource, type MultiPortPowerMeter } from '../../src/instruments/capabilities.js';
import { MpoSourceDevice } from '../../fixtures/simulators/mpo-source-sim.js';
import { SantecMpmDevice } from '../../fixtures/simulators/santec-mpm-sim.js';
import { serveLineDevice, type ServedDevice } from '../../fixtures/simulators/line-server.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const IDN = 'MPOCERT,MPO-SOURCE-24,SN0042,1.2.0';
const NO_ERROR = '0,"No error"';
const OPEN: Exchange[] = [
  ['*IDN?', IDN],
  ['*CLS', null],
  [':SYST:CHAN?', '24'],
  [':OUTP:MASK #H0', null],
  [':OUTP:MASK?', '#H0'],
  [':SYST:ERR?', NO_ERROR],
];
const SET_850: Exchange[] = [
  [':SOUR:WAV 850', null],
  [':SYST:ERR?', NO_ERROR],
  [':SOUR:WAV?', '850'],
];
/** Sets a mask and reads it back as `reads` (default: the same). */
const MASK = (hex: string, reads = hex): Exchange[] => [
  [`:OUTP:MASK ${hex}`, null],
  [':SYST:ERR?', NO_ERROR],
  [':OUTP:MASK?', reads],
];
/** What a call made while lit reads first: the mask lit, then the wavelength set. */
const LIT = (hex: string, nm: string): Exchange[] => [
  [':OUTP:MASK?', hex],
  [':SOUR:WAV?', nm],
];
const ALL_24 = Array.from({ length: 24 }, (_, i) => i + 1);

const source = (script: Exchange[]) => expectedProtocol((endpoint) => createMpoSource({ id: 'mpo', endpoint }), script);

describe('mpocert-mpo-source table', () => {
  it('masks: bit (f-1) = fiber f; read at any length and case, printed upper case without leading zeros', () => {
    expect(printMask(maskOf([1, 3, 24]))).toBe('#H800005');
    expect(printMask(maskOf([]))).toBe('#H0');
    expect(printMask(maskOf(ALL_24))).toBe('#HFFFFFF');
    expect(maskOf([3, 3, 1])).toBe(5);
    expect(fibersOf(0x800005)).toEqual([1, 3, 24]);
    expect(fibersOf(0)).toEqual([]);
    expect(parseMask('#h00800005', {})).toBe(0x800005);
    expect(parseMask('#H0', {})).toBe(0);
    expect(parseMask('#H000000', {})).toBe(0);
    for (const bad of ['800005', '#H', '#H80G005', '+1', '#H\u00bf#']) expect(() => parseMask(bad, { command: ':OUTP:MASK?' })).toThrow(InstrumentReplyError);
    expect(mpoSourceTable.framing).toMatchObject({ writeTerminator: '\n', readDelimiter: '\n', baudRate: 115200 });
  });

  it('connect: identity (a stray line before it drained), *CLS, output count, every output dark and read back, error queue', async () => {
    const p = source([['*IDN?', ['#H800005', IDN]], ...OPEN.slice(1)]);
    expect(await p.instrument.connect()).toEqual({ manufacturer: 'MPOCERT', model: 'MPO-SOURCE-24', serialNumber: 'SN0042', firmware: '1.2.0', raw: IDN });
    expect(await p.instrument.fiberCount()).toBe(24);
    expect(isMultiFiberLightSource(p.instrument)).toBe(true);
    p.done();
  });

  it('connect: an output count that is not 1..32, or outputs that do not read back dark, fail the open', async () => {
    const count = source([...OPEN.slice(0, 2), [':SYST:CHAN?', '0']]);
    await expect(count.instrument.connect()).rejects.toBeInstanceOf(InstrumentReplyError);
    count.done();
    const dark = source([...OPEN.slice(0, 4), [':OUTP:MASK?', '#H1']]);
    await expect(dark.instrument.connect()).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: ':OUTP:MASK #H0', received: '#H1', expected: '#H0' } });
    dark.done();
  });

  it('setWavelength: set, error queue, read back', async () => {
    const p = source([...OPEN, ...SET_850]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    p.done();
  });

  it('setWavelength: a read-back 1 nm off rejects naming the command; a fraction of a nm is refused before anything is sent', async () => {
    const p = source([...OPEN, ...SET_850.slice(0, -1), [':SOUR:WAV?', '851']]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(850)).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: ':SOUR:WAV 850', received: '851', expected: 850 } });
    await expect(p.instrument.setWavelength(850.5)).rejects.toBeInstanceOf(InstrumentReportedError);
    p.done();
  });

  it('setWavelength: an error in the queue (a wavelength it cannot emit) is drained and reported with its command', async () => {
    const p = source([...OPEN, [':SOUR:WAV 1700', null], [':SYST:ERR?', '-222,"Data out of range"'], [':SYST:ERR?', NO_ERROR]]);
    await p.instrument.connect();
    await expect(p.instrument.setWavelength(1700)).rejects.toMatchObject({
      code: 'INSTRUMENT_REPORTED_ERROR',
      context: { command: ':SOUR:WAV 1700', received: '-222,"Data out of range"' },
    });
    p.done();
  });

  it('light([1,3,24]) sends #H800005 and reads it back (any length); light([]) confirms the lit mask, then #H0', async () => {
    const p = source([...OPEN, ...MASK('#H800005', '#H00800005'), [':OUTP:MASK?', '#H800005'], ...MASK('#H0')]);
    await p.instrument.connect();
    await p.instrument.light([1, 3, 24]);
    await p.instrument.light([]);
    p.done();
  });

  it('a sweep: wavelength, every fiber lit (the wavelength read back first), the next wavelength and the end confirm the lit period first', async () => {
    const p = source([
      ...OPEN,
      ...SET_850,
      [':SOUR:WAV?', '850'],
      ...MASK('#HFFFFFF'),
      ...LIT('#HFFFFFF', '850'),
      [':SOUR:WAV 1300', null],
      [':SYST:ERR?', NO_ERROR],
      [':SOUR:WAV?', '1300'],
      ...LIT('#HFFFFFF', '1300'),
      ...MASK('#H0'),
    ]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    await p.instrument.light(ALL_24);
    await p.instrument.setWavelength(1300);
    await p.instrument.light([]);
    p.done();
  });

  it('light: a mask that does not read back as sent rejects naming the command, what came back and what was expected', async () => {
    const p = source([...OPEN, ...MASK('#H5', '#H1')]);
    await p.instrument.connect();
    const err = await p.instrument.light([1, 3]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect(err).toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: ':OUTP:MASK #H5', received: '#H1', expected: '#H5' } });
    p.done();
  });

  it('light: a fiber that is not an integer 1..count is refused before anything is sent', async () => {
    const p = source(OPEN);
    await p.instrument.connect();
    const sent = p.sent.length;
    for (const fibers of [[1, 25], [0], [2.5], [Number.NaN]]) {
      await expect(p.instrument.light(fibers)).rejects.toMatchObject({ code: 'INSTRUMENT_REPORTED_ERROR', context: { command: ':OUTP:MASK', fiber: fibers.at(-1) } });
    }
    expect(p.sent.length).toBe(sent);
    p.done();
  });

  it('light: an error in the queue is drained and reported with the mask command it followed', async () => {
    const p = source([...OPEN, [':OUTP:MASK #H40', null], [':SYST:ERR?', '-300,"Device-specific error; shutter 7"'], [':SYST:ERR?', NO_ERROR]]);
    await p.instrument.connect();
    await expect(p.instrument.light([7])).rejects.toMatchObject({ context: { command: ':OUTP:MASK #H40', received: '-300,"Device-specific error; shutter 7"' } });
    p.done();
  });

  it('a garbled mask read-back is retried (the whole idempotent set)', async () => {
    const p = source([...OPEN, [':OUTP:MASK #H3', null], [':SYST:ERR?', NO_ERROR], [':OUTP:MASK?', '#\u00bf#3'], ...MASK('#H3')]);
    await p.instrument.connect();
    await p.instrument.light([1, 2]);
    p.done();
  });

  it('a source found dark while lit (a power cycle): put dark, SOURCE_SETTINGS_CHANGED; it is not relit at its power-on wavelength', async () => {
    const p = source([
      ...OPEN,
      ...SET_850,
      [':SOUR:WAV?', '850'],
      ...MASK('#HFFF'),
      // Power cycle: dark, 1310 nm. The next light() finds it and darkens (already dark).
      [':OUTP:MASK?', '#H0'],
      ...MASK('#H0'),
      // Lighting again from dark: the wavelength reads 1310, not 850: refused, not lit.
      [':SOUR:WAV?', '1310'],
      ...MASK('#H0'),
      // Only a new setWavelength makes it usable again.
      ...SET_850,
      [':SOUR:WAV?', '850'],
      ...MASK('#H2'),
    ]);
    await p.instrument.connect();
    await p.instrument.setWavelength(850);
    await p.instrument.light(ALL_24.slice(0, 12));
    const dark = await p.instrument.light([2]).catch((e: unknown) => e);
    expect(dark).toBeInstanceOf(SourceSettingsChangedError);
    expect(dark).toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':OUTP:MASK?', received: '#H0', expected: '#HFFF' } });
    await expect(p.instrument.light([2])).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':SOUR:WAV?', received: '1310', expected: 850 } });
    await p.instrument.setWavelength(850);
    await p.instrument.light([2]);
    p.done();
  });

  it('a source found lit otherwise while lit (the front panel): light([]) still ends dark, then rejects', async () => {
    const p = source([...OPEN, ...MASK('#H1'), [':OUTP:MASK?', '#H3'], ...MASK('#H0')]);
    await p.instrument.connect();
    await p.instrument.light([1]);
    await expect(p.instrument.light([])).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { received: '#H3', expected: '#H1' } });
    p.done();
  });
});

/** A 12-output source and a 12-port meter behind it, fiber f onto port f: -20 dBm per lit fiber at the source's wavelength. */
async function served(transport: 'tcp' | 'pty') {
  let emitting: { lit: readonly number[]; nm: number } = { lit: [], nm: 1310 };
  const sourceDevice = new MpoSourceDevice({ outputs: 12, onChange: (lit, nm) => (emitting = { lit, nm }) });
  const meterDevice = new SantecMpmDevice({ modules: 3, powerDbm: (nm, port) => (emitting.lit.includes(port) ? -20 - (nm === emitting.nm ? 0 : 1.5) : null) });
  const serve = (device: MpoSourceDevice | SantecMpmDevice, name: string) =>
    transport === 'pty' ? serveLineDevice(device, { transport: 'pty', name }) : serveLineDevice(device, { transport: 'tcp' });
  const sourceSim = await serve(sourceDevice, 'mpo-source');
  cleanups.push(() => sourceSim.close());
  const meterSim = await serve(meterDevice, 'mpm');
  cleanups.push(() => meterSim.close());
  // Over serial the dialect's default framing (115200 8N1) applies: no baudRate in the config.
  const t = (s: ServedDevice) => (s.endpoint.kind === 'tcp' ? { kind: 'tcp' as const, host: s.endpoint.host, port: s.endpoint.port } : { kind: 'serial' as const, path: s.endpoint.path });
  const source = createInstrument({ id: 'mpo', dialect: 'mpocert-mpo-source', transport: t(sourceSim), timeoutMs: 1000 }) as MultiFiberLightSource;
  const meter = createInstrument({ id: 'mpm', dialect: 'santec-mpm-210h', transport: t(meterSim), timeoutMs: 1000 }) as MultiPortPowerMeter;
  cleanups.push(() => meter.close(), () => source.close());
  await source.connect();
  await meter.connect();
  return { source, meter, sourceSim, sourceDevice };
}

const maskQueries = (s: ServedDevice): number => s.received.filter((l) => l === ':OUTP:MASK?').length;
const ALL_12 = ALL_24.slice(0, 12);

describe('mpocert-mpo-source end to end through the registry', () => {
  it('over TCP: every fiber in one reading; a coded subset; a garbled reply retried; a power cycle rejected, never relit at its power-on wavelength; a reopen while lit rejected', async () => {
    const { source, meter, sourceSim, sourceDevice } = await served('tcp');
    expect(isMultiFiberLightSource(source)).toBe(true);
    expect(source.status()).toMatchObject({ state: 'online', identity: { manufacturer: 'MPOCERT', model: 'MPO-SOURCE-12', serialNumber: 'SIM-MPO-0001' } });
    expect(await source.fiberCount()).toBe(12);
    expect(sourceDevice.lit).toEqual([]);

    // Every fiber at 850 nm: one reading gives all twelve.
    await source.setWavelength(850);
    await meter.setWavelength(850);
    await source.light(ALL_12);
    expect(sourceDevice.lit).toEqual(ALL_12);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map(() => -20));

    // A coded subset (polarity); the confirm's mask reply garbled: retried, then lit as asked.
    sourceSim.inject({ kind: 'garble' });
    const before = maskQueries(sourceSim);
    await source.light([1, 3, 12]);
    expect(maskQueries(sourceSim) - before).toBe(3);
    expect(sourceDevice.lit).toEqual([1, 3, 12]);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map((p) => ([1, 3, 12].includes(p) ? -20 : 'no-light')));

    // A `reset` fault (power cycle behind the open link, before the source's next command): the
    // next pattern finds the source dark and rejects; it is not relit at its power-on 1310 nm.
    await source.light(ALL_12);
    sourceSim.inject({ kind: 'reset' });
    const found = await source.light([2, 4]).catch((e: unknown) => e);
    expect(found).toBeInstanceOf(SourceSettingsChangedError);
    expect(found).toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':OUTP:MASK?', received: '#H0', expected: '#HFFF' } });
    expect(sourceDevice.powerCycles).toBe(1);
    expect([sourceDevice.lit, sourceDevice.wavelengthNm]).toEqual([[], 1310]);
    await expect(source.light([2, 4])).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { command: ':SOUR:WAV?', received: '1310', expected: 850 } });
    expect(sourceDevice.lit).toEqual([]);
    await source.setWavelength(850);
    await source.light([2, 4]);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map((p) => ([2, 4].includes(p) ? -20 : 'no-light')));

    // Power cycled between lighting and the reading: the meter sees no light anywhere, which would
    // pass for dark fibers; the call that ends the pattern rejects, so the reading is thrown away.
    await source.light(ALL_12);
    sourceDevice.powerCycle();
    expect(await meter.readAllPorts()).toEqual(ALL_12.map(() => 'no-light'));
    await expect(source.light([])).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { received: '#H0', expected: '#HFFF' } });
    await source.setWavelength(850);
    await source.light(ALL_12);

    // The link drops while lit: the reopen darkens every output, so the pattern cannot be vouched for.
    sourceSim.inject({ kind: 'disconnect', arg: 200 });
    const reopened = await source.light([]).catch((e: unknown) => e);
    expect(reopened).toBeInstanceOf(SourceSettingsChangedError);
    expect((reopened as Error).message).toMatch(/darkened them when it reopened/);
    expect(sourceDevice.lit).toEqual([]);
    expect(sourceDevice.wavelengthNm).toBe(850);
    await source.light([5]);
    expect(sourceDevice.lit).toEqual([5]);
    await source.light([]);
  });

  it('over a socat pty (serial, 115200 default): a sweep at two wavelengths; a garbled reply retried; a power cycle before the end of the sweep rejected', async () => {
    const { source, meter, sourceSim, sourceDevice } = await served('pty');
    await source.setWavelength(1300);
    await meter.setWavelength(1300);
    await source.light(ALL_12);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map(() => -20));
    // The next wavelength confirms the lit period first; its first reply (the mask) garbled: the
    // check is retried whole (mask, wavelength), then the wavelength is set and read back.
    sourceSim.inject({ kind: 'garble' });
    const wavQueries = (): number => sourceSim.received.filter((l) => l === ':SOUR:WAV?').length;
    const [masks, wavs] = [maskQueries(sourceSim), wavQueries()];
    await source.setWavelength(1550);
    expect([maskQueries(sourceSim) - masks, wavQueries() - wavs]).toEqual([2, 2]);
    expect(sourceDevice.wavelengthNm).toBe(1550);
    await meter.setWavelength(1550);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map(() => -20));
    // Power cycle before the source's next command: the end of the sweep rejects.
    sourceSim.inject({ kind: 'reset' });
    await expect(source.light([])).rejects.toMatchObject({ code: 'SOURCE_SETTINGS_CHANGED', context: { received: '#H0', expected: '#HFFF' } });
    expect(sourceDevice.lit).toEqual([]);
    expect(await meter.readAllPorts()).toEqual(ALL_12.map(() => 'no-light'));
  });

  it('the registry: a line dialect; channel refused; a modbus transport refused', () => {
    const tcp = { kind: 'tcp' as const, host: '127.0.0.1', port: 1 };
    expect(isMultiFiberLightSource(createInstrument({ id: 'mpo', dialect: 'mpocert-mpo-source', transport: tcp }))).toBe(true);
    expect(() => createInstrument({ id: 'mpo', dialect: 'mpocert-mpo-source', transport: tcp, channel: 1 })).toThrow('dialect mpocert-mpo-source has no channel');
    expect(() => createInstrument({ id: 'mpo', dialect: 'mpocert-mpo-source', transport: tcp, slot: 1 })).toThrow(ConfigError);
    expect(() => createInstrument({ id: 'mpo', dialect: 'mpocert-mpo-source', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: 502, unitId: 1 } })).toThrow(
      'cannot use transport modbus-tcp',
    );
  });
});
