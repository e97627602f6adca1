/**
 * Shared driver plumbing for line-protocol instruments: status, identity, last error, retries,
 * and the optical-range error a power meter raises instead of returning a number.
 */
import {
  InstrumentDisconnectedError,
  InstrumentError,
  InstrumentReplyError,
  InstrumentReportedError,
  InstrumentTimeoutError,
  type ErrorContext,
} from '../src/errors.js';
import type { Instrument, InstrumentIdentity, InstrumentState, InstrumentStatus } from '../src/instruments/capabilities.js';
import { LineTransport, type LineSession, type LineTransportOptions, type TransportLogger } from '../src/transport/line-transport.js';

/**
 * The meter saw no usable light (reading below the no-light threshold, the sensor's noise floor)
 * or could not measure (saturated, SCPI not-a-number). `context.condition` is 'no-light',
 * 'saturated' or 'not-a-number'; the pipeline treats 'no-light' on a fiber as a dark fiber.
 */
export class OpticalRangeError extends InstrumentReportedError {
  readonly condition: 'no-light' | 'saturated' | 'not-a-number';
  constructor(condition: 'no-light' | 'saturated' | 'not-a-number', message: string, context: ErrorContext = {}) {
    super(message, { ...context, condition });
    this.condition = condition;
  }
}

export interface DriverOptions {
  logger?: TransportLogger;
}

/** A reply that must be a plain decimal or exponent number. */
export function parseStrictNumber(reply: string, ctx: ErrorContext): number {
  const s = reply.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    throw new InstrumentReplyError(`not a number: "${reply}"`, { ...ctx, received: reply });
  }
  return Number(s);
}

export function isRetryable(err: unknown): boolean {
  return (
    (err instanceof InstrumentTimeoutError || err instanceof InstrumentReplyError || err instanceof InstrumentDisconnectedError) &&
    !(err instanceof OpticalRangeError)
  );
}

export abstract class LineInstrument implements Instrument {
  readonly id: string;
  readonly dialect: string;
  protected readonly transport: LineTransport;
  protected identity: InstrumentIdentity | undefined;
  private lastError: InstrumentStatus['lastError'];
  /** Idempotent queries are retried this many times after a timeout, garbled reply or disconnect. */
  protected retries = 1;

  constructor(id: string, dialect: string, transport: Omit<LineTransportOptions, 'onOpen'>) {
    this.id = id;
    this.dialect = dialect;
    this.transport = new LineTransport({ ...transport, onOpen: (s) => this.onOpen(s) });
  }

  /** Runs after every (re)open: resync, identify, (re)apply settings. Must set `this.identity`. */
  protected abstract onOpen(s: LineSession): Promise<void>;

  get port(): string {
    return this.transport.port;
  }

  async connect(): Promise<InstrumentIdentity> {
    await this.track(this.transport.open());
    if (!this.identity) throw new InstrumentReplyError('instrument did not identify', { port: this.port });
    return this.identity;
  }

  status(): InstrumentStatus {
    const t = this.transport.status();
    const state: InstrumentState = t.state;
    const tErr = t.lastError;
    const last = [this.lastError, tErr].filter((e): e is NonNullable<typeof e> => !!e).sort((a, b) => (a.at < b.at ? 1 : -1))[0];
    return {
      id: this.id,
      dialect: this.dialect,
      port: this.port,
      state,
      ...(this.identity ? { identity: this.identity } : {}),
      ...(last ? { lastError: last } : {}),
    };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  abstract identify(): Promise<InstrumentIdentity>;

  /** Records an InstrumentError as the last error, then rethrows. */
  protected async track<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      if (err instanceof InstrumentError) {
        this.lastError = { message: err.describe(), code: err.code, at: new Date().toISOString() };
      }
      throw err;
    }
  }

  /** Runs an idempotent operation, retrying after timeouts, garbled replies and disconnects. */
  protected async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    let attempt = 0;
    for (;;) {
      try {
        return await this.track(fn());
      } catch (err) {
        if (attempt >= this.retries || !isRetryable(err)) throw err;
        attempt++;
        // A port that just dropped needs a moment before it can be reopened.
        if (err instanceof InstrumentDisconnectedError) await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }
}
