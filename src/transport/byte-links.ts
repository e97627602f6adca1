/**
 * Byte links under the line transport: a raw TCP socket or a serial port, split into lines by
 * @serialport/parser-readline. A link emits 'line' for each line and 'down' once, when it is
 * gone for whatever reason (peer closed, unplugged, error); it never reconnects itself: the
 * transport's LinkSupervisor decides that.
 */
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { SerialPort } from 'serialport';
import { ReadlineParser } from '@serialport/parser-readline';

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
/**
 * A link made by code rather than opened from a path (in-memory transcript tests, a link layered
 * on another). Never reachable from a config file: the config schema allows tcp and serial only.
 */
export type MemoryEndpoint = { kind: 'memory'; name: string; open: () => Promise<Link> };
export type LineEndpoint = TcpEndpoint | SerialEndpoint | MemoryEndpoint;

export function describeEndpoint(e: LineEndpoint): string {
  return e.kind === 'tcp' ? `tcp://${e.host}:${e.port}` : e.kind === 'memory' ? `memory:${e.name}` : e.path;
}

/** What the transport needs from a byte link: it emits 'line' (one reply line) and 'down' (once, with an Error). */
export interface Link extends EventEmitter {
  write(data: Buffer): Promise<void>;
  destroy(): Promise<void>;
}

export class TcpLink extends EventEmitter implements Link {
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

export class SerialLink extends EventEmitter implements Link {
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


export function openLink(e: LineEndpoint, delimiter: string, timeoutMs: number): Promise<Link> {
  if (e.kind === 'memory') return e.open();
  return e.kind === 'tcp' ? TcpLink.open(e, delimiter, timeoutMs) : SerialLink.open(e, delimiter, timeoutMs);
}
