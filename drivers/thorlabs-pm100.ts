/**
 * Thorlabs PM100 family (PM100D, PM100USB, PM101 over RS-232, PM400) - SCPI, commands end LF,
 * replies end LF. Same commands over a raw TCP socket (serial device server or LAN).
 *
 * After every (re)open: resync with *IDN? (anything before the THORLABS line is drained), *CLS,
 * unit forced to DBM (the power-on default is W), auto-range on, the last wavelength re-applied,
 * the unit read back and the error queue checked. Readings use MEAS:POW? (blocks until ready:
 * it is the only query in flight, the transport guarantees it).
 *
 * No light: the PM100 reports its noise floor (about -90 dBm with a 1 pW floor); anything below
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
  }

  protected async onOpen(s: LineSession): Promise<void> {
    const idn = await s.query('*IDN?', { accept: (l) => /^THORLABS,/i.test(l) });
    this.identity = parseThorlabsIdn(idn);
    await s.send('*CLS');
    await s.send('SENS:POW:UNIT DBM');
    await s.send('SENS:POW:RANG:AUTO ON');
    if (this.wavelengthNm !== undefined) await s.send(`SENS:CORR:WAV ${this.wavelengthNm}`);
    const unit = await s.query('SENS:POW:UNIT?');
    if (unit.trim().toUpperCase() !== 'DBM') {
      throw new InstrumentReplyError(`meter did not switch to dBm (unit reads "${unit}")`, { port: s.port, command: 'SENS:POW:UNIT?', received: unit });
    }
    await this.checkErrorQueue(s, 'SENS:POW:UNIT DBM');
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
    return this.withRetry(async () => {
      const command = 'MEAS:POW?';
      const r = await this.transport.query(command);
      const v = parseStrictNumber(r, { port: this.port, command });
      const ctx = { port: this.port, command, received: r };
      if (Math.abs(v) >= 9.9e37) throw new OpticalRangeError('saturated', `meter reports overload/not-a-number (${r})`, ctx);
      if (v < this.noLightBelowDbm) throw new OpticalRangeError('no-light', `no light: ${v} dBm is below ${this.noLightBelowDbm} dBm`, ctx);
      if (v > 40) throw new InstrumentReplyError(`implausible power ${v} dBm`, ctx);
      return v;
    });
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
