/**
 * `mpocert-mpo-source`: the project's own reference command set for a multi-fiber light source
 * (capability MultiFiberLightSource). No instrument with a public programming guide switches an
 * MPO source fiber by fiber, so this dialect is defined here (as drivers/profiles/
 * mpocert-reference.yaml is for Modbus loss-test sets): an integrator puts a small controller
 * (a source, a 1xN splitter and a per-fiber shutter or VOA array) behind it. drivers/README.md
 * has the command table and what the controller must guarantee.
 *
 * Line protocol, SCPI-like; commands and replies end LF; serial 115200 8N1 or raw TCP.
 *   *IDN?                  MPOCERT,MPO-SOURCE-<n>,<serial>,<firmware>   (n = outputs)
 *   :SYST:CHAN?            the output count
 *   :SOUR:WAV <nm> / ?     integer nm; one it cannot emit queues -222
 *   :OUTP:MASK #H<hex> / ? bit (f-1) set = fiber f lit, every other output dark; a bit beyond
 *                          the output count queues -222. Printed upper case; read at any length.
 *   :SYST:ERR?, *CLS       the error queue (`0,"No error"`), cleared
 *
 * The contract (MpoSource, the engine for such tables):
 *   (re)open        `*IDN?` (anything before the identity line drained), `*CLS`, the output
 *                   count, every output dark (mask 0, read back), the wavelength re-applied if one
 *                   was set, the error queue.
 *   setWavelength   set, error queue, read back within the table's tolerance (0.5 nm).
 *   light(fibers)   every fiber an integer 1..count (else refused before anything is sent); the
 *                   mask set, the error queue, the mask read back and required equal.
 * A lit period runs from a light(non-empty) to the next light(). Every call made while lit first
 * reads the mask and the wavelength back, and lighting from dark first reads the wavelength back.
 * A source found dark, lit otherwise or at another wavelength (a power cycle behind the open link,
 * the front panel, or the driver's own darkening on a reopen) is put dark and the call rejects with
 * SourceSettingsChangedError (SOURCE_SETTINGS_CHANGED): the readings since it was lit are
 * suspect. Nothing is re-applied to hide such a change, so light([]) ending a sweep tells the
 * caller whether the sweep was lit as set.
 */
import { InstrumentReplyError, InstrumentReportedError, type ErrorContext } from '../src/errors.js';
import type { MultiFiberLightSource } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import type { DriverOptions } from './common.js';
import { TableInstrument } from './table-instrument.js';
import { checkErrorQueue, commaIdentity, fill, setAndConfirm, parse, readControl, type Control, type ErrorQueueSpec, type Framing, type IdentitySpec } from './line-dialect.js';
import { SourceSettingsChangedError } from './line-source.js';

/** Outputs the engine supports (MPO-32 at most): the mask stays an exact number. */
export const MAX_OUTPUTS = 32;

/** The mask of a set of fibers (1-based): bit (f-1) set = fiber f lit. Duplicates count once. */
export function maskOf(fibers: readonly number[]): number {
  return [...new Set(fibers)].reduce((m, f) => m + 2 ** (f - 1), 0);
}

/** The fibers (1-based, ascending) a mask lights. */
export function fibersOf(mask: number): number[] {
  const out: number[] = [];
  for (let f = 1; 2 ** (f - 1) <= mask; f++) if (Math.floor(mask / 2 ** (f - 1)) % 2 === 1) out.push(f);
  return out;
}

/** `#H800005` (any length, any case) -> 0x800005; anything else is a reply error (retried). */
export function parseMask(reply: string, ctx: ErrorContext): number {
  const digits = /^#H([0-9A-F]+)$/i.exec(reply.trim())?.[1]?.replace(/^0+/, '');
  // More than 52 bits is no mask of an MPO (and would not stay an exact number).
  if (digits === undefined || digits.length > 13) throw new InstrumentReplyError(`unexpected ${String(ctx['command'])} reply "${reply}" (not #H<hex>)`, { ...ctx, received: reply });
  return digits ? parseInt(digits, 16) : 0;
}

/** A mask as the dialect prints it: `#H800005`. */
export const printMask = (mask: number): string => `#H${mask.toString(16).toUpperCase()}`;

export interface MpoSourceDialect {
  dialect: string;
  framing: Framing;
  identity: IdentitySpec;
  errorQueue: ErrorQueueSpec;
  /** Sent on every (re)open after identifying. */
  onOpen?: string[];
  /** The output count (1..MAX_OUTPUTS), read on every (re)open. */
  outputs: Control<number>;
  wavelength: Control<number> & { set: string; toleranceNm?: number };
  /** The lit outputs as a bit mask (bit f-1 = fiber f). */
  mask: Control<number> & { set: string };
}

function parseOutputCount(reply: string, ctx: ErrorContext): number {
  const n = /^\s*\d+\s*$/.test(reply) ? Number(reply) : NaN;
  if (!(n >= 1 && n <= MAX_OUTPUTS)) throw new InstrumentReplyError(`unexpected ${String(ctx['command'])} reply "${reply}" (not an output count 1..${MAX_OUTPUTS})`, { ...ctx, received: reply });
  return n;
}

export const mpoSourceTable: MpoSourceDialect = {
  dialect: 'mpocert-mpo-source',
  framing: { writeTerminator: '\n', readDelimiter: '\n', baudRate: 115200, timeoutMs: 3000 },
  identity: { query: '*IDN?', pattern: /^MPOCERT,MPO-SOURCE-/i, parse: commaIdentity(/^mpocert$/i, 'MPOCERT') },
  errorQueue: { query: ':SYST:ERR?', drain: 10 },
  onOpen: ['*CLS'],
  outputs: { label: 'output count', query: ':SYST:CHAN?', parse: parseOutputCount },
  wavelength: { label: 'wavelength', query: ':SOUR:WAV?', set: ':SOUR:WAV {}', parse: parse.number, format: (nm) => String(Math.round(nm)), toleranceNm: 0.5 },
  mask: { label: 'output mask', query: ':OUTP:MASK?', set: ':OUTP:MASK {}', parse: parseMask, format: printMask, print: printMask },
};

export interface MpoSourceOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

export class MpoSource extends TableInstrument<MpoSourceDialect> implements MultiFiberLightSource {
  readonly capabilities = { multiFiberLightSource: true } as const;
  private outputs: number | undefined;
  /** The last wavelength set and read back. */
  private wavelengthNm: number | undefined;
  /** During a lit period: the mask lit and read back. */
  private litMask: number | undefined;
  /** A reopen darkened the outputs during the lit period. */
  private darkenedOnReopen = false;

  protected async onOpen(s: LineSession): Promise<void> {
    const w = this.d.wavelength;
    await this.identifyOnOpen(s);
    for (const c of this.d.onOpen ?? []) await s.send(c);
    this.outputs = await readControl(s, this.d.outputs);
    let last = await this.setMask(s, 0, false);
    if (this.litMask !== undefined) this.darkenedOnReopen = true;
    if (this.wavelengthNm !== undefined) await s.send((last = fill(w.set, this.wavelengthNm)));
    await checkErrorQueue(s, this.d.errorQueue, last);
  }


  async fiberCount(): Promise<number> {
    this.outputs ??= await this.withRetry(() => this.transport.transaction(this.d.outputs.query, (s) => readControl(s, this.d.outputs)));
    return this.outputs;
  }

  /** Sends a mask, [checks the error queue,] reads the mask back and requires it equal. Returns the command. */
  private async setMask(s: LineSession, mask: number, errorQueue: boolean): Promise<string> {
    const m = this.d.mask;
    const command = fill(m.set, printMask(mask));
    await s.send(command);
    if (errorQueue) await checkErrorQueue(s, this.d.errorQueue, command);
    const back = await s.query(m.query);
    const got = m.parse(back, { port: s.port, command: m.query });
    if (got !== mask) throw new InstrumentReportedError(`source outputs read ${printMask(got)} after "${command}"`, { port: s.port, command, received: back, expected: printMask(mask) });
    return command;
  }

  /** The mask still the one lit (and no reopen since), the wavelength still the one set. */
  private async check(s: LineSession, lit: number | undefined, nm: number | undefined): Promise<void> {
    const { mask: m, wavelength: w } = this.d;
    if (lit !== undefined) {
      const back = await s.query(m.query);
      const got = m.parse(back, { port: s.port, command: m.query });
      const why = this.darkenedOnReopen ? 'the driver darkened them when it reopened the link' : got !== lit ? `they read ${printMask(got)}` : undefined;
      if (why) {
        throw new SourceSettingsChangedError(`source outputs were lit ${printMask(lit)}, but ${why}: the readings since are suspect`, { port: s.port, command: m.query, received: back, expected: printMask(lit) });
      }
    }
    if (nm === undefined) return;
    const back = await s.query(w.query);
    const got = w.parse(back, { port: s.port, command: w.query });
    if (Math.abs(got - nm) > (w.toleranceNm ?? 0.5)) {
      throw new SourceSettingsChangedError(`source wavelength reads ${got} nm, not ${nm} nm as set (a power cycle or the front panel): the readings since are suspect`, {
        port: s.port,
        command: w.query,
        received: back,
        expected: nm,
      });
    }
  }

  /** Checks what the source must still be; a change found darkens it (best effort), then rejects. */
  private async confirm(lighting: boolean): Promise<void> {
    const lit = this.litMask;
    const nm = this.wavelengthNm;
    if (lit === undefined && (!lighting || nm === undefined)) return;
    try {
      await this.withRetry(() => this.transport.transaction('confirm source settings', (s) => this.check(s, lit, nm)));
    } catch (err) {
      if (!(err instanceof SourceSettingsChangedError)) throw err;
      this.litMask = undefined;
      this.darkenedOnReopen = false;
      await this.withRetry(() => this.transport.transaction('darken', (s) => this.setMask(s, 0, true))).catch(() => undefined);
      throw err;
    }
  }

  /** Confirms the lit period so far (mask and wavelength read back) without changing anything. */
  confirmLit(): Promise<void> {
    return this.confirm(false);
  }

  async setWavelength(nm: number): Promise<void> {
    const w = this.d.wavelength;
    const command = fill(w.set, nm);
    if (!Number.isInteger(nm) || nm <= 0) throw new InstrumentReportedError(`cannot set the source to ${nm} nm: not a whole number of nm`, { port: this.port, command });
    await this.confirm(false);
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        const tolerance = w.toleranceNm ?? 0.5;
        await setAndConfirm(s, { command, errorQueue: this.d.errorQueue, control: w, ok: (got) => Math.abs(got - nm) <= tolerance, what: 'source wavelength (nm)', expected: nm });
      }),
    );
    this.wavelengthNm = nm;
  }

  async light(fibers: readonly number[]): Promise<void> {
    const count = await this.fiberCount();
    const bad = fibers.find((f) => !Number.isInteger(f) || f < 1 || f > count);
    if (bad !== undefined) throw new InstrumentReportedError(`fiber ${bad} out of range 1..${count}`, { port: this.port, command: fill(this.d.mask.set, '').trim(), fiber: bad });
    const mask = maskOf(fibers);
    const command = fill(this.d.mask.set, printMask(mask));
    await this.confirm(mask !== 0);
    // The lit period so far ends here, confirmed.
    this.litMask = undefined;
    this.darkenedOnReopen = false;
    await this.withRetry(() => this.transport.transaction(command, (s) => this.setMask(s, mask, true)));
    if (mask !== 0) this.litMask = mask;
  }
}

export function createMpoSource(o: MpoSourceOptions): MpoSource {
  return new MpoSource(mpoSourceTable, o);
}
