/**
 * A power below this (dBm) is no light: the meters here are specified down to about -70 dBm, and
 * a loss needs both powers clear of the noise floor. One figure for the drivers (which report
 * `no-light`) and the evaluation engine (which judges recorded powers offline), so a reading the
 * daemon would refuse cannot pass in `mpocert evaluate`. A bench's meter may set its own floor.
 */
export const DEFAULT_NO_LIGHT_BELOW_DBM = -60;
