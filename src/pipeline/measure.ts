import { OpticalRangeError } from '../../drivers/common.js';
import { InstrumentReplyError, InstrumentReportedError } from '../errors.js';
import { lossFromPowers, roundValueDb } from '../evaluation/index.js';
import type { PortReading } from '../instruments/capabilities.js';
import type { BenchRuntime } from './bench-runtime.js';
import type { BenchReference, FiberReading } from './readings.js';

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

/** Power per fiber (index 0 = fiber 1) through the launch cord alone, or through whatever is mated to it. */
async function sweepPowers(bench: BenchRuntime, wl: number, fibers: number, onPosition: OnPosition, what: string): Promise<(number | null)[]> {
  const { channelOffset } = bench.config;
  const m = bench.method;
  const row: (number | null)[] = [];
  if (m.kind === 'switch-and-meter') {
    await m.powerMeter.setWavelength(wl);
    for (let fiber = 1; fiber <= fibers; fiber++) {
      onPosition(fiber, wl);
      await m.switch.selectChannel(channelOffset + fiber);
      try {
        row.push(await m.powerMeter.readPowerDbm());
      } catch (err) {
        if (opticalCondition(err) === undefined) throw err;
        row.push(null);
      }
    }
    await m.powerMeter.confirmSettings(wl);
  } else if (m.kind === 'switch-and-multiport-meter') {
    await m.multiPortMeter.setWavelength(wl);
    for (let fiber = 1; fiber <= fibers; fiber++) {
      onPosition(fiber, wl);
      await m.switch.selectChannel(channelOffset + fiber);
      // Launch cord alone (or with the reference plug): straight through, light arrives at `fiber`.
      const port = (await m.multiPortMeter.readAllPorts())[fiber - 1];
      if (port === undefined) throw new InstrumentReportedError(`the multi-port meter has no port ${fiber} for ${what}`, { fiber });
      row.push(typeof port === 'number' ? port : null);
    }
    await m.multiPortMeter.confirmSettings(wl);
  } else {
    throw new InstrumentReportedError(`a loss-test set keeps its own reference; ${what} is not measured by the bench`);
  }
  return row;
}

export async function takeReference(bench: BenchRuntime, onPosition: OnPosition = () => {}): Promise<BenchReference> {
  const { fiberCount, wavelengthsNm, channelOffset } = bench.config;
  const powerDbm: Record<string, number[]> = {};
  const m = bench.method;
  if (m.kind === 'loss-test-set') {
    await m.lossTestSet.reference(wavelengthsNm);
  } else {
    for (const wl of wavelengthsNm) {
      const row = await sweepPowers(bench, wl, fiberCount, onPosition, 'the reference');
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
  for (const wl of reference.wavelengthsNm) {
    const ref = reference.powerDbm[String(wl)] ?? [];
    const row = await sweepPowers(bench, wl, reference.fiberCount, () => {}, 'the cord verification');
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
  const { channelOffset } = bench.config;
  if (m.kind === 'switch-and-meter') {
    for (const wl of wavelengthsNm) {
      const refRow = reference.powerDbm[String(wl)];
      await m.powerMeter.setWavelength(wl);
      for (const fiber of positions) {
        onPosition(fiber, wl);
        await m.switch.selectChannel(channelOffset + fiber);
        const referenceDbm = refRow?.[fiber - 1] ?? null;
        const takenAt = new Date().toISOString();
        try {
          const measuredDbm = await m.powerMeter.readPowerDbm();
          if (!Number.isFinite(measuredDbm)) {
            throw new InstrumentReplyError('the power meter returned a power that is not a number', { fiber, wavelengthNm: wl, received: String(measuredDbm) });
          }
          // The same rounding the engine applies, so progress, readings and judgments agree.
          const lossDb = referenceDbm === null ? null : lossFromPowers(referenceDbm, measuredDbm);
          push({ fiber, end, wavelengthNm: wl, referenceDbm, measuredDbm, lossDb, takenAt });
        } catch (err) {
          const condition = opticalCondition(err);
          if (condition === undefined) throw err;
          push({ fiber, end, wavelengthNm: wl, referenceDbm, measuredDbm: null, lossDb: null, condition, takenAt });
        }
      }
      // Every reading of this sweep assumed the meter kept its unit and wavelength: check that
      // once here rather than per reading; if it did not, the job aborts with this error.
      await m.powerMeter.confirmSettings(wl);
    }
  } else if (m.kind === 'switch-and-multiport-meter') {
    for (const wl of wavelengthsNm) {
      const refRow = reference.powerDbm[String(wl)];
      await m.multiPortMeter.setWavelength(wl);
      for (const fiber of positions) {
        onPosition(fiber, wl);
        await m.switch.selectChannel(channelOffset + fiber);
        const referenceDbm = refRow?.[fiber - 1] ?? null;
        const takenAt = new Date().toISOString();
        const hit = arrival(await m.multiPortMeter.readAllPorts());
        if (!hit) {
          push({ fiber, end, wavelengthNm: wl, referenceDbm, measuredDbm: null, lossDb: null, receivedAt: null, condition: 'no-light', takenAt });
        } else if (hit.reading === 'saturated') {
          push({ fiber, end, wavelengthNm: wl, referenceDbm, measuredDbm: null, lossDb: null, receivedAt: hit.port, condition: 'saturated', takenAt });
        } else {
          const measuredDbm = hit.reading as number;
          const lossDb = referenceDbm === null ? null : lossFromPowers(referenceDbm, measuredDbm);
          push({ fiber, end, wavelengthNm: wl, referenceDbm, measuredDbm, lossDb, receivedAt: hit.port, takenAt });
        }
      }
      await m.multiPortMeter.confirmSettings(wl);
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
