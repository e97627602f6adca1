/**
 * The mpo-source-and-multiport-meter method: an MPO source with one output per fiber and a
 * multi-port meter that reads every far-end position in one query.
 *
 * Loss: every fiber lit at once, one reading of every port per wavelength.
 * Polarity (where each fiber arrives): lit in coded subsets. Fiber number i of the n measured
 * (1-based, its code) is lit in pattern k when bit k of i is 1, for k < ceil(log2(n+2)): 4
 * patterns for 8 or 12 fibers, 5 for 24. A port's lit/dark answers across the patterns spell the
 * code of the one fiber that arrives there (a port holds one fiber). Codes start at 1, so a port
 * with light always has at least one lit pattern, and the all-ones code is never a fiber's, so a
 * source output stuck on (lit in every pattern) names no fiber and is refused.
 *
 * Nothing is guessed: a port reads "lit" in a pattern only within 1 dB of what it read with every
 * fiber lit, and "dark" only as no light; anything between (light leaking between fibers, a
 * source output that did not switch, a fiber that moved) makes the decode refuse, and so does a
 * code that names no measured fiber, or one fiber arriving at two ports, or a port lit at a later
 * wavelength where no fiber was decoded. The job then aborts: no certificate. The reference and
 * the cord verification run the same decode and require every fiber straight through (fiber f at
 * port f), which the switched methods check by reading port f alone.
 *
 * Readings per end: patterns + one per wavelength (7 for 24 fibers at two wavelengths), against
 * one per fiber and wavelength (48) when a switch lights one fiber at a time.
 */
import { InstrumentReportedError, JobRefusedError, type ErrorContext } from '../errors.js';
import type { MultiFiberLightSource, MultiPortPowerMeter, PortReading } from '../instruments/capabilities.js';

/** A coded pattern's reading at a port counts as "lit" within this of the all-lit reading. */
export const LIT_WITHIN_DB = 1.0;

export class PolarityDecodeError extends InstrumentReportedError {
  override readonly code = 'POLARITY_DECODE_REFUSED';
}

export interface AllLitRig {
  source: MultiFiberLightSource;
  meter: MultiPortPowerMeter;
}

/** The fibers lit in each coded pattern (bit k of each fiber's 1-based ordinal). */
export function codedPatterns(fibers: readonly number[]): number[][] {
  const bits = Math.ceil(Math.log2(fibers.length + 2));
  return Array.from({ length: bits }, (_, k) => fibers.filter((_, i) => ((i + 1) >> k) & 1));
}

type Level = 'lit' | 'dark';

function levelOf(pattern: PortReading, allLit: PortReading, ctx: ErrorContext): Level {
  if (pattern === 'no-light') return 'dark';
  if (allLit === 'no-light') {
    throw new PolarityDecodeError('a port dark with every fiber lit saw light in a coded pattern: the light path changed between readings', ctx);
  }
  if (pattern === 'saturated' || allLit === 'saturated') {
    if (pattern === allLit) return 'lit';
    throw new PolarityDecodeError('a port read saturated in one reading and not the other: cannot tell lit from dark', ctx);
  }
  if (Math.abs(pattern - allLit) <= LIT_WITHIN_DB) return 'lit';
  throw new PolarityDecodeError(
    `a port read ${pattern.toFixed(2)} dBm in a coded pattern against ${allLit.toFixed(2)} dBm with every fiber lit: neither lit nor dark (light leaking between fibers, or a source output that did not switch)`,
    { ...ctx, receivedDbm: pattern, allLitDbm: allLit },
  );
}

/**
 * Where each fiber arrives, from the all-lit reading and the coded patterns' readings (each
 * indexed by port - 1). Returns fiber -> port (1-based); a fiber with no port is dark.
 */
export function decodeArrivals(fibers: readonly number[], allLit: readonly PortReading[], patterns: readonly (readonly PortReading[])[]): Map<number, number> {
  const arrivals = new Map<number, number>();
  allLit.forEach((all, i) => {
    const port = i + 1;
    if (all === 'no-light') {
      // Still checked: a dark port must stay dark in every pattern.
      patterns.forEach((p, k) => levelOf(p[i] ?? 'no-light', all, { port, pattern: k + 1 }));
      return;
    }
    let code = 0;
    patterns.forEach((p, k) => {
      if (levelOf(p[i] ?? 'no-light', all, { port, pattern: k + 1 }) === 'lit') code |= 1 << k;
    });
    const fiber = fibers[code - 1];
    if (code === 0 || fiber === undefined) {
      throw new PolarityDecodeError(`port ${port} has light whose code ${code} names no fiber measured (${fibers.length} fibers): light from outside the measured fibers`, { port, code });
    }
    const seen = arrivals.get(fiber);
    if (seen !== undefined) throw new PolarityDecodeError(`fiber ${fiber} decodes at ports ${seen} and ${port}: one fiber cannot arrive twice`, { fiber, port });
    arrivals.set(fiber, port);
  });
  return arrivals;
}

/** One reading of every port with exactly `fibers` lit (the meter already at the wavelength). */
async function readLit(rig: AllLitRig, fibers: readonly number[]): Promise<PortReading[]> {
  await rig.source.light(fibers);
  return rig.meter.readAllPorts();
}

export interface AllLitSweep {
  wavelengthNm: number;
  allLit: PortReading[];
}

/**
 * The readings of one end: the coded patterns at the first wavelength (when `decode`), then every
 * fiber lit at each wavelength. Source and meter are set to each wavelength first, the meter's
 * settings confirmed after its readings, and the source dark at the end, also on failure.
 */
export async function allLitSweeps(
  rig: AllLitRig,
  fibers: readonly number[],
  wavelengthsNm: readonly number[],
  onWavelength: (wl: number) => void,
): Promise<{ arrivals: Map<number, number>; sweeps: AllLitSweep[] }> {
  const sweeps: AllLitSweep[] = [];
  let arrivals = new Map<number, number>();
  // Every far-end position needs its detector, or a fiber arriving beyond the last port would
  // read as dark (INVALID at best) and a polarity map would be incomplete.
  const needed = Math.max(...fibers);
  const ports = await rig.meter.portCount();
  if (ports < needed) {
    throw new JobRefusedError('METER_TOO_FEW_PORTS', `the multi-port meter has ${ports} ports, the fibers need positions up to ${needed}: fit more detector modules or use a meter with enough ports`, { ports, needed });
  }
  try {
    for (const [w, wl] of wavelengthsNm.entries()) {
      onWavelength(wl);
      await rig.source.setWavelength(wl);
      await rig.meter.setWavelength(wl);
      const allLit = await readLit(rig, fibers);
      if (w === 0) {
        const patterns: PortReading[][] = [];
        for (const p of codedPatterns(fibers)) patterns.push(await readLit(rig, p));
        arrivals = decodeArrivals(fibers, allLit, patterns);
      } else {
        // Later wavelengths reuse the first one's map: any port lit where no fiber arrived means
        // the light path is not the one decoded.
        const known = new Set(arrivals.values());
        const stray = allLit.findIndex((r, i) => r !== 'no-light' && !known.has(i + 1));
        if (stray >= 0) throw new PolarityDecodeError(`port ${stray + 1} has light at ${wl} nm where no fiber arrived at ${wavelengthsNm[0]} nm`, { port: stray + 1, wavelengthNm: wl });
      }
      await rig.meter.confirmSettings(wl);
      sweeps.push({ wavelengthNm: wl, allLit });
    }
  } catch (err) {
    await rig.source.light([]).catch(() => undefined);
    throw err;
  }
  await rig.source.light([]);
  return { arrivals, sweeps };
}

/**
 * The reference (launch cord alone) or the cord verification (launch cord onto the reference
 * plug): every fiber must arrive straight through, fiber f at port f; returns the power per fiber
 * per wavelength (null: no light).
 */
export async function straightThroughPowers(rig: AllLitRig, fiberCount: number, wavelengthsNm: readonly number[], what: string): Promise<Record<string, (number | null)[]>> {
  const fibers = Array.from({ length: fiberCount }, (_, i) => i + 1);
  const { arrivals, sweeps } = await allLitSweeps(rig, fibers, wavelengthsNm, () => {});
  const crossed = fibers.filter((f) => arrivals.has(f) && arrivals.get(f) !== f);
  if (crossed.length > 0) {
    throw new PolarityDecodeError(
      `${what}: fiber(s) ${crossed.map((f) => `${f} at port ${arrivals.get(f)}`).join(', ')}, not straight through: the cord in the path is not straight (a polarity-flipping cord, or the wrong one)`,
      { fibers: crossed.join(',') },
    );
  }
  const out: Record<string, (number | null)[]> = {};
  for (const s of sweeps) {
    out[String(s.wavelengthNm)] = fibers.map((f) => {
      const r = s.allLit[f - 1];
      return typeof r === 'number' ? r : null;
    });
  }
  return out;
}
