import { InputError } from '../errors.js';
import { formatRef, type Figure, type LimitSet } from './limit-set.js';
import type { FiberType } from './record-schema.js';

/** Fiber attenuation for a type, wavelength and plant; entries without a plant apply to both. */
export function attenuationFor(set: LimitSet, fiberType: FiberType, wavelengthNm: number, plant: 'inside' | 'outside', path: string): Figure {
  const entry = set.componentAllowances.fiberAttenuation.find(
    (e) => e.wavelengthNm === wavelengthNm && e.fiberTypes.includes(fiberType) && (e.plant === undefined || e.plant === plant),
  );
  if (!entry) {
    throw new InputError(`${path}: limit set ${formatRef(set)} has no fiber attenuation for ${fiberType} at ${wavelengthNm} nm (${plant} plant)`);
  }
  return entry.dbPerKm;
}
