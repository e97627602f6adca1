import type { Db } from './database.js';

/**
 * What the central QA store still has to receive (the outbox migration in database.ts). Rows are
 * written by the store classes inside the transaction that creates what they name (JobStore for
 * certificates and job aborts, CertificateStore for a new signing key), so a crash leaves both or
 * neither; the replicator reads them in order and deletes them once PostgreSQL has committed
 * them: the table is the backlog, its size the replication lag.
 */
export type OutboxKind = 'certificate' | 'job-aborted' | 'signing-key';

export interface OutboxRow {
  seq: number;
  kind: OutboxKind;
  benchId: string | null;
  /** Certificate uuid, job id or key id. */
  ref: string;
  createdAt: string;
}

export interface OutboxLag {
  /** Items not yet acknowledged by the central store. */
  count: number;
  /** When the oldest of them was created (null: nothing waiting). */
  oldestCreatedAt: string | null;
}

export class Outbox {
  private readonly stmt;

  constructor(private readonly db: Db) {
    this.stmt = {
      enqueue: db.prepare('INSERT INTO outbox (kind, bench_id, ref, created_at) VALUES (?, ?, ?, ?)'),
      pending: db.prepare('SELECT seq, kind, bench_id AS benchId, ref, created_at AS createdAt FROM outbox ORDER BY seq LIMIT ?'),
      shipped: db.prepare('DELETE FROM outbox WHERE seq = ?'),
      lag: db.prepare('SELECT count(*) AS count, min(created_at) AS oldestCreatedAt FROM outbox'),
    };
  }

  /** Queues an item; call inside the transaction that creates what it names. */
  enqueue(kind: OutboxKind, benchId: string | null, ref: string, createdAt: string): void {
    this.stmt.enqueue.run(kind, benchId, ref, createdAt);
  }

  /** The oldest items not yet shipped, in the order they were created. */
  pending(limit: number): OutboxRow[] {
    return this.stmt.pending.all(limit) as OutboxRow[];
  }

  /** The central store has committed these: they leave the backlog. */
  markShipped(seqs: readonly number[]): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.stmt.shipped.run(seq);
    })();
  }

  lag(): OutboxLag {
    return this.stmt.lag.get() as OutboxLag;
  }
}
