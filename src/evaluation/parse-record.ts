import { Ajv, type ValidateFunction } from 'ajv';
import { InputError } from '../errors.js';
import { checkRecordSemantics } from './record-semantics.js';
import { AssemblyRecordSchema, LinkRecordSchema, type AssemblyRecord, type LinkRecord, type TestRecord } from './record-schema.js';
import { firstSchemaError } from './schema-errors.js';

const ajv = new Ajv({ allErrors: false });
// Validating against the branch `kind` names gives one precise error instead of one per union branch.
const validators: { readonly assembly: ValidateFunction<AssemblyRecord>; readonly link: ValidateFunction<LinkRecord> } = {
  assembly: ajv.compile<AssemblyRecord>(AssemblyRecordSchema),
  link: ajv.compile<LinkRecord>(LinkRecordSchema),
};

/** Validates a parsed JSON record; InputError messages name the field by JSON path. */
export function parseTestRecord(json: unknown): TestRecord {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new InputError('/: must be an object (a test record)');
  const kind = (json as { kind?: unknown }).kind;
  if (kind !== 'assembly' && kind !== 'link') {
    throw new InputError(kind === undefined ? '/kind: is required (assembly or link)' : '/kind: must be equal to one of the allowed values (assembly, link)');
  }
  const validate = validators[kind];
  if (!validate(json)) throw new InputError(firstSchemaError(validate.errors));
  const record: TestRecord = json;
  checkRecordSemantics(record);
  return record;
}
