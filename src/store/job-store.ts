import type { Db } from './database.js';
import type { CertificateStore, NewCertificate, StoredCertificate } from './certificate-store.js';
import { CordStore } from './cord-store.js';
import { Outbox } from './outbox.js';

export type JobState = 'running' | 'completed' | 'aborted' | 'interrupted';

export interface JobRow {
  id: string;
  benchId: string;
  state: JobState;
  request: Record<string, unknown>;
  operator: string;
  startedAt: string;
  endedAt: string | null;
  reason: string | null;
  certificateId: number | null;
}

interface Row {
  id: string;
  bench_id: string;
  state: JobState;
  request: string;
  operator: string;
  started_at: string;
  ended_at: string | null;
  reason: string | null;
  certificate_id: number | null;
}

const fromRow = (r: Row): JobRow => ({
  id: r.id,
  benchId: r.bench_id,
  state: r.state,
  request: JSON.parse(r.request) as Record<string, unknown>,
  operator: r.operator,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  reason: r.reason,
  certificateId: r.certificate_id,
});

/** The durable record of every job: a job row exists from the moment it starts. */
export class JobStore {
  private readonly outbox: Outbox;

  constructor(
    private readonly db: Db,
    private readonly certificates: CertificateStore,
    /** Runs once a certificate's transaction has committed (the daemon appends its checkpoint). */
    private readonly onCommitted: (stored: StoredCertificate & { benchSequence: number }) => void = () => {},
  ) {
    this.outbox = new Outbox(db);
  }

  /**
   * Marks every job a previous process left 'running' as interrupted: that process died (SIGKILL,
   * power cut) mid-job, and its readings are gone with it, so no certificate may come from it.
   */
  markInterrupted(now: string): number {
    return this.db.transaction(() => {
      const running = this.db.prepare(`SELECT id, bench_id FROM jobs WHERE state = 'running' ORDER BY started_at, id`).all() as { id: string; bench_id: string }[];
      const changed = this.db
        .prepare(
          `UPDATE jobs SET state = 'interrupted', ended_at = ?, reason = 'the daemon stopped while the job was running'
           WHERE state = 'running'`,
        )
        .run(now).changes;
      for (const j of running) this.outbox.enqueue('job-aborted', j.bench_id, j.id, now);
      return changed;
    })();
  }

  /** Records the job and the mating of each test cord with the device under test, together. */
  start(
    job: { id: string; benchId: string; request: Record<string, unknown>; operator: string; startedAt: string },
    matedCordIds: readonly string[] = [],
  ): void {
    this.db.transaction(() => {
      this.db
        .prepare(`INSERT INTO jobs (id, bench_id, state, request, operator, started_at) VALUES (?, ?, 'running', ?, ?, ?)`)
        .run(job.id, job.benchId, JSON.stringify(job.request), job.operator, job.startedAt);
      new CordStore(this.db).addMating(matedCordIds, job.startedAt);
    })();
  }

  /** Stores the certificate and closes the job in one transaction: both land, or neither. */
  complete(jobId: string, cert: NewCertificate, endedAt: string): StoredCertificate {
    const stored = this.db.transaction(() => {
      const inserted = this.certificates.insert(cert);
      const changed = this.db
        .prepare(`UPDATE jobs SET state = 'completed', ended_at = ?, certificate_id = ? WHERE id = ? AND state = 'running'`)
        .run(endedAt, inserted.id, jobId).changes;
      if (changed !== 1) throw new Error(`job ${jobId} is not running; its certificate was not stored`);
      // Queued for the central store in the same commit: no certificate exists unqueued.
      this.outbox.enqueue('certificate', inserted.benchId, inserted.uuid, inserted.issuedAt);
      return inserted;
    })();
    this.onCommitted(stored);
    return stored;
  }

  abort(jobId: string, reason: string, endedAt: string): void {
    this.db.transaction(() => {
      const job = this.db.prepare(`SELECT bench_id FROM jobs WHERE id = ? AND state = 'running'`).get(jobId) as { bench_id: string } | undefined;
      const changed = this.db
        .prepare(`UPDATE jobs SET state = 'aborted', ended_at = ?, reason = ? WHERE id = ? AND state = 'running'`)
        .run(endedAt, reason, jobId).changes;
      // QA sees aborts centrally too: a bench that aborts often is a finding.
      if (changed === 1 && job) this.outbox.enqueue('job-aborted', job.bench_id, jobId, endedAt);
    })();
  }

  get(id: string): JobRow | undefined {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
    return row && fromRow(row);
  }

  countByState(): Record<JobState, number> {
    const counts: Record<JobState, number> = { running: 0, completed: 0, aborted: 0, interrupted: 0 };
    for (const r of this.db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as {
      state: JobState;
      n: number;
    }[]) {
      counts[r.state] = r.n;
    }
    return counts;
  }
}
