import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { DaemonConfig } from '../config/schema.js';
import { buildHttpServer } from '../http/server.js';
import { BenchRuntime } from '../pipeline/bench-runtime.js';
import { benchParts } from './bench-parts.js';
import { JobRunner } from '../jobs/job-runner.js';
import { createJobJudge } from '../jobs/judge-job.js';
import { loadLimitLibrary } from '../evaluation/index.js';
import type { JobView } from '../jobs/job-runner.js';
import { DaemonMetrics } from './metrics.js';
import { JobStore } from '../store/job-store.js';
import { layoutOf } from '../store/data-dir.js';
import { openCustody } from './custody.js';
import { UserStore } from '../store/user-store.js';
import { ReferenceStore } from '../store/reference-store.js';
import { CordStore } from '../store/cord-store.js';
import { Outbox } from '../store/outbox.js';
import type { Db } from '../store/database.js';
import type { CertificateStore } from '../store/certificate-store.js';
import { Replicator } from '../central/replicator.js';
import pg from 'pg';
import { knownApplications, ProjectStore } from '../store/project-store.js';

/** How often idle benches retry instruments that are not online (fault suite: back within 2 s). */
const RECONNECT_MONITOR_MS = 500;
/** How often every stored certificate is verified again while the daemon runs. */
const FULL_CHECK_INTERVAL_MS = 6 * 3600 * 1000;

export interface RunningDaemon {
  url: string;
  config: DaemonConfig;
  logger: Logger;
  stop(reason: string): Promise<void>;
}

/**
 * The replicator toward the central store: its own small pool (one connection ships; a second
 * lets a stuck one be replaced), never fatal: an unreachable store only grows the backlog.
 */
function startReplicator(central: NonNullable<DaemonConfig['central']>, db: Db, outbox: Outbox, certificates: CertificateStore, logger: Logger): Replicator {
  const pool = new pg.Pool({ connectionString: central.postgresUrl, max: 2, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, application_name: `mpocert ${central.site}` });
  // An idle connection dropped by the server (restart, network cut) must not crash the daemon.
  pool.on('error', (err) => logger.warn({ err: err.message }, 'central store connection lost'));
  const replicator = new Replicator({ site: central.site, pool, db, outbox, certificates, batchSize: central.batchSize, intervalMs: central.intervalMs });
  let reported: string | null = null;
  replicator.on('error-shipping', (err: unknown) => {
    const message = (err as Error).message;
    if (message !== reported) logger.warn({ err: message, backlog: outbox.lag().count }, 'central store unreachable: certificates wait in the outbox');
    reported = message;
  });
  replicator.on('shipped', (n: number) => {
    if (reported !== null) logger.info({ shipped: n }, 'central store reachable again: shipping the backlog');
    reported = null;
  });
  const stop = replicator.stop.bind(replicator);
  replicator.stop = async () => {
    await stop();
    await pool.end();
  };
  replicator.start();
  logger.info({ site: central.site }, 'replicating to the central QA store');
  return replicator;
}

export function databasePath(config: DaemonConfig): string {
  return layoutOf(config.dataDir).database;
}

/**
 * Starts everything a config describes: store, benches, job runner, HTTP. Instruments that are
 * off at start-up do not stop the daemon: they show offline in /status and are retried when a
 * job needs them.
 */
export async function startDaemon(config: DaemonConfig, logger: Logger = pino({ level: config.logLevel })): Promise<RunningDaemon> {
  // Locks the data directory first: a second daemon stops here and changes nothing.
  const custody = openCustody({ dataDir: config.dataDir, trustedKeysFile: config.trust.keysFile, logger });
  const { db, certificates } = custody;
  const jobs = new JobStore(db, certificates, (stored) => custody.checkpoint(stored));
  const interrupted = jobs.markInterrupted(new Date().toISOString());
  if (interrupted > 0) logger.warn({ interrupted }, 'jobs left running by a previous process were marked interrupted');

  const library = loadLimitLibrary({ userDir: config.limits.userDir });
  // A user limit set judges certificates too: say at start-up exactly which files (by hash) they are.
  for (const set of library.list().filter((l) => l.origin === 'user')) {
    logger.info({ limitSet: `${set.id}@${set.version}`, file: set.file, sha256: set.fileSha256 }, 'user limit set loaded');
  }
  // The installer's plans: a planned link's description comes from here, stored by a person.
  const projects = new ProjectStore(db, knownApplications(library));
  const judge = createJobJudge(config, certificates, library, projects);
  const parts = await benchParts(config);
  const benches = new Map(config.benches.map((b) => [b.id, new BenchRuntime(b, parts)]));
  const referenceMaxAgeMs = config.reference.maxAgeHours * 3_600_000;
  const cords = new CordStore(db);
  const runner = new JobRunner(benches, jobs, new ReferenceStore(db), judge, cords, {
    referenceMaxAgeMs,
    referenceMaxDropDb: config.reference.maxDropDb,
    refusal: (benchId) => custody.refusal(benchId),
  });
  // Replication to the central QA store: everything is queued in the outbox anyway (in the same
  // transactions); with `central` configured, the replicator ships it.
  const outbox = new Outbox(db);
  const replicator = config.central ? startReplicator(config.central, db, outbox, certificates, logger) : undefined;
  runner.on('job-ended', () => replicator?.wake());
  const backlog = (): { count: number; oldestAgeSeconds: number | null } => {
    const lag = outbox.lag();
    return { count: lag.count, oldestAgeSeconds: lag.oldestCreatedAt === null ? null : Math.max(0, (Date.now() - Date.parse(lag.oldestCreatedAt)) / 1000) };
  };
  const metrics = new DaemonMetrics(benches, (id) => runner.latestReference(id), backlog);
  runner.on('job-ended', (v: JobView) => {
    logger.info({ job: v.id, bench: v.benchId, state: v.state, verdict: v.verdict, reason: v.reason, certificate: v.certificateId }, 'job ended');
    metrics.jobs.inc({ bench: v.benchId, state: v.state });
    if (v.verdict) metrics.verdicts.inc({ bench: v.benchId, verdict: v.verdict });
    if (v.errorCode?.startsWith('INSTRUMENT_') || v.errorCode?.endsWith('_SETTINGS_CHANGED')) metrics.instrumentErrors.inc({ bench: v.benchId, code: v.errorCode });
  });

  let app: FastifyInstance;
  try {
    app = await buildHttpServer({ benches, runner, jobEvents: runner, certificates, custody, users: new UserStore(db), parseSubject: judge.parseSubject, token: config.http.token, logger, referenceMaxAgeMs, metrics, cords, projects, replication: replicator ?? null, products: Object.entries(config.products).map(([id, p]) => ({ id, kind: p.kind === 'link' ? ('link' as const) : ('assembly' as const) })) });
    await app.listen({ host: config.http.host, port: config.http.port });
  } catch (err) {
    custody.close();
    throw err;
  }
  if (custody.problems.length > 0) logger.error({ problems: custody.problems.length, benches: [...custody.brokenBenches.keys()] }, 'certificates fail verification: those benches issue nothing more until QA has looked');
  // Every certificate, checked in the background a chunk at a time, at start and every few hours
  // (an edit made while the daemon runs is found without a restart); served ones as served.
  const fullCheck = (): void => void custody.checkEverything().catch((err: unknown) => logger.error({ err }, 'full certificate check failed'));
  fullCheck();
  const recheck = setInterval(() => {
    if (custody.fullCheck.state !== 'running') fullCheck();
  }, FULL_CHECK_INTERVAL_MS);
  recheck.unref();
  const storageWatch = setInterval(() => custody.checkStorage(), 1000);
  storageWatch.unref();
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.http.port;
  const url = `http://${config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host}:${port}`;

  for (const bench of benches.values()) {
    void bench.connectAllSettled().then(() => {
      for (const s of bench.status()) logger.info({ bench: bench.id, instrument: s.id, state: s.state, port: s.port, error: s.lastError?.message }, 'instrument');
    });
  }

  // Idle benches only: a running job reconnects for itself and must not race a second opener.
  const monitor = setInterval(() => {
    for (const bench of benches.values()) {
      if (!runner.busyWith(bench.id)) void bench.connectAllSettled();
    }
  }, RECONNECT_MONITOR_MS);
  monitor.unref();

  let stopped: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> => {
    stopped ??= (async () => {
      logger.info({ reason }, 'stopping: finishing running jobs');
      clearInterval(monitor);
      clearInterval(storageWatch);
      clearInterval(recheck);
      await runner.stop();
      await replicator?.stop();
      await app.close();
      await Promise.allSettled([...benches.values()].map((b) => b.close()));
      custody.close();
      logger.info('stopped');
    })();
    return stopped;
  };
  return { url, config, logger, stop };
}
