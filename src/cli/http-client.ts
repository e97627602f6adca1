import { loadConfig } from '../config/load.js';
import { MpocertError } from '../errors.js';

/** Talks to a running daemon, found through the same config file the daemon was started with. */
export interface DaemonClient {
  baseUrl: string;
  /** A person's own token (MPOCERT_TOKEN): the daemon records them; no operator name is sent. */
  personal: boolean;
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T>;
}

export function clientFor(configPath: string): DaemonClient {
  // A person's token (mpocert users add) from the environment, else the config's shared token.
  const personalToken = process.env.MPOCERT_TOKEN?.trim() || undefined;
  const cfg = loadConfig(configPath, { tokenOptional: personalToken !== undefined });
  const token = personalToken ?? cfg.http.token;
  const host = cfg.http.host === '0.0.0.0' || cfg.http.host === '::' ? '127.0.0.1' : cfg.http.host;
  const baseUrl = process.env.MPOCERT_URL ?? `http://${host.includes(':') ? `[${host}]` : host}:${cfg.http.port}`;
  return {
    baseUrl,
    personal: personalToken !== undefined,
    async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetch(baseUrl + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw new MpocertError('DAEMON_UNREACHABLE', `no mpocert daemon answers at ${baseUrl} (is it running? start it with "npm start" or "mpocert serve")`, {
          cause: String((err as { cause?: { code?: string } }).cause?.code ?? err),
        });
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new MpocertError('DAEMON_BAD_REPLY', `daemon replied ${res.status} with non-JSON`, { url: baseUrl + path });
      }
      if (!res.ok) {
        const e = json as { error?: string; message?: string };
        throw new MpocertError(e.error ?? 'DAEMON_ERROR', `${e.message ?? 'request failed'} [HTTP ${res.status}]`);
      }
      return json as T;
    },
  };
}
