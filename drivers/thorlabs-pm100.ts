/**
 * Thorlabs PM100 family (PM100D, PM100USB, PM101 over RS-232, PM400) - SCPI, commands end LF,
 * replies end LF. Same commands over a raw TCP socket (serial device server or LAN).
 *
 * After every (re)open: resync with *IDN? (anything before the THORLABS line is drained), *CLS,
 * unit W, auto-range on, the wavelength re-applied (or, if none was set yet, the meter's own
 * wavelength read and adopted), the unit read back and the error queue checked.
 *
 * Unit safety. The meter is kept in W, its power-on default, and the driver converts to dBm
 * itself (as the Newport driver does). A meter power-cycled behind an open serial port (the port
 * never closes, so onOpen does not run again) therefore still answers in the unit the driver
 * expects; but it has also lost its wavelength correction, which biases the reading by the
 * responsivity ratio. So every reading is one transaction of three queries, the checks after the
 * reading so that anything that happened up to the reply is caught:
 *   MEAS:POW?        the reading (blocks until ready; the only query in flight)
 *   SENS:POW:UNIT?   must read W (an operator or another client may have switched it to DBM)
 *   SENS:CORR:WAV?   must read the wavelength the driver set (a power cycle restores 1550 nm)
 * If either check fails the reading is discarded, the settings are re-applied in the same
 * transaction and the reading is taken again once; if it still does not check out the call
 * rejects with InstrumentReportedError. Only then is the reply interpreted. A W reply is
 * validated on its own as well: negative or not a number is a reply error (it cannot be a power
 * in W), zero or below `noLightBelowDbm` is no-light, 9.9E37 is saturated. This costs two short
 * queries (about 10 bytes each way) per reading, a few milliseconds on RS-232 at 115200 baud,
 * small beside the measurement itself; in exchange no reading is ever taken in the wrong unit
 * or at the wrong wavelength. (A value check alone could not tell a DBM reply of +0.5 from
 * 0.5 W, and a power-cycle check alone could not see a front-panel change.)
 *
 * No light: the PM100 reports its noise floor (about 1 pW = -90 dBm); anything below
 * `noLightBelowDbm` (default -60 dBm) rejects with OpticalRangeError('no-light'); 9.9E37
 * (SCPI not-a-number / overload) rejects with OpticalRangeError('saturated').
 */
import { InstrumentReplyError, InstrumentReportedError, InstrumentTimeoutError } from '../src/errors.js';
import type { InstrumentIdentity, PowerMeter } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, OpticalRangeError, parseStrictNumber, type DriverOptions } from './common.js';

export interface Pm100Options extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  /** Readings below this are "no light" (default -60 dBm). */
  noLightBelowDbm?: number;
  /** Maximum time a zero may take (default 30 s). */
  zeroTimeoutMs?: number;
}

export function parseThorlabsIdn(raw: string): InstrumentIdentity {
  const f = raw.split(',').map((x) => x.trim());
  if (f.length < 4 || !/^thorlabs$/i.test(f[0] ?? '')) {
    throw new InstrumentReplyError(`unexpected *IDN? reply "${raw}"`, { command: '*IDN?', received: raw });
  }
  return { manufacturer: 'Thorlabs', model: f[1]!, serialNumber: f[2]!, firmware: f[3]!, raw };
}

export class ThorlabsPm100 extends LineInstrument implements PowerMeter {
  readonly capabilities = { powerMeter: true } as const;
  private wavelengthNm: number | undefined;
  private readonly noLightBelowDbm: number;
  private readonly zeroTimeoutMs: number;
  private readonly logger: DriverOptions['logger'];

  constructor(o: Pm100Options) {
    super(o.id, 'thorlabs-pm100', {
      endpoint: o.endpoint.kind === 'serial' ? { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1, ...o.endpoint } : o.endpoint,
      writeTerminator: '\n',
      readDelimiter: '\n',
      timeoutMs: o.timeoutMs ?? 3000,
      ...(o.logger ? { logger: o.logger } : {}),
    });
    this.noLightBelowDbm = o.noLightBelowDbm ?? -60;
    this.zeroTimeoutMs = o.zeroTimeoutMs ?? 30_000;
    this.logger = o.logger;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    const idn = await s.query('*IDN?', { accept: (l) => /^THORLABS,/i.test(l) });
    this.identity = parseThorlabsIdn(idn);
    await this.applySettings(s);
  }

  /** *CLS, unit W, auto-range, wavelength (re-applied, or adopted from the meter), then verified. */
  private async applySettings(s: LineSession): Promise<void> {
    await s.send('*CLS');
    await s.send('SENS:POW:UNIT W');
    await s.send('SENS:POW:RANG:AUTO ON');
    if (this.wavelengthNm !== undefined) {
      await s.send(`SENS:CORR:WAV ${this.wavelengthNm}`);
    } else {
      const back = await s.query('SENS:CORR:WAV?');
      this.wavelengthNm = parseStrictNumber(back, { port: s.port, command: 'SENS:CORR:WAV?' });
    }
    const unit = await s.query('SENS:POW:UNIT?');
    if (unit.trim().toUpperCase() !== 'W') {
      throw new InstrumentReplyError(`meter did not switch to W (unit reads "${unit}")`, { port: s.port, command: 'SENS:POW:UNIT?', received: unit });
    }
    await this.checkErrorQueue(s, 'SENS:POW:UNIT W');
  }

  /**
   * Reads back unit and wavelength after a reading; returns why they do not match what the driver
   * set (the reading must then be discarded), or undefined when they do.
   */
  private async settingsLost(s: LineSession): Promise<string | undefined> {
    const unit = await s.query('SENS:POW:UNIT?');
    const u = unit.trim().toUpperCase();
    if (u !== 'W' && u !== 'DBM') throw new InstrumentReplyError(`unexpected SENS:POW:UNIT? reply "${unit}"`, { port: s.port, command: 'SENS:POW:UNIT?', received: unit });
    const back = await s.query('SENS:CORR:WAV?');
    const nm = parseStrictNumber(back, { port: s.port, command: 'SENS:CORR:WAV?' });
    const why: string[] = [];
    if (u !== 'W') why.push(`unit reads ${u}, not W`);
    if (this.wavelengthNm !== undefined && Math.abs(nm - this.wavelengthNm) > 0.5) why.push(`wavelength reads ${nm} nm, not ${this.wavelengthNm} nm`);
    return why.length ? why.join(', ') : undefined;
  }

  /** Reads SYST:ERR? until "0,..." and throws the first error found. */
  private async checkErrorQueue(s: LineSession, after: string): Promise<void> {
    const first = await s.query('SYST:ERR?');
    const m = /^([+-]?\d+)\s*,\s*(.*)$/.exec(first.trim());
    if (!m) throw new InstrumentReplyError(`unexpected SYST:ERR? reply "${first}"`, { port: s.port, command: 'SYST:ERR?', received: first });
    if (Number(m[1]) === 0) return;
    // Drain the rest of the queue so the next check starts clean.
    for (let i = 0; i < 10; i++) {
      const more = await s.query('SYST:ERR?');
      if (/^\+?0\s*,/.test(more.trim())) break;
    }
    throw new InstrumentReportedError(`meter reported ${first}`, { port: s.port, command: after, received: first });
  }

  identify(): Promise<InstrumentIdentity> {
    return this.withRetry(async () => {
      const raw = await this.transport.query('*IDN?');
      this.identity = parseThorlabsIdn(raw);
      return this.identity;
    });
  }

  async setWavelength(nm: number): Promise<void> {
    if (!Number.isFinite(nm) || nm <= 0) throw new InstrumentReportedError(`invalid wavelength ${nm}`, { port: this.port, command: 'SENS:CORR:WAV' });
    const command = `SENS:CORR:WAV ${nm}`;
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        await s.send(command);
        await this.checkErrorQueue(s, command);
        const back = await s.query('SENS:CORR:WAV?');
        const got = parseStrictNumber(back, { port: s.port, command: 'SENS:CORR:WAV?' });
        if (Math.abs(got - nm) > 0.5) {
          throw new InstrumentReportedError(`wavelength reads ${got} nm after setting ${nm} nm`, { port: s.port, command, received: back });
        }
      }),
    );
    this.wavelengthNm = nm;
  }

  getWavelength(): Promise<number> {
    return this.withRetry(async () => {
      const r = await this.transport.query('SENS:CORR:WAV?');
      return parseStrictNumber(r, { port: this.port, command: 'SENS:CORR:WAV?' });
    });
  }

  readPowerDbm(): Promise<number> {
    const command = 'MEAS:POW?';
    return this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        for (let attempt = 1; ; attempt++) {
          const r = await s.query(command);
          // Parse before the checks (a garbled reply is retried), interpret only after them.
          const w = parseStrictNumber(r, { port: s.port, command });
          const lost = await this.settingsLost(s);
          if (lost === undefined) return this.wattsToDbm(w, r, s.port);
          if (attempt >= 2) {
            throw new InstrumentReportedError(`meter settings changed during the reading again after re-applying them (${lost}); reading discarded`, {
              port: s.port,
              command,
              received: r,
            });
          }
          // Power-cycled (or changed from the front panel): the reading is discarded, never converted.
          this.logger?.warn?.({ port: s.port, why: lost, discarded: r }, 'meter settings lost: re-applying them and reading again');
          await this.applySettings(s);
        }
      }),
    );
  }

  /** A reply that must be a power in W (the unit was just verified), converted to dBm. */
  private wattsToDbm(w: number, r: string, port: string): number {
    const ctx = { port, command: 'MEAS:POW?', received: r };
    if (Math.abs(w) >= 9.9e37) throw new OpticalRangeError('saturated', `meter reports overload/not-a-number (${r})`, ctx);
    if (w < 0) throw new InstrumentReplyError(`negative power ${r} cannot be a reading in W`, ctx);
    if (w === 0) throw new OpticalRangeError('no-light', `no light: ${r} W`, ctx);
    const dbm = Math.round(10 * Math.log10(w * 1000) * 1e6) / 1e6;
    if (dbm < this.noLightBelowDbm) throw new OpticalRangeError('no-light', `no light: ${dbm} dBm is below ${this.noLightBelowDbm} dBm`, ctx);
    if (dbm > 40) throw new InstrumentReplyError(`implausible power ${r} W (${dbm} dBm)`, ctx);
    return dbm;
  }

  async zero(): Promise<void> {
    const command = 'SENS:CORR:COLL:ZERO';
    await this.track(this.transport.send(command));
    const deadline = Date.now() + this.zeroTimeoutMs;
    for (;;) {
      const st = await this.withRetry(() => this.transport.query('SENS:CORR:COLL:ZERO:STAT?'));
      if (st.trim() === '0') break;
      if (st.trim() !== '1') throw new InstrumentReplyError(`unexpected zero state "${st}"`, { port: this.port, command: 'SENS:CORR:COLL:ZERO:STAT?', received: st });
      if (Date.now() > deadline) throw new InstrumentTimeoutError(`zero did not finish within ${this.zeroTimeoutMs} ms`, { port: this.port, command });
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.track(this.transport.transaction(command, (s) => this.checkErrorQueue(s, command)));
  }
}
