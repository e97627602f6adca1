/**
 * Deterministic JSON: object keys sorted, no whitespace. A certificate's hash and signature are
 * computed over these bytes, so the same content always gives the same bytes, whichever order
 * the code that built it happened to add the keys in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    // No prototype: a "__proto__" key is then an ordinary key, kept and signed, never a
    // prototype change that silently drops it from the signed bytes.
    const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const key of Object.keys(value as Record<string, unknown>).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    // JSON would silently write null; a certificate must never hold a value that changes meaning.
    throw new TypeError(`non-finite number ${value} cannot be stored in a certificate`);
  }
  return value;
}
