/**
 * Pins the one private field of modbus-serial the bus reaches into (see discardStaleBytes):
 * with the pinned version, the RTU buffered port keeps unsolicited bytes in `_port._buffer`
 * and parses the next reply out of them. If an upgrade renames or drops that buffer, this test
 * fails instead of stale bytes silently becoming the next answer.
 */
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { SerialPort } from 'serialport';
import net from 'node:net';
import { ModbusBus, discardStaleBytes } from '../../src/transport/modbus-bus.js';
import { closeAllPtys, ptyPair } from '../helpers/pty.js';

afterAll(closeAllPtys);
const require = createRequire(import.meta.url);

describe('modbus-serial private buffer (pinned version)', () => {
  it('is 8.0.25, keeps unsolicited RTU bytes in _port._buffer, and discardStaleBytes empties it', async () => {
    const pkg = JSON.parse(readFileSync(require.resolve('modbus-serial/package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe('8.0.25');
    const pty = await ptyPair();
    const device = new SerialPort({ path: pty.deviceEnd, baudRate: 19200 });
    await new Promise<void>((r, j) => device.once('open', r).once('error', j));
    const Ctor = require('modbus-serial') as typeof ModbusRTU;
    const c = new Ctor();
    await c.connectRTUBuffered(pty.hostEnd, { baudRate: 19200 });
    try {
      device.write(Buffer.from([0x01, 0x03, 0x02, 0x00, 0x2a, 0x38, 0x5b])); // a late reply
      const port = (c as unknown as { _port?: { _buffer?: Buffer } })._port;
      for (let i = 0; i < 50 && !(port?._buffer && port._buffer.length >= 7); i++) await new Promise((r) => setTimeout(r, 20));
      expect(Buffer.isBuffer(port?._buffer)).toBe(true);
      expect(port!._buffer!.length).toBe(7);
      discardStaleBytes(c);
      expect(port!._buffer!.length).toBe(0);
    } finally {
      await new Promise<void>((r) => c.close(() => r()));
      await new Promise<void>((r) => device.close(() => r()));
    }
  });
});

describe('ModbusBus timeouts', () => {
  it('reports the timeout it applied: the per-request one, not the bus default', async () => {
    const silent = net.createServer((s) => s.on('data', () => undefined));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const bus = new ModbusBus({ kind: 'modbus-tcp', host: '127.0.0.1', port }, { timeoutMs: 5000 });
    try {
      const started = Date.now();
      const err = await bus.readRegisters(1, 'holding', 0, 2, 150).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INSTRUMENT_TIMEOUT', context: { timeoutMs: 150, command: 'read holding 0+2 unit 1' } });
      expect((err as Error).message).toContain('within 150 ms');
      expect(Date.now() - started).toBeLessThan(5000);
      expect(bus.status()).toMatchObject({ timeouts: 1, lastError: { code: 'INSTRUMENT_TIMEOUT' } });
    } finally {
      await bus.close();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
