/**
 * Modbus RTU / TCP through modbus-serial, with the library's measured pitfalls handled:
 * - requests are serialized per bus (one queue per TCP host:port or serial path, across unit ids);
 * - a timeout is always set;
 * - after a timeout, a dropped link or "Port Not Open", the client is thrown away and a new one
 *   is made for the next request (a late reply can never be taken as the answer to the next one);
 * - a link that closes under a pending request fails it at once with InstrumentDisconnectedError
 *   (modbus-serial itself would only time out), and a dropped link (peer closed, cannot open) is
 *   reopened in the background, 200 ms doubling to at most 1 s between attempts, so `status()`
 *   reads 'online' again within about a second of the peer coming back, with no request needed.
 *   The same after a timeout (a new TCP connection never sees the old one's late reply; on RTU
 *   the receive buffer is emptied before every request, so a late reply that reaches the reopened
 *   port is discarded rather than taken as the next answer).
 * - exception codes are surfaced by name (InstrumentReportedError, context.exception);
 * - the reply length is checked against the request.
 */
import { createRequire } from 'node:module';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import {
  InstrumentDisconnectedError,
  InstrumentError,
  InstrumentReplyError,
  InstrumentReportedError,
  InstrumentTimeoutError,
  type ErrorContext,
} from '../errors.js';
import type { LinkState, TransportLogger } from './line-transport.js';

// modbus-serial is CommonJS (module.exports = ModbusRTU): load the constructor through require.
const ModbusRTUCtor = createRequire(import.meta.url)('modbus-serial') as typeof ModbusRTU;

export type ModbusEndpoint =
  | { kind: 'modbus-tcp'; host: string; port: number }
  | { kind: 'modbus-rtu'; path: string; baudRate?: number; dataBits?: 5 | 6 | 7 | 8; parity?: 'none' | 'even' | 'odd' | 'mark' | 'space'; stopBits?: 1 | 1.5 | 2 };

export const MODBUS_EXCEPTIONS: Readonly<Record<number, string>> = {
  1: 'ILLEGAL FUNCTION',
  2: 'ILLEGAL DATA ADDRESS',
  3: 'ILLEGAL DATA VALUE',
  4: 'SERVER DEVICE FAILURE',
  5: 'ACKNOWLEDGE',
  6: 'SERVER DEVICE BUSY',
  8: 'MEMORY PARITY ERROR',
  10: 'GATEWAY PATH UNAVAILABLE',
  11: 'GATEWAY TARGET DEVICE FAILED TO RESPOND',
};

/**
 * modbus-serial's buffered RTU port keeps bytes that arrived with no request pending and parses
 * the next reply out of them: requests are serialized, so anything there now is stale (a late
 * reply): drop it. (No-op for TCP and for versions without that buffer.)
 */
function discardStaleBytes(c: ModbusRTU): void {
  const port = (c as unknown as { _port?: { _buffer?: unknown } })._port;
  if (port && Buffer.isBuffer(port._buffer) && port._buffer.length > 0) port._buffer = Buffer.alloc(0);
}

export function describeModbusEndpoint(e: ModbusEndpoint): string {
  return e.kind === 'modbus-tcp' ? `modbus-tcp://${e.host}:${e.port}` : `modbus-rtu:${e.path}`;
}

export interface ModbusBusOptions {
  timeoutMs?: number;
  logger?: TransportLogger;
}

export interface ModbusBusStatus {
  port: string;
  state: LinkState;
  reconnects: number;
  timeouts: number;
  lastError?: { message: string; code: string; at: string };
}

type RegisterType = 'holding' | 'input';

export class ModbusBus {
  readonly port: string;
  private client: ModbusRTU | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private state: LinkState = 'offline';
  private everConnected = false;
  private readonly stats = { reconnects: 0, timeouts: 0 };
  private lastError: ModbusBusStatus['lastError'];
  private readonly timeoutMs: number;
  private users = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs = 200;
  /** Fails the request in progress (set while one runs). */
  private abortPending: ((err: Error) => void) | undefined;

  private static readonly buses = new Map<string, ModbusBus>();

  /** One bus object per physical bus: drivers for several unit ids on one RS-485 line share it. */
  static shared(endpoint: ModbusEndpoint, opts: ModbusBusOptions = {}): ModbusBus {
    const key = describeModbusEndpoint(endpoint);
    let bus = ModbusBus.buses.get(key);
    if (!bus) {
      bus = new ModbusBus(endpoint, opts);
      ModbusBus.buses.set(key, bus);
    }
    bus.users++;
    return bus;
  }

  constructor(
    private readonly endpoint: ModbusEndpoint,
    private readonly opts: ModbusBusOptions = {},
  ) {
    this.port = describeModbusEndpoint(endpoint);
    this.timeoutMs = opts.timeoutMs ?? 1000;
  }

  status(): ModbusBusStatus {
    return { port: this.port, state: this.state, ...this.stats, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  readRegisters(unitId: number, type: RegisterType, address: number, length: number, timeoutMs?: number): Promise<number[]> {
    const command = `read ${type} ${address}+${length} unit ${unitId}`;
    if (length < 1 || length > 125) throw new InstrumentReplyError(`cannot read ${length} registers in one request (1..125)`, { port: this.port, command });
    return this.run(command, unitId, timeoutMs, async (c) => {
      const r = type === 'holding' ? await c.readHoldingRegisters(address, length) : await c.readInputRegisters(address, length);
      if (!Array.isArray(r.data) || r.data.length !== length) {
        throw new InstrumentReplyError(`expected ${length} registers, got ${Array.isArray(r.data) ? r.data.length : 'none'}`, {
          port: this.port,
          command,
          received: JSON.stringify(r.data),
        });
      }
      return r.data;
    });
  }

  writeRegisters(unitId: number, address: number, values: number[], timeoutMs?: number): Promise<void> {
    const command = `write holding ${address}=[${values.join(',')}] unit ${unitId}`;
    if (values.length < 1 || values.length > 123) throw new InstrumentReplyError(`cannot write ${values.length} registers in one request (1..123)`, { port: this.port, command });
    return this.run(command, unitId, timeoutMs, async (c) => {
      const r = await c.writeRegisters(address, values);
      if (r.address !== address || r.length !== values.length) {
        throw new InstrumentReplyError(`write echo mismatch (address ${r.address}, length ${r.length})`, { port: this.port, command, received: JSON.stringify(r) });
      }
    });
  }

  async close(): Promise<void> {
    this.users = Math.max(0, this.users - 1);
    if (this.users > 0) return;
    if (ModbusBus.buses.get(this.port) === this) ModbusBus.buses.delete(this.port);
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    await this.queue.catch(() => undefined);
    await this.drop();
  }

  private async drop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 500);
      try {
        c.close(() => {
          clearTimeout(t);
          resolve();
        });
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }

  private async connect(command: string): Promise<ModbusRTU> {
    if (this.client?.isOpen) return this.client;
    await this.drop();
    this.state = this.everConnected ? 'reconnecting' : 'connecting';
    const c = new ModbusRTUCtor();
    try {
      const e = this.endpoint;
      if (e.kind === 'modbus-tcp') {
        await c.connectTCP(e.host, { port: e.port });
      } else {
        await c.connectRTUBuffered(e.path, {
          baudRate: e.baudRate ?? 19200,
          dataBits: e.dataBits ?? 8,
          parity: e.parity ?? 'even',
          stopBits: e.stopBits ?? 1,
        });
      }
    } catch (err) {
      if (!this.isClosed()) this.state = this.everConnected ? 'reconnecting' : 'offline';
      if (this.everConnected) this.scheduleReconnect();
      try {
        c.close(() => undefined);
      } catch {
        /* already closed */
      }
      throw new InstrumentDisconnectedError(`cannot open ${this.port}: ${(err as Error).message}`, { port: this.port, command }, { cause: err });
    }
    c.setTimeout(this.timeoutMs);
    c.on('close', () => this.onClientClose(c));
    c.on('error', () => undefined);
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    this.client = c;
    if (this.isClosed()) {
      await this.drop();
      throw new InstrumentDisconnectedError('bus closed', { port: this.port, command });
    }
    this.state = 'online';
    this.backoffMs = 200;
    this.opts.logger?.info?.({ port: this.port }, 'modbus link open');
    return c;
  }

  /** close() may run while a connect is in progress: read the state through a call, not a narrowed type. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  /** The peer closed the link (TCP connection dropped, serial port gone). */
  private onClientClose(c: ModbusRTU): void {
    if (this.client !== c) return;
    this.client = undefined;
    try {
      c.close(() => undefined);
    } catch {
      /* already closed */
    }
    if (this.state === 'closed') return;
    this.state = 'reconnecting';
    this.opts.logger?.warn?.({ port: this.port }, 'modbus link dropped');
    this.abortPending?.(Object.assign(new Error('connection closed by peer'), { name: 'PeerClosedError' }));
    this.scheduleReconnect();
  }

  /** Reopens a dropped link in the background (inside the queue, so never under a request). */
  private scheduleReconnect(): void {
    if (this.state === 'closed' || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 1000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.state === 'closed' || this.client?.isOpen) return;
      const task = this.queue.then(async () => {
        if (this.state === 'closed' || this.client?.isOpen) return;
        await this.connect('(reconnect)');
      });
      this.queue = task.catch(() => undefined);
      // connect() schedules the next attempt itself when it fails.
      task.catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }

  private run<T>(command: string, unitId: number, timeoutMs: number | undefined, fn: (c: ModbusRTU) => Promise<T>): Promise<T> {
    const task = this.queue.then(async () => {
      if (this.state === 'closed') throw new InstrumentDisconnectedError('bus closed', { port: this.port, command });
      const c = await this.connect(command);
      c.setID(unitId);
      c.setTimeout(timeoutMs ?? this.timeoutMs);
      discardStaleBytes(c);
      // The request fails as soon as the link closes under it (see onClientClose).
      const closed = new Promise<never>((_, reject) => (this.abortPending = reject));
      try {
        return await Promise.race([fn(c), closed]);
      } catch (err) {
        throw await this.translate(err, command, unitId);
      } finally {
        this.abortPending = undefined;
      }
    });
    this.queue = task.catch(() => undefined);
    return task.catch((err: unknown) => {
      if (err instanceof InstrumentError) this.lastError = { message: err.describe(), code: err.code, at: new Date().toISOString() };
      throw err;
    });
  }

  private async translate(err: unknown, command: string, unitId: number): Promise<Error> {
    if (err instanceof InstrumentError) return err;
    const e = err as { name?: string; message?: string; modbusCode?: number; errno?: string };
    const ctx: ErrorContext = { port: this.port, command, unitId };
    if (typeof e.modbusCode === 'number') {
      const name = MODBUS_EXCEPTIONS[e.modbusCode] ?? `EXCEPTION ${e.modbusCode}`;
      return new InstrumentReportedError(`Modbus exception ${e.modbusCode} ${name}`, { ...ctx, exception: name, exceptionCode: e.modbusCode, received: `exception ${e.modbusCode}` }, { cause: err });
    }
    // Tell a timeout apart by its name (it also carries errno ETIMEDOUT); drop the client so a late reply cannot be matched.
    if (e.name === 'TransactionTimedOutError') {
      this.stats.timeouts++;
      if (!this.isClosed()) this.state = 'reconnecting';
      await this.drop();
      this.scheduleReconnect();
      return new InstrumentTimeoutError(`no reply from ${this.port} unit ${unitId} within ${this.timeoutMs} ms`, { ...ctx, received: '(nothing)' }, { cause: err });
    }
    if (/data length error|crc|bad/i.test(e.message ?? '')) {
      await this.drop();
      return new InstrumentReplyError(`bad Modbus reply: ${e.message}`, { ...ctx, received: e.message }, { cause: err });
    }
    if (this.state !== 'closed') this.state = 'reconnecting';
    await this.drop();
    this.scheduleReconnect();
    return new InstrumentDisconnectedError(`${this.port}: ${e.message ?? String(err)}`, { ...ctx, received: e.errno }, { cause: err });
  }
}
