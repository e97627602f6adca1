/**
 * Round trips per second over one socat pty pair: a bare serialport ping-pong versus the
 * LineTransport (queue, timeout, matching, CR stripping) on the same pty, in the same run.
 * The echo peer (other end of the pty) answers every "PING n" line with "PONG n\r\n".
 *
 *   npm run build && node dist/benchmarks/transport.js      (prints JSON)
 */
import { pathToFileURL } from 'node:url';
import { SerialPort } from 'serialport';
import { LineTransport } from '../src/transport/line-transport.js';
import { startPtyPair } from '../fixtures/simulators/pty.js';

export interface TransportBenchResult {
  roundTrips: number;
  bareRoundTripsPerSec: number;
  transportRoundTripsPerSec: number;
  ratio: number;
}

function openPort(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    p.open((e) => (e ? reject(e) : resolve(p)));
  });
}
const closePort = (p: SerialPort): Promise<void> => new Promise((r) => (p.isOpen ? p.close(() => r()) : r()));

export async function benchTransport(opts: { roundTrips?: number; rounds?: number } = {}): Promise<TransportBenchResult> {
  const n = opts.roundTrips ?? 2000;
  const rounds = opts.rounds ?? 3;
  const pair = await startPtyPair({ name: 'bench' });
  const echo = await openPort(pair.deviceEnd);
  let ebuf = '';
  echo.on('data', (d: Buffer) => {
    ebuf += d.toString('latin1');
    let i: number;
    let out = '';
    while ((i = ebuf.indexOf('\n')) >= 0) {
      out += `PONG ${ebuf.slice(5, i)}\r\n`;
      ebuf = ebuf.slice(i + 1);
    }
    if (out) echo.write(out);
  });

  const bare = async (): Promise<number> => {
    const host = await openPort(pair.hostEnd);
    let buf = '';
    let waiting: (() => void) | undefined;
    host.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      if (buf.includes('\n')) {
        buf = '';
        waiting?.();
      }
    });
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) {
      await new Promise<void>((resolve) => {
        waiting = resolve;
        host.write(`PING ${k}\n`);
      });
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await closePort(host);
    return n / secs;
  };

  const viaTransport = async (): Promise<number> => {
    const t = new LineTransport({ endpoint: { kind: 'serial', path: pair.hostEnd, baudRate: 115200 }, timeoutMs: 2000, reconnect: { enabled: false } });
    await t.open();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < n; k++) {
      const r = await t.query(`PING ${k}`);
      if (r !== `PONG ${k}`) throw new Error(`mismatched reply ${r} for PING ${k}`);
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    await t.close();
    return n / secs;
  };

  try {
    // Interleave rounds so machine load affects both alike; keep the best of each.
    let b = 0;
    let t = 0;
    for (let r = 0; r < rounds; r++) {
      b = Math.max(b, await bare());
      t = Math.max(t, await viaTransport());
    }
    return { roundTrips: n, bareRoundTripsPerSec: Math.round(b), transportRoundTripsPerSec: Math.round(t), ratio: Math.round((t / b) * 1000) / 1000 };
  } finally {
    await closePort(echo);
    await pair.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  benchTransport()
    .then((r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    })
    .catch((err: unknown) => {
      process.stderr.write(`bench/transport: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
