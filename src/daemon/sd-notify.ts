import { createRequire } from 'node:module';

/**
 * systemd's notify protocol (sd_notify(3)): datagrams like "READY=1" to the unix socket named by
 * $NOTIFY_SOCKET. Node has no unix datagram sockets, so this uses the optional native
 * `unix-dgram` addon (as zigbee2mqtt does). Outside systemd (no NOTIFY_SOCKET) every call is a
 * no-op. The watchdog pings at half of $WATCHDOG_USEC, from the event loop: a hung loop stops
 * them and systemd restarts the daemon.
 */
export interface SystemdNotifier {
  readonly active: boolean;
  ready(status?: string): void;
  stopping(status?: string): void;
  status(text: string): void;
  close(): void;
}

interface UnixDgramSocket {
  send(buf: Buffer, offset: number, length: number, path: string, cb?: (err?: Error) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  close(): void;
}

export function createSystemdNotifier(env: NodeJS.ProcessEnv = process.env, onError: (msg: string) => void = () => {}): SystemdNotifier {
  const rawPath = env.NOTIFY_SOCKET;
  if (!rawPath) return { active: false, ready() {}, stopping() {}, status() {}, close() {} };
  // An abstract socket is written "@name" in the environment and "\0name" on the wire.
  const path = rawPath.startsWith('@') ? `\0${rawPath.slice(1)}` : rawPath;

  let socket: UnixDgramSocket;
  try {
    const require = createRequire(import.meta.url);
    const unixDgram = require('unix-dgram') as { createSocket(type: 'unix_dgram'): UnixDgramSocket };
    socket = unixDgram.createSocket('unix_dgram');
    socket.on('error', (err) => onError(`sd_notify: ${err.message}`));
  } catch (err) {
    onError(`sd_notify unavailable (optional dependency unix-dgram did not load: ${(err as Error).message}); systemd will not see READY`);
    return { active: false, ready() {}, stopping() {}, status() {}, close() {} };
  }

  const send = (msg: string): void => {
    const buf = Buffer.from(msg);
    socket.send(buf, 0, buf.length, path, (err) => err && onError(`sd_notify: ${err.message}`));
  };

  let watchdog: NodeJS.Timeout | undefined;
  const usec = Number(env.WATCHDOG_USEC);
  const forUs = env.WATCHDOG_PID === undefined || Number(env.WATCHDOG_PID) === process.pid;
  if (Number.isFinite(usec) && usec > 0 && forUs) {
    watchdog = setInterval(() => send('WATCHDOG=1'), Math.max(1, Math.floor(usec / 2000)));
    watchdog.unref();
  }

  return {
    active: true,
    ready: (status) => send(`READY=1\nMAINPID=${process.pid}${status ? `\nSTATUS=${status}` : ''}`),
    stopping: (status) => send(`STOPPING=1${status ? `\nSTATUS=${status}` : ''}`),
    status: (text) => send(`STATUS=${text}`),
    close: () => {
      if (watchdog) clearInterval(watchdog);
      socket.close();
    },
  };
}
