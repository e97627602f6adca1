import type { ErrorObject } from 'ajv';

/**
 * One line per schema violation, located by JSON path: `/readings/3/lossDb: must be number`.
 * The path names the offending key itself for missing and unexpected properties, which ajv would
 * otherwise report against the parent object.
 */
export function describeSchemaError(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required' && typeof params.missingProperty === 'string') {
    return `${error.instancePath}/${params.missingProperty}: is required`;
  }
  if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return `${error.instancePath}/${params.additionalProperty}: is not an allowed property`;
  }
  const allowed = Array.isArray(params.allowedValues) ? ` (${params.allowedValues.map(String).join(', ')})` : '';
  return `${error.instancePath || '/'}: ${error.message ?? 'is invalid'}${allowed}`;
}

/**
 * The first error is the one a person fixes first; the rest usually follow from it. A union of
 * literals (TypeBox's enum) fails as one `const` error per branch: those become one list.
 */
export function firstSchemaError(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return '/: is invalid';
  if (first.keyword !== 'const') return describeSchemaError(first);
  const allowed = (errors ?? [])
    .filter((e) => e.keyword === 'const' && e.instancePath === first.instancePath)
    .map((e) => JSON.stringify((e.params as { allowedValue?: unknown }).allowedValue));
  return `${first.instancePath || '/'}: must be one of ${allowed.join(', ')}`;
}
