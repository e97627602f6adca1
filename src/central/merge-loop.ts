import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import { quarantinedShipment, type QuarantinedShipment, type QuarantineRow } from './bench-status.js';
import { mergeInbox, type CentralTrust, type MergeResult } from './merge.js';

/** Quarantine rows added after `afterId`, oldest first. */
export async function quarantinedSince(pool: Pool, afterId: number): Promise<QuarantinedShipment[]> {
  const r = await pool.query<QuarantineRow>('SELECT id, kind, ref, site, bench_id, bench_seq, problem FROM quarantine WHERE id > $1 ORDER BY id', [afterId]);
  return r.rows.map(quarantinedShipment);
}

export async function lastQuarantineId(pool: Pool): Promise<number> {
  return Number((await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM quarantine')).rows[0]!.id ?? 0);
}

/** One merge, and what it quarantined (for `mpocert hub merge` and the loop's log). */
export async function mergeOnce(pool: Pool, trust: CentralTrust): Promise<MergeResult & { quarantinedItems: QuarantinedShipment[] }> {
  const before = await lastQuarantineId(pool);
  const result = await mergeInbox(pool, trust);
  return { ...result, quarantinedItems: result.quarantined > 0 ? await quarantinedSince(pool, before) : [] };
}

/**
 * Merges the inbox every `intervalMs` (one merge at a time; the next starts `intervalMs` after the
 * last ended). Logs what each merge did when it did something, each quarantined certificate at
 * warn with its reason, and an unreachable database once per distinct error (the loop goes on).
 */
export class MergeLoop {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private seenQuarantine = 0;
  private lastError: string | null = null;
  /** Totals since the hub started, for /healthz. */
  readonly totals = { merges: 0, merged: 0, quarantined: 0, lastMergeAt: null as string | null, lastError: null as string | null };

  constructor(
    private readonly pool: Pool,
    private readonly trust: CentralTrust,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.seenQuarantine = await lastQuarantineId(this.pool);
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.cycle().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.schedule(this.intervalMs);
      });
    }, ms);
  }

  private async cycle(): Promise<void> {
    try {
      const r = await mergeInbox(this.pool, this.trust);
      this.totals.merges++;
      this.totals.merged += r.merged;
      this.totals.quarantined += r.quarantined;
      this.totals.lastMergeAt = new Date().toISOString();
      this.totals.lastError = null;
      if (this.lastError !== null) this.logger.info('central store reachable again: merging');
      this.lastError = null;
      if (r.merged + r.quarantined + r.duplicates + r.other > 0) {
        this.logger.info({ merged: r.merged, quarantined: r.quarantined, duplicates: r.duplicates, other: r.other, waiting: r.waiting }, 'merged the inbox');
      }
      if (r.quarantined > 0) {
        for (const q of await quarantinedSince(this.pool, this.seenQuarantine)) {
          this.seenQuarantine = Math.max(this.seenQuarantine, q.id);
          this.logger.warn({ site: q.site, bench: q.benchId, sequence: q.benchSequence, ref: q.ref, kind: q.kind, reason: q.problem }, 'quarantined: not merged');
        }
      }
    } catch (err) {
      const message = describeError(err);
      this.totals.lastError = message;
      if (message !== this.lastError) this.logger.warn({ err: message }, 'merging the inbox failed; retrying');
      this.lastError = message;
    }
  }
}
