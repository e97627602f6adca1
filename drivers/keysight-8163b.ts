/**
 * Keysight (formerly Agilent) 8163B Lightwave Multimeter / 8164B Lightwave Measurement System:
 * a mainframe with plug-in modules addressed by slot and, on dual modules (81635A), channel.
 * Lightwave SCPI over raw TCP port 5025 (LAN), GPIB or RS-232; commands and replies end LF.
 * Source: "Agilent 8163A/B, 8164A/B & 8166A/B Mainframes Programming Guide" (08164-90B64) and
 * its Keysight reissue; drivers/README.md lists each command, the page it was checked on, and
 * what is unconfirmed. Replies are lightwave numbers: `+8.50000000E-007` (wavelengths in m),
 * `+1`/`+0` for unit and state queries.
 *
 * Two tables, one per module kind:
 * - keysight8163Meter({slot, channel}): a power sensor module, run by line-meter.ts (kept in W,
 *   one `:READ` per reading, confirmSettings per sweep). The reference state is pinned absolute
 *   (`:POW:REF:STAT 0`): a relative (dB) reading would otherwise pass for a small power in W.
 *   Auto-range goes to channel 1: on a dual sensor only the master channel takes it.
 * - keysight8163Source({slot, dualWavelengthNm}): a laser source module, run by line-source.ts.
 *   A settable wavelength (`:SOUR<n>:WAV <nm>NM`, read back in m), or, for a dual-wavelength
 *   Fabry-Perot module (81655A..81657A class), the lower or upper laser selected
 *   (`:SOUR<n>:POW:WAV LOW|UPP`) and read back as such.
 */
import { InstrumentReplyError, type ErrorContext } from '../src/errors.js';
import type { InstrumentIdentity } from '../src/instruments/capabilities.js';
import type { LineEndpoint } from '../src/transport/line-transport.js';
import type { DriverOptions } from './common.js';
import { commaIdentity, parse, type Control, type Framing, type IdentitySpec } from './line-dialect.js';
import { LineMeter, type PowerMeterDialect } from './line-meter.js';
import { LineSource, type LightSourceDialect } from './line-source.js';

/** A number as the 8163B prints it: sign, 8 decimals, 3-digit exponent (`+8.50000000E-007`). */
export function lightwaveNumber(x: number): string {
  const [m = '0', e = '0'] = x.toExponential(8).toUpperCase().split('E');
  const exp = Number(e);
  return `${m.startsWith('-') ? '' : '+'}${m}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(3, '0')}`;
}

const parseIdn = commaIdentity(/^(agilent|keysight) technologies$/i, 'Keysight');
/** `*IDN?` of the mainframe; the manufacturer as the mainframe reports it (Agilent or Keysight). */
export function parse8163Idn(raw: string): InstrumentIdentity {
  return { ...parseIdn(raw), manufacturer: (raw.split(',')[0] ?? '').trim() };
}

const framing: Framing = { writeTerminator: '\n', readDelimiter: '\n', baudRate: 9600, timeoutMs: 3000 };
const identity: IdentitySpec = { query: '*IDN?', pattern: /^(agilent|keysight) technologies,/i, parse: parse8163Idn };
const errorQueue = { query: ':SYST:ERR?', drain: 10 };
/**
 * A 0/1 state or unit code (`+1` -> 1), printed back as the 8163B does. Anything else is a reply
 * error (retried), never a value: a garbled `+1` must not read as a settings change.
 */
const flag = {
  parse: (reply: string, ctx: ErrorContext): number => {
    const s = reply.trim();
    if (!/^\+?[01]$/.test(s)) throw new InstrumentReplyError(`unexpected ${String(ctx['command'])} reply "${reply}" (not +0 or +1)`, { ...ctx, received: reply });
    return Number(s);
  },
  format: (v: string | number) => `+${v}`,
};
const metres = { parse: parse.metresAsNm, format: (nm: number) => lightwaveNumber(nm * 1e-9) };

/** A power sensor in `slot` (1..17), `channel` 1 or 2 (dual sensors). */
export function keysight8163Meter(o: { slot?: number; channel?: number } = {}): PowerMeterDialect {
  const pow = `:SENS${o.slot ?? 1}:CHAN${o.channel ?? 1}:POW`;
  const reference: Control<string | number> = { label: 'reference state', query: `${pow}:REF:STAT?`, set: `${pow}:REF:STAT {}`, ...flag };
  return {
    dialect: 'keysight-8163b-meter',
    framing,
    identity,
    errorQueue,
    onOpen: ['*CLS'],
    unit: { label: 'unit', query: `${pow}:UNIT?`, set: `${pow}:UNIT {}`, ...flag, watts: 1 },
    autoRange: `:SENS${o.slot ?? 1}:CHAN1:POW:RANG:AUTO 1`,
    wavelength: { label: 'wavelength', query: `${pow}:WAV?`, set: `${pow}:WAV {}NM`, ...metres, toleranceNm: 0.5, adoptOnOpen: true },
    pinned: [{ control: reference, value: 0 }],
    reading: `:READ${o.slot ?? 1}:CHAN${o.channel ?? 1}:POW?`,
    zero: { command: `:SENS${o.slot ?? 1}:CHAN${o.channel ?? 1}:CORR:COLL:ZERO` },
  };
}

/** Dual-wavelength modules: the selected laser, `LOW`/`UPP` (read back `LOWER`/`UPPER`), as nm. */
function laserSelection(lower: number, upper: number): Pick<Control<number>, 'parse' | 'format' | 'print'> {
  return {
    parse: (reply: string, ctx: ErrorContext) => {
      const w = reply.trim().toUpperCase();
      if (/^LOW(ER)?$/.test(w)) return lower;
      if (/^UPP(ER)?$/.test(w)) return upper;
      throw new InstrumentReplyError(`unexpected ${String(ctx['command'])} reply "${reply}" (not LOWER or UPPER)`, { ...ctx, received: reply });
    },
    format: (nm) => (nm === upper ? 'UPPER' : 'LOWER'),
    print: (nm) => (nm === upper ? 'UPP' : 'LOW'),
  };
}

/** A laser source in `slot`; `dualWavelengthNm: [lower, upper]` for a dual-wavelength module. */
export function keysight8163Source(o: { slot?: number; dualWavelengthNm?: readonly [number, number] } = {}): LightSourceDialect {
  const sour = `:SOUR${o.slot ?? 1}`;
  const dual = o.dualWavelengthNm;
  return {
    dialect: 'keysight-8163b-source',
    framing,
    identity,
    errorQueue,
    onOpen: ['*CLS'],
    wavelength: dual
      ? { label: 'laser', query: `${sour}:POW:WAV?`, set: `${sour}:POW:WAV {}`, ...laserSelection(dual[0], dual[1]), choicesNm: dual }
      : { label: 'wavelength', query: `${sour}:WAV?`, set: `${sour}:WAV {}NM`, ...metres, toleranceNm: 0.5 },
    output: { label: 'output', query: `${sour}:POW:STAT?`, set: `${sour}:POW:STAT {}`, ...flag, on: 1, off: 0 },
  };
}

export interface Keysight8163Options extends DriverOptions {
  id: string;
  endpoint: LineEndpoint;
  timeoutMs?: number;
  /** Mainframe slot of the module. Default 1. */
  slot?: number;
}

export function createKeysight8163Meter(o: Keysight8163Options & { channel?: number; noLightBelowDbm?: number; maxPlausibleW?: number }): LineMeter {
  return new LineMeter(keysight8163Meter({ ...(o.slot !== undefined ? { slot: o.slot } : {}), ...(o.channel !== undefined ? { channel: o.channel } : {}) }), o);
}

export function createKeysight8163Source(o: Keysight8163Options & { dualWavelengthNm?: readonly [number, number] }): LineSource {
  return new LineSource(keysight8163Source({ ...(o.slot !== undefined ? { slot: o.slot } : {}), ...(o.dualWavelengthNm ? { dualWavelengthNm: o.dualWavelengthNm } : {}) }), o);
}
