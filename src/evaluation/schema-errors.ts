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

/** The first error is the one a person fixes first; the rest usually follow from it. */
export function firstSchemaError(errors: ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  return first ? describeSchemaError(first) : '/: is invalid';
}
