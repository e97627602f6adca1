/**
 * The engine's default thresholds, in one place: the pipeline (reference and cord verification
 * plausibility) and the engine (readings) apply the same numbers.
 */

/** A passing value within this many dB of its limit is MARGINAL. */
export const DEFAULT_GUARD_BAND_DB = 0.05;
/** A loss below this is a reference error, never a very good fiber (TIA-526-14: re-reference). */
export const DEFAULT_REFERENCE_ERROR_THRESHOLD_DB = -0.05;
/** Between the 0.02 dB a year seen on MTP and the 0.08-0.12 dB seen on MPO (field data). */
export const DEFAULT_DRIFT_THRESHOLD_DB = 0.1;
/**
 * Every fiber of an end and wavelength within this of 0 dB means nothing was in the light path. A
 * mated pair of even the best grade (IEC A, 0.07 dB mean) spreads over its fibers; twelve or more
 * fibers all within 0.03 dB of zero is the launch cord measured against itself.
 */
export const DEFAULT_NO_DEVICE_BELOW_DB = 0.03;
/**
 * The same with the source drifted since the reference: every fiber shifted alike, by up to
 * this median, with this little spread between fibers (a real mated pair differs fiber to fiber).
 */
export const NO_DEVICE_UNIFORM = { medianBelowDb: 0.06, spreadBelowDb: 0.02 } as const;
/**
 * End B readings all within this of end A's mean end A was measured twice: a meter repeats to
 * about 0.005 dB without remating, and two connectors differ by far more on some fiber.
 */
export const END_B_SAME_AS_A_DB = 0.005;
