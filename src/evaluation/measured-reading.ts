/**
 * One fiber at one wavelength as a bench measured it: what the pipeline produces, what a job
 * judges and what a certificate stores, so the three cannot drift apart. `condition` says why a
 * reading has no usable power; the evaluation turns such a reading into INVALID, never into a
 * number that could pass.
 */
export interface MeasuredReading {
  /** Launch position at `end` of the device under test. */
  fiber: number;
  /** The end of the device the launch cord was mated to. */
  end: 'A' | 'B';
  wavelengthNm: number;
  referenceDbm: number | null;
  measuredDbm: number | null;
  lossDb: number | null;
  /** Far-end position where the light arrived, when the method can tell. */
  receivedAt?: number | null;
  condition?: 'no-light' | 'saturated';
  takenAt: string;
}
