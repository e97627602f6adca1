/**
 * A bench with a light source role (method.lightSource): the measuring code sets the source to each
 * sweep's wavelength and switches it on before that sweep's readings, and off after the sweep,
 * also when a reading or the source fails. Run through BenchRuntime against simulated instruments
 * over TCP (Keysight 8163B sensor and source modules, DiCon switch): the sensor sees light only
 * while the source emits, so a reading taken in the wrong light would show in the values too.
 * 1310 nm arrives at -20 dBm, 1550 nm at -30 dBm, exact in W (1.0E-05, 1.0E-06).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { benchParts } from '../../src/daemon/bench-parts.js';
import { BenchRuntime } from '../../src/pipeline/bench-runtime.js';
import { measureAllFibers, takeReference } from '../../src/pipeline/measure.js';
import { resolveConfig } from '../../src/config/load.js';
import type { BenchConfig } from '../../src/config/schema.js';
import { InstrumentReplyError, InstrumentReportedError, JobRefusedError } from '../../src/errors.js';
import { keysight8163MeterDevice, keysight8163SourceDevice, normalizeLightwave } from '../../fixtures/simulators/keysight-8163b-sim.js';
import { DiconSwitchDevice } from '../../fixtures/simulators/dicon-sim.js';
import { serveLineDevice, type LineDevice, type ServedDevice } from '../../fixtures/simulators/line-server.js';
import type { FiberReading } from '../../src/pipeline/readings.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const FIBERS = 8;
const ARRIVING_DBM: Record<number, number> = { 1310: -20, 1550: -30 };

/** Every command any instrument received, in order, tagged with the instrument. */
function logged(device: LineDevice, tag: string, log: string[]): LineDevice {
  return {
    name: device.name,
    replyTerminator: device.replyTerminator,
    ...(device.replyPrefix !== undefined ? { replyPrefix: device.replyPrefix } : {}),
    handle: (line) => {
      log.push(`${tag} ${normalizeLightwave(line)}`);
      return device.handle(line);
    },
    powerCycle: () => device.powerCycle?.(),
  };
}

async function simulatedBench(o: { sourceRangeNm?: [number, number]; lightSource?: string } = {}) {
  const log: string[] = [];
  const sw = new DiconSwitchDevice({ channels: FIBERS });
  const source = keysight8163SourceDevice({ slot: 2, ...(o.sourceRangeNm ? { rangeNm: o.sourceRangeNm } : {}) });
  // Light reaches the sensor only through a selected switch channel while the source emits; a
  // sensor corrected for another wavelength than the light's reads 1.5 dB high.
  const meter = keysight8163MeterDevice({
    powerDbm: (meterNm) => {
      const nm = source.emittingAt();
      if (sw.selected === 0 || nm === null) return null;
      return (ARRIVING_DBM[nm] ?? -40) + (meterNm === nm ? 0 : 1.5);
    },
  });
  const served: Record<'pm' | 'ls' | 'sw', ServedDevice> = {
    pm: await serveLineDevice(logged(meter, 'pm', log)),
    ls: await serveLineDevice(logged(source, 'ls', log)),
    sw: await serveLineDevice(logged(sw, 'sw', log)),
  };
  for (const s of Object.values(served)) cleanups.push(() => s.close());
  const tcp = (s: ServedDevice) => (s.endpoint.kind === 'tcp' ? { kind: 'tcp' as const, host: s.endpoint.host, port: s.endpoint.port } : { kind: 'serial' as const, path: s.endpoint.path });
  const config: BenchConfig = {
    id: 'b1',
    instruments: [
      { id: 'pm', dialect: 'keysight-8163b-meter', transport: tcp(served.pm), slot: 1, channel: 1, timeoutMs: 1000 },
      { id: 'ls', dialect: 'keysight-8163b-source', transport: tcp(served.ls), slot: 2, timeoutMs: 1000 },
      { id: 'sw', dialect: 'dicon-mems-switch', transport: tcp(served.sw), timeoutMs: 1000 },
    ],
    method: { kind: 'switch-and-meter', powerMeter: 'pm', switch: 'sw', lightSource: o.lightSource ?? 'ls' },
    channelOffset: 0,
    fiberCount: FIBERS,
    wavelengthsNm: [1310, 1550],
    operator: { kind: 'manual' },
    testCords: {},
  };
  const bench = new BenchRuntime(config, await benchParts({ benches: [config] }));
  cleanups.push(() => bench.close());
  await bench.ensureConnected();
  log.length = 0; // what connecting sent is not part of a sweep
  return { bench, log, source, served };
}

/**
 * Replays the log: the source's wavelength and output as its commands set them, and for every
 * reading the wavelength the source emitted then (null: dark).
 */
function lightAtEachReading(log: string[]): { lit: (number | null)[]; sourceOnAtEnd: boolean } {
  let nm: number | null = null;
  let on = false;
  const lit: (number | null)[] = [];
  for (const entry of log) {
    const wav = /^ls :SOUR2:WAV (\d+)NM$/.exec(entry);
    if (wav) nm = Number(wav[1]);
    if (entry === 'ls :SOUR2:POW:STAT 1') on = true;
    if (entry === 'ls :SOUR2:POW:STAT 0') on = false;
    if (entry === 'pm :READ1:CHAN1:POW?') lit.push(on ? nm : null);
  }
  return { lit, sourceOnAtEnd: on };
}

const sweep = (nm: number): number[] => Array<number>(FIBERS).fill(nm);

describe('a bench with a light source', () => {
  it('reference and measurement: the source set to each sweep wavelength and on before its readings, off after every sweep', async () => {
    const { bench, log, source } = await simulatedBench();
    const ref = await takeReference(bench);
    expect(ref.powerDbm).toEqual({ 1310: sweep(-20), 1550: sweep(-30) });
    // The source's identity is recorded with the bench's.
    expect(ref.instruments.map((i) => i.model)).toEqual(['8163B', '8163B', 'MEMS 1x8']);
    const atRef = lightAtEachReading(log);
    expect(atRef.lit).toEqual([...sweep(1310), ...sweep(1550)]);
    expect(atRef.sourceOnAtEnd).toBe(false);
    // Per sweep: wavelength set and read back, then on, then the meter; after the readings, off.
    const src = log.filter((l) => l.startsWith('ls ') && !l.endsWith('?') && l !== 'ls :SYST:ERR?');
    expect(src).toEqual(['ls :SOUR2:WAV 1310NM', 'ls :SOUR2:POW:STAT 1', 'ls :SOUR2:POW:STAT 0', 'ls :SOUR2:WAV 1550NM', 'ls :SOUR2:POW:STAT 1', 'ls :SOUR2:POW:STAT 0']);
    const firstOn = log.indexOf('ls :SOUR2:POW:STAT 1');
    expect(log.indexOf('pm :SENS1:CHAN1:POW:WAV 1310NM')).toBeGreaterThan(firstOn);
    // The sweep ends with the meter's settings confirmed, then the source confirmed and off.
    const firstOff = log.indexOf('ls :SOUR2:POW:STAT 0');
    expect(log.slice(firstOff - 6, firstOff)).toEqual([
      'pm :SENS1:CHAN1:POW:UNIT?',
      'pm :SENS1:CHAN1:POW:WAV?',
      'pm :SENS1:CHAN1:POW:REF:STAT?',
      'pm :SYST:ERR?',
      'ls :SOUR2:POW:STAT?',
      'ls :SOUR2:WAV?',
    ]);

    log.length = 0;
    const readings: FiberReading[] = await measureAllFibers(bench, ref, [1, 2, 3, 4, 5, 6, 7, 8], [1310, 1550], 'A', () => {});
    expect(readings.map((r) => [r.wavelengthNm, r.measuredDbm, r.lossDb])).toEqual([...sweep(1310).map(() => [1310, -20, 0]), ...sweep(1550).map(() => [1550, -30, 0])]);
    const atJob = lightAtEachReading(log);
    expect(atJob.lit).toEqual([...sweep(1310), ...sweep(1550)]);
    expect(atJob.sourceOnAtEnd).toBe(false);
    expect(source.emittingAt()).toBeNull();
  });

  it('a reading that fails: the job fails with it and the source is off at the end', async () => {
    const { bench, log, source, served } = await simulatedBench();
    const ref = await takeReference(bench);
    log.length = 0;
    const err = await measureAllFibers(bench, ref, [1, 2, 3, 4, 5, 6, 7, 8], [1310, 1550], 'A', () => {}, (fiber, wl) => {
      // The 3rd fiber's reading at 1550 nm comes back garbled twice: the retry fails too.
      if (wl === 1550 && fiber === 3) served.pm.inject({ kind: 'garble', count: 2 });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReplyError);
    expect(err).toMatchObject({ context: { command: ':READ1:CHAN1:POW?' } });
    const { lit, sourceOnAtEnd } = lightAtEachReading(log);
    // 8 readings at 1310; at 1550 two good, then the 3rd fiber's two garbled: every one in the sweep's own light.
    expect(lit).toEqual([...sweep(1310), 1550, 1550, 1550, 1550]);
    expect(sourceOnAtEnd).toBe(false);
    expect(log.at(-1)).toBe('ls :SOUR2:POW:STAT?');
    expect(source.emittingAt()).toBeNull();
  });

  it('a source that cannot be set to the sweep wavelength fails the job with its error: nothing measured in the wrong light, the source off', async () => {
    const { bench, log, source } = await simulatedBench({ sourceRangeNm: [1260, 1360] });
    const err = await takeReference(bench).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect(err).toMatchObject({ context: { command: ':SOUR2:WAV 1550NM', received: '-222,"Data out of range"' } });
    const { lit, sourceOnAtEnd } = lightAtEachReading(log);
    // The 1310 sweep ran; at 1550 the meter never read.
    expect(lit).toEqual(sweep(1310));
    expect(log.slice(log.indexOf('ls :SOUR2:WAV 1550NM')).some((l) => l.startsWith('pm '))).toBe(false);
    expect(sourceOnAtEnd).toBe(false);
    expect(source.emittingAt()).toBeNull();
  });

  it('the light source role must name a light source on the bench (BAD_ROLE)', async () => {
    await expect(simulatedBench({ lightSource: 'pm' })).rejects.toMatchObject({ code: 'BAD_ROLE', message: 'instrument "pm" is not a light source' });
    const missing = await simulatedBench({ lightSource: 'ls2' }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(JobRefusedError);
    expect(missing).toMatchObject({ code: 'BAD_ROLE', message: 'no instrument "ls2" on bench "b1" for the light source' });
  });

  it('the config accepts lightSource on both switched methods', () => {
    const cfg = resolveConfig(
      {
        dataDir: 'data',
        http: { token: 'a-token-of-16-chars' },
        benches: [
          {
            id: 'b1',
            method: { kind: 'switch-and-meter', powerMeter: 'pm', switch: 'sw', lightSource: 'ls' },
            instruments: [
              { id: 'pm', dialect: 'keysight-8163b-meter', transport: { kind: 'tcp', host: '10.0.0.5', port: 5025 }, slot: 1 },
              { id: 'ls', dialect: 'keysight-8163b-source', transport: { kind: 'tcp', host: '10.0.0.5', port: 5025 }, slot: 2, dualWavelengthNm: [1310, 1550] },
              { id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'serial', path: '/dev/ttyUSB0' } },
            ],
            operator: { kind: 'manual' },
          },
          {
            id: 'b2',
            method: { kind: 'switch-and-multiport-meter', multiPortMeter: 'mpm', switch: 'sw', lightSource: 'ls' },
            instruments: [
              { id: 'mpm', dialect: 'santec-mpm-210h', transport: { kind: 'tcp', host: '10.0.0.6', port: 5000 } },
              { id: 'ls', dialect: 'keysight-8163b-source', transport: { kind: 'tcp', host: '10.0.0.7', port: 5025 } },
              { id: 'sw', dialect: 'dicon-mems-switch', transport: { kind: 'serial', path: '/dev/ttyUSB1' } },
            ],
            operator: { kind: 'manual' },
          },
        ],
      },
      '/tmp/mpocert-light-source-test.json',
    );
    expect(cfg.benches.map((b) => ('lightSource' in b.method ? b.method.lightSource : undefined))).toEqual(['ls', 'ls']);
  });
});
