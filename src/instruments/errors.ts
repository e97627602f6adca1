/**
 * Errors that belong to a capability rather than to one instrument: the pipeline acts on them
 * (a dark fiber, a sweep to discard) without knowing which driver raised them.
 */
import { InstrumentReportedError, type ErrorContext } from '../errors.js';

/**
 * The meter saw no usable light (reading below the no-light threshold, the sensor's noise floor)
 * or could not measure (saturated, SCPI not-a-number). `context.condition` is 'no-light',
 * 'saturated' or 'not-a-number'; the pipeline treats 'no-light' on a fiber as a dark fiber.
 */
export class OpticalRangeError extends InstrumentReportedError {
  readonly condition: 'no-light' | 'saturated' | 'not-a-number';
  constructor(condition: 'no-light' | 'saturated' | 'not-a-number', message: string, context: ErrorContext = {}) {
    super(message, { ...context, condition });
    this.condition = condition;
  }
}

/**
 * A power meter's unit or wavelength is no longer what the driver set (a power cycle behind the
 * open port, a hand on the front panel): every reading since the settings were last applied is
 * suspect and must be discarded by the caller. Raised by `confirmSettings`; `context` has `port`,
 * `command` (the query that showed it), `received` and `expected`.
 */
export class MeterSettingsChangedError extends InstrumentReportedError {
  override readonly code = 'METER_SETTINGS_CHANGED';
}
