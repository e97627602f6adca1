/** Conformance with independent peers: pymodbus serves a register map the driver reads; mbpoll reads our simulator. */
import { afterEach, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import net from 'node:net';
import path from 'node:path';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { encodeValue, loadProfile, protocolAddress, widthOf, type Role } from '../../drivers/modbus-profile.js';
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

describe('the driver reads a register map served by python3-pymodbus', () => {
  it('decodes fiber count, per-fiber floats and positions exactly', async () => {
    const profile = loadProfile('mpocert-reference');
    const input: Record<number, number> = {};
    const put = (role: Role, value: number, i = 0): void => {
      const r = profile.registers[role];
      encodeValue(r, value).forEach((w, k) => (input[protocolAddress(profile, r, i) + k] = w));
    };
    put('fiberCount', 12);
    put('sequence', 41);
    put('sequenceEnd', 41);
    for (let i = 0; i < 24; i++) {
      put('loss', i < 12 ? 0.25 + i / 100 : 0, i);
      put('power', i < 12 ? -20.5 - i / 10 : 0, i);
      put('receivedAt', i < 12 ? 12 - i : 0, i);
    }
    const port = await freePort();
    const py = spawn('/usr/bin/python3', [path.resolve('test/helpers/pymodbus-server.py'), String(port), JSON.stringify({ input })], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      py.kill('SIGKILL');
    });
    let stderr = '';
    py.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      py.stdout.on('data', (d: Buffer) => d.toString().includes('READY') && resolve());
      py.on('exit', (c) => reject(new Error(`pymodbus exited ${c}: ${stderr}`)));
    });
    const lts = new ModbusLossTestSet({ id: 'py', transport: { kind: 'modbus-tcp', host: '127.0.0.1', port, unitId: 1 }, profile, timeoutMs: 1000 });
    cleanups.push(() => lts.close());
    // the server needs a moment after READY to listen
    let n: number | undefined;
    for (let i = 0; i < 50 && n === undefined; i++) {
      n = await lts.fiberCount().catch(() => undefined);
      if (n === undefined) await new Promise((r) => setTimeout(r, 100));
    }
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
