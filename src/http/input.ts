import { InputError } from '../errors.js';

/**
 * Checks on request values that their schemas cannot express; shared by the route plugins. A
 * failure is an InputError: the error handler answers it with a 400.
 */

/**
 * Ajv coerces "1e400" to Infinity and lets it through an integer schema (Infinity % 1 is NaN, not
 * non-zero), so numbers from the URL are checked once more before they reach SQLite.
 */
export function safeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value)) throw new InputError(`${name} must be a whole number below 2^53`, { [name]: String(value) });
  return value;
}

/**
 * Text a person reads on a certificate, normalised once (NFC, so the same serial has one
 * spelling), and refused when it cannot be represented faithfully: lone surrogates (no UTF-8 form:
 * a certificate holding one could not verify its own signature) and control characters.
 */
export function cleanText(field: string, value: string): string {
  // \p{Cs} under the u flag matches exactly the unpaired surrogates (pairs are one code point).
  if (/[\p{Cc}\p{Cs}]/u.test(value)) {
    throw new InputError(`${field}: contains a control character or an unpaired surrogate; use printable text`, { field });
  }
  return value.normalize('NFC');
}
