/**
 * The mpo-source-and-multiport-meter method: an MPO source with one output per fiber and a
 * multi-port meter that reads every far-end position in one query.
 *
 * Each fiber gets a code word: m bits, exactly w of them set (the smallest m with
 * C(m, floor(m/2)) >= n fibers, w = floor(m/2)): 5 bits for 8 fibers, 6 for 12, 7 for 24. Pattern
 * k lights the fibers whose word has bit k set; the m patterns are read at every wavelength. At
 * each port, the patterns where it saw light spell the word of the one fiber that arrives there
 * (a port holds one fiber), and every such reading is that fiber's light: its power is the lowest
 * of them (the strict side), and they must agree within LIT_CONSISTENT_DB.
 *
 * Why equal-weight words: for any two fibers f and g each has a bit the other lacks. So light
 * from g reaching f's port (a damaged or split fiber in the device, crosstalk) shows up in a
 * pattern where f is dark, adds a bit to the word, and the word names no fiber: the job aborts
 * rather than count g's light as f's. An output stuck on adds bits the same way, one stuck off
 * removes them; neither is a word. A fiber at two ports, a fiber at another port at another
 * wavelength, a port beyond the measured positions with light, or readings of a pattern that
 * disagree, all abort the job: no certificate.
 *
 * The reference and the cord verification read the same patterns and require every fiber
 * straight through (fiber f at port f), which the switched methods check by reading port f alone.
 *
 * Readings per end: m per wavelength (14 for 24 fibers at two wavelengths), against one per fiber
 * and wavelength (48) when a switch lights one fiber at a time.
 */
import { InstrumentReportedError, JobRefusedError, type ErrorContext } from '../errors.js';
import type { MultiFiberLightSource, MultiPortPowerMeter, PortReading } from '../instruments/capabilities.js';

/** The readings of one port with its fiber lit must agree within this (dB): beyond it, something else changed between patterns. */
export const LIT_CONSISTENT_DB = 0.05;

export class PolarityDecodeError extends InstrumentReportedError {
  override readonly code = 'POLARITY_DECODE_REFUSED';
}

export interface AllLitRig {
  source: MultiFiberLightSource;
  meter: MultiPortPowerMeter;
}

function binomial(m: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (m - k + i)) / i;
  return Math.round(r);
}

/** Each fiber's code word (in the order given): m bits, floor(m/2) set, in increasing value. */
export function codeWords(fibers: readonly number[]): { bits: number; words: number[] } {
  let m = 1;
  while (binomial(m, Math.floor(m / 2)) < fibers.length) m++;
  const w = Math.floor(m / 2);
  const words: number[] = [];
  for (let x = 0; words.length < fibers.length; x++) {
    let ones = 0;
    for (let v = x; v; v >>= 1) ones += v & 1;
    if (ones === w) words.push(x);
  }
  return { bits: m, words };
}

/** The fibers lit in each pattern: pattern k lights the fibers whose word has bit k set. */
export function codedPatterns(fibers: readonly number[]): number[][] {
  const { bits, words } = codeWords(fibers);
  return Array.from({ length: bits }, (_, k) => fibers.filter((_, i) => (words[i]! >> k) & 1));
}

/** Where each fiber arrives and what it reads there, decoded from one wavelength's pattern readings. */
export interface Decoded {
  /** fiber -> port (1-based); a fiber with no port is dark. */
  arrivals: Map<number, number>;
  /** fiber -> its reading: the lowest power of its lit patterns, or 'saturated'. */
  readings: Map<number, number | 'saturated'>;
}

/**
 * Decodes one wavelength: `patterns[k][port - 1]` is what the port read in pattern k. `positions`
 * is how many ports the measured fibers can arrive at; light on a port beyond them is refused.
 */
export function decodeArrivals(fibers: readonly number[], patterns: readonly (readonly PortReading[])[], positions: number): Decoded {
  const { words } = codeWords(fibers);
  const fiberOfWord = new Map(words.map((w, i) => [w, fibers[i]!]));
  const arrivals = new Map<number, number>();
  const readings = new Map<number, number | 'saturated'>();
  const ports = Math.max(...patterns.map((p) => p.length));
  for (let i = 0; i < ports; i++) {
    const port = i + 1;
    let word = 0;
    const lit: (number | 'saturated')[] = [];
    patterns.forEach((p, k) => {
      const r = p[i] ?? 'no-light';
      if (r === 'no-light') return;
      word |= 1 << k;
      lit.push(r);
    });
    if (word === 0) continue;
    const ctx: ErrorContext = { port, word: word.toString(2) };
    if (port > positions) {
      throw new PolarityDecodeError(`port ${port} has light, beyond the ${positions} positions measured: stray light on the meter, or the wrong receptacle`, ctx);
    }
    const fiber = fiberOfWord.get(word);
    if (fiber === undefined) {
      throw new PolarityDecodeError(
        `port ${port} saw light in patterns ${word.toString(2).split('').reverse().flatMap((b, k) => (b === '1' ? [k + 1] : [])).join(', ')}, which is no fiber's code: light from more than one fiber arrives there (leaking between fibers), or a source output did not switch`,
        ctx,
      );
    }
    const seen = arrivals.get(fiber);
    if (seen !== undefined) throw new PolarityDecodeError(`fiber ${fiber} decodes at ports ${seen} and ${port}: one fiber cannot arrive twice`, { ...ctx, fiber });
    const saturated = lit.filter((r) => r === 'saturated').length;
    if (saturated > 0 && saturated < lit.length) throw new PolarityDecodeError(`port ${port} (fiber ${fiber}) read saturated in some of its patterns and not in others`, { ...ctx, fiber });
    let reading: number | 'saturated' = 'saturated';
    if (saturated === 0) {
      const powers = lit as number[];
      // Powers come to 1e-6 dB; compared at that resolution so 0.05 dB apart is 0.05, not 0.0500000001.
      const spread = Math.round((Math.max(...powers) - Math.min(...powers)) * 1e6) / 1e6;
      if (spread > LIT_CONSISTENT_DB) {
        throw new PolarityDecodeError(
          `port ${port} (fiber ${fiber}) read ${Math.min(...powers).toFixed(3)} to ${Math.max(...powers).toFixed(3)} dBm across the patterns lighting it, more than ${LIT_CONSISTENT_DB} dB apart: the source or the path changed between readings`,
          { ...ctx, fiber, spreadDb: Math.round(spread * 1000) / 1000 },
        );
      }
      reading = Math.min(...powers);
    }
    arrivals.set(fiber, port);
    readings.set(fiber, reading);
  }
  return { arrivals, readings };
}

export interface DecodedSweep extends Decoded {
  wavelengthNm: number;
}

/**
 * One end: every coded pattern at every wavelength. Source and meter are set to each wavelength
 * first, the meter's settings confirmed after its readings, and the source dark at the end, also
 * on failure. A fiber must arrive at the same port at every wavelength.
 */
export async function allLitSweeps(rig: AllLitRig, fibers: readonly number[], wavelengthsNm: readonly number[], onWavelength: (wl: number) => void): Promise<DecodedSweep[]> {
  // Every far-end position needs its detector, or a fiber arriving beyond the last port would
  // read as dark (INVALID at best) and a polarity map would be incomplete.
  const positions = Math.max(...fibers);
  const ports = await rig.meter.portCount();
  if (ports < positions) {
    throw new JobRefusedError('METER_TOO_FEW_PORTS', `the multi-port meter has ${ports} ports, the fibers need positions up to ${positions}: fit more detector modules or use a meter with enough ports`, { ports, needed: positions });
  }
  const sweeps: DecodedSweep[] = [];
  try {
    for (const wl of wavelengthsNm) {
      onWavelength(wl);
      await rig.source.setWavelength(wl);
      await rig.meter.setWavelength(wl);
      const readings: PortReading[][] = [];
      for (const [k, lit] of codedPatterns(fibers).entries()) {
        await rig.source.light(lit);
        const r = await rig.meter.readAllPorts();
        if (r.length !== ports) throw new PolarityDecodeError(`the multi-port meter returned ${r.length} ports for pattern ${k + 1}, it has ${ports}`, { pattern: k + 1, wavelengthNm: wl });
        readings.push(r);
      }
      const decoded = decodeArrivals(fibers, readings, positions);
      for (const [fiber, port] of decoded.arrivals) {
        const before = sweeps.find((s) => s.arrivals.has(fiber) && s.arrivals.get(fiber) !== port);
        if (before) {
          throw new PolarityDecodeError(`fiber ${fiber} arrives at port ${before.arrivals.get(fiber)} at ${before.wavelengthNm} nm and at port ${port} at ${wl} nm`, { fiber, wavelengthNm: wl });
        }
      }
      await rig.meter.confirmSettings(wl);
      sweeps.push({ wavelengthNm: wl, ...decoded });
    }
  } catch (err) {
    await rig.source.light([]).catch(() => undefined);
    throw err;
  }
  // Switching off also confirms the source stayed as set through the last pattern.
  await rig.source.light([]);
  return sweeps;
}

/**
 * The reference (launch cord alone) or the cord verification (launch cord onto the reference
 * plug): every fiber must arrive straight through, fiber f at port f; returns the power per fiber
 * per wavelength (null: no usable power - no light or saturated).
 */
export async function straightThroughPowers(rig: AllLitRig, fiberCount: number, wavelengthsNm: readonly number[], what: string): Promise<Record<string, (number | null)[]>> {
  const fibers = Array.from({ length: fiberCount }, (_, i) => i + 1);
  const sweeps = await allLitSweeps(rig, fibers, wavelengthsNm, () => {});
  const out: Record<string, (number | null)[]> = {};
  for (const s of sweeps) {
    const crossed = fibers.filter((f) => s.arrivals.has(f) && s.arrivals.get(f) !== f);
    if (crossed.length > 0) {
      throw new PolarityDecodeError(
        `${what}: fiber(s) ${crossed.map((f) => `${f} at port ${s.arrivals.get(f)}`).join(', ')}, not straight through: the cord in the path is not straight (a polarity-flipping cord, or the wrong one)`,
        { fibers: crossed.join(',') },
      );
    }
    out[String(s.wavelengthNm)] = fibers.map((f) => {
      const r = s.readings.get(f);
      return typeof r === 'number' ? r : null;
    });
  }
  return out;
}
