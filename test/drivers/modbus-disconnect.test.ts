/**
 * Modbus `disconnect <ms>`: the simulator really drops the link (TCP: connections closed and new
 * ones refused; RTU: the socat pty disappears) for <ms>, then comes back on the same port / path.
 * The driver reports the disconnect with a typed error and is 'online' again within 2 s of the
 * simulator's return, without being asked anything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import fs from 'node:fs';
import { ModbusLossTestSet } from '../../drivers/modbus-loss-test-set.js';
import { serveLossTestSet } from '../../fixtures/simulators/modbus-lts-sim.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { InstrumentDisconnectedError, InstrumentTimeoutError } from '../../src/errors.js';
import { ModbusBus } from '../../src/transport/modbus-bus.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

for (const transport of ['tcp', 'pty'] as const) {
  describe(`Modbus disconnect fault over ${transport === 'tcp' ? 'TCP' : 'RTU on a pty'}`, () => {
    it('drops the link, refuses it for <ms>, returns on the same port; the driver reports it and is online within 2 s', async () => {
      const model = new OpticalBench({ channels: 12 });
      const sim = await serveLossTestSet({ model, profile: 'mpocert-reference', unitId: 1, transport });
      cleanups.push(() => sim.close());
      const endpoint = sim.endpoint;
      const lts = new ModbusLossTestSet({
        id: 'lts',
        transport: endpoint.kind === 'modbus-tcp' ? { ...endpoint, unitId: 1 } : { ...endpoint, unitId: 1 },
        profile: 'mpocert-reference',
        timeoutMs: 1000,
      });
      cleanups.push(() => lts.close());
      await lts.connect();
      expect(lts.status().state).toBe('online');

      const awayMs = 1500;
      sim.inject({ kind: 'disconnect', arg: awayMs });
      const t0 = Date.now();
      const err = await lts.fiberCount().catch((e: unknown) => e);
      // Typed, fast (the link closing fails the request at once: not a 1 s timeout per attempt).
      expect(err).toBeInstanceOf(InstrumentDisconnectedError);
      expect((err as InstrumentDisconnectedError).context.port).toBe(endpoint.kind === 'modbus-tcp' ? `modbus-tcp://127.0.0.1:${endpoint.port}` : `modbus-rtu:${endpoint.path}`);
      expect(Date.now() - t0).toBeLessThan(awayMs);
      expect(sim.away).toBe(true);
      expect(lts.status().state).toBe('reconnecting');
      expect(lts.status().lastError?.code).toBeDefined();
      // Really gone while away: TCP refuses connections, the pty link path does not exist.
      if (endpoint.kind === 'modbus-tcp') expect(await refused(endpoint.port)).toBe(true);
      else expect(fs.existsSync(endpoint.path)).toBe(false);
      // Another request while away is also a typed disconnect.
      await expect(lts.fiberCount()).rejects.toBeInstanceOf(InstrumentDisconnectedError);

      await waitFor('the simulator to return', () => !sim.away, awayMs + 5000);
      const back = sim.lastReturnAt!;
      expect(back - t0).toBeGreaterThanOrEqual(awayMs - 50);
      // Back online in the background, no request needed.
      await waitFor('status online', () => lts.status().state === 'online', 2000 + Math.max(0, back - Date.now()));
      expect(Date.now() - back).toBeLessThan(2000);
      expect(await lts.fiberCount()).toBe(12);
      if (endpoint.kind === 'modbus-tcp') expect(sim.endpoint).toEqual(endpoint);
    });
  });
}

describe('after a timeout the bus reopens in the background', () => {
  for (const transport of ['tcp', 'pty'] as const) {
    it(`is online again within 2 s with no request, and a late reply is never the next answer (${transport})`, async () => {
      const model = new OpticalBench({ channels: 12 });
      const sim = await serveLossTestSet({ model, profile: 'mpocert-reference', unitId: 1, transport });
      cleanups.push(() => sim.close());
      const e = sim.endpoint;
      const lts = new ModbusLossTestSet({ id: 'lts', transport: { ...e, unitId: 1 }, profile: 'mpocert-reference', timeoutMs: 300 });
      cleanups.push(() => lts.close());
      await lts.connect();
      // Both attempts of fiberCount unanswered: a timeout error, the link is thrown away.
      sim.inject({ kind: 'drop', count: 2 });
      await expect(lts.fiberCount()).rejects.toBeInstanceOf(InstrumentTimeoutError);
      expect(lts.status().state).toBe('reconnecting');
      await waitFor('status online', () => lts.status().state === 'online', 2000);
      // A reply that comes after its timeout (fiberCount = 12) must never answer the next request
      // of the same shape (sequence, still 0 here).
      const bus = ModbusBus.shared(e);
      cleanups.push(() => bus.close());
      sim.inject({ kind: 'late', arg: 450 });
      await expect(bus.readRegisters(1, 'input', 3, 1, 300)).rejects.toBeInstanceOf(InstrumentTimeoutError);
      await sleep(600);
      expect(await bus.readRegisters(1, 'input', 4, 1)).toEqual([0]);
      expect(await lts.fiberCount()).toBe(12);
    });
  }
});
