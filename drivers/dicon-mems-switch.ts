/**
 * DiCon 1xN MEMS optical switch. Commands end CR; replies end CR LF and may be preceded by an
 * empty line (skipped). `I1 <n>` selects output n (no reply on success, "ERR <code>" on a bad
 * channel), `I1?` reads it back, `CF?` gives the configuration (channel count = 2nd field),
 * `ID?` identifies, `PK` parks. selectChannel resolves only once `I1?` reads back n.
 */
import { InstrumentReplyError, InstrumentReportedError } from '../src/errors.js';
import type { InstrumentIdentity, OpticalSwitch } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, type DriverOptions, withSerialDefaults } from './common.js';

export interface DiconOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

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

export class DiconMemsSwitch extends LineInstrument implements OpticalSwitch {
  readonly capabilities = { opticalSwitch: true } as const;
  private channels: number | undefined;

  constructor(o: DiconOptions) {
    super(o.id, 'dicon-mems-switch', {
      endpoint: withSerialDefaults(o.endpoint, 115200),
      writeTerminator: '\r',
      readDelimiter: '\n',
      skipEmptyLines: true,
      timeoutMs: o.timeoutMs ?? 2000,
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  protected async onOpen(s: LineSession): Promise<void> {
    const id = await s.query('ID?', { accept: (l) => /dicon/i.test(l) });
    this.identity = parseDiconId(id);
    this.channels = parseDiconConfig(await s.query('CF?'));
  }

  identify(): Promise<InstrumentIdentity> {
    return this.withRetry(async () => {
      this.identity = parseDiconId(await this.transport.query('ID?'));
      return this.identity;
    });
  }

  async channelCount(): Promise<number> {
    if (this.channels === undefined) {
      this.channels = await this.withRetry(async () => parseDiconConfig(await this.transport.query('CF?')));
    }
    return this.channels;
  }

  private async readBack(s: LineSession, after: string): Promise<number> {
    // Collect lines until one that is not an "ERR" line; an ERR line means the previous command failed.
    const lines = await s.exchange('I1?', { until: (ls) => !/^ERR\b/i.test(ls[ls.length - 1] ?? '') });
    const errLine = lines.find((l) => /^ERR\b/i.test(l));
    if (errLine) throw new InstrumentReportedError(`switch rejected "${after}": ${errLine}`, { port: s.port, command: after, received: errLine });
    const last = (lines[lines.length - 1] ?? '').trim();
    if (!/^\d+$/.test(last)) throw new InstrumentReplyError(`unexpected I1? reply "${last}"`, { port: s.port, command: 'I1?', received: last });
    return Number(last);
  }

  async selectChannel(n: number): Promise<void> {
    const count = await this.channelCount();
    const command = `I1 ${n}`;
    if (!Number.isInteger(n) || n < 1 || n > count) {
      throw new InstrumentReportedError(`channel ${n} out of range 1..${count}`, { port: this.port, command });
    }
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        await s.send(command);
        const got = await this.readBack(s, command);
        if (got !== n) throw new InstrumentReportedError(`switch reads channel ${got} after "${command}"`, { port: s.port, command, received: String(got) });
      }),
    );
  }

  selectedChannel(): Promise<number> {
    return this.withRetry(() => this.transport.transaction('I1?', (s) => this.readBack(s, 'I1?')));
  }

  /** Parks the switch (no output lit). */
  async park(): Promise<void> {
    await this.withRetry(() =>
      this.transport.transaction('PK', async (s) => {
        await s.send('PK');
        const got = await this.readBack(s, 'PK');
        if (got !== 0) throw new InstrumentReportedError(`switch reads channel ${got} after PK`, { port: s.port, command: 'PK', received: String(got) });
      }),
    );
  }
}
