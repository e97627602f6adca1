import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { BenchRuntime } from '../pipeline/bench-runtime.js';
import type { BenchReference } from '../pipeline/readings.js';

/**
 * Prometheus metrics for GET /metrics. One registry per daemon (not prom-client's global one),
 * so a test can run several daemons in one process without their counters mixing.
 */
export class DaemonMetrics {
  readonly registry = new Registry();
  readonly jobs = new Counter({ name: 'mpocert_jobs_total', help: 'jobs ended, by bench and final state', labelNames: ['bench', 'state'] as const, registers: [this.registry] });
  readonly verdicts = new Counter({ name: 'mpocert_certificates_total', help: 'certificates issued, by bench and verdict', labelNames: ['bench', 'verdict'] as const, registers: [this.registry] });
  readonly instrumentErrors = new Counter({
    name: 'mpocert_instrument_errors_total',
    help: 'instrument errors that aborted a job or a reference, by bench and error code',
    labelNames: ['bench', 'code'] as const,
    registers: [this.registry],
  });
  readonly httpLatency = new Histogram({
    name: 'mpocert_http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [this.registry],
  });

  constructor(
    benches: Map<string, BenchRuntime>,
    latestReference: (benchId: string) => BenchReference | undefined,
    /** The outbox's backlog toward the central store (always: it queues even without replication). */
    backlog: () => { count: number; oldestAgeSeconds: number | null },
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'mpocert_' });
    new Gauge({
      name: 'mpocert_instrument_online',
      help: '1 when the instrument is online, 0 otherwise',
      labelNames: ['bench', 'instrument'] as const,
      registers: [this.registry],
      collect() {
        for (const bench of benches.values()) {
          for (const s of bench.status()) this.set({ bench: bench.id, instrument: s.id }, s.state === 'online' ? 1 : 0);
        }
      },
    });
    new Gauge({
      name: 'mpocert_reference_age_seconds',
      help: 'age of each bench\'s latest reference (absent when it has none)',
      labelNames: ['bench'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const bench of benches.values()) {
          const ref = latestReference(bench.id);
          if (ref) this.set({ bench: bench.id }, (Date.now() - Date.parse(ref.takenAt)) / 1000);
        }
      },
    });
    new Gauge({
      name: 'mpocert_replication_backlog',
      help: 'certificates, job aborts and keys not yet committed by the central QA store',
      registers: [this.registry],
      collect() {
        this.set(backlog().count);
      },
    });
    new Gauge({
      name: 'mpocert_replication_oldest_age_seconds',
      help: 'age of the oldest item not yet committed by the central QA store (0 when none waits)',
      registers: [this.registry],
      collect() {
        this.set(backlog().oldestAgeSeconds ?? 0);
      },
    });
  }
}
