import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulatedBench, type SimulatedBench } from '../../fixtures/simulators/bench.js';
import { serveLossTestSet, type ServedLossTestSet } from '../../fixtures/simulators/modbus-lts-sim.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { createInstrument } from '../../drivers/registry.js';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { loadProfile, validateProfile, encodeValue, decodeValue } from '../../drivers/modbus-profile.js';
import { InstrumentReplyError, InstrumentReportedError, ConfigError } from '../../src/errors.js';
import type { LossTestSet } from '../../src/instruments/capabilities.js';
import { loadAssembly } from '../../fixtures/dut/assembly-model.js';

const good = loadAssembly('mtp12-om4-good');

describe('Modbus loss-test set, reference profile, via the bench', () => {
  let bench: SimulatedBench;
  let lts: LossTestSet;
  beforeAll(async () => {
    bench = await startSimulatedBench({ ltsPort: 0 });
    const t = bench.lossTestSet!;
    lts = createInstrument({ id: 'lts', dialect: 'modbus-loss-test-set', transport: { kind: 'modbus-tcp', host: t.host, port: t.port, unitId: t.unitId }, timeoutMs: 500 }) as LossTestSet;
    await lts.connect();
  });
  afterEach(() => bench.devices.lossTestSet!.faults.clear());
  afterAll(async () => {
    await lts?.close();
    await bench?.close();
  });

  it('references without DUT and measures exact per-fiber losses and type-B polarity', async () => {
    expect(await lts.fiberCount()).toBe(12);
    bench.control_('DUT REMOVE');
    await lts.reference([850, 1300]);
    bench.control_('DUT INSERT mtp12-om4-good');
    const r850 = await lts.measureAll(850);
    expect(r850.map((r) => r.lossDb)).toEqual(good.lossDb['850']);
    expect(r850.map((r) => r.receivedAt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(r850[0]!.powerDbm).toBeCloseTo(-20 - 0.1 - 0.21, 4);
    const r1300 = await lts.measureAll(1300);
    expect(r1300.map((r) => r.lossDb)).toEqual(good.lossDb['1300']);
    expect(lts.status().state).toBe('online');
  });

  it('reports dark fibers as receivedAt null and swapped polarity as measured', async () => {
    bench.control_('DUT INSERT mtp12-om4-dark-fiber-5');
    const r = await lts.measureAll(850);
    expect(r[4]!.receivedAt).toBeNull();
    expect(Number.isNaN(r[4]!.lossDb)).toBe(true);
    bench.control_('DUT INSERT mtp12-om4-polarity-swap-3-4');
    const s = await lts.measureAll(850);
    expect(s[2]!.receivedAt).toBe(9);
    expect(s[3]!.receivedAt).toBe(10);
  });

  it('rejects a torn result block read once, then returns the consistent block', async () => {
    bench.control_('DUT INSERT mtp12-om4-good');
    bench.inject('lts', { kind: 'torn' });
    const r = await lts.measureAll(850);
    expect(r.map((x) => x.lossDb)).toEqual(good.lossDb['850']);
  });

  it('surfaces an exception by name, retries BUSY and a dropped reply', async () => {
    bench.inject('lts', { kind: 'exception', arg: 4 });
    const err = await lts.fiberCount().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect((err as InstrumentReportedError).context.exception).toBe('SERVER DEVICE FAILURE');
    expect((err as InstrumentReportedError).describe()).toMatch(/port=modbus-tcp:\/\/127\.0\.0\.1:\d+.*command=read input 3\+1 unit 1/);
    bench.inject('lts', { kind: 'exception', arg: 6 });
    expect(await lts.fiberCount()).toBe(12);
    bench.inject('lts', { kind: 'drop' });
    expect(await lts.fiberCount()).toBe(12);
    bench.inject('lts', { kind: 'late', arg: 800 });
    expect(await lts.fiberCount()).toBe(12);
    bench.inject('lts', { kind: 'disconnect', arg: 0 });
    expect(await lts.fiberCount()).toBe(12);
  });

  it('measuring at a wavelength with no reference is a reported error', async () => {
    await expect(lts.measureAll(1310)).rejects.toThrow(/error 1 \(no reference stored/);
  });
});

describe('a second device with a different map works by adding only a profile file', () => {
  let sim: ServedLossTestSet;
  let lts: ModbusLossTestSet;
  const model = new OpticalBench({ channels: 12 });
  beforeAll(async () => {
    sim = await serveLossTestSet({ model, profile: 'acme-lts2-cdab', unitId: 7 });
    lts = createInstrument({
      id: 'acme',
      dialect: 'modbus-loss-test-set',
      transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: sim.port, unitId: 7 },
      profile: 'acme-lts2-cdab',
      timeoutMs: 500,
    }) as ModbusLossTestSet;
    await lts.connect();
  });
  afterAll(async () => {
    await lts?.close();
    await sim?.close();
  });

  it('reads the same results (losses at 0.01 dB resolution, CDAB powers)', async () => {
    await lts.reference([850]);
    model.insertDut('mtp12-om4-fiber7-0.9dB');
    const r = await lts.measureAll(850);
    expect(r[6]!.lossDb).toBe(0.9);
    expect(r.map((x) => x.lossDb)).toEqual(loadAssembly('mtp12-om4-fiber7-0.9dB').lossDb['850']);
    expect(r[6]!.powerDbm).toBeCloseTo(-20 - 0.12 - 0.9, 4);
    // The raw bytes really are CDAB: low word first at protocol address 2300 (register 2301, 1-based).
    const p = lts.profile.registers.power;
    const words = [sim.peek('holding', 2300)!, sim.peek('holding', 2301)!];
    expect(decodeValue(p, words)).toBeCloseTo(-20 - 0.1 - 0.21, 4);
    expect(decodeValue({ ...p, wordOrder: 'ABCD' }, words)).not.toBeCloseTo(-20.31, 1);
  });
});

describe('profile validation', () => {
  it('loads both shipped profiles', () => {
    expect(loadProfile('mpocert-reference').registers.loss.count).toBe(24);
    expect(loadProfile('acme-lts2-cdab').addressBase).toBe(1);
  });
  it('rejects overlap, bad access, unknown fields and unknown names', () => {
    const p = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    p.registers.power.address = 20;
    expect(() => validateProfile(p)).toThrow(/overlap/);
    const q = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    q.registers.command.access = 'r';
    expect(() => validateProfile(q)).toThrow(/writable/);
    const r = structuredClone(loadProfile('mpocert-reference')) as Record<string, any>;
    r.registers.loss.dataType = 'float64';
    expect(() => validateProfile(r)).toThrow(ConfigError);
    expect(() => loadProfile('no-such-profile')).toThrow(/unknown register-map profile/);
  });
  it('encodes and decodes every data type and word order', () => {
    const base = { address: 0, type: 'input' as const, access: 'r' as const };
    expect(encodeValue({ ...base, dataType: 'float32', wordOrder: 'ABCD' }, 1)).toEqual([0x3f80, 0]);
    expect(encodeValue({ ...base, dataType: 'float32', wordOrder: 'CDAB' }, 1)).toEqual([0, 0x3f80]);
    expect(encodeValue({ ...base, dataType: 'int16', scale: 0.01 }, -0.9)).toEqual([0xffa6]);
    expect(decodeValue({ ...base, dataType: 'int16', scale: 0.01 }, [0xffa6])).toBe(-0.9);
    expect(decodeValue({ ...base, dataType: 'uint32', wordOrder: 'CDAB' }, [1, 2])).toBe(0x20001);
    expect(decodeValue({ ...base, dataType: 'int32' }, [0xffff, 0xfffe])).toBe(-2);
    expect(decodeValue({ ...base, dataType: 'uint16', scale: 2, offset: -1 }, [5])).toBe(9);
  });
});

describe('InstrumentReplyError on a bad fiber count', () => {
  it('is a reply error class', () => expect(new InstrumentReplyError('x')).toBeInstanceOf(InstrumentReplyError));
});
