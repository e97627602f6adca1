/**
 * The engine for 1xN optical switches described by a table (SwitchDialect). The contract:
 * selectChannel(n) checks n against the channel count, sets it, and resolves only once the
 * switch reads n back; a rejection line (the table's `rejected` pattern) arriving before the read-back
 * is an InstrumentReportedError naming the command it followed. park() must read back the
 * parked value. After every (re)open: identify (draining anything before the identity line)
 * and read the channel count.
 */
import { InstrumentReplyError, InstrumentReportedError } from '../src/errors.js';
import type { OpticalSwitch } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import type { DriverOptions } from './common.js';
import { TableInstrument } from './table-instrument.js';
import { fill, readControl, type Control, type Framing, type IdentitySpec } from './line-dialect.js';

export interface SwitchDialect {
  dialect: string;
  framing: Framing;
  identity: IdentitySpec;
  channelCount: Control<number>;
  /** The selected output: set selects it, query reads it back (a number). */
  channel: Control<number> & { set: string };
  /** A line that means the previous command was refused (it precedes the read-back). */
  rejected: RegExp;
  /** Parks the switch (no output lit); it then reads back `reads`. */
  park?: { command: string; reads: number };
}

export interface LineSwitchOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

export class LineSwitch extends TableInstrument<SwitchDialect> implements OpticalSwitch {
  readonly capabilities = { opticalSwitch: true } as const;
  private channels: number | undefined;

  protected async onOpen(s: LineSession): Promise<void> {
    await this.identifyOnOpen(s);
    this.channels = await readControl(s, this.d.channelCount);
  }


  async channelCount(): Promise<number> {
    if (this.channels === undefined) {
      this.channels = await this.withRetry(() => this.transport.transaction(this.d.channelCount.query, (s) => readControl(s, this.d.channelCount)));
    }
    return this.channels;
  }

  /** Reads the selected channel; a rejection line before it fails the command `after`. */
  private async readBack(s: LineSession, after: string): Promise<number> {
    const { rejected, channel } = this.d;
    const lines = await s.exchange(channel.query, { until: (ls) => !rejected.test(ls[ls.length - 1] ?? '') });
    const refusal = lines.find((l) => rejected.test(l));
    if (refusal) throw new InstrumentReportedError(`switch rejected "${after}": ${refusal}`, { port: s.port, command: after, received: refusal });
    const last = (lines[lines.length - 1] ?? '').trim();
    if (!/^\d+$/.test(last)) throw new InstrumentReplyError(`unexpected ${channel.query} reply "${last}"`, { port: s.port, command: channel.query, received: last });
    return channel.parse(last, { port: s.port, command: channel.query });
  }

  async selectChannel(n: number): Promise<void> {
    const count = await this.channelCount();
    const command = fill(this.d.channel.set, n);
    if (!Number.isInteger(n) || n < 1 || n > count) throw new InstrumentReportedError(`channel ${n} out of range 1..${count}`, { port: this.port, command });
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        await s.send(command);
        const got = await this.readBack(s, command);
        if (got !== n) throw new InstrumentReportedError(`switch reads channel ${got} after "${command}"`, { port: s.port, command, received: String(got) });
      }),
    );
  }

  selectedChannel(): Promise<number> {
    return this.withRetry(() => this.transport.transaction(this.d.channel.query, (s) => this.readBack(s, this.d.channel.query)));
  }

  /** Parks the switch (no output lit), when the dialect can. */
  async park(): Promise<void> {
    const park = this.d.park;
    if (!park) throw new InstrumentReportedError(`${this.dialect} cannot park`, { port: this.port });
    await this.withRetry(() =>
      this.transport.transaction(park.command, async (s) => {
        await s.send(park.command);
        const got = await this.readBack(s, park.command);
        if (got !== park.reads) throw new InstrumentReportedError(`switch reads channel ${got} after ${park.command}`, { port: s.port, command: park.command, received: String(got) });
      }),
    );
  }
}
