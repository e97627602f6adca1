import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { Logger } from 'pino';
import { describeError, MpocertError } from '../errors.js';
import { loadLimitLibrary } from '../evaluation/index.js';
import { loadCentralTrust } from './central-trust.js';
import type { HubConfig } from './hub-config.js';
import { buildHubServer } from './hub-server.js';
import { MergeLoop, mergeOnce } from './merge-loop.js';
import { CENTRAL_MIGRATIONS, migrateCentral } from './schema.js';

/**
 * The central QA hub: migrates the central schema, merges what benches ship on an interval, and
 * serves QA's API and pages. Everything it needs is read at start (the pinned keys per site, the
 * limit library): a config error stops it before it touches the database.
 */
export interface RunningHub {
  url: string;
  stop(reason: string): Promise<void>;
}

/** host:port/database of a PostgreSQL URL, without its credentials (for messages). */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return '(the configured URL)';
  }
}

function poolFor(config: HubConfig, logger: Pick<Logger, 'warn'>, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.postgresUrl, max, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000, application_name: 'mpocert hub' });
  // An idle connection the server drops (restart, network cut) must not crash the hub.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'central store connection lost'));
  return pool;
}

export async function startHub(config: HubConfig, logger: Logger): Promise<RunningHub> {
  const trust = loadCentralTrust(config.trust, config.source);
  const library = loadLimitLibrary({ userDir: config.limits.userDir });
  const pool = poolFor(config, logger, 8);
  let loop: MergeLoop | undefined;
  try {
    const version = await migrateCentral(pool).catch((err: unknown) => {
      throw new MpocertError('CENTRAL_UNAVAILABLE', `cannot open the central store: ${describeError(err)}`, { database: where(config.postgresUrl) });
    });
    logger.info({ schema: version, of: CENTRAL_MIGRATIONS.length, sites: trust.sites() }, 'central store ready');
    loop = new MergeLoop(pool, trust, config.mergeIntervalMs, logger);
    await loop.start();
    const app = await buildHubServer({ pool, trust, library, token: config.http.token, logger, merging: loop });
    await app.listen({ host: config.http.host, port: config.http.port });
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const running = loop;
    return {
      url: `http://${host}:${address.port}`,
      async stop(reason: string) {
        logger.info({ reason }, 'hub stopping');
        await running.stop();
        await app.close();
        await pool.end();
      },
    };
  } catch (err) {
    await loop?.stop();
    await pool.end().catch(() => undefined);
    throw err;
  }
}

/** One merge of the inbox (migrating first), for scripts: what it did, and what it quarantined and why. */
export async function mergeHubOnce(config: HubConfig, logger: Pick<Logger, 'warn'>): Promise<Awaited<ReturnType<typeof mergeOnce>>> {
  const trust = loadCentralTrust(config.trust, config.source);
  const pool = poolFor(config, logger, 2);
  try {
    await migrateCentral(pool);
    return await mergeOnce(pool, trust);
  } finally {
    await pool.end();
  }
}
