/**
 * Line transport: text request/reply over a raw TCP socket or a serial port (byte-links.ts).
 * It describes the framing only (terminators, echo, empty lines, multi-line replies); the
 * shared primitives do the rest:
 * - RequestQueue: one request at a time per port;
 * - Waitress: a reply is matched to its request; lines that arrive while no request is pending,
 *   or that the request does not accept, are dropped (counted in `strayLines`);
 * - LinkSupervisor: state, reconnect with exponential backoff (the 'close' event is not relied
 *   on: a request timeout closes the link itself), statistics and the last error.
 * After a timeout the link is treated as hung: it is closed and reopened before the next
 * request, and the `onOpen` hook (drivers use it to resync with a query whose reply is
 * recognisable) runs first, so a late reply is drained, never handed to the next request.
 * Errors are typed (src/errors.ts) and carry `port`, `command` and what came back (`received`).
 */
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { InstrumentDisconnectedError, InstrumentTimeoutError, type ErrorContext } from '../errors.js';
import { describeEndpoint, openLink, type Link, type LineEndpoint } from './byte-links.js';
import { LinkSupervisor, type BackoffOptions, type LinkState, type LinkStatus, type TransportLogger } from './link-supervisor.js';
import { RequestQueue } from './request-queue.js';
import { Waitress } from './waitress.js';

export { describeEndpoint, type Link, type LineEndpoint, type MemoryEndpoint, type SerialEndpoint, type TcpEndpoint } from './byte-links.js';
export type { LinkState, TransportLogger } from './link-supervisor.js';

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
  reconnect?: BackoffOptions;
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

/** Direct access to the link while holding the queue (used by `onOpen` hooks and transactions). */
export interface LineSession {
  readonly port: string;
  exchange(command: string, opts?: RequestOptions): Promise<string[]>;
  query(command: string, opts?: Omit<RequestOptions, 'lines' | 'until'>): Promise<string>;
  send(command: string): Promise<void>;
}

export type LineTransportStatus = LinkStatus;

function errContext(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Emits 'online' each time the link is open and resynced. */
export class LineTransport extends EventEmitter {
  readonly port: string;
  private readonly o: LineTransportOptions & { writeTerminator: string; readDelimiter: string; timeoutMs: number; connectTimeoutMs: number };
  private link: Link | undefined;
  private readonly queue = new RequestQueue();
  private readonly replies = new Waitress<string>();
  private readonly link$: LinkSupervisor;
  private recentWrites: string[] = [];
  /** The command whose reply is awaited (error context when the link drops under it). */
  private awaiting: string | undefined;

  constructor(opts: LineTransportOptions) {
    super();
    this.o = { writeTerminator: '\n', readDelimiter: '\n', timeoutMs: 2000, connectTimeoutMs: 3000, ...opts };
    this.port = describeEndpoint(opts.endpoint);
    this.link$ = new LinkSupervisor({
      port: this.port,
      ...(opts.reconnect ? { backoff: opts.reconnect } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
      reopen: () => this.enqueue('(reconnect)', () => this.ensureOpen('(reconnect)')),
      onReady: () => this.emit('online'),
    });
  }

  status(): LineTransportStatus {
    return this.link$.status();
  }

  get state(): LinkState {
    return this.link$.state;
  }

  get isOpen(): boolean {
    return this.link !== undefined;
  }

  /** Opens the link (and runs onOpen). Rejects with InstrumentDisconnectedError if it cannot. */
  open(): Promise<void> {
    this.link$.reset();
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
    this.link$.close();
    const link = this.link;
    this.link = undefined;
    this.replies.rejectAll(() => new InstrumentDisconnectedError('transport closed', { port: this.port, command: this.awaiting }));
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
    return this.queue
      .run(() => {
        if (this.link$.closed) throw new InstrumentDisconnectedError('transport closed', { port: this.port, command: label });
        return fn();
      })
      .catch((err: unknown) => {
        this.link$.noteError(err);
        throw err;
      });
  }

  private async ensureOpen(command: string): Promise<void> {
    if (this.link) return;
    this.link$.opening();
    const { endpoint, readDelimiter, connectTimeoutMs } = this.o;
    let link: Link;
    try {
      link = await openLink(endpoint, readDelimiter, connectTimeoutMs);
    } catch (err) {
      this.link$.openFailed();
      throw new InstrumentDisconnectedError(`cannot open ${this.port}: ${errContext(err)}`, { port: this.port, command }, { cause: err });
    }
    if (this.link$.closed) {
      // close() ran while the port was opening: nothing may keep it open (or locked) after close.
      await link.destroy().catch(() => undefined);
      throw new InstrumentDisconnectedError('transport closed', { port: this.port, command });
    }
    this.link = link;
    link.on('line', (l: string) => this.onLine(link, l));
    link.once('down', (err: Error) => this.onDown(link, err));
    this.link$.linkUp();
    try {
      if (this.o.onOpen) await this.o.onOpen(this.session());
    } catch (err) {
      await this.dropLink(link, 'onOpen failed');
      throw err;
    }
    if (this.link$.closed) {
      await this.dropLink(link, 'closed while opening');
      throw new InstrumentDisconnectedError('transport closed', { port: this.port, command });
    }
    this.link$.ready();
  }

  private async dropLink(link: Link, why: string): Promise<void> {
    if (this.link === link) this.link = undefined;
    this.link$.dropped(why);
    await link.destroy().catch(() => undefined);
  }

  private onDown(link: Link, err: Error): void {
    if (this.link !== link) return;
    this.replies.rejectAll(
      (partial) =>
        new InstrumentDisconnectedError(`${this.port} disconnected: ${err.message}`, {
          port: this.port,
          command: this.awaiting,
          received: partial.join('\\n'),
        }),
    );
    void this.dropLink(link, err.message);
  }

  private onLine(link: Link, raw: string): void {
    if (link !== this.link) return;
    let line = raw;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (this.o.readDelimiter === '\r' && line.startsWith('\n')) line = line.slice(1);
    if (line === '' && this.o.skipEmptyLines) return;
    if (this.replies.pending && this.o.stripEcho && this.recentWrites.includes(line)) return;
    if (!this.replies.offer(line)) {
      this.link$.stray();
      this.o.logger?.debug?.({ port: this.port, line }, 'stray line dropped');
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
    const writeFailed = async (err: unknown): Promise<InstrumentDisconnectedError> => {
      await this.dropLink(link, errContext(err));
      return new InstrumentDisconnectedError(`write failed on ${this.port}: ${errContext(err)}`, ctx, { cause: err });
    };
    if (!opts.until && want === 0) {
      try {
        await link.write(data);
      } catch (err) {
        throw await writeFailed(err);
      }
      return [];
    }
    this.awaiting = command;
    const reply = this.replies.waitFor({
      ...(opts.accept ? { accept: opts.accept } : {}),
      done: opts.until ?? ((lines) => lines.length >= want),
      timeoutMs,
      onTimeout: (partial) => {
        this.link$.timedOut();
        // A hung port or a reply still on its way: close and reopen before the next request.
        void this.dropLink(link, `timeout on ${command}`);
        return new InstrumentTimeoutError(`no complete reply from ${this.port} within ${timeoutMs} ms`, {
          ...ctx,
          timeoutMs,
          received: partial.length ? partial.join('\\n') : '(nothing)',
        });
      },
    });
    // The write and the reply are awaited together (a fast instrument may answer before the
    // write callback fires), and both before the queue moves on: a write that fails late fails
    // this request's reply, never the next request's.
    const written = link.write(data).then(
      () => undefined,
      async (err: unknown) => {
        const e = await writeFailed(err);
        this.replies.rejectAll(() => e);
      },
    );
    try {
      const [lines] = await Promise.all([reply, written]);
      return lines;
    } finally {
      this.awaiting = undefined;
    }
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
