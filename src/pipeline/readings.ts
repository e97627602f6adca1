import type { MeasuredReading } from '../evaluation/measured-reading.js';
import type { InstrumentIdentity } from '../instruments/capabilities.js';

/** A 1-cord reference: the power each fiber delivered through the launch cord alone. */
export interface BenchReference {
  benchId: string;
  takenAt: string;
  method: 'switch-and-meter' | 'switch-and-multiport-meter' | 'mpo-source-and-multiport-meter' | 'loss-test-set';
  fiberCount: number;
  wavelengthsNm: number[];
  /** Per wavelength (as a string key), per fiber (index 0 = fiber 1), in dBm. Empty for a loss-test set, which keeps its own. */
  powerDbm: Record<string, number[]>;
  instruments: InstrumentIdentity[];
  /** The launch cord the reference was taken through: a job through another cord needs a new reference. */
  launchCordId: string | null;
  /** Fiber n was lit through switch channel channelOffset + n when this reference was taken. */
  channelOffset: number;
  /** Set when a person accepted a reference the plausibility checks refused (e.g. a new source), and why. */
  acceptedDespite?: { reason: string; checks: string[] };
}

/** One fiber at one wavelength, as measured (the same shape a certificate stores). */
export type FiberReading = MeasuredReading;

export interface JobProgress {
  step: 'queued' | 'setup' | 'reference-check' | 'present-dut' | 'measure' | 'turn-assembly' | 'evaluate' | 'store' | 'done' | 'aborted';
  /** The end being measured. */
  end?: 'A' | 'B';
  /** A physical step waiting for the person at the bench (manual operator). */
  waitingFor?: import('./operator.js').PendingStep;
  fiber?: number;
  wavelengthNm?: number;
  readings: FiberReading[];
}
