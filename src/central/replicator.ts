import { EventEmitter } from 'node:events';
import type { Pool } from 'pg';
import { describeError } from '../errors.js';
import type { ShippedCertificate } from '../store/certificate-store.js';
import type { Db } from '../store/database.js';
import type { Outbox, OutboxLag, OutboxRow } from '../store/outbox.js';

/**
 * Ships the daemon's outbox to the central PostgreSQL store: store and forward. Certificates,
 * job aborts and signing keys go in the order they were created (so in chain order per bench),
 * at least once: a batch is INSERTed into the central inbox in one statement, idempotent on
 * (kind, ref), and only then deleted from the outbox. A crash between the two ships the batch
 * again, harmlessly. With PostgreSQL down or the network cut, benches keep certifying; the
 * backlog waits in SQLite and drains when the store answers again. Nothing is verified here:
 * the central merge checks every certificate against QA's own pinned keys.
 */
export interface ReplicatorOptions {
  site: string;
  pool: Pool;
  db: Db;
  outbox: Pick<Outbox, 'pending' | 'markShipped' | 'lag'>;
  certificates: { forShipping(uuid: string): (ShippedCertificate & { storedBody: Buffer }) | undefined };
  batchSize?: number;
  /** How often an idle replicator looks for new items (a new certificate also wakes it). */
  intervalMs?: number;
  /** Longest wait between attempts while the central store is unreachable. */
  maxBackoffMs?: number;
}

export interface ReplicationStatus {
  state: 'idle' | 'shipping' | 'unreachable' | 'stopped';
  backlog: number;
  /** Age of the oldest item not yet shipped, in seconds (null: nothing waiting). */
  oldestAgeSeconds: number | null;
  shipped: number;
  lastShippedAt: string | null;
  lastError: string | null;
}

interface InboxRow {
  kind: OutboxRow['kind'];
  ref: string;
  benchId: string | null;
  benchSeq: number | null;
  fields: Record<string, unknown>;
  body: Buffer | null;
}

export class Replicator extends EventEmitter {
  private state: ReplicationStatus['state'] = 'idle';
  private shipped = 0;
  private lastShippedAt: string | null = null;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private backoffMs = 0;
  private readonly batchSize: number;
  private readonly intervalMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly o: ReplicatorOptions) {
    super();
    this.batchSize = o.batchSize ?? 200;
    this.intervalMs = o.intervalMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 30_000;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Something new is in the outbox: ship it now rather than at the next tick. */
  wake(): void {
    if (this.stopped || this.running || this.backoffMs > 0) return;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    this.state = 'stopped';
  }

  status(): ReplicationStatus {
    const lag: OutboxLag = this.o.outbox.lag();
    return {
      state: this.state,
      backlog: lag.count,
      oldestAgeSeconds: lag.oldestCreatedAt === null ? null : Math.max(0, Math.round((Date.now() - Date.parse(lag.oldestCreatedAt)) / 1000)),
      shipped: this.shipped,
      lastShippedAt: this.lastShippedAt,
      lastError: this.lastError,
    };
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.cycle().finally(() => {
        this.running = undefined;
      });
    }, ms);
    this.timer.unref();
  }

  private async cycle(): Promise<void> {
    if (this.stopped) return;
    let full = false;
    try {
      this.state = 'shipping';
      full = (await this.shipBatch()) === this.batchSize;
      this.backoffMs = 0;
      this.lastError = null;
      this.state = 'idle';
    } catch (err) {
      // 42P01 undefined_table: PostgreSQL answers, but the hub has never created the schema there.
      this.lastError =
        (err as { code?: string }).code === '42P01'
          ? 'the central database has no mpocert schema yet: start `mpocert hub` against it once (it creates the schema); certificates wait here meanwhile'
          : describeError(err);
      this.state = 'unreachable';
      this.backoffMs = Math.min(this.maxBackoffMs, Math.max(500, this.backoffMs * 2));
      this.emit('error-shipping', err);
    }
    if (!this.stopped) this.schedule(this.backoffMs > 0 ? this.backoffMs : full ? 0 : this.intervalMs);
  }

  /** Ships the oldest batch; resolves with how many items the central store now holds from it. */
  async shipBatch(): Promise<number> {
    const pending = this.o.outbox.pending(this.batchSize);
    if (pending.length === 0) return 0;
    const rows = pending.map((p) => this.read(p));
    const values: unknown[] = [];
    const tuples = rows.map((r, i) => {
      values.push(r.kind, r.ref, this.o.site, r.benchId, r.benchSeq, JSON.stringify(r.fields), r.body);
      const b = i * 7;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}::jsonb, $${b + 7})`;
    });
    // One statement: the whole batch lands or none of it. A duplicate (shipped before a crash)
    // is skipped by the central inbox's unique (kind, ref).
    const landed = await this.o.pool.query<{ kind: string; ref: string }>(
      `INSERT INTO inbox (kind, ref, site, bench_id, bench_seq, fields, body) VALUES ${tuples.join(', ')} ON CONFLICT (kind, ref) DO NOTHING RETURNING kind, ref`,
      values,
    );
    const held = await this.certificatesHeldElsewhere(rows, new Set(landed.rows.map((r) => `${r.kind}\u0000${r.ref}`)));
    const done = pending.filter((p) => !held.has(p.ref));
    this.o.outbox.markShipped(done.map((p) => p.seq));
    this.shipped += done.length;
    this.lastShippedAt = new Date().toISOString();
    if (done.length > 0) this.emit('shipped', done.length);
    if (held.size > 0) {
      const [ref, hash] = [...held.entries()][0]!;
      throw new Error(
        `certificate ${ref} stays queued: the central inbox already holds another row under its uuid (${hash === null ? 'no longer there: it is shipped again next time' : `hash ${hash}`}); ${held.size} certificate(s) held back, tell QA`,
      );
    }
    return pending.length;
  }

  /**
   * The certificates of this batch that did not land because the inbox or the central store
   * already holds their uuid, and not with their content: anyone who read a uuid from the bench
   * could ship a row under it first. Such a certificate stays in the outbox (never counted as
   * shipped) until its own bytes are there. Returns uuid -> the other row's hash (null: gone).
   */
  private async certificatesHeldElsewhere(rows: readonly InboxRow[], landed: ReadonlySet<string>): Promise<Map<string, string | null>> {
    const missing = rows.filter((r) => r.kind === 'certificate' && !landed.has(`certificate\u0000${r.ref}`));
    if (missing.length === 0) return new Map();
    const there = await this.o.pool.query<{ ref: string; hash: string | null }>(
      `SELECT ref, fields->>'hash' AS hash FROM inbox WHERE kind = 'certificate' AND ref = ANY($1::text[])
       UNION ALL SELECT uuid::text AS ref, encode(hash, 'hex') AS hash FROM certificates WHERE uuid = ANY($1::uuid[])`,
      [missing.map((r) => r.ref)],
    );
    const held = new Map<string, string | null>();
    for (const r of missing) {
      const ours = r.fields['hash'];
      const found = there.rows.filter((t) => t.ref === r.ref);
      if (found.some((t) => t.hash === ours)) continue;
      held.set(r.ref, found[0]?.hash ?? null);
    }
    return held;
  }

  private read(p: OutboxRow): InboxRow {
    if (p.kind === 'certificate') {
      const c = this.o.certificates.forShipping(p.ref);
      // Queued in the same transaction as the certificate: if it is gone, someone removed it
      // outside the daemon. Never skip it: the backlog stops here and says so.
      if (!c) throw new Error(`certificate ${p.ref} is queued for the central store but no longer in this bench's database`);
      const { body: _text, storedBody, ...fields } = c;
      return { kind: p.kind, ref: p.ref, benchId: c.benchId, benchSeq: c.benchSequence, fields, body: storedBody };
    }
    if (p.kind === 'job-aborted') {
      const j = this.o.db.prepare('SELECT id, bench_id, state, reason, operator, started_at, ended_at FROM jobs WHERE id = ?').get(p.ref) as
        | { id: string; bench_id: string; state: string; reason: string | null; operator: string; started_at: string; ended_at: string | null }
        | undefined;
      if (!j) throw new Error(`job ${p.ref} is queued for the central store but no longer in this bench's database`);
      return { kind: p.kind, ref: p.ref, benchId: j.bench_id, benchSeq: null, fields: { jobId: j.id, benchId: j.bench_id, state: j.state, reason: j.reason, operator: j.operator, startedAt: j.started_at, endedAt: j.ended_at }, body: null };
    }
    const k = this.o.db.prepare('SELECT key_id, public_key_pem, first_used_at FROM signing_keys WHERE key_id = ?').get(p.ref) as { key_id: string; public_key_pem: string; first_used_at: string } | undefined;
    if (!k) throw new Error(`signing key ${p.ref} is queued for the central store but no longer in this bench's database`);
    return { kind: p.kind, ref: p.ref, benchId: null, benchSeq: null, fields: { keyId: k.key_id, publicKeyPem: k.public_key_pem, firstUsedAt: k.first_used_at }, body: null };
  }
}
