/**
 * The shared transport primitives on their own, with fake timers: the per-port queue, the reply
 * matcher and its contextual timeout, and the link supervisor's state, statistics and backoff.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequestQueue } from '../../src/transport/request-queue.js';
import { Waitress } from '../../src/transport/waitress.js';
import { LinkSupervisor } from '../../src/transport/link-supervisor.js';
import { InstrumentTimeoutError } from '../../src/errors.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('RequestQueue', () => {
  it('runs one task at a time in order, and a failure does not block the next', async () => {
    const q = new RequestQueue();
    const log: string[] = [];
    let release!: () => void;
    const first = q.run(async () => {
      log.push('a start');
      await new Promise<void>((r) => (release = r));
      log.push('a end');
      return 'a';
    });
    const second = q.run(async () => {
      log.push('b');
      throw new Error('b failed');
    });
    const third = q.run(async () => {
      log.push('c');
      return 'c';
    });
    await Promise.resolve();
    expect(q.depth).toBe(2);
    expect(log).toEqual(['a start']);
    release();
    expect(await first).toBe('a');
    await expect(second).rejects.toThrow('b failed');
    expect(await third).toBe('c');
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
    expect(q.depth).toBe(0);
  });
});

describe('Waitress', () => {
  it('collects accepted lines until done; others are stray', async () => {
    const w = new Waitress<string>();
    const p = w.waitFor({ accept: (l) => l.startsWith('OK'), done: (ls) => ls.length === 2, timeoutMs: 1000, onTimeout: () => new Error('timeout') });
    expect(w.offer('garbage')).toBe(false);
    expect(w.offer('OK 1')).toBe(true);
    expect(w.pending).toBe(true);
    expect(w.offer('OK 2')).toBe(true);
    expect(await p).toEqual(['OK 1', 'OK 2']);
    expect(w.pending).toBe(false);
    expect(w.offer('OK 3')).toBe(false);
  });

  it('times out with the context and the partial reply, and a late line is then stray', async () => {
    vi.useFakeTimers();
    const w = new Waitress<string>();
    const p = w.waitFor({
      done: (ls) => ls.length === 3,
      timeoutMs: 500,
      onTimeout: (partial) => new InstrumentTimeoutError('no complete reply', { port: 'p', command: 'READ?', received: partial.join('|') }),
    });
    w.offer('1');
    vi.advanceTimersByTime(499);
    expect(w.pending).toBe(true);
    vi.advanceTimersByTime(1);
    await expect(p).rejects.toMatchObject({ code: 'INSTRUMENT_TIMEOUT', context: { command: 'READ?', received: '1' } });
    expect(w.offer('2')).toBe(false);
  });

  it('rejectAll fails every waiter with what each had collected', async () => {
    const w = new Waitress<string>();
    const p = w.waitFor({ done: () => false, timeoutMs: 1000, onTimeout: () => new Error('timeout') });
    w.offer('half');
    w.rejectAll((partial) => new Error(`down after ${partial.join(',')}`));
    await expect(p).rejects.toThrow('down after half');
    expect(w.pending).toBe(false);
  });
});

describe('LinkSupervisor', () => {
  it('tracks state and statistics, and reconnects with doubling backoff capped at the maximum', async () => {
    vi.useFakeTimers();
    const attempts: number[] = [];
    const s: LinkSupervisor = new LinkSupervisor({
      port: 'tcp://x:1',
      backoff: { initialDelayMs: 100, maxDelayMs: 300, factor: 2 },
      reopen: async () => {
        attempts.push(Date.now());
        s.opening();
        s.openFailed();
      },
    });
    const t0 = Date.now();
    expect(s.status()).toEqual({ port: 'tcp://x:1', state: 'offline', reconnects: 0, timeouts: 0, strayLines: 0 });
    s.opening();
    expect(s.state).toBe('connecting');
    s.openFailed();
    expect(s.state).toBe('offline');
    await vi.advanceTimersByTimeAsync(100 + 200 + 300 + 300);
    expect(attempts.map((t) => t - t0)).toEqual([100, 300, 600, 900]);
    s.opening();
    s.linkUp();
    s.ready();
    expect(s.status()).toMatchObject({ state: 'online', reconnects: 0 });
    s.timedOut();
    s.stray(2);
    s.dropped('timeout on READ?');
    expect(s.status()).toMatchObject({ state: 'reconnecting', timeouts: 1, strayLines: 2 });
    expect(s.status().connectedSince).toBeUndefined();
    s.close();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(attempts).toHaveLength(4);
    expect(s.state).toBe('closed');
  });

  it('a reopen after a drop counts as a reconnect and resets the backoff', async () => {
    vi.useFakeTimers();
    let reopened = 0;
    const s: LinkSupervisor = new LinkSupervisor({
      port: 'p',
      backoff: { initialDelayMs: 50, maxDelayMs: 1000 },
      reopen: async () => {
        reopened++;
        s.opening();
        s.linkUp();
        s.ready();
      },
    });
    s.linkUp();
    s.ready();
    s.dropped('peer closed');
    await vi.advanceTimersByTimeAsync(50);
    expect(reopened).toBe(1);
    expect(s.status()).toMatchObject({ state: 'online', reconnects: 1 });
    s.dropped('peer closed again');
    await vi.advanceTimersByTimeAsync(49);
    expect(reopened).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(reopened).toBe(2);
  });

  it('with background reconnect disabled it waits for the next request', async () => {
    vi.useFakeTimers();
    let reopened = 0;
    const s = new LinkSupervisor({ port: 'p', backoff: { enabled: false }, reopen: async () => void reopened++ });
    s.openFailed();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(reopened).toBe(0);
  });
});

describe('LineTransport closed while its port is opening', () => {
  it('destroys the link that opened late and fails the request: nothing stays open after close()', async () => {
    const { EventEmitter } = await import('node:events');
    const { LineTransport } = await import('../../src/transport/line-transport.js');
    let destroyed = 0;
    let finishOpen!: () => void;
    const link = Object.assign(new EventEmitter(), {
      write: async () => undefined,
      destroy: async () => void destroyed++,
    });
    const t = new LineTransport({
      endpoint: { kind: 'memory', name: 'slow', open: () => new Promise((r) => (finishOpen = () => r(link))) },
      reconnect: { enabled: false },
    });
    const pending = t.query('*IDN?');
    await new Promise((r) => setImmediate(r));
    const closing = t.close();
    finishOpen();
    await closing;
    await expect(pending).rejects.toMatchObject({ code: 'INSTRUMENT_DISCONNECTED' });
    expect(destroyed).toBe(1);
    expect(t.isOpen).toBe(false);
    expect(t.status().state).toBe('closed');
  });
});

describe('LineTransport when a write fails after its reply came', () => {
  it('the failure stays with that request: the next request reopens the link and gets its own reply', async () => {
    const { EventEmitter } = await import('node:events');
    const { LineTransport } = await import('../../src/transport/line-transport.js');
    let opens = 0;
    const makeLink = () => {
      const l = Object.assign(new EventEmitter(), {
        writes: 0,
        write: async (data: Buffer) => {
          const cmd = data.toString('latin1').trim();
          setImmediate(() => l.emit('line', `ok ${cmd}`));
          // The first write on the first link reports its failure only after the reply is in.
          if (opens === 1 && l.writes++ === 0) {
            await new Promise((r) => setTimeout(r, 20));
            throw new Error('write EIO');
          }
        },
        destroy: async () => undefined,
      });
      return l;
    };
    const t = new LineTransport({ endpoint: { kind: 'memory', name: 'late-eio', open: async () => (opens++, makeLink()) }, reconnect: { enabled: false } });
    // The reply to A came and is A's; the late failure drops the link before B starts.
    expect(await t.query('A')).toBe('ok A');
    expect(await t.query('B')).toBe('ok B');
    expect(opens).toBe(2);
    await t.close();
  });
});
