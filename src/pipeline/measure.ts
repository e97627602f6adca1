import { OpticalRangeError } from '../../drivers/common.js';
import { InstrumentReplyError } from '../errors.js';
import { roundDb } from '../evaluation/index.js';
import type { BenchRuntime } from './bench-runtime.js';
import type { BenchReference, FiberReading } from './readings.js';

/**
 * The measuring procedures of each method. They know capabilities (meter, switch, loss-test
 * set), never a dialect, and they report every reading as it is taken so progress is visible.
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


export async function takeReference(bench: BenchRuntime, onPosition: OnPosition = () => {}): Promise<BenchReference> {
  const { fiberCount, wavelengthsNm, channelOffset } = bench.config;
  const powerDbm: Record<string, number[]> = {};
  const m = bench.method;
  if (m.kind === 'switch-and-meter') {
    for (const wl of wavelengthsNm) {
      await m.powerMeter.setWavelength(wl);
      const row: number[] = [];
      for (let fiber = 1; fiber <= fiberCount; fiber++) {
        onPosition(fiber, wl);
        await m.switch.selectChannel(channelOffset + fiber);
        // A reference must be a real power: no-light or saturation here is an error, not a value.
        row.push(await m.powerMeter.readPowerDbm());
      }
      await m.powerMeter.confirmSettings(wl);
      powerDbm[String(wl)] = row;
    }
  } else {
    await m.lossTestSet.reference(wavelengthsNm);
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
    channelOffset: bench.config.channelOffset,
  };
}

export async function measureAllFibers(
  bench: BenchRuntime,
  reference: BenchReference,
  positions: readonly number[],
  wavelengthsNm: number[],
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
          const lossDb = referenceDbm === null ? null : roundDb(referenceDbm - measuredDbm);
          push({ fiber, wavelengthNm: wl, referenceDbm, measuredDbm, lossDb, takenAt });
        } catch (err) {
          const condition = opticalCondition(err);
          if (condition === undefined) throw err;
          push({ fiber, wavelengthNm: wl, referenceDbm, measuredDbm: null, lossDb: null, condition, takenAt });
        }
      }
      // Every reading of this sweep assumed the meter kept its unit and wavelength: check that
      // once here rather than per reading; if it did not, the job aborts with this error.
      await m.powerMeter.confirmSettings(wl);
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
