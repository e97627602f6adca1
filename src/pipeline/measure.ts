import { OpticalRangeError } from '../instruments/errors.js';
import { InstrumentReplyError, InstrumentReportedError } from '../errors.js';
import { lossFromPowers, roundValueDb } from '../evaluation/index.js';
import type { PortReading } from '../instruments/capabilities.js';
import type { BenchRuntime } from './bench-runtime.js';
import type { BenchReference, FiberReading } from './readings.js';
import { allLitSweeps, straightThroughPowers } from './all-fibers-lit.js';

/**
 * The measuring procedures of each method. They know capabilities (meter, switch, multi-port
 * meter, loss-test set), never a dialect, and they report every reading as it is taken so
 * progress is visible.
 */

export type OnReading = (r: FiberReading) => void;
/** Called before each fiber is measured; it may throw to stop the procedure (shutdown). */
export type OnPosition = (fiber: number, wavelengthNm: number) => void;

/**
 * A meter that sees no light or is saturated says so with an OpticalRangeError: that is a fact
 * about the fiber (recorded, judged INVALID), not a fault of the bench (which aborts the job).
 */
export function opticalCondition(err: unknown): FiberReading['condition'] | undefined {
  if (!(err instanceof OpticalRangeError)) return undefined;
  return err.condition === 'no-light' || err.condition === 'saturated' ? err.condition : undefined;
}

/** What a switched detector saw for one lit fiber: a power, or an optical condition, and where. */
interface Seen {
  measuredDbm: number | null;
  condition?: 'no-light' | 'saturated';
  /** Multi-port meters: the port the light arrived at (null: nowhere). Absent for one detector. */
  receivedAt?: number | null;
}

/**
 * The detector side of the two switched methods, so each procedure is written once: one
 * large-area meter sees every fiber; a multi-port meter sees each fiber at a port, either the
 * straight-through one (the launch cord alone, or mated to the reference plug) or wherever its
 * light arrives (through the device under test, for polarity).
 */
interface SwitchedDetector {
  /** Lights one fiber: the switch to its channel (the bench's channel offset applied). */
  light(fiber: number): Promise<void>;
  /** The bench's light source (if it has one) to wl, its output on; then the detector to wl. */
  setWavelength(wl: number): Promise<void>;
  straightThrough(fiber: number, wl: number, what: string): Promise<Seen>;
  arrival(fiber: number, wl: number): Promise<Seen>;
  confirmSettings(wl: number): Promise<void>;
  /** The bench's light source (if it has one) off: the end of a sweep. */
  darken(): Promise<void>;
}

function switchedDetector(bench: BenchRuntime, what: string): SwitchedDetector {
  const m = bench.method;
  const { channelOffset } = bench.config;
  const source = m.kind === 'switch-and-meter' || m.kind === 'switch-and-multiport-meter' ? m.lightSource : undefined;
  // The source's wavelength is set (and confirmed by the driver) before its output goes on, so
  // no reading is ever taken in light of another wavelength; a source that cannot be set fails
  // the sweep with its error.
  const lightAt = async (wl: number): Promise<void> => {
    if (!source) return;
    await source.setWavelength(wl);
    await source.setOutput(true);
  };
  const darken = async (): Promise<void> => {
    if (source) await source.setOutput(false);
  };
  if (m.kind === 'switch-and-meter') {
    const read = async (fiber: number, wl: number): Promise<Seen> => {
      try {
        const measuredDbm = await m.powerMeter.readPowerDbm();
        if (!Number.isFinite(measuredDbm)) {
          throw new InstrumentReplyError('the power meter returned a power that is not a number', { fiber, wavelengthNm: wl, received: String(measuredDbm) });
        }
        return { measuredDbm };
      } catch (err) {
        const condition = opticalCondition(err);
        if (condition === undefined) throw err;
        return { measuredDbm: null, condition };
      }
    };
    return {
      light: (fiber) => m.switch.selectChannel(channelOffset + fiber),
      setWavelength: async (wl) => {
        await lightAt(wl);
        await m.powerMeter.setWavelength(wl);
      },
      straightThrough: read,
      arrival: read,
      confirmSettings: (wl) => m.powerMeter.confirmSettings(wl),
      darken,
    };
  }
  if (m.kind === 'switch-and-multiport-meter') {
    return {
      light: (fiber) => m.switch.selectChannel(channelOffset + fiber),
      setWavelength: async (wl) => {
        await lightAt(wl);
        await m.multiPortMeter.setWavelength(wl);
      },
      async straightThrough(fiber, _wl, purpose) {
        const port = (await m.multiPortMeter.readAllPorts())[fiber - 1];
        if (port === undefined) throw new InstrumentReportedError(`the multi-port meter has no port ${fiber} for ${purpose}`, { fiber });
        return typeof port === 'number' ? { measuredDbm: port } : { measuredDbm: null, condition: port };
      },
      async arrival() {
        const hit = arrival(await m.multiPortMeter.readAllPorts());
        if (!hit) return { measuredDbm: null, receivedAt: null, condition: 'no-light' };
        if (hit.reading === 'saturated') return { measuredDbm: null, receivedAt: hit.port, condition: 'saturated' };
        return { measuredDbm: hit.reading as number, receivedAt: hit.port };
      },
      confirmSettings: (wl) => m.multiPortMeter.confirmSettings(wl),
      darken,
    };
  }
  throw new InstrumentReportedError(`a loss-test set keeps its own reference; ${what} is not measured by the bench`);
}

/**
 * One sweep at wl: source and detector set to wl, the readings, the detector's settings confirmed,
 * the source switched off (which confirms it stayed lit as set). The source is switched off when
 * the sweep fails too; the sweep's own error is the one reported.
 */
async function inSweep<T>(detector: SwitchedDetector, wl: number, readings: () => Promise<T>): Promise<T> {
  let result: T;
  try {
    await detector.setWavelength(wl);
    result = await readings();
    await detector.confirmSettings(wl);
  } catch (err) {
    await detector.darken().catch(() => undefined);
    throw err;
  }
  await detector.darken();
  return result;
}

/** Power per fiber (index 0 = fiber 1) through the launch cord alone, or through whatever is mated to it. */
async function sweepPowers(bench: BenchRuntime, wl: number, fibers: number, onPosition: OnPosition, what: string): Promise<(number | null)[]> {
  const detector = switchedDetector(bench, what);
  return inSweep(detector, wl, async () => {
    const row: (number | null)[] = [];
    for (let fiber = 1; fiber <= fibers; fiber++) {
      onPosition(fiber, wl);
      await detector.light(fiber);
      row.push((await detector.straightThrough(fiber, wl, what)).measuredDbm);
    }
    return row;
  });
}

export async function takeReference(bench: BenchRuntime, onPosition: OnPosition = () => {}): Promise<BenchReference> {
  const { fiberCount, wavelengthsNm, channelOffset } = bench.config;
  const powerDbm: Record<string, number[]> = {};
  const m = bench.method;
  if (m.kind === 'loss-test-set') {
    await m.lossTestSet.reference(wavelengthsNm);
  } else {
    const allLit = m.kind === 'mpo-source-and-multiport-meter' ? await straightThroughPowers({ source: m.mpoSource, meter: m.multiPortMeter }, fiberCount, wavelengthsNm, 'the reference') : undefined;
    for (const wl of wavelengthsNm) {
      const row = allLit ? (allLit[String(wl)] ?? []) : await sweepPowers(bench, wl, fiberCount, onPosition, 'the reference');
      const dark = row.flatMap((p, i) => (p === null ? [i + 1] : []));
      // A reference must be a real power on every fiber: no light here is an error, not a value.
      if (dark.length > 0) {
        throw new InstrumentReplyError(`no light on fiber(s) ${dark.join(', ')} at ${wl} nm through the launch cord alone: check the source, the switch and the launch cord, then reference again`, {
          wavelengthNm: wl,
        });
      }
      powerDbm[String(wl)] = row as number[];
    }
  }
  return {
    benchId: bench.id,
    takenAt: new Date().toISOString(),
    method: m.kind,
    fiberCount,
    wavelengthsNm: [...wavelengthsNm],
    powerDbm,
    instruments: await bench.identifyAll(),
    launchCordId: bench.config.testCords.launchCord?.id ?? null,
    channelOffset,
  };
}

/**
 * The launch cord mated to the reference plug, measured against the reference just taken: the
 * loss of that reference-grade pair per fiber and wavelength (null: no light came through).
 */
export async function measureCordVerification(bench: BenchRuntime, reference: BenchReference): Promise<Record<string, (number | null)[]>> {
  const out: Record<string, (number | null)[]> = {};
  const m = bench.method;
  if (m.kind === 'loss-test-set') {
    // The set measures against the reference it keeps itself.
    for (const wl of reference.wavelengthsNm) {
      const byFiber = new Map((await m.lossTestSet.measureAll(wl)).map((r) => [r.fiber, r]));
      out[String(wl)] = Array.from({ length: reference.fiberCount }, (_, i) => {
        const r = byFiber.get(i + 1);
        return r && r.receivedAt !== null && Number.isFinite(r.lossDb) ? roundValueDb(r.lossDb, 'max') : null;
      });
    }
    return out;
  }
  const allLit =
    m.kind === 'mpo-source-and-multiport-meter'
      ? await straightThroughPowers({ source: m.mpoSource, meter: m.multiPortMeter }, reference.fiberCount, reference.wavelengthsNm, 'the cord verification')
      : undefined;
  for (const wl of reference.wavelengthsNm) {
    const ref = reference.powerDbm[String(wl)] ?? [];
    const row = allLit ? (allLit[String(wl)] ?? []) : await sweepPowers(bench, wl, reference.fiberCount, () => {}, 'the cord verification');
    out[String(wl)] = row.map((p, i) => (p === null || ref[i] === undefined ? null : lossFromPowers(ref[i]!, p)));
  }
  return out;
}

/** The port where a lit fiber's light arrived: the strongest port with light; none lit is no light. */
function arrival(ports: readonly PortReading[]): { port: number; reading: PortReading } | undefined {
  let best: { port: number; reading: PortReading } | undefined;
  ports.forEach((reading, i) => {
    if (reading === 'no-light') return;
    if (!best || reading === 'saturated' || (best.reading !== 'saturated' && (reading as number) > (best.reading as number))) best = { port: i + 1, reading };
  });
  return best;
}

/** One reading: what was seen against the reference, with the loss the engine would compute. */
function fiberReading(o: { fiber: number; end: 'A' | 'B'; wl: number; referenceDbm: number | null; seen: Seen; takenAt: string }): FiberReading {
  const { measuredDbm, condition, receivedAt } = o.seen;
  return {
    fiber: o.fiber,
    end: o.end,
    wavelengthNm: o.wl,
    referenceDbm: o.referenceDbm,
    measuredDbm,
    // The same rounding the engine applies, so progress, readings and judgments agree.
    lossDb: o.referenceDbm === null || measuredDbm === null ? null : lossFromPowers(o.referenceDbm, measuredDbm),
    ...(receivedAt !== undefined ? { receivedAt } : {}),
    ...(condition !== undefined ? { condition } : {}),
    takenAt: o.takenAt,
  };
}

export async function measureAllFibers(
  bench: BenchRuntime,
  reference: BenchReference,
  positions: readonly number[],
  wavelengthsNm: number[],
  end: 'A' | 'B',
  onReading: OnReading,
  onPosition: OnPosition = () => {},
): Promise<FiberReading[]> {
  const readings: FiberReading[] = [];
  const push = (r: FiberReading): void => {
    readings.push(r);
    onReading(r);
  };
  const m = bench.method;
  if (m.kind === 'mpo-source-and-multiport-meter') {
    const sweeps = await allLitSweeps({ source: m.mpoSource, meter: m.multiPortMeter }, positions, wavelengthsNm, (wl) => {
      for (const fiber of positions) onPosition(fiber, wl);
    });
    for (const { wavelengthNm: wl, arrivals, readings } of sweeps) {
      const refRow = reference.powerDbm[String(wl)];
      const takenAt = new Date().toISOString();
      for (const fiber of positions) {
        const port = arrivals.get(fiber) ?? null;
        const r = readings.get(fiber);
        const seen: Seen = typeof r === 'number' ? { measuredDbm: r, receivedAt: port } : { measuredDbm: null, condition: r ?? 'no-light', receivedAt: port };
        push(fiberReading({ fiber, end, wl, referenceDbm: refRow?.[fiber - 1] ?? null, seen, takenAt }));
      }
    }
  } else if (m.kind !== 'loss-test-set') {
    const detector = switchedDetector(bench, 'a measurement');
    for (const wl of wavelengthsNm) {
      const refRow = reference.powerDbm[String(wl)];
      // Every reading of this sweep assumed the meter kept its unit and wavelength (and the source
      // its wavelength): inSweep checks that once at the end rather than per reading; if it did
      // not, the job aborts with that error.
      await inSweep(detector, wl, async () => {
        for (const fiber of positions) {
          onPosition(fiber, wl);
          await detector.light(fiber);
          const takenAt = new Date().toISOString();
          push(fiberReading({ fiber, end, wl, referenceDbm: refRow?.[fiber - 1] ?? null, seen: await detector.arrival(fiber, wl), takenAt }));
        }
      });
    }
  } else {
    for (const wl of wavelengthsNm) {
      const wanted = new Set(positions);
      for (const r of (await m.lossTestSet.measureAll(wl)).filter((x) => wanted.has(x.fiber))) {
        // A dark fiber has no power and no loss (the driver reports NaN for both): record the
        // condition, never a number.
        const dark = r.receivedAt === null || !Number.isFinite(r.powerDbm) || !Number.isFinite(r.lossDb);
        push({
          fiber: r.fiber,
          end,
          wavelengthNm: wl,
          referenceDbm: null,
          measuredDbm: dark ? null : r.powerDbm,
          lossDb: dark ? null : r.lossDb,
          receivedAt: r.receivedAt,
          ...(dark ? { condition: 'no-light' as const } : {}),
          takenAt: new Date().toISOString(),
        });
      }
    }
  }
  return readings;
}
