/**
 * DiCon 1xN MEMS optical switch. RS-232 115200 8N1; commands end CR; replies end CR LF and may be
 * preceded by an empty line (skipped). Source: DiCon MEMS 1xN switch module RS-232 command set
 * (drivers/README.md: each command, and what is unconfirmed). `I1 <n>` selects output n (no
 * reply on success, "ERR <code>" on a bad channel), `I1?` reads it back, `CF?` gives the
 * configuration (channel count = 2nd field), `ID?` identifies, `PK` parks (reads back 0).
 */
import { InstrumentReplyError } from '../src/errors.js';
import type { InstrumentIdentity } from '../src/instruments/capabilities.js';
import type { LineEndpoint } from '../src/transport/line-transport.js';
import type { DriverOptions } from './common.js';
import { parse } from './line-dialect.js';
import { LineSwitch, type SwitchDialect } from './line-switch.js';

export function parseDiconId(raw: string): InstrumentIdentity {
  const f = raw.split(',').map((x) => x.trim());
  if (!/dicon/i.test(f[0] ?? '')) throw new InstrumentReplyError(`unexpected ID? reply "${raw}"`, { command: 'ID?', received: raw });
  return { manufacturer: 'DiCon', model: f[1] ?? '', serialNumber: f[2] ?? '', firmware: f[3] ?? '', raw };
}

export function parseDiconConfig(raw: string): number {
  const n = Number((raw.split(',')[1] ?? '').trim());
  if (!Number.isInteger(n) || n < 1) throw new InstrumentReplyError(`unexpected CF? reply "${raw}"`, { command: 'CF?', received: raw });
  return n;
}

export const diconMemsSwitch: SwitchDialect = {
  dialect: 'dicon-mems-switch',
  framing: { writeTerminator: '\r', readDelimiter: '\n', skipEmptyLines: true, baudRate: 115200, timeoutMs: 2000 },
  identity: { query: 'ID?', pattern: /dicon/i, parse: parseDiconId },
  channelCount: { label: 'channel count', query: 'CF?', parse: (reply) => parseDiconConfig(reply) },
  channel: { label: 'channel', query: 'I1?', set: 'I1 {}', parse: parse.number },
  rejected: /^ERR\b/i,
  park: { command: 'PK', reads: 0 },
};

export interface DiconOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

export function createDiconMemsSwitch(o: DiconOptions): LineSwitch {
  return new LineSwitch(diconMemsSwitch, o);
}
