/**
 * Line dialects as data (PyMeasure's `Instrument.control` / `measurement`, reduced to what a
 * certification bench needs). A dialect is a table: how it frames lines, how it identifies, its
 * error queue, and its controls: a query, an optional set command, how a reply parses (for the
 * driver) and how a value prints (for the simulator, which is driven by the same table).
 * Commands are templates: `{}` is replaced by the value ("SENS:CORR:WAV {}"), so the simulator
 * can also read a set command back into a value.
 *
 * The engines that run tables: line-meter.ts (single-detector power meters), line-switch.ts
 * (1xN switches), line-source.ts (light sources). Adding an instrument of one of these kinds is
 * one file with its table (see drivers/README.md, "Adding a dialect").
 */
import { InstrumentReplyError, InstrumentReportedError, type ErrorContext } from '../src/errors.js';
import type { InstrumentIdentity } from '../src/instruments/capabilities.js';
import type { LineSession } from '../src/transport/line-transport.js';

export interface Framing {
  /** Appended to every command ("\n", "\r", "\r\n"). */
  writeTerminator: string;
  /** Reply line delimiter; a trailing CR is stripped. */
  readDelimiter: string;
  /** The instrument echoes commands (drop lines equal to a recently sent command). */
  stripEcho?: boolean;
  /** Empty lines precede replies (skip them). */
  skipEmptyLines?: boolean;
  /** Factory serial framing: 8N1 at this rate unless the config says otherwise. */
  baudRate: number;
  /** Default per-request timeout (ms). */
  timeoutMs: number;
}

export interface IdentitySpec {
  /** Sent first on every (re)open, before identifying (e.g. "ECHO 0"). */
  preamble?: string[];
  query: string;
  /** The identity line; anything else before it (a late reply, a banner) is drained on open. */
  pattern: RegExp;
  parse(raw: string): InstrumentIdentity;
}

export interface ErrorQueueSpec {
  query: string;
  /** "<code>,<text>": code 0 means no error. */
  /** After a non-zero code, read this many more times at most until code 0 (empties the queue). */
  drain?: number;
}

/** One setting: a query, its parse, and (optionally) the command that sets it. */
export interface Control<V extends string | number = string | number> {
  /** For messages: "unit", "wavelength", "channel". */
  label: string;
  query: string;
  /** Set command template ("SENS:POW:UNIT {}"). */
  set?: string;
  /** Reply -> value; throws InstrumentReplyError when the reply is not a value at all. */
  parse(reply: string, ctx: ErrorContext): V;
  /** Value -> reply text (the simulator). Default String(v). */
  format?(v: V): string;
  /** Value -> the text a set command carries. Default String(v). */
  print?(v: V): string;
}

/** Fills a command template. */
export function fill(template: string, value: string | number): string {
  return template.replace('{}', String(value));
}

/** Reads a set command back into its value text ("SENS:CORR:WAV 850" -> "850"), or undefined. */
export function matchTemplate(template: string, command: string): string | undefined {
  const [before = '', after = ''] = template.split('{}');
  if (!template.includes('{}')) return command === template ? '' : undefined;
  if (!command.startsWith(before) || !command.endsWith(after) || command.length <= before.length + after.length) return undefined;
  return command.slice(before.length, command.length - after.length);
}

/** A reply that must be a plain decimal or exponent number. */
export function parseStrictNumber(reply: string, ctx: ErrorContext): number {
  const s = reply.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) {
    throw new InstrumentReplyError(`not a number: "${reply}"`, { ...ctx, received: reply });
  }
  return Number(s);
}

/** SCPI NR3 as instruments print it: `fractionDigits` after the point, a signed two-digit exponent (8.500000E+02). */
export function nr3(x: number, fractionDigits = 6): string {
  const [m, e] = x.toExponential(fractionDigits).toUpperCase().split('E');
  const exp = Number(e);
  return `${m}E${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

/** Parsers for the usual control replies. */
export const parse = {
  number: (reply: string, ctx: ErrorContext): number => parseStrictNumber(reply, ctx),
  /** A trimmed word, upper-cased; when `allowed` is given, anything else is a bad reply. */
  word:
    (allowed?: readonly string[]) =>
    (reply: string, ctx: ErrorContext): string => {
      const w = reply.trim().toUpperCase();
      if (allowed && !allowed.includes(w)) throw new InstrumentReplyError(`unexpected ${String(ctx['command'])} reply "${reply}"`, { ...ctx, received: reply });
      return w;
    },
  /** An integer code as a number, anything else as trimmed text (compared, never rejected). */
  code: (reply: string): string | number => (/^[+-]?\d+$/.test(reply.trim()) ? Number(reply.trim()) : reply.trim()),
  /** A number in metres (lightwave SCPI wavelengths) -> nm, to 1e-6 nm. */
  metresAsNm: (reply: string, ctx: ErrorContext): number => Math.round(parseStrictNumber(reply, ctx) * 1e15) / 1e6,
};

/** Reads the error queue; throws InstrumentReportedError naming the command it followed. */
export async function checkErrorQueue(s: LineSession, q: ErrorQueueSpec, after: string): Promise<void> {
  const first = await s.query(q.query);
  const m = /^\s*([+-]?\d+)\s*,\s*(.*)$/.exec(first.trim());
  if (!m) throw new InstrumentReplyError(`unexpected ${q.query} reply "${first}"`, { port: s.port, command: q.query, received: first });
  if (Number(m[1]) === 0) return;
  // Drain the rest of the queue so the next check starts clean.
  for (let i = 0; i < (q.drain ?? 0); i++) {
    const more = await s.query(q.query);
    if (/^\s*[+]?0\s*,/.test(more)) break;
  }
  throw new InstrumentReportedError(`instrument reported ${first.trim()}`, { port: s.port, command: after, received: first });
}

/** Queries one control and parses its reply. */
export async function readControl<V extends string | number>(s: LineSession, c: Control<V>): Promise<V> {
  const reply = await s.query(c.query);
  return c.parse(reply, { port: s.port, command: c.query });
}

/** Sets one control (no reply expected). */
export async function writeControl<V extends string | number>(s: LineSession, c: Control<V>, v: V): Promise<void> {
  if (!c.set) throw new InstrumentReportedError(`${c.label} cannot be set`, { port: s.port, command: c.query });
  await s.send(fill(c.set, c.print ? c.print(v) : String(v)));
}

/** An identity reply split on commas: manufacturer, model, serial, firmware (SCPI *IDN?). */
export function commaIdentity(manufacturer: RegExp, name: string, command = '*IDN?') {
  return (raw: string): InstrumentIdentity => {
    const f = raw.split(',').map((x) => x.trim());
    if (f.length < 4 || !manufacturer.test(f[0] ?? '')) throw new InstrumentReplyError(`unexpected ${command} reply "${raw}"`, { command, received: raw });
    return { manufacturer: name, model: f[1]!, serialNumber: f[2]!, firmware: f[3]!, raw };
  };
}

/**
 * A setting that must take: send the set command, check the error queue (when the dialect has
 * one), read the control back and reject, naming the command, unless the value read is right.
 * `what` names it in the message ("wavelength", "source output").
 */
export async function setAndConfirm<V extends string | number>(
  s: LineSession,
  o: { command: string; errorQueue?: ErrorQueueSpec; control: Control<V>; ok: (got: V) => boolean; what: string; expected: V },
): Promise<V> {
  await s.send(o.command);
  if (o.errorQueue) await checkErrorQueue(s, o.errorQueue, o.command);
  const back = await s.query(o.control.query);
  const got = o.control.parse(back, { port: s.port, command: o.control.query });
  if (!o.ok(got)) {
    throw new InstrumentReportedError(`${o.what} reads ${String(got)} after "${o.command}" (expected ${String(o.expected)})`, { port: s.port, command: o.command, received: back, expected: o.expected });
  }
  return got;
}
