/**
 * The baseline for the pipeline: the bare protocol exchange one reading needs, on the same
 * simulated instruments and the same TCP port / pty, with nothing of ours in between: select the
 * switch channel ("I1 n", read back with "I1?") and read the meter ("MEAS:POW?"). Raw sockets /
 * raw serialport, no queue, no timeouts, no parsing beyond finding the end of the line.
 */
import net from 'node:net';
import { SerialPort } from 'serialport';
import type { Endpoint } from './harness.js';

interface RawLink {
  /** Writes `text` and resolves with the next non-empty line. */
  ask(text: string): Promise<string>;
  write(text: string): void;
  close(): Promise<void>;
}

async function open(e: Endpoint): Promise<RawLink> {
  let buf = '';
  let waiting: ((line: string) => void) | undefined;
  const onData = (d: Buffer): void => {
    buf += d.toString('latin1');
    for (;;) {
      const m = /\r\n|\r|\n/.exec(buf);
      if (!m) return;
      const line = buf.slice(0, m.index);
      buf = buf.slice(m.index + m[0].length);
      if (line.length > 0 && waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      }
    }
  };
  if (e.kind === 'tcp') {
    const s = await new Promise<net.Socket>((resolve, reject) => {
      const sock = net.connect(e.port, e.host, () => resolve(sock));
      sock.once('error', reject);
    });
    s.setNoDelay(true);
    s.on('data', onData);
    return {
      write: (t) => void s.write(t),
      ask: (t) => new Promise((r) => ((waiting = r), s.write(t))),
      close: () => new Promise((r) => s.end(() => r())),
    };
  }
  const p = new SerialPort({ path: e.path, baudRate: e.baudRate ?? 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => p.open((err) => (err ? reject(err) : resolve())));
  p.on('data', onData);
  return {
    write: (t) => void p.write(t),
    ask: (t) => new Promise((r) => ((waiting = r), p.write(t))),
    close: () => new Promise((r) => (p.isOpen ? p.close(() => r()) : r())),
  };
}

/** Readings per second of the bare exchange over `readings` readings (24 channels cycled). */
export async function bareReadingsPerSecond(meter: Endpoint, sw: Endpoint, readings: number, channels = 24): Promise<number> {
  const m = await open(meter);
  const s = await open(sw);
  try {
    const t0 = performance.now();
    for (let k = 0; k < readings; k++) {
      const ch = (k % channels) + 1;
      s.write(`I1 ${ch}\r`);
      const back = await s.ask('I1?\r');
      if (Number(back) !== ch) throw new Error(`bare switch read back ${back} for ${ch}`);
      const p = Number(await m.ask('MEAS:POW?\n'));
      if (!Number.isFinite(p)) throw new Error('bare meter reply not a number');
    }
    return readings / ((performance.now() - t0) / 1000);
  } finally {
    await m.close();
    await s.close();
  }
}
