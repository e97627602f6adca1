/**
 * The engine for light sources described by a table (LightSourceDialect). Every source it runs
 * keeps the same contract, written once here:
 *
 *   setWavelength(nm)  the wavelength set, the error queue checked, the wavelength read back
 *                      (within the table's tolerance, default 0.5 nm). A wavelength the source
 *                      cannot emit (not one of the table's `choicesNm`) is refused before anything
 *                      is sent. Resolves only once the source says it is at nm.
 *   setOutput(on)      the output set, the error queue checked, the output state read back.
 *
 * A lit period runs from setOutput(true) to setOutput(false). While the source is lit, every call
 * first reads back the output state and the wavelength it was lit at: a source found dark or at
 * another wavelength (a power cycle behind the open port, a hand on the front panel) rejects with
 * SourceSettingsChangedError (SOURCE_SETTINGS_CHANGED): the readings taken since are suspect. It
 * never re-applies settings (that would hide the fault). setOutput(false) still switches the
 * output off when it finds such a change, then rejects with it, so the caller that ends a sweep
 * with setOutput(false) learns whether the sweep was lit as set.
 *
 * After every (re)open: preamble, identify (anything before the identity line is drained), the
 * table's open commands, the error queue. Settings are not re-applied on a reopen: the next call
 * made while lit finds out whether the source kept them.
 */
import { InstrumentReportedError } from '../src/errors.js';
import type { LightSource } from '../src/instruments/capabilities.js';
import type { LineEndpoint, LineSession } from '../src/transport/line-transport.js';
import type { DriverOptions } from './common.js';
import { TableInstrument } from './table-instrument.js';
import { checkErrorQueue, fill, setAndConfirm, type Control, type ErrorQueueSpec, type Framing, type IdentitySpec } from './line-dialect.js';

export interface LightSourceDialect {
  dialect: string;
  framing: Framing;
  identity: IdentitySpec;
  errorQueue: ErrorQueueSpec;
  /** Sent on every (re)open after identifying (e.g. "*CLS"). */
  onOpen?: string[];
  wavelength: Control<number> & {
    set: string;
    /** A read-back further than this from the set value is refused (default 0.5 nm). */
    toleranceNm?: number;
    /** A source with fixed lasers (e.g. a dual-wavelength module) emits only these (nm). */
    choicesNm?: readonly number[];
  };
  /** The output (laser current) state, and the values that mean on and off. */
  output: Control<string | number> & { set: string; on: string | number; off: string | number };
}

export interface LineSourceOptions extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
}

/**
 * A source is no longer what the driver set while it was lit (found dark, or at another
 * wavelength): the readings taken since it was lit are suspect. `context` has `port`, `command`
 * (the query that showed it), `received` and `expected`.
 */
export class SourceSettingsChangedError extends InstrumentReportedError {
  override readonly code = 'SOURCE_SETTINGS_CHANGED';
}

export class LineSource extends TableInstrument<LightSourceDialect> implements LightSource {
  readonly capabilities = { lightSource: true } as const;
  /** The last wavelength set and confirmed. */
  private wavelengthNm: number | undefined;
  /** While lit: the wavelength it was lit at (undefined: switched on before any wavelength was set). */
  private lit: { nm: number | undefined } | undefined;

  protected async onOpen(s: LineSession): Promise<void> {
    await this.identifyOnOpen(s);
    for (const c of this.d.onOpen ?? []) await s.send(c);
    await checkErrorQueue(s, this.d.errorQueue, this.d.onOpen?.at(-1) ?? this.d.identity.query);
  }

  /** While lit: the output must still read on, and the wavelength the one it was lit at. */
  private async confirmLit(s: LineSession): Promise<void> {
    const lit = this.lit;
    if (!lit) return;
    const { output, wavelength } = this.d;
    const outReply = await s.query(output.query);
    const out = output.parse(outReply, { port: s.port, command: output.query });
    if (out !== output.on) {
      throw new SourceSettingsChangedError(`source output reads ${out}, not ${output.on} (on), since it was switched on: the readings since are suspect`, {
        port: s.port,
        command: output.query,
        received: outReply,
        expected: output.on,
      });
    }
    if (lit.nm === undefined) return;
    const wavReply = await s.query(wavelength.query);
    const got = wavelength.parse(wavReply, { port: s.port, command: wavelength.query });
    if (Math.abs(got - lit.nm) > (wavelength.toleranceNm ?? 0.5)) {
      throw new SourceSettingsChangedError(`source wavelength reads ${got} nm, not ${lit.nm} nm, since it was switched on: the readings since are suspect`, {
        port: s.port,
        command: wavelength.query,
        received: wavReply,
        expected: lit.nm,
      });
    }
  }

  private confirmLitNow(): Promise<void> {
    return this.lit ? this.withRetry(() => this.transport.transaction('confirm source settings', (s) => this.confirmLit(s))) : Promise.resolve();
  }

  async setWavelength(nm: number): Promise<void> {
    const w = this.d.wavelength;
    const choices = w.choicesNm;
    const valid = Number.isFinite(nm) && nm > 0 && (!choices || choices.includes(nm));
    if (!valid) {
      const why = choices ? `this source emits only ${choices.join(' or ')} nm` : 'not a wavelength';
      throw new InstrumentReportedError(`cannot set the source to ${nm} nm: ${why}`, { port: this.port, command: fill(w.set, String(nm)) });
    }
    const command = fill(w.set, w.print ? w.print(nm) : String(nm));
    await this.confirmLitNow();
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        const tolerance = w.toleranceNm ?? 0.5;
        await setAndConfirm(s, { command, errorQueue: this.d.errorQueue, control: w, ok: (got) => Math.abs(got - nm) <= tolerance, what: 'source wavelength (nm)', expected: nm });
      }),
    );
    this.wavelengthNm = nm;
    if (this.lit) this.lit = { nm };
  }

  async setOutput(on: boolean): Promise<void> {
    const o = this.d.output;
    const value = on ? o.on : o.off;
    const command = fill(o.set, o.print ? o.print(value) : String(value));
    // Switching off must happen whatever the check found; what it found is reported after.
    let found: unknown;
    try {
      await this.confirmLitNow();
    } catch (err) {
      if (on) throw err;
      found = err;
    }
    await this.withRetry(() =>
      this.transport.transaction(command, async (s) => {
        await setAndConfirm(s, { command, errorQueue: this.d.errorQueue, control: o, ok: (got) => got === value, what: 'source output', expected: value });
      }),
    );
    this.lit = on ? { nm: this.wavelengthNm } : undefined;
    if (found !== undefined) throw found;
  }
}
