import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SerialPort } from 'serialport';
import { LineTransport } from '../../src/transport/line-transport.js';
import { InstrumentDisconnectedError, InstrumentTimeoutError } from '../../src/errors.js';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.js';
import { closeAllPtys, ptyPair } from '../helpers/pty.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!().catch(() => undefined);
});
afterAll(closeAllPtys);

async function peer(reply: Parameters<typeof startScriptedPeer>[1], term = '\n'): Promise<ScriptedPeer> {
  const p = await startScriptedPeer(term, reply);
  cleanups.push(() => p.close());
  return p;
}
function transport(port: number, extra: Partial<ConstructorParameters<typeof LineTransport>[0]> = {}): LineTransport {
  const t = new LineTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port }, timeoutMs: 1000, reconnect: { enabled: false }, ...extra });
  cleanups.push(() => t.close());
  return t;
}

describe('LineTransport over TCP', () => {
  it('serializes concurrent requests and matches each reply to its request', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const p = await peer((l) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return { after: 5, bytes: `R:${l}\n` };
    });
    const t = transport(p.port, {
      onOpen: async () => {
        inFlight = 0;
      },
    });
    // Count replies delivered to decrement inFlight.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.query(`Q${i}`).then((r) => {
          inFlight--;
          return r;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => `R:Q${i}`));
    expect(maxInFlight).toBe(1);
    expect(p.bytesIn()).toBe(Array.from({ length: 20 }, (_, i) => `Q${i}\n`).join(''));
  });

  it('times out with port, command and what came back, then drains the late reply', async () => {
    const p = await peer((l) => (l === 'SLOW?' ? { after: 400, bytes: 'late-value\n' } : `R:${l}\n`));
    const t = transport(p.port, { timeoutMs: 150 });
    const err = await t.query('SLOW?').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentTimeoutError);
    const ctx = (err as InstrumentTimeoutError).context;
    expect(ctx.port).toBe(`tcp://127.0.0.1:${p.port}`);
    expect(ctx.command).toBe('SLOW?');
    expect(ctx.received).toBe('(nothing)');
    // The next request must get its own reply even though the late one is on its way.
    await new Promise((r) => setTimeout(r, 10));
    expect(await t.query('FAST?', { timeoutMs: 2000 })).toBe('R:FAST?');
    await new Promise((r) => setTimeout(r, 500));
    expect(await t.query('AGAIN?', { timeoutMs: 2000 })).toBe('R:AGAIN?');
    expect(t.status().timeouts).toBe(1);
    expect(t.status().reconnects).toBe(1);
  });

  it('a resync in onOpen discards stale lines before the expected reply', async () => {
    const p = await peer((l) => (l === '*IDN?' ? 'stale-1\nstale-2\nACME,X,1,1\n' : `R:${l}\n`));
    const t = transport(p.port, { onOpen: async (s) => void (await s.query('*IDN?', { accept: (x) => x.startsWith('ACME') })) });
    expect(await t.query('A?')).toBe('R:A?');
    expect(t.status().strayLines).toBe(2);
  });

  it('names the port and command when the peer disconnects, and reconnects on the next request', async () => {
    const p = await peer((l) => (l === 'KILL' ? 'close' : `R:${l}\n`));
    const t = transport(p.port);
    await t.open();
    const err = await t.query('KILL').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentDisconnectedError);
    expect((err as InstrumentDisconnectedError).context.command).toBe('KILL');
    expect(await t.query('B?')).toBe('R:B?');
    expect(t.status()).toMatchObject({ state: 'online', reconnects: 1 });
  });

  it('strips CR, skips empty lines and echoes when asked, collects multi-line replies', async () => {
    const p = await peer((l) => `${l}\r\n\r\nline1\r\nline2\r\n`, '\r');
    const t = transport(p.port, { writeTerminator: '\r', stripEcho: true, skipEmptyLines: true });
    expect(await t.request('M?', { lines: 2 })).toEqual(['line1', 'line2']);
    expect(p.bytesIn()).toBe('M?\r');
  });

  it('rejects with InstrumentDisconnectedError when nothing listens, and reports status', async () => {
    const p = await peer(() => undefined);
    const port = p.port;
    await p.close();
    const t = transport(port);
    const err = await t.query('X?').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InstrumentDisconnectedError);
    expect((err as InstrumentDisconnectedError).describe()).toContain(`port=tcp://127.0.0.1:${port} command=X?`);
    expect(t.status().state).toBe('offline');
    expect(t.status().lastError?.code).toBe('INSTRUMENT_DISCONNECTED');
  });

  it('reconnects in the background with backoff after the peer returns', async () => {
    const p = await peer((l) => (l === 'KILL' ? 'close' : `R:${l}\n`));
    const t = new LineTransport({ endpoint: { kind: 'tcp', host: '127.0.0.1', port: p.port }, timeoutMs: 1000, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    cleanups.push(() => t.close());
    await t.open();
    await t.query('KILL').catch(() => undefined);
    await new Promise<void>((resolve) => t.once('online', resolve));
    expect(t.status().state).toBe('online');
  });
});

describe('LineTransport over a socat pty (native serialport binding)', () => {
  it('round-trips, survives socat dying without relying on close, and reconnects', async () => {
    const pair = await ptyPair();
    const openDevice = async (): Promise<SerialPort> => {
      const dev = new SerialPort({ path: pair.deviceEnd, baudRate: 115200, autoOpen: false });
      await new Promise<void>((res, rej) => dev.open((e) => (e ? rej(e) : res())));
      let buf = '';
      dev.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          dev.write(`R:${line}\r\n`);
        }
      });
      dev.on('error', () => undefined);
      return dev;
    };
    let dev = await openDevice();
    const t = new LineTransport({ endpoint: { kind: 'serial', path: pair.hostEnd, baudRate: 115200 }, timeoutMs: 1000, reconnect: { enabled: false } });
    cleanups.push(() => t.close());
    expect(await t.query('PING')).toBe('R:PING');
    // socat dies: the request must end (timeout or disconnect), never hang.
    if (dev.isOpen) await new Promise<void>((r) => dev.close(() => r()));
    await pair.kill();
    const err = await t.query('PING2').catch((e: unknown) => e);
    expect(err).toSatisfy((e: unknown) => e instanceof InstrumentTimeoutError || e instanceof InstrumentDisconnectedError);
    await pair.restart();
    dev = await openDevice();
    let reply: string | undefined;
    for (let i = 0; i < 20 && reply === undefined; i++) {
      reply = await t.query('PING3').catch(() => undefined);
      if (reply === undefined) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reply).toBe('R:PING3');
    await new Promise<void>((r) => dev.close(() => r()));
  });

  it('holds the port exclusively: a second opener (another daemon, a terminal program) is refused by name', async () => {
    const pair = await ptyPair();
    const first = new LineTransport({ endpoint: { kind: 'serial', path: pair.hostEnd, baudRate: 115200 }, timeoutMs: 500, reconnect: { enabled: false } });
    cleanups.push(() => first.close());
    await first.open();
    const second = new LineTransport({ endpoint: { kind: 'serial', path: pair.hostEnd, baudRate: 115200 }, timeoutMs: 500, reconnect: { enabled: false } });
    cleanups.push(() => second.close());
    const err = (await second.query('*IDN?').catch((e: unknown) => e)) as InstrumentDisconnectedError;
    expect(err).toBeInstanceOf(InstrumentDisconnectedError);
    expect(err.message).toBe(`cannot open ${pair.hostEnd}: ${pair.hostEnd} is in use by another program (its exclusive lock is held): one owner per instrument`);
    const other = new SerialPort({ path: pair.hostEnd, baudRate: 115200, autoOpen: false });
    await expect(new Promise<void>((res, rej) => other.open((e) => (e ? rej(e) : res())))).rejects.toThrow('Cannot lock port');
  });
});
