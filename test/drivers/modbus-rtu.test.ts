/**
 * Modbus RTU over socat ptys with the real native serialport binding: the loss-test-set
 * simulator framing RTU on the device end, python3-pymodbus as an independent RTU peer, and two
 * unit ids sharing one bus (requests serialized across unit ids).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createInstrument } from '../../drivers/registry.js';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { loadProfile } from '../../drivers/modbus-profile.js';
import { firstFiberCount, resultBlockRegisters, startPymodbus } from '../helpers/pymodbus.js';
import { crc16, serveLossTestSet } from '../../fixtures/simulators/modbus-lts-sim.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { loadAssembly } from '../../fixtures/dut/assembly-model.js';
import { InstrumentReportedError, InstrumentTimeoutError } from '../../src/errors.js';
import { ModbusBus } from '../../src/transport/modbus-bus.js';
import { closeAllPtys, ptyPair } from '../helpers/pty.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(closeAllPtys);

const good = loadAssembly('mtp12-om4-good');

function rtuPath(e: { kind: string; path?: string }): string {
  if (e.kind !== 'modbus-rtu' || !e.path) throw new Error(`not an RTU endpoint: ${JSON.stringify(e)}`);
  return e.path;
}

describe('CRC-16/MODBUS', () => {
  it('matches the reference frame 01 03 00 00 00 01 -> CRC 84 0A', () => {
    expect(crc16(Buffer.from([1, 3, 0, 0, 0, 1]))).toBe(0x0a84);
  });
});

describe('the driver over Modbus RTU on a socat pty (native serialport binding)', () => {
  it('references, measures exact losses, names exceptions, survives a dropped and a garbled reply', async () => {
    const model = new OpticalBench({ channels: 12 });
    const sim = await serveLossTestSet({ model, profile: 'mpocert-reference', unitId: 1, transport: 'pty' });
    cleanups.push(() => sim.close());
    expect(sim.endpoint.kind).toBe('modbus-rtu');
    const lts = createInstrument({
      id: 'lts-rtu',
      dialect: 'modbus-loss-test-set',
      transport: { kind: 'modbus-rtu', path: rtuPath(sim.endpoint), unitId: 1 },
      timeoutMs: 500,
    }) as ModbusLossTestSet;
    cleanups.push(() => lts.close());
    expect((await lts.connect()).raw).toMatch(/12 fibers/);
    expect(lts.status()).toMatchObject({ state: 'online', port: `modbus-rtu:${rtuPath(sim.endpoint)}#1` });
    await lts.reference([850]);
    model.insertDut('mtp12-om4-good');
    const r = await lts.measureAll(850);
    expect(r.map((x) => x.lossDb)).toEqual(good.lossDb['850']);
    expect(r.map((x) => x.receivedAt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);

    sim.inject({ kind: 'exception', arg: 2 });
    const err = await lts.fiberCount().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentReportedError);
    expect((err as InstrumentReportedError).context).toMatchObject({ exception: 'ILLEGAL DATA ADDRESS', unitId: 1 });
    sim.inject({ kind: 'drop' });
    expect(await lts.fiberCount()).toBe(12);
    sim.inject({ kind: 'garble' });
    expect(await lts.fiberCount()).toBe(12);
    sim.inject({ kind: 'torn' });
    expect((await lts.readResultBlock(850)).map((x) => x.lossDb)).toEqual(good.lossDb['850']);
    expect(lts.status().state).toBe('online');
  });

  it('serializes requests across two unit ids on one RTU bus', async () => {
    const model1 = new OpticalBench({ channels: 12 });
    const model2 = new OpticalBench({ channels: 8 });
    // replyDelayMs widens the window in which an unserialized second request would overlap.
    const sim = await serveLossTestSet({ model: model1, profile: 'mpocert-reference', unitId: 1, units: [{ unitId: 2, model: model2 }], transport: 'pty', replyDelayMs: 3 });
    cleanups.push(() => sim.close());
    const p = rtuPath(sim.endpoint);
    const a = new ModbusLossTestSet({ id: 'a', transport: { kind: 'modbus-rtu', path: p, unitId: 1 }, profile: 'mpocert-reference', timeoutMs: 1000 });
    const b = new ModbusLossTestSet({ id: 'b', transport: { kind: 'modbus-rtu', path: p, unitId: 2 }, profile: 'mpocert-reference', timeoutMs: 1000 });
    cleanups.push(() => a.close(), () => b.close());
    // Everything at once: command cycles and polls of both units interleave on the one line.
    const [na, nb] = await Promise.all([a.connect(), b.connect()]);
    expect(na.raw).toMatch(/12 fibers/);
    expect(nb.raw).toMatch(/8 fibers/);
    await Promise.all([a.reference([850, 1300]), b.reference([850])]);
    model1.insertDut('mtp12-om4-good');
    const counts = Array.from({ length: 10 }, (_, i) => (i % 2 ? a.fiberCount() : b.fiberCount()));
    const [ra, rb, ...n] = await Promise.all([a.measureAll(850), b.measureAll(850), ...counts]);
    expect(n).toEqual(Array.from({ length: 10 }, (_, i) => (i % 2 ? 12 : 8)));
    expect(ra!.map((x) => x.lossDb)).toEqual(good.lossDb['850']);
    expect(rb).toHaveLength(8);
    expect(rb!.every((x) => x.lossDb === 0 && x.receivedAt !== null)).toBe(true);
    // The device never saw a request while it was still answering the previous one.
    expect(sim.stats.maxInFlight).toBe(1);
    expect(sim.stats.byUnit[1]).toBeGreaterThan(20);
    expect(sim.stats.byUnit[2]).toBeGreaterThan(20);
    expect(a.status().state).toBe('online');
    expect(b.status().state).toBe('online');
  });
});

describe('the driver reads a register map served by python3-pymodbus over RTU on a pty (8N1)', () => {
  it('decodes fiber count, per-fiber floats and positions; names an exception', async () => {
    const profile = loadProfile('mpocert-reference');
    const input = resultBlockRegisters(profile, { fibers: 12, sequence: 7, loss: (i) => 0.3 + i / 50, power: (i) => -20.25 - i / 4, receivedAt: (i) => i + 1 });
    const pair = await ptyPair();
    const py = await startPymodbus(['--rtu', pair.deviceEnd], input, 5);
    cleanups.push(() => py.close());
    // pymodbus applies 8N1 on its end; the driver is told the same explicitly (its RTU default is 8E1).
    const lts = new ModbusLossTestSet({
      id: 'py-rtu',
      transport: { kind: 'modbus-rtu', path: pair.hostEnd, baudRate: 19200, dataBits: 8, parity: 'none', stopBits: 1, unitId: 5 },
      profile,
      timeoutMs: 1000,
    });
    cleanups.push(() => lts.close());
    const n = await firstFiberCount(lts, py);
    expect(n, py.stderr()).toBe(12);
    const block = await lts.readResultBlock(1300);
    expect(block.map((r) => r.lossDb)).toEqual(Array.from({ length: 12 }, (_, i) => Number(Math.fround(0.3 + i / 50).toPrecision(7))));
    expect(block.map((r) => r.receivedAt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(block[4]!.powerDbm).toBe(-21.25);
    const bus = ModbusBus.shared({ kind: 'modbus-rtu', path: pair.hostEnd, parity: 'none' });
    cleanups.push(() => bus.close());
    await expect(bus.readRegisters(5, 'input', 5000, 2)).rejects.toMatchObject({ context: { exception: 'ILLEGAL DATA ADDRESS', unitId: 5 } });
    // A unit id nobody answers on the line: a timeout, and the bus recovers for the next request.
    await expect(bus.readRegisters(9, 'input', 0, 1, 300)).rejects.toBeInstanceOf(InstrumentTimeoutError);
    expect(await lts.fiberCount()).toBe(12);
  });
});
