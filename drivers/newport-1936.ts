/**
 * Newport 1936-R / 2936-R optical power meter (not SCPI). RS-232 38400 8N1, commands end CR,
 * replies end CR LF, echo ON after power-up: `ECHO 0` on every (re)open, and the transport also
 * strips any line equal to a recently sent command. Source: Newport 1936-R/2936-R user's manual,
 * "Computer interface" command list (drivers/README.md: each command, and what is unconfirmed).
 * The contract (kept in W, `PM:UNIT 2`, one query per reading, confirmSettings per sweep) is
 * line-meter.ts's. On a 2936-R the channel is pinned: a power cycle selects channel 1, so
 * confirmSettings reads `PM:CHAN?` back too.
 */
import { InstrumentReplyError } from '../src/errors.js';
import type { InstrumentIdentity } from '../src/instruments/capabilities.js';
import { parse, type Control } from './line-dialect.js';
import { LineMeter, type LineMeterOptions, type PowerMeterDialect } from './line-meter.js';

export function parseNewportIdn(raw: string): InstrumentIdentity {
  const m = /^NEWPORT\s+(\S+)\s+(v\S+)\s+(\S+)\s+(SN\S+)/i.exec(raw.trim());
  if (!m) throw new InstrumentReplyError(`unexpected *IDN? reply "${raw}"`, { command: '*IDN?', received: raw });
  return { manufacturer: 'Newport', model: m[1]!, firmware: `${m[2]!} ${m[3]!}`, serialNumber: m[4]!.replace(/^SN/i, ''), raw };
}

const channel: Control<string | number> = { label: 'channel', query: 'PM:CHAN?', set: 'PM:CHAN {}', parse: parse.code };

/** The table; `channel` other than 1 (a 2936-R's second head) is pinned. */
export function newport1936(o: { channel?: number } = {}): PowerMeterDialect {
  const ch = o.channel ?? 1;
  return {
    dialect: 'newport-1936',
    framing: { writeTerminator: '\r', readDelimiter: '\n', stripEcho: true, skipEmptyLines: true, baudRate: 38400, timeoutMs: 2000 },
    identity: { preamble: ['ECHO 0'], query: '*IDN?', pattern: /^NEWPORT\s/i, parse: parseNewportIdn },
    errorQueue: { query: 'ERRSTR?' },
    unit: { label: 'unit code', query: 'PM:UNIT?', set: 'PM:UNIT {}', parse: parse.code, watts: 2 },
    autoRange: 'PM:AUTO 1',
    wavelength: { label: 'wavelength', query: 'PM:L?', set: 'PM:L {}', parse: parse.number, print: (nm) => String(Math.round(nm)), toleranceNm: 0.5 },
    ...(ch !== 1 ? { pinned: [{ control: channel, value: ch }] } : {}),
    reading: 'PM:P?',
    zero: { command: 'PM:ZEROSTO' },
  };
}

export interface NewportOptions extends LineMeterOptions {
  /** 2936-R channel (1 or 2). Default 1. */
  channel?: number;
}

export function createNewport1936(o: NewportOptions): LineMeter {
  return new LineMeter(newport1936(o.channel !== undefined ? { channel: o.channel } : {}), o);
}
