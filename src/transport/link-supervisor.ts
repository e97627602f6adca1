/**
 * The state of one instrument link, owned in one place for every transport: whether it is up,
 * since when, how often it came back, how many requests timed out, the last error, and the
 * background reconnect with exponential backoff.
 *
 * Transports describe framing only; they tell the supervisor what happened (`opening`,
 * `linkUp`, `ready`, `openFailed`, `dropped`, `timedOut`) and give it the one action it needs: reopen the
 * link, run inside the port's request queue so a reconnect never lands under a request.
 * A reconnect is attempted after every failed open or drop, first `initialDelayMs` later, then
 * `factor` times longer up to `maxDelayMs`; a successful open resets the delay. The timer is
 * unref'd, so a supervisor never keeps a process alive.
 */
import { InstrumentError } from '../errors.js';

export type LinkState = 'offline' | 'connecting' | 'online' | 'reconnecting' | 'closed';

/** pino-compatible subset; every method optional. */
export interface TransportLogger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
}

export interface BackoffOptions {
  /** Background reconnects on (default). Off: the link is reopened only by the next request. */
  enabled?: boolean;
  initialDelayMs?: number;
  maxDelayMs?: number;
  factor?: number;
}

export interface LinkStatistics {
  reconnects: number;
  timeouts: number;
  strayLines: number;
}

export interface LinkStatus extends LinkStatistics {
  port: string;
  state: LinkState;
  connectedSince?: string;
  lastError?: { message: string; code: string; at: string };
}

export interface LinkSupervisorOptions {
  port: string;
  backoff?: BackoffOptions;
  logger?: TransportLogger;
  /** Reopens the link; runs in the port's queue. A rejection schedules the next attempt. */
  reopen: () => Promise<void>;
  /** Called each time the link becomes ready (transports re-emit it as 'online'). */
  onReady?: () => void;
  /** Log label ("instrument link", "modbus link"). */
  label?: string;
}

export class LinkSupervisor {
  readonly port: string;
  private current: LinkState = 'offline';
  private everConnected = false;
  private since: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private delayMs: number;
  private readonly stats: LinkStatistics = { reconnects: 0, timeouts: 0, strayLines: 0 };
  private last: LinkStatus['lastError'];
  private readonly o: LinkSupervisorOptions;
  private readonly b: Required<BackoffOptions>;

  constructor(o: LinkSupervisorOptions) {
    this.o = o;
    this.port = o.port;
    this.b = { enabled: true, initialDelayMs: 200, maxDelayMs: 5000, factor: 2, ...o.backoff };
    this.delayMs = this.b.initialDelayMs;
  }

  get state(): LinkState {
    return this.current;
  }

  get closed(): boolean {
    return this.current === 'closed';
  }

  status(): LinkStatus {
    return {
      port: this.port,
      state: this.current,
      ...(this.since ? { connectedSince: this.since } : {}),
      ...this.stats,
      ...(this.last ? { lastError: this.last } : {}),
    };
  }

  /** An open is starting (cancels a pending background attempt: this one replaces it). */
  opening(): void {
    this.cancelTimer();
    if (!this.closed) this.current = this.everConnected ? 'reconnecting' : 'connecting';
  }

  /** The byte link connected (counted as a reconnect if it had been up before). */
  linkUp(): void {
    if (this.everConnected) this.stats.reconnects++;
    this.everConnected = true;
  }

  /** The link is open and resynced: requests may use it. */
  ready(): void {
    if (this.closed) return;
    this.current = 'online';
    this.since = new Date().toISOString();
    this.delayMs = this.b.initialDelayMs;
    this.o.logger?.info?.({ port: this.port }, `${this.o.label ?? 'instrument link'} open`);
    this.o.onReady?.();
  }

  /** An open failed: stay offline (never connected) or reconnecting, and try again later. */
  openFailed(): void {
    if (!this.closed) this.current = this.everConnected ? 'reconnecting' : 'offline';
    this.schedule();
  }

  /** The link went down (peer closed, write failed, hung after a timeout). */
  dropped(why: string): void {
    this.since = undefined;
    if (this.closed) return;
    this.current = 'reconnecting';
    this.o.logger?.warn?.({ port: this.port, why }, `${this.o.label ?? 'instrument link'} dropped`);
    this.schedule();
  }

  timedOut(): void {
    this.stats.timeouts++;
  }

  stray(n = 1): void {
    this.stats.strayLines += n;
  }

  /** Records the error a request failed with, for status(). */
  noteError(err: unknown): void {
    if (err instanceof InstrumentError) this.last = { message: err.describe(), code: err.code, at: new Date().toISOString() };
  }

  /** Allows opening again after close() (an explicit open()). */
  reset(): void {
    if (this.closed) this.current = 'offline';
  }

  close(): void {
    this.current = 'closed';
    this.since = undefined;
    this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.closed || !this.b.enabled || this.timer) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * this.b.factor, this.b.maxDelayMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.current === 'online') return;
      // reopen() runs in the queue and reports its own failure through openFailed().
      this.o.reopen().catch(() => undefined);
    }, delay);
    this.timer.unref();
  }
}
