/**
 * Newport 1936-R / 2936-R optical power meter (not SCPI). RS-232 38400 8N1, commands end CR,
 * replies end CR LF, echo ON after power-up: the driver sends `ECHO 0` on every (re)open and
 * the transport also strips any line equal to a recently sent command.
 *
 * The meter is kept in W (`PM:UNIT 2`) and the driver converts to dBm: the W unit code is the one
 * the facts file confirms. No light (a reading at or below 0 W, or below `noLightBelowDbm`,
 * default -60 dBm) rejects with OpticalRangeError('no-light').
 */
import { InstrumentReplyError, InstrumentReportedError } from '../src/errors.js';
import type { InstrumentIdentity, PowerMeter } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, OpticalRangeError, parseStrictNumber, type DriverOptions } from './common.js';

export interface NewportOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  noLightBelowDbm?: number;
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
  private readonly noLightBelowDbm: number;
  private readonly channel: number;

  constructor(o: NewportOptions) {
    super(o.id, 'newport-1936', {
      endpoint: o.endpoint.kind === 'serial' ? { baudRate: 38400, dataBits: 8, parity: 'none', stopBits: 1, ...o.endpoint } : o.endpoint,
      writeTerminator: '\r',
      readDelimiter: '\n',
      stripEcho: true,
      skipEmptyLines: true,
      timeoutMs: o.timeoutMs ?? 2000,
      ...(o.logger ? { logger: o.logger } : {}),
    });
    this.noLightBelowDbm = o.noLightBelowDbm ?? -60;
    this.channel = o.channel ?? 1;
  }

  protected async onOpen(s: LineSession): Promise<void> {
    await s.send('ECHO 0');
    this.identity = parseNewportIdn(await s.query('*IDN?', { accept: (l) => /^NEWPORT\s/i.test(l) }));
    if (this.channel !== 1) await s.send(`PM:CHAN ${this.channel}`);
    await s.send('PM:UNIT 2');
    await s.send('PM:AUTO 1');
    if (this.wavelengthNm !== undefined) await s.send(`PM:L ${this.wavelengthNm}`);
    const unit = await s.query('PM:UNIT?');
    if (unit.trim() !== '2') throw new InstrumentReplyError(`meter did not switch to W (unit reads "${unit}")`, { port: s.port, command: 'PM:UNIT?', received: unit });
    await this.checkError(s, 'PM:UNIT 2');
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
        await s.send(command);
        await this.checkError(s, command);
        const back = await s.query('PM:L?');
        const got = parseStrictNumber(back, { port: s.port, command: 'PM:L?' });
        if (Math.abs(got - nm) > 0.5) throw new InstrumentReportedError(`wavelength reads ${got} nm after setting ${nm} nm`, { port: s.port, command, received: back });
      }),
    );
    this.wavelengthNm = Math.round(nm);
  }

  getWavelength(): Promise<number> {
    return this.withRetry(async () => parseStrictNumber(await this.transport.query('PM:L?'), { port: this.port, command: 'PM:L?' }));
  }

  readPowerDbm(): Promise<number> {
    return this.withRetry(async () => {
      const command = 'PM:P?';
      const r = await this.transport.query(command);
      const w = parseStrictNumber(r, { port: this.port, command });
      const ctx = { port: this.port, command, received: r };
      if (Math.abs(w) >= 9.9e37) throw new OpticalRangeError('saturated', `meter reports overload (${r})`, ctx);
      if (w <= 0) throw new OpticalRangeError('no-light', `no light: ${r} W`, ctx);
      const dbm = Math.round(10 * Math.log10(w * 1000) * 1e6) / 1e6;
      if (dbm < this.noLightBelowDbm) throw new OpticalRangeError('no-light', `no light: ${dbm} dBm is below ${this.noLightBelowDbm} dBm`, ctx);
      return dbm;
    });
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
