/**
 * Modbus RTU / TCP through modbus-serial, with the library's measured pitfalls handled. The
 * queue, the link state, the backoff and the error stamp are the shared transport primitives
 * (RequestQueue, LinkSupervisor, Waitress) also used by the line transport; this file describes
 * what is Modbus-specific:
 * - requests are serialized per bus (one queue per TCP host:port or serial path, across unit ids);
 * - a timeout is always set, and the one reported is the one applied (per request, or the
 *   bus default); a guard one second longer fails the request if the library never settles;
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
import { LinkSupervisor, type LinkState, type TransportLogger } from './link-supervisor.js';
import { RequestQueue } from './request-queue.js';
import { Waitress } from './waitress.js';

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
 * reply): drop it. (No-op for TCP and for versions without that buffer.) This reaches into a
 * private field of modbus-serial 8.0.25 (`client._port._buffer`, a Buffer on the RTU buffered
 * port); test/transport/modbus-bus.test.ts pins that the field exists and behaves so for the
 * pinned version, so an upgrade that changes it fails a test instead of silently keeping stale
 * bytes.
 */
export function discardStaleBytes(c: ModbusRTU): void {
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
  private readonly queue = new RequestQueue();
  private readonly link: LinkSupervisor;
  /** The request in flight: failed at once when the link closes under it, or by the guard timeout. */
  private readonly inflight = new Waitress<never>();
  private readonly timeoutMs: number;
  private users = 0;

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
    opts: ModbusBusOptions = {},
  ) {
    this.port = describeModbusEndpoint(endpoint);
    this.timeoutMs = opts.timeoutMs ?? 1000;
    this.link = new LinkSupervisor({
      port: this.port,
      label: 'modbus link',
      // Reopened within about a second of the peer coming back, with no request needed.
      backoff: { initialDelayMs: 200, maxDelayMs: 1000, factor: 2 },
      ...(opts.logger ? { logger: opts.logger } : {}),
      reopen: () =>
        this.queue.run(async () => {
          if (this.link.closed || this.client?.isOpen) return;
          await this.connect('(reconnect)');
        }),
    });
  }

  status(): ModbusBusStatus {
    const { port, state, reconnects, timeouts, lastError } = this.link.status();
    return { port, state, reconnects, timeouts, ...(lastError ? { lastError } : {}) };
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
    this.link.close();
    await this.queue.drained();
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
    this.link.opening();
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
      this.link.openFailed();
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
    this.link.linkUp();
    this.client = c;
    if (this.link.closed) {
      await this.drop();
      throw new InstrumentDisconnectedError('bus closed', { port: this.port, command });
    }
    this.link.ready();
    return c;
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
    if (this.link.closed) return;
    this.inflight.rejectAll(() => Object.assign(new Error('connection closed by peer'), { name: 'PeerClosedError' }));
    this.link.dropped('connection closed by peer');
  }

  private run<T>(command: string, unitId: number, timeoutMs: number | undefined, fn: (c: ModbusRTU) => Promise<T>): Promise<T> {
    const applied = timeoutMs ?? this.timeoutMs;
    return this.queue
      .run(async () => {
        if (this.link.closed) throw new InstrumentDisconnectedError('bus closed', { port: this.port, command });
        const c = await this.connect(command);
        c.setID(unitId);
        c.setTimeout(applied);
        discardStaleBytes(c);
        // Fails as soon as the link closes under the request (onClientClose), or if the library
        // never settles at all (the guard, a second after its own timeout).
        const guard = this.inflight.waitFor({
          done: () => false,
          timeoutMs: applied + 1000,
          onTimeout: () => Object.assign(new Error(`modbus-serial did not settle within ${applied + 1000} ms`), { name: 'TransactionTimedOutError' }),
        });
        try {
          return await Promise.race([fn(c), guard.then(() => never())]);
        } catch (err) {
          throw await this.translate(err, command, unitId, applied);
        } finally {
          this.inflight.rejectAll(() => new Error('request settled'));
          guard.catch(() => undefined);
        }
      })
      .catch((err: unknown) => {
        this.link.noteError(err);
        throw err;
      });
  }

  private async translate(err: unknown, command: string, unitId: number, timeoutMs: number): Promise<Error> {
    if (err instanceof InstrumentError) {
      // A reply of the wrong length or echo may be a misframed one: never parse the next reply
      // out of what is left of it.
      if (err instanceof InstrumentReplyError) await this.drop();
      return err;
    }
    const e = err as { name?: string; message?: string; modbusCode?: number; errno?: string };
    const ctx: ErrorContext = { port: this.port, command, unitId };
    if (typeof e.modbusCode === 'number') {
      const name = MODBUS_EXCEPTIONS[e.modbusCode] ?? `EXCEPTION ${e.modbusCode}`;
      return new InstrumentReportedError(`Modbus exception ${e.modbusCode} ${name}`, { ...ctx, exception: name, exceptionCode: e.modbusCode, received: `exception ${e.modbusCode}` }, { cause: err });
    }
    // Tell a timeout apart by its name (it also carries errno ETIMEDOUT); drop the client so a late reply cannot be matched.
    if (e.name === 'TransactionTimedOutError') {
      this.link.timedOut();
      await this.drop();
      this.link.dropped(`timeout on ${command}`);
      return new InstrumentTimeoutError(`no reply from ${this.port} unit ${unitId} within ${timeoutMs} ms`, { ...ctx, timeoutMs, received: '(nothing)' }, { cause: err });
    }
    if (/data length error|crc|bad/i.test(e.message ?? '')) {
      await this.drop();
      return new InstrumentReplyError(`bad Modbus reply: ${e.message}`, { ...ctx, received: e.message }, { cause: err });
    }
    await this.drop();
    this.link.dropped(e.message ?? String(err));
    return new InstrumentDisconnectedError(`${this.port}: ${e.message ?? String(err)}`, { ...ctx, received: e.errno }, { cause: err });
  }
}

function never(): never {
  throw new Error('unreachable: the guard only rejects');
}
