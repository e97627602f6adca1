/**
 * Newport 1936-R / 2936-R optical power meter (not SCPI). RS-232 38400 8N1, commands end CR,
 * replies end CR LF, echo ON after power-up: the driver sends `ECHO 0` on every (re)open and
 * the transport also strips any line equal to a recently sent command.
 *
 * The meter is kept in W (`PM:UNIT 2`, also its power-on default) and the driver converts to dBm:
 * the W unit code is the one the facts file confirms. Same contract as the PM100 driver (see its
 * header for why):
 *
 *   readPowerDbm()       one exchange, `PM:P?`, validated as a power in W (wattReplyToDbm): not a
 *                        number, negative (a dBm reply) or above `maxPlausibleW` (default 0.1 W)
 *                        is an InstrumentReplyError; zero, tiny negative zero-offset noise or
 *                        below `noLightBelowDbm` (default -60 dBm) is OpticalRangeError('no-light').
 *   confirmSettings(nm)  one transaction `PM:UNIT?` (must be 2), `PM:L?` (within 0.5 nm of nm),
 *                        `PM:CHAN?` (2936-R on channel 2 only: a power cycle selects channel 1),
 *                        `ERRSTR?`; a change (or settings found lost on a reopen since the last
 *                        setWavelength) rejects with MeterSettingsChangedError
 *                        (METER_SETTINGS_CHANGED). Never re-applies settings.
 *   setWavelength(nm)    [`PM:CHAN n`,] `PM:UNIT 2`, `PM:L <nm>`, `ERRSTR?`, `PM:L?`.
 */
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../src/instruments/power-floor.js';
import { InstrumentReplyError, InstrumentReportedError } from '../src/errors.js';
import type { InstrumentIdentity, PowerMeter } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, MeterSettingsChangedError, parseStrictNumber, wattReplyToDbm, type DriverOptions, withSerialDefaults } from './common.js';

export interface NewportOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  noLightBelowDbm?: number;
  /** Replies above this (W) are not a reading in W (default 0.1 W = +20 dBm). */
  maxPlausibleW?: number;
  /** 2936-R channel (1 or 2). Default 1. */
  channel?: number;
}

export function parseNewportIdn(raw: string): InstrumentIdentity {
  const m = /^NEWPORT\s+(\S+)\s+(v\S+)\s+(\S+)\s+(SN\S+)/i.exec(raw.trim());
  if (!m) throw new InstrumentReplyError(`unexpected *IDN? reply "${raw}"`, { command: '*IDN?', received: raw });
  return { manufacturer: 'Newport', model: m[1]!, firmware: `${m[2]!} ${m[3]!}`, serialNumber: m[4]!.replace(/^SN/i, ''), raw };
}

export class Newport1936 extends LineInstrument implements PowerMeter {
  readonly capabilities = { powerMeter: true } as const;
  private wavelengthNm: number | undefined;
  private readonly limits: { noLightBelowDbm: number; maxPlausibleW: number };
  private readonly channel: number;
  /** Why the settings were found lost on a reopen since the last setWavelength (confirmSettings rejects). */
  private lostOnReopen: { why: string; command: string; received: string; expected: string | number } | undefined;

  constructor(o: NewportOptions) {
    super(o.id, 'newport-1936', {
      endpoint: withSerialDefaults(o.endpoint, 38400),
      writeTerminator: '\r',
      readDelimiter: '\n',
      stripEcho: true,
      skipEmptyLines: true,
      timeoutMs: o.timeoutMs ?? 2000,
      ...(o.logger ? { logger: o.logger } : {}),
    });
    this.limits = { noLightBelowDbm: o.noLightBelowDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM, maxPlausibleW: o.maxPlausibleW ?? 0.1 };
    this.channel = o.channel ?? 1;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    await s.send('ECHO 0');
    this.identity = parseNewportIdn(await s.query('*IDN?', { accept: (l) => /^NEWPORT\s/i.test(l) }));
    if (this.wavelengthNm !== undefined) {
      // A reopen: did the meter keep what the driver set? If not, the next confirmSettings rejects.
      const found = await this.readSettings(s, this.wavelengthNm);
      if (found) this.lostOnReopen ??= { ...found, why: `${found.why} on reopening the link` };
    }
    if (this.channel !== 1) await s.send(`PM:CHAN ${this.channel}`);
    await s.send('PM:UNIT 2');
    await s.send('PM:AUTO 1');
    if (this.wavelengthNm !== undefined) await s.send(`PM:L ${this.wavelengthNm}`);
    const unit = await s.query('PM:UNIT?');
    if (unit.trim() !== '2') throw new InstrumentReplyError(`meter did not switch to W (unit reads "${unit}")`, { port: s.port, command: 'PM:UNIT?', received: unit });
    await this.checkError(s, 'PM:UNIT 2');
  }

  /**
   * Reads unit, wavelength (and channel on a 2936-R not on channel 1); returns what differs from
   * W / `nm` / the configured channel, or undefined.
   */
  private async readSettings(s: LineSession, nm: number): Promise<{ why: string; command: string; received: string; expected: string | number } | undefined> {
    const unit = await s.query('PM:UNIT?');
    const back = await s.query('PM:L?');
    const got = parseStrictNumber(back, { port: s.port, command: 'PM:L?' });
    const chan = this.channel !== 1 ? await s.query('PM:CHAN?') : undefined;
    if (unit.trim() !== '2') return { why: `unit code reads ${unit.trim()}, not 2 (W)`, command: 'PM:UNIT?', received: unit, expected: 2 };
    if (Math.abs(got - nm) > 0.5) return { why: `wavelength reads ${got} nm, not ${nm} nm`, command: 'PM:L?', received: back, expected: nm };
    if (chan !== undefined && chan.trim() !== String(this.channel)) return { why: `channel reads ${chan.trim()}, not ${this.channel}`, command: 'PM:CHAN?', received: chan, expected: this.channel };
    return undefined;
  }

  private async checkError(s: LineSession, after: string): Promise<void> {
    const r = await s.query('ERRSTR?');
    const m = /^(\d+)\s*,\s*(.*)$/.exec(r.trim());
    if (!m) throw new InstrumentReplyError(`unexpected ERRSTR? reply "${r}"`, { port: s.port, command: 'ERRSTR?', received: r });
    if (Number(m[1]) !== 0) throw new InstrumentReportedError(`meter reported ${r}`, { port: s.port, command: after, received: r });
  }

  identify(): Promise<InstrumentIdentity> {
    return this.withRetry(async () => {
      this.identity = parseNewportIdn(await this.transport.query('*IDN?'));
      return this.identity;
    });
  }

  async setWavelength(nm: number): Promise<void> {
    const command = `PM:L ${Math.round(nm)}`;
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        // Re-asserted on every sweep: recovers from a power cycle or front-panel change noticed by
        // the previous sweep's confirmSettings.
        if (this.channel !== 1) await s.send(`PM:CHAN ${this.channel}`);
        await s.send('PM:UNIT 2');
        await s.send(command);
        await this.checkError(s, command);
        const back = await s.query('PM:L?');
        const got = parseStrictNumber(back, { port: s.port, command: 'PM:L?' });
        if (Math.abs(got - nm) > 0.5) throw new InstrumentReportedError(`wavelength reads ${got} nm after setting ${nm} nm`, { port: s.port, command, received: back });
      }),
    );
    this.wavelengthNm = Math.round(nm);
    // A new sweep starts here: what a reopen found before it concerns readings already judged.
    this.lostOnReopen = undefined;
  }

  getWavelength(): Promise<number> {
    return this.withRetry(async () => parseStrictNumber(await this.transport.query('PM:L?'), { port: this.port, command: 'PM:L?' }));
  }

  /** One exchange, `PM:P?`: a reply in W, validated and converted to dBm. */
  readPowerDbm(): Promise<number> {
    const command = 'PM:P?';
    return this.withRetry(async () => wattReplyToDbm(await this.transport.query(command), this.limits, { port: this.port, command }));
  }

  /** One transaction `PM:UNIT?`, `PM:L?`, [`PM:CHAN?`,] `ERRSTR?`; MeterSettingsChangedError on a change. Never re-applies. */
  confirmSettings(nm: number): Promise<void> {
    return this.withRetry(() =>
      this.transport.transaction('confirm settings', async (s) => {
        const found = (await this.readSettings(s, nm)) ?? this.lostOnReopen;
        if (found) {
          throw new MeterSettingsChangedError(`meter settings changed since they were set (${found.why}): the readings since are suspect`, {
            port: s.port,
            command: found.command,
            received: found.received,
            expected: found.expected,
          });
        }
        await this.checkError(s, 'confirm settings');
      }),
    );
  }

  async zero(): Promise<void> {
    await this.track(
      this.transport.transaction('PM:ZEROSTO', async (s) => {
        await s.send('PM:ZEROSTO');
        await this.checkError(s, 'PM:ZEROSTO');
      }),
    );
  }
}
