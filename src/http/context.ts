import type { Logger } from 'pino';
import type { BenchRuntime } from '../pipeline/bench-runtime.js';
import type { JobRunner } from '../jobs/job-runner.js';
import type { SubjectRequestParser } from '../jobs/judge-job.js';
import type { CertificateStore, VerifyProblem } from '../store/certificate-store.js';
import type { CordStore } from '../store/cord-store.js';
import type { ProjectStore } from '../store/project-store.js';
import type { UserStore } from '../store/user-store.js';

/**
 * What the HTTP layer needs from the rest of the daemon, as interfaces of its own where the
 * daemon's objects are more than that: the daemon's Custody and DaemonMetrics satisfy these
 * structurally, so http never imports the daemon.
 */

/** What the HTTP layer shows of the chain of custody (the daemon's Custody satisfies it). */
export interface CustodyView {
  readonly problems: readonly VerifyProblem[];
  readonly failing: ReadonlySet<number>;
  readonly brokenBenches: ReadonlyMap<string, string>;
  readonly fullCheck: { state: string; checked: number; problems: number; seconds?: number };
  readonly checkpoints: { readonly path: string };
  checkStorage(): string | undefined;
  /** Remembers problems found while serving: the bench then issues nothing more, as at start-up. */
  record(problems: readonly VerifyProblem[], where: string): void;
}

/** The metrics the HTTP layer serves and feeds (the daemon's DaemonMetrics satisfies it). */
export interface HttpMetrics {
  /** The Prometheus registry GET /metrics exposes. */
  readonly registry: { readonly contentType: string; metrics(): Promise<string> };
  /** Observes every response's latency, in seconds. */
  readonly httpLatency: { observe(labels: { method: string; route: string; status: string }, seconds: number): void };
}

/** Replication toward the central QA store, as /status and the console show it (the replicator satisfies it). */
export interface ReplicationView {
  state: string;
  backlog: number;
  oldestAgeSeconds: number | null;
  shipped: number;
  lastShippedAt: string | null;
  lastError: string | null;
}

/** Everything the routes use, and no more: the daemon passes its real objects, a test may pass fakes. */
export interface HttpDeps {
  users: Pick<UserStore, 'authenticate' | 'hasUsers'>;
  benches: ReadonlyMap<string, Pick<BenchRuntime, 'id' | 'config' | 'status'>>;
  runner: Pick<JobRunner, 'latestReference' | 'busyWith' | 'waitingFor' | 'runningJobs' | 'start' | 'waitFor' | 'view' | 'reference' | 'confirm'>;
  /** The runner's events ('progress', 'job-ended', 'reference'), which the console streams live. */
  jobEvents: Pick<NodeJS.EventEmitter, 'on' | 'off'>;
  certificates: Pick<CertificateStore, 'listJson' | 'forServing' | 'exists' | 'verify' | 'trustedKeys'>;
  custody: CustodyView;
  parseSubject: SubjectRequestParser;
  /** The config's shared token. */
  token: string;
  logger: Logger;
  referenceMaxAgeMs: number;
  metrics: HttpMetrics;
  cords: Pick<CordStore, 'get' | 'latestVerification'>;
  /** Replication to the central QA store; null when the config has no `central`. */
  replication?: { status(): ReplicationView } | null;
  /** The configured products (what a job may certify) with their kind: the console offers them. */
  products?: readonly { id: string; kind: 'assembly' | 'link' }[];
  /**
   * The installer's projects and their plans. Optional: a server built without them (a route test
   * with fakes) serves no project routes.
   */
  projects?: Pick<ProjectStore, 'create' | 'get' | 'list' | 'importCsv' | 'progress'>;
}
