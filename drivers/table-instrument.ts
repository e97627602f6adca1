/**
 * What every table-run engine (meter, switch, source, MPO source) shares: the transport made from
 * the table's framing, identifying on every (re)open (preamble, then the identity line, anything
 * before it drained), and identify() on demand. An engine adds its capability's contract.
 */
import type { InstrumentIdentity } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import { LineInstrument, withSerialDefaults, type DriverOptions } from './common.js';
import type { Framing, IdentitySpec } from './line-dialect.js';

export interface TableDialect {
  dialect: string;
  framing: Framing;
  identity: IdentitySpec;
}

export interface TableInstrumentOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

export abstract class TableInstrument<D extends TableDialect> extends LineInstrument {
  constructor(
    protected readonly d: D,
    o: TableInstrumentOptions,
  ) {
    super(o.id, d.dialect, {
      endpoint: withSerialDefaults(o.endpoint, d.framing.baudRate),
      writeTerminator: d.framing.writeTerminator,
      readDelimiter: d.framing.readDelimiter,
      ...(d.framing.stripEcho ? { stripEcho: true } : {}),
      ...(d.framing.skipEmptyLines ? { skipEmptyLines: true } : {}),
      timeoutMs: o.timeoutMs ?? d.framing.timeoutMs,
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  /** Preamble, then the identity line (a late reply or a banner before it is drained). */
  protected async identifyOnOpen(s: LineSession): Promise<void> {
    const id = this.d.identity;
    for (const c of id.preamble ?? []) await s.send(c);
    this.identity = id.parse(await s.query(id.query, { accept: (l) => id.pattern.test(l) }));
  }

  identify(): Promise<InstrumentIdentity> {
    return this.withRetry(async () => {
      this.identity = this.d.identity.parse(await this.transport.query(this.d.identity.query));
      return this.identity;
    });
  }
}
