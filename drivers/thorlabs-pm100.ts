/**
 * Thorlabs PM100 family (PM100D, PM100USB, PM101 over RS-232, PM400): SCPI, commands and replies
 * end LF; the same commands over a raw TCP socket. Source: Thorlabs "PM100D/PM100A/PM100USB/PM101
 * SCPI command reference" (drivers/README.md lists each command and what is unconfirmed).
 * The contract (kept in W, one query per reading, confirmSettings per sweep) is line-meter.ts's.
 *
 * Power-on state: 1550 nm, unit W. A power cycle loses the wavelength correction, which biases a
 * reading by the responsivity ratio: caught by confirmSettings at the end of the sweep.
 */
import { commaIdentity, nr3, parse } from './line-dialect.js';
import { LineMeter, type LineMeterOptions, type PowerMeterDialect } from './line-meter.js';

export const parseThorlabsIdn = commaIdentity(/^thorlabs$/i, 'Thorlabs');

export const thorlabsPm100: PowerMeterDialect = {
  dialect: 'thorlabs-pm100',
  framing: { writeTerminator: '\n', readDelimiter: '\n', baudRate: 115200, timeoutMs: 3000 },
  identity: { query: '*IDN?', pattern: /^THORLABS,/i, parse: parseThorlabsIdn },
  errorQueue: { query: 'SYST:ERR?', drain: 10 },
  onOpen: ['*CLS'],
  unit: { label: 'unit', query: 'SENS:POW:UNIT?', set: 'SENS:POW:UNIT {}', parse: parse.word(['W', 'DBM']), watts: 'W' },
  autoRange: 'SENS:POW:RANG:AUTO ON',
  wavelength: { label: 'wavelength', query: 'SENS:CORR:WAV?', set: 'SENS:CORR:WAV {}', parse: parse.number, format: (nm) => nr3(nm), toleranceNm: 0.5, adoptOnOpen: true },
  reading: 'MEAS:POW?',
  zero: { command: 'SENS:CORR:COLL:ZERO', poll: { query: 'SENS:CORR:COLL:ZERO:STAT?', busy: '1', idle: '0' } },
};

export function createThorlabsPm100(o: LineMeterOptions): LineMeter {
  return new LineMeter(thorlabsPm100, o);
}
