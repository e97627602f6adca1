/** Conformance with independent peers: pymodbus serves a register map the driver reads; mbpoll reads our simulator. */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { loadProfile, widthOf } from '../../drivers/modbus-profile.js';
import { firstFiberCount, resultBlockRegisters, startPymodbus } from '../helpers/pymodbus.js';
import { serveLossTestSet } from '../../fixtures/simulators/modbus-lts-sim.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { ModbusBus } from '../../src/transport/modbus-bus.js';

const run = promisify(execFile);
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('a third-party peer that cannot start', () => {
  it('fails naming the peer and its import error, not with a missing value', async () => {
    // What a machine without python3-serial does: the import of pyserial fails at start-up.
    const dir = mkdtempSync(join(tmpdir(), 'no-pyserial-'));
    mkdirSync(join(dir, 'serial'));
    writeFileSync(join(dir, 'serial', '__init__.py'), 'raise ModuleNotFoundError("No module named \'serial\'")\n');
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const err = await startPymodbus([String(await freePort())], { 0: 12 }, undefined, { PYTHONPATH: dir }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^python3-pymodbus server exited \(code 1\): .*ModuleNotFoundError: No module named 'serial'.*install-test-deps\.sh/);
  });
});

describe('the driver reads a register map served by python3-pymodbus', () => {
  it('decodes fiber count, per-fiber floats and positions exactly', async () => {
    const profile = loadProfile('mpocert-reference');
    const input = resultBlockRegisters(profile, { fibers: 12, sequence: 41, loss: (i) => 0.25 + i / 100, power: (i) => -20.5 - i / 10, receivedAt: (i) => 12 - i });
    const port = await freePort();
    const py = await startPymodbus([String(port)], input);
    cleanups.push(() => py.close());
    const lts = new ModbusLossTestSet({ id: 'py', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1 }, profile, timeoutMs: 1000 });
    cleanups.push(() => lts.close());
    const n = await firstFiberCount(lts, py);
    expect(n).toBe(12);
    const block = await lts.readResultBlock(850);
    expect(block.map((r) => r.lossDb)).toEqual(Array.from({ length: 12 }, (_, i) => Number((0.25 + i / 100).toPrecision(7))));
    expect(block.map((r) => r.receivedAt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(block[3]!.powerDbm).toBeCloseTo(-20.8, 5);
    // unmapped address: the exception is named
    const bus = new ModbusBus({ kind: 'modbus-tcp', host: '127.0.0.1', port }, { timeoutMs: 1000 });
    cleanups.push(() => bus.close());
    await expect(bus.readRegisters(1, 'input', 5000, 2)).rejects.toMatchObject({ context: { exception: 'ILLEGAL DATA ADDRESS' } });
  });
});

describe('mbpoll reads the Modbus simulator with agreeing values', () => {
  it('float32 ABCD losses and uint16 fields agree', async () => {
    const model = new OpticalBench({ channels: 12 });
    const sim = await serveLossTestSet({ model, profile: 'mpocert-reference', unitId: 1 });
    cleanups.push(() => sim.close());
    const lts = new ModbusLossTestSet({ id: 'sim', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port: sim.port, unitId: 1 }, profile: 'mpocert-reference' });
    cleanups.push(() => lts.close());
    await lts.reference([850]);
    model.insertDut('mtp12-om4-good');
    const ours = await lts.measureAll(850);
    // mbpoll numbers references from 1: protocol address 10 = reference 11. -B = big-endian word order (ABCD).
    const { stdout } = await run('mbpoll', ['-m', 'tcp', '-a', '1', '-t', '3:float', '-B', '-r', '11', '-c', '12', '-1', '-p', String(sim.port), '127.0.0.1'], { timeout: 20_000 });
    const theirs = [...stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)].map((m) => Number(Number(m[2]).toPrecision(6)));
    expect(theirs).toEqual(ours.map((r) => Number(r.lossDb.toPrecision(6))));
    const u = await run('mbpoll', ['-m', 'tcp', '-a', '1', '-t', '3', '-r', '111', '-c', '12', '-1', '-p', String(sim.port), '127.0.0.1'], { timeout: 20_000 });
    const pos = [...u.stdout.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)].map((m) => Number(m[2]));
    expect(pos).toEqual(ours.map((r) => r.receivedAt));
    expect(widthOf(sim.profile.registers.loss)).toBe(2);
  });
});
