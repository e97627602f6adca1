/**
 * Line transport: text request/reply over a raw TCP socket or a serial port.
 *
 * Guarantees:
 * - one request at a time per port (a FIFO queue);
 * - a timeout on every request;
 * - a reply is matched to its request: lines that arrive while no request is pending are dropped
 *   (counted in `strayLines`), and after a timeout the link is treated as hung: it is closed and
 *   reopened before the next request, and the `onOpen` hook (drivers use it to resync with a
 *   query whose reply is recognisable) runs first, so a late reply is drained, never handed to
 *   the next request;
 * - reconnect with exponential backoff after a disconnect or a hung port (the 'close' event is
 *   not relied on: a request timeout closes the link itself);
 * - errors are typed (src/errors.ts) and carry `port`, `command` and what came back (`received`).
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { ReadlineParser } from '@serialport/parser-readline';
import {
  InstrumentDisconnectedError,
  InstrumentError,
  InstrumentTimeoutError,
  type ErrorContext,
} from '../errors.js';

export type TcpEndpoint = { kind: 'tcp'; host: string; port: number };
export type SerialEndpoint = {
  kind: 'serial';
  path: string;
  baudRate?: number;
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  rtscts?: boolean;
};
export type LineEndpoint = TcpEndpoint | SerialEndpoint;

/** pino-compatible subset; every method optional. */
export interface TransportLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export type LinkState = 'offline' | 'connecting' | 'online' | 'reconnecting' | 'closed';

export interface LineTransportOptions {
  endpoint: LineEndpoint;
  /** Appended to every command. Default "\n". */
  writeTerminator?: string;
  /** Reply line delimiter. Default "\n"; a trailing CR (and a leading LF when the delimiter is CR) is stripped. */
  readDelimiter?: string;
  /** Default request timeout. Default 2000 ms. */
  timeoutMs?: number;
  /** Timeout for opening the port / TCP connect. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Ignore empty lines (DiCon precedes replies with one). Default false. */
  skipEmptyLines?: boolean;
  /** Drop lines equal to a recently sent command (instruments with echo on). Default false. */
  stripEcho?: boolean;
  /** Background reconnect backoff. Defaults: 200 ms doubling to 5000 ms. Set `enabled: false` to reconnect only on demand. */
  reconnect?: { enabled?: boolean; initialDelayMs?: number; maxDelayMs?: number; factor?: number };
  /**
   * Runs after every (re)open, inside the queue, before any queued request. Use it to resync
   * (a query whose reply is recognisable, with `accept`) and to re-apply settings the instrument
   * may have lost. A rejection closes the link and fails the request that triggered the open.
   */
  onOpen?: (session: LineSession) => Promise<void>;
  logger?: TransportLogger;
}

export interface RequestOptions {
  timeoutMs?: number;
  /** Number of reply lines to collect. Default 1. Ignored when `until` is given. 0 = no reply expected. */
  lines?: number;
  /** Collect lines until this returns true for the lines so far. */
  until?: (lines: string[]) => boolean;
  /** Lines for which this returns false are discarded (resync: skip anything before the expected reply). */
  accept?: (line: string) => boolean;
}

/** Direct access to the link while holding the queue (used by `onOpen` hooks). */
export interface LineSession {
  readonly port: string;
  exchange(command: string, opts?: RequestOptions): Promise<string[]>;
  query(command: string, opts?: Omit<RequestOptions, 'lines' | 'until'>): Promise<string>;
  send(command: string): Promise<void>;
}

export interface LineTransportStatus {
  port: string;
  state: LinkState;
  connectedSince?: string;
  reconnects: number;
  strayLines: number;
  timeouts: number;
  lastError?: { message: string; code: string; at: string };
}

/** What the transport needs from a byte link. */
interface Link extends EventEmitter {
  write(data: Buffer): Promise<void>;
  destroy(): Promise<void>;
}

export function describeEndpoint(e: LineEndpoint): string {
  return e.kind === 'tcp' ? `tcp://${e.host}:${e.port}` : e.path;
}

function errContext(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

class TcpLink extends EventEmitter implements Link {
  private socket: net.Socket | undefined;
  private closed = false;

  static async open(e: TcpEndpoint, delimiter: string, timeoutMs: number): Promise<TcpLink> {
    const link = new TcpLink();
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect({ host: e.host, port: e.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        link.attach(socket, delimiter);
        resolve();
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
    return link;
  }

  private attach(socket: net.Socket, delimiter: string): void {
    this.socket = socket;
    const parser = socket.pipe(new ReadlineParser({ delimiter, encoding: 'latin1' }));
    parser.on('data', (line: string) => this.emit('line', line));
    socket.on('error', (err) => this.gone(err));
    socket.on('close', () => this.gone(new Error('connection closed by peer')));
    socket.on('end', () => this.gone(new Error('connection ended by peer')));
  }

  private gone(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.socket?.destroy();
    this.emit('down', err);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = this.socket;
      if (!s || this.closed || s.destroyed) return reject(new Error('socket not open'));
      s.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  async destroy(): Promise<void> {
    this.closed = true;
    this.socket?.destroy();
  }
}

class SerialLink extends EventEmitter implements Link {
  private port: SerialPort | undefined;
  private closed = false;

  static async open(e: SerialEndpoint, delimiter: string, timeoutMs: number): Promise<SerialLink> {
    const link = new SerialLink();
    const port = new SerialPort({
      path: e.path,
      baudRate: e.baudRate ?? 9600,
      dataBits: e.dataBits ?? 8,
      parity: e.parity ?? 'none',
      stopBits: e.stopBits ?? 1,
      rtscts: e.rtscts ?? false,
      // An exclusive lock (flock on Linux): a second program, or a second daemon, on the same
      // instrument would interleave commands with ours and read our replies.
      lock: true,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`open timed out after ${timeoutMs} ms`)), timeoutMs);
      port.open((err) => {
        clearTimeout(timer);
        if (err && /Cannot lock port/.test(err.message)) reject(new Error(`${e.path} is in use by another program (its exclusive lock is held): one owner per instrument`));
        else if (err) reject(err);
        else resolve();
      });
    });
    // Discard whatever the kernel buffered before we (re)opened: stale replies must not leak.
    await new Promise<void>((resolve) => port.flush(() => resolve()));
    link.port = port;
    const parser = port.pipe(new ReadlineParser({ delimiter, encoding: 'latin1' }));
    parser.on('data', (line: string) => link.emit('line', line));
    port.on('error', (err) => link.gone(err));
    port.on('close', (err: unknown) => link.gone(err instanceof Error ? err : new Error('port closed')));
    return link;
  }

  private gone(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.port;
    if (p?.isOpen) p.close(() => undefined);
    this.emit('down', err);
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const p = this.port;
      if (!p || this.closed || !p.isOpen) return reject(new Error('port not open'));
      p.write(data, (err) => {
        if (err) return reject(err);
        resolve();
      });
    });
  }

  async destroy(): Promise<void> {
    this.closed = true;
    const p = this.port;
    if (p?.isOpen) await new Promise<void>((resolve) => p.close(() => resolve()));
  }
}

interface Pending {
  command: string;
  lines: string[];
  done: (lines: string[]) => boolean;
  accept: ((line: string) => boolean) | undefined;
  resolve: (lines: string[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export class LineTransport extends EventEmitter {
  readonly port: string;
  private readonly o: Required<Omit<LineTransportOptions, 'onOpen' | 'logger' | 'reconnect'>> & LineTransportOptions;
  private link: Link | undefined;
  private state: LinkState = 'offline';
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private recentWrites: string[] = [];
  private reconnectTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private everConnected = false;
  private readonly stats = { reconnects: 0, strayLines: 0, timeouts: 0 };
  private connectedSince: string | undefined;
  private lastError: LineTransportStatus['lastError'];

  constructor(opts: LineTransportOptions) {
    super();
    this.o = {
      writeTerminator: '\n',
      readDelimiter: '\n',
      timeoutMs: 2000,
      connectTimeoutMs: 3000,
      skipEmptyLines: false,
      stripEcho: false,
      ...opts,
    };
    this.port = describeEndpoint(opts.endpoint);
    this.backoffMs = opts.reconnect?.initialDelayMs ?? 200;
  }

  status(): LineTransportStatus {
    return {
      port: this.port,
      state: this.state,
      ...(this.connectedSince ? { connectedSince: this.connectedSince } : {}),
      ...this.stats,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }

  get isOpen(): boolean {
    return this.link !== undefined;
  }

  /** Opens the link (and runs onOpen). Rejects with InstrumentDisconnectedError if it cannot. */
  open(): Promise<void> {
    if (this.state === 'closed') this.state = 'offline';
    return this.enqueue('(open)', () => this.ensureOpen('(open)'));
  }

  /** Sends one command and collects its reply lines. */
  request(command: string, opts: RequestOptions = {}): Promise<string[]> {
    return this.enqueue(command, async () => {
      await this.ensureOpen(command);
      return this.exchange(command, opts);
    });
  }

  /** One command, one reply line. */
  async query(command: string, opts: Omit<RequestOptions, 'lines' | 'until'> = {}): Promise<string> {
    const lines = await this.request(command, { ...opts, lines: 1 });
    return lines[0] ?? '';
  }

  /** A command with no reply. */
  async send(command: string): Promise<void> {
    await this.request(command, { lines: 0 });
  }

  /** Runs several exchanges without letting other requests interleave (e.g. INIT then FETC?). */
  transaction<T>(label: string, fn: (s: LineSession) => Promise<T>): Promise<T> {
    return this.enqueue(label, async () => {
      await this.ensureOpen(label);
      return fn(this.session());
    });
  }

  async close(): Promise<void> {
    this.state = 'closed';
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const link = this.link;
    this.link = undefined;
    this.failPending(new InstrumentDisconnectedError('transport closed', { port: this.port, command: this.pending?.command }));
    await link?.destroy();
  }

  private session(): LineSession {
    return {
      port: this.port,
      exchange: (c, o) => this.exchange(c, o),
      query: async (c, o) => (await this.exchange(c, { ...o, lines: 1 }))[0] ?? '',
      send: async (c) => {
        await this.exchange(c, { lines: 0 });
      },
    };
  }

  private enqueue<T>(label: string, fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.state === 'closed') {
        throw new InstrumentDisconnectedError('transport closed', { port: this.port, command: label });
      }
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      if (err instanceof InstrumentError) {
        this.lastError = { message: err.describe(), code: err.code, at: new Date().toISOString() };
      }
      throw err;
    });
  }

  private async ensureOpen(command: string): Promise<void> {
    if (this.link) return;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    this.state = this.everConnected ? 'reconnecting' : 'connecting';
    const { endpoint, readDelimiter, connectTimeoutMs } = this.o;
    let link: Link;
    try {
      link =
        endpoint.kind === 'tcp'
          ? await TcpLink.open(endpoint, readDelimiter, connectTimeoutMs)
          : await SerialLink.open(endpoint, readDelimiter, connectTimeoutMs);
    } catch (err) {
      this.state = this.everConnected ? 'reconnecting' : 'offline';
      this.scheduleReconnect();
      throw new InstrumentDisconnectedError(`cannot open ${this.port}: ${errContext(err)}`, { port: this.port, command }, { cause: err });
    }
    this.link = link;
    link.on('line', (l: string) => this.onLine(link, l));
    link.once('down', (err: Error) => this.onDown(link, err));
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
    try {
      if (this.o.onOpen) await this.o.onOpen(this.session());
    } catch (err) {
      await this.dropLink(link, 'onOpen failed');
      throw err;
    }
    this.state = 'online';
    this.connectedSince = new Date().toISOString();
    this.backoffMs = this.o.reconnect?.initialDelayMs ?? 200;
    this.o.logger?.info?.({ port: this.port }, 'instrument link open');
    this.emit('online');
  }

  private scheduleReconnect(): void {
    if (this.state === 'closed' || this.o.reconnect?.enabled === false || this.reconnectTimer) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * (this.o.reconnect?.factor ?? 2), this.o.reconnect?.maxDelayMs ?? 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.link || this.state === 'closed') return;
      this.enqueue('(reconnect)', () => this.ensureOpen('(reconnect)')).catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }

  private async dropLink(link: Link, why: string): Promise<void> {
    if (this.link === link) this.link = undefined;
    this.connectedSince = undefined;
    if (this.state !== 'closed') this.state = 'reconnecting';
    this.o.logger?.warn?.({ port: this.port, why }, 'instrument link dropped');
    await link.destroy().catch(() => undefined);
    this.scheduleReconnect();
  }

  private onDown(link: Link, err: Error): void {
    if (this.link !== link) return;
    this.failPending(
      new InstrumentDisconnectedError(`${this.port} disconnected: ${err.message}`, {
        port: this.port,
        command: this.pending?.command,
        received: this.pending?.lines.join('\\n'),
      }),
    );
    void this.dropLink(link, err.message);
  }

  private failPending(err: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.reject(err);
  }

  private onLine(link: Link, raw: string): void {
    if (link !== this.link) return;
    let line = raw;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.o.readDelimiter === '\r' && line.startsWith('\n')) line = line.slice(1);
    const p = this.pending;
    if (!p) {
      if (line !== '' || !this.o.skipEmptyLines) {
        this.stats.strayLines++;
        this.o.logger?.debug?.({ port: this.port, line }, 'stray line dropped');
      }
      return;
    }
    if (line === '' && this.o.skipEmptyLines) return;
    if (this.o.stripEcho && this.recentWrites.includes(line)) return;
    if (p.accept && !p.accept(line)) {
      this.stats.strayLines++;
      return;
    }
    p.lines.push(line);
    if (p.done(p.lines)) {
      this.pending = undefined;
      clearTimeout(p.timer);
      p.resolve(p.lines);
    }
  }

  /** Writes one command and waits for its reply. Caller must hold the queue. */
  private async exchange(command: string, opts: RequestOptions = {}): Promise<string[]> {
    const link = this.link;
    const ctx: ErrorContext = { port: this.port, command };
    if (!link) throw new InstrumentDisconnectedError(`${this.port} is not open`, ctx);
    const want = opts.lines ?? 1;
    const timeoutMs = opts.timeoutMs ?? this.o.timeoutMs;
    if (this.o.stripEcho) {
      this.recentWrites.push(command);
      if (this.recentWrites.length > 8) this.recentWrites.shift();
    }
    const data = Buffer.from(command + this.o.writeTerminator, 'latin1');
    if (!opts.until && want === 0) {
      try {
        await link.write(data);
      } catch (err) {
        await this.dropLink(link, errContext(err));
        throw new InstrumentDisconnectedError(`write failed on ${this.port}: ${errContext(err)}`, ctx, { cause: err });
      }
      return [];
    }
    const reply = new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending;
        if (!p || p.timer !== timer) return;
        this.pending = undefined;
        this.stats.timeouts++;
        reject(
          new InstrumentTimeoutError(`no complete reply from ${this.port} within ${timeoutMs} ms`, {
            ...ctx,
            timeoutMs,
            received: p.lines.length ? p.lines.join('\\n') : '(nothing)',
          }),
        );
        // A hung port or a reply still on its way: close and reopen before the next request.
        void this.dropLink(link, `timeout on ${command}`);
      }, timeoutMs);
      this.pending = {
        command,
        lines: [],
        done: opts.until ?? ((lines) => lines.length >= want),
        accept: opts.accept,
        resolve,
        reject,
        timer,
      };
    });
    try {
      await link.write(data);
    } catch (err) {
      this.failPending(new InstrumentDisconnectedError(`write failed on ${this.port}: ${errContext(err)}`, ctx, { cause: err }));
      await this.dropLink(link, errContext(err));
    }
    return reply;
  }
}

/**
 * SerialPort.list() spawns udevadm and can crash the process where udev is missing: only call it
 * when udev is present, and never let it throw.
 */
export async function listSerialPorts(): Promise<{ path: string; manufacturer?: string }[]> {
  const fs = await import('node:fs');
  if (!fs.existsSync('/run/udev/control') && process.platform === 'linux') return [];
  try {
    const ports = await SerialPort.list();
    return ports.map((p) => ({ path: p.path, ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}) }));
  } catch {
    return [];
  }
}
