/** A TCP peer that logs the exact bytes it receives and answers with exact bytes from a script. */
import net from 'node:net';

export interface ScriptedPeer {
  port: number;
  /** Every byte received, latin1. */
  readonly bytesIn: () => string;
  /** Every byte sent, latin1. */
  readonly bytesOut: () => string;
  close(): Promise<void>;
}

/**
 * `reply(line)` returns the exact bytes to send back (or undefined for no reply, or
 * { after: ms, bytes } for a delayed reply, or 'close' to drop the connection).
 */
export async function startScriptedPeer(
  terminator: string,
  reply: (line: string) => string | undefined | 'close' | { after: number; bytes: string },
): Promise<ScriptedPeer> {
  let inLog = '';
  let outLog = '';
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    let buf = '';
    s.on('data', (d) => {
      const text = d.toString('latin1');
      inLog += text;
      buf += text;
      let i: number;
      while ((i = buf.indexOf(terminator)) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + terminator.length);
        const r = reply(line);
        if (r === undefined) continue;
        if (r === 'close') {
          s.destroy();
          return;
        }
        const send = (bytes: string): void => {
          if (s.destroyed) return;
          outLog += bytes;
          s.write(Buffer.from(bytes, 'latin1'));
        };
        if (typeof r === 'string') send(r);
        else setTimeout(() => send(r.bytes), r.after);
      }
    });
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  return {
    port,
    bytesIn: () => inLog,
    bytesOut: () => outLog,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
