/**
 * Shared driver plumbing for line-protocol instruments: status, identity, last error, retries,
 * and the W -> dBm conversion every meter kept in W uses.
 */
import { InstrumentDisconnectedError, InstrumentError, InstrumentReplyError, InstrumentTimeoutError, type ErrorContext } from '../src/errors.js';
import { MeterSettingsChangedError, OpticalRangeError } from '../src/instruments/errors.js';
import { parseStrictNumber } from './line-dialect.js';
import type { Instrument, InstrumentIdentity, InstrumentState, InstrumentStatus } from '../src/instruments/capabilities.js';
import { LineTransport, type LineEndpoint, type LineSession, type LineTransportOptions, type TransportLogger } from '../src/transport/line-transport.js';

/** Plausibility limits for a power reply in W (both meters are kept in W and convert to dBm). */
export interface WattReplyLimits {
  /** Below this (dBm) is no light. */
  noLightBelowDbm: number;
  /** Above this (W) a reply cannot be a reading in W (e.g. a dBm value like 0.5). */
  maxPlausibleW: number;
}

/**
 * Interprets one power reply that must be in W and converts it to dBm (rounded to 1e-6 dB).
 * Never returns a number that is not a plausible reading in W:
 * - not a number: InstrumentReplyError;
 * - 9.9E37 (SCPI overload / not-a-number): OpticalRangeError('saturated');
 * - negative: a tiny negative value (no larger than the no-light power) is the zero offset's noise
 *   on a dark sensor, OpticalRangeError('no-light'); anything more negative cannot be a power in W
 *   (a dBm reply after the unit was switched): InstrumentReplyError;
 * - zero or below `noLightBelowDbm`: OpticalRangeError('no-light');
 * - above `maxPlausibleW`: InstrumentReplyError (a dBm reply like 0.5 must not become +27 dBm).
 */
export function wattReplyToDbm(reply: string, limits: WattReplyLimits, ctx: ErrorContext): number {
  const c = { ...ctx, received: reply };
  const w = parseStrictNumber(reply, c);
  if (Math.abs(w) >= 9.9e37) throw new OpticalRangeError('saturated', `meter reports overload/not-a-number (${reply})`, c);
  const noLightW = 10 ** (limits.noLightBelowDbm / 10) / 1000;
  if (w < 0) {
    if (-w <= noLightW) throw new OpticalRangeError('no-light', `no light: ${reply} W (zero-offset noise)`, c);
    throw new InstrumentReplyError(`negative power ${reply} cannot be a reading in W (a dBm reply?)`, c);
  }
  if (w === 0) throw new OpticalRangeError('no-light', `no light: ${reply} W`, c);
  if (w > limits.maxPlausibleW) {
    throw new InstrumentReplyError(`implausible power ${reply} W (above ${limits.maxPlausibleW} W; a dBm reply?)`, { ...c, maxPlausibleW: limits.maxPlausibleW });
  }
  const dbm = Math.round(10 * Math.log10(w * 1000) * 1e6) / 1e6;
  if (dbm < limits.noLightBelowDbm) throw new OpticalRangeError('no-light', `no light: ${dbm} dBm is below ${limits.noLightBelowDbm} dBm`, c);
  return dbm;
}

export interface DriverOptions {
  logger?: TransportLogger;
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

/**
 * A serial endpoint with the instrument's factory framing (8N1 at its default baud rate) where the
 * config leaves it out; a TCP endpoint unchanged.
 */
export function withSerialDefaults(endpoint: LineEndpoint, baudRate: number): LineEndpoint {
  return endpoint.kind === 'serial' ? { baudRate, dataBits: 8, parity: 'none', stopBits: 1, ...endpoint } : endpoint;
}

/** A meter setting found changed: what, the query that showed it, its reply, what it should read. */
export interface SettingChange {
  why: string;
  command: string;
  received: string;
  expected: string | number;
}

/** The error confirmSettings rejects with when a setting changed (now, or on a reopen since it was set). */
export function settingsChangedError(found: SettingChange, port: string): MeterSettingsChangedError {
  return new MeterSettingsChangedError(`meter settings changed since they were set (${found.why}): the readings since are suspect`, {
    port,
    command: found.command,
    received: found.received,
    expected: found.expected,
  });
}
