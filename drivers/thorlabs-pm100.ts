/**
 * Thorlabs PM100 family (PM100D, PM100USB, PM101 over RS-232, PM400) - SCPI, commands end LF,
 * replies end LF. Same commands over a raw TCP socket (serial device server or LAN).
 *
 * After every (re)open: resync with *IDN? (anything before the THORLABS line is drained), *CLS,
 * unit W, auto-range on, the wavelength re-applied (or, if none was set yet, the meter's own
 * wavelength read and adopted), the unit read back and the error queue checked. On a reopen
 * after a wavelength was set, the unit and wavelength are read first: if the meter lost them
 * (power-cycled while the link was down) the next confirmSettings rejects.
 *
 * Why one query per reading. The meter is kept in W, its power-on default, and the driver
 * converts to dBm itself (as the Newport driver does), so a power cycle behind an open port (the
 * port never closes, onOpen does not run again) cannot flip the unit. What a power cycle does
 * lose is the wavelength correction (it restores 1550 nm), which biases a reading by the
 * responsivity ratio; a front-panel change can also switch the unit to DBM. Reading the unit and
 * wavelength back with every reading tripled its cost, so the contract is split:
 *
 *   readPowerDbm()       one exchange, `MEAS:POW?` (blocks until the reading is ready). The reply
 *                        is validated on its own so that it is never wrong *as a number in W*:
 *                        not a number or negative (a dBm reply) or above `maxPlausibleW`
 *                        (default 0.1 W = +20 dBm; a dBm reply like 0.5 must not become
 *                        +27 dBm) is an InstrumentReplyError; zero, tiny negative zero-offset
 *                        noise or below `noLightBelowDbm` is OpticalRangeError('no-light');
 *                        9.9E37 is OpticalRangeError('saturated').
 *   confirmSettings(nm)  one transaction `SENS:POW:UNIT?`, `SENS:CORR:WAV?`, `SYST:ERR?`, called
 *                        by the pipeline after every sweep of readings at one wavelength. A unit
 *                        other than W, a wavelength more than 0.5 nm from `nm`, or settings found
 *                        lost on a reopen since the last setWavelength reject with
 *                        MeterSettingsChangedError (code METER_SETTINGS_CHANGED): the sweep's
 *                        readings are suspect and the caller must discard them. It never re-applies
 *                        settings itself (that would hide the fault); an error in the queue
 *                        rejects with InstrumentReportedError.
 *   setWavelength(nm)    `SENS:POW:UNIT W` (re-asserted: recovers from a front-panel DBM switch
 *                        at the next sweep), `SENS:CORR:WAV <nm>`, `SYST:ERR?`, `SENS:CORR:WAV?`
 *                        (must read back nm within 0.5 nm).
 *
 * A reading taken after a power cycle at the wrong wavelength is a plausible number in W; it is
 * caught by the confirmSettings that closes its sweep, never certified. The one value band the
 * per-reading checks cannot see is a DBM reply in (0, maxPlausibleW]: confirmSettings catches the
 * DBM unit there too.
 */
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../src/instruments/power-floor.js';
import { InstrumentReplyError, InstrumentReportedError, InstrumentTimeoutError } from '../src/errors.js';
import type { InstrumentIdentity, PowerMeter } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, MeterSettingsChangedError, parseStrictNumber, wattReplyToDbm, type DriverOptions, withSerialDefaults } from './common.js';

export interface Pm100Options extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  /** Readings below this are "no light" (default -60 dBm). */
  noLightBelowDbm?: number;
  /** Replies above this (W) are not a reading in W (default 0.1 W = +20 dBm). */
  maxPlausibleW?: number;
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
  private readonly limits: { noLightBelowDbm: number; maxPlausibleW: number };
  private readonly zeroTimeoutMs: number;
  /** Why the settings were found lost on a reopen since the last setWavelength (confirmSettings rejects). */
  private lostOnReopen: { why: string; command: string; received: string; expected: string | number } | undefined;

  constructor(o: Pm100Options) {
    super(o.id, 'thorlabs-pm100', {
      endpoint: withSerialDefaults(o.endpoint, 115200),
      writeTerminator: '\n',
      readDelimiter: '\n',
      timeoutMs: o.timeoutMs ?? 3000,
      ...(o.logger ? { logger: o.logger } : {}),
    });
    this.limits = { noLightBelowDbm: o.noLightBelowDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM, maxPlausibleW: o.maxPlausibleW ?? 0.1 };
    this.zeroTimeoutMs = o.zeroTimeoutMs ?? 30_000;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    const idn = await s.query('*IDN?', { accept: (l) => /^THORLABS,/i.test(l) });
    this.identity = parseThorlabsIdn(idn);
    if (this.wavelengthNm !== undefined) await this.noteLostSettings(s, this.wavelengthNm);
    await this.applySettings(s);
  }

  /** On a reopen: did the meter keep the unit and wavelength the driver set? If not, remember it for confirmSettings. */
  private async noteLostSettings(s: LineSession, nm: number): Promise<void> {
    const unit = await s.query('SENS:POW:UNIT?');
    const u = unit.trim().toUpperCase();
    if (u !== 'W' && u !== 'DBM') throw new InstrumentReplyError(`unexpected SENS:POW:UNIT? reply "${unit}"`, { port: s.port, command: 'SENS:POW:UNIT?', received: unit });
    const back = await s.query('SENS:CORR:WAV?');
    const got = parseStrictNumber(back, { port: s.port, command: 'SENS:CORR:WAV?' });
    if (u !== 'W') {
      this.lostOnReopen ??= { why: `unit read ${unit.trim()} on reopening the link, not W`, command: 'SENS:POW:UNIT?', received: unit, expected: 'W' };
    } else if (Math.abs(got - nm) > 0.5) {
      this.lostOnReopen ??= { why: `wavelength read ${back.trim()} on reopening the link, not ${nm} nm`, command: 'SENS:CORR:WAV?', received: back, expected: nm };
    }
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
        await s.send('SENS:POW:UNIT W');
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
    // A new sweep starts here: what a reopen found before it concerns readings already judged.
    this.lostOnReopen = undefined;
  }

  getWavelength(): Promise<number> {
    return this.withRetry(async () => {
      const r = await this.transport.query('SENS:CORR:WAV?');
      return parseStrictNumber(r, { port: this.port, command: 'SENS:CORR:WAV?' });
    });
  }

  /** One exchange, `MEAS:POW?`: a reply in W, validated and converted to dBm (see the header). */
  readPowerDbm(): Promise<number> {
    const command = 'MEAS:POW?';
    return this.withRetry(async () => wattReplyToDbm(await this.transport.query(command), this.limits, { port: this.port, command }));
  }

  /**
   * One transaction `SENS:POW:UNIT?`, `SENS:CORR:WAV?`, `SYST:ERR?`: rejects with
   * MeterSettingsChangedError when the unit is not W, the wavelength is not `nm` (within 0.5 nm)
   * or a reopen since the last setWavelength found the settings lost. Never re-applies them.
   */
  confirmSettings(nm: number): Promise<void> {
    return this.withRetry(() =>
      this.transport.transaction('confirm settings', async (s) => {
        const unit = await s.query('SENS:POW:UNIT?');
        const u = unit.trim().toUpperCase();
        if (u !== 'W' && u !== 'DBM') throw new InstrumentReplyError(`unexpected SENS:POW:UNIT? reply "${unit}"`, { port: s.port, command: 'SENS:POW:UNIT?', received: unit });
        const back = await s.query('SENS:CORR:WAV?');
        const got = parseStrictNumber(back, { port: s.port, command: 'SENS:CORR:WAV?' });
        const changed = (why: string, command: string, received: string, expected: string | number): MeterSettingsChangedError =>
          new MeterSettingsChangedError(`meter settings changed since they were set (${why}): the readings since are suspect`, { port: s.port, command, received, expected });
        if (u !== 'W') throw changed(`unit reads ${u}, not W`, 'SENS:POW:UNIT?', unit, 'W');
        if (Math.abs(got - nm) > 0.5) throw changed(`wavelength reads ${got} nm, not ${nm} nm`, 'SENS:CORR:WAV?', back, nm);
        const lost = this.lostOnReopen;
        if (lost) throw changed(lost.why, lost.command, lost.received, lost.expected);
        await this.checkErrorQueue(s, 'confirm settings');
      }),
    );
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
