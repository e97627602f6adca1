import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { evaluateRecord, parseTestRecord, TestRecordSchema } from '../../src/evaluation/index.js';
import { assembly, library, link } from '../helpers/records.js';

const SCHEMA_FILE = 'docs/test-record.schema.json';

function messageOf(json: unknown): string {
  try {
    parseTestRecord(json);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as InputError).message;
  }
  throw new Error('expected an InputError');
}

describe('parseTestRecord names the bad field by JSON path', () => {
  it('accepts the example records', () => {
    for (const name of ['assembly-mtp12-om4-pass', 'assembly-mtp12-om4-fail-fiber7', 'assembly-mtp12-om4-reference-error', 'link-400gbase-sr8-om4']) {
      const record = parseTestRecord(JSON.parse(readFileSync(`fixtures/records/${name}.json`, 'utf8')));
      expect(record.kind).toMatch(/^(assembly|link)$/);
    }
  });

  it.each([
    ['a string loss', () => { const r = assembly(); (r.readings[3] as unknown as Record<string, unknown>).lossDb = 'x'; return r; }, '/readings/3/lossDb: must be number'],
    ['no kind', () => ({ ...assembly(), kind: undefined }), '/kind: is required (assembly or link)'],
    ['a wrong kind', () => ({ ...assembly(), kind: 'trunk' }), '/kind: must be equal to one of the allowed values (assembly, link)'],
    ['no serial number', () => ({ ...assembly(), serialNumber: undefined }), '/serialNumber: is required'],
    ['an unknown property', () => ({ ...link(), colour: 'aqua' }), '/colour: is not an allowed property'],
    ['a bad fiber count', () => ({ ...assembly(), fiberCount: 10 }), '/fiberCount: must be one of 8, 12, 16, 24'],
    ['a bad gender', () => ({ ...assembly(), connectors: { A: { family: 'MTP', gender: 'hermaphrodite' }, B: { family: 'MTP', gender: 'male' } } }), "/connectors/A/gender: must be one of \"male\", \"female\""],
    ['a negative return loss (reflectance)', () => { const r = assembly(); (r.readings[0] as { returnLossDb?: number }).returnLossDb = -26; return r; }, '/readings/0/returnLossDb: must be >= 0'],
    ['a non-object', () => [], '/: must be an object (a test record)'],
  ])('%s', (_what, make, message) => {
    expect(messageOf(make())).toBe(message);
  });

  it.each([
    ['position 5 on 8 fibers', () => assembly({ fiberCount: 8, readings: [{ fiber: 5, wavelengthNm: 850, lossDb: 0.2 }] }), '/readings/0/fiber: position 5 is not used by a 8-fiber connector (positions 1-4 and 9-12)'],
    ['an undeclared wavelength', () => assembly({ readings: [{ fiber: 1, wavelengthNm: 1310, lossDb: 0.2 }] }), '/readings/0/wavelengthNm: 1310 nm is not in wavelengthsNm (850, 1300)'],
    ['an undeclared end', () => link({ readings: [{ fiber: 1, wavelengthNm: 850, end: 'B', lossDb: 0.2 }] }), '/readings/0/end: end B is not an end this test judges (A; see endsMeasured)'],
    [
      'an end certified elsewhere',
      () => assembly({ oneEndCertifiedElsewhere: { end: 'B', note: 'end B certified by the harness supplier' }, readings: [{ fiber: 1, wavelengthNm: 850, end: 'B', lossDb: 0.2 }] }),
      '/readings/0/end: end B is not an end this test judges (A; see endsMeasured)',
    ],
    [
      'a single-mode connector without a polish',
      () => assembly({ fiberType: 'OS2', wavelengthsNm: [1310], readings: [] }),
      '/connectors/A/polish: a single-mode (OS2) connector must state its polish, UPC or APC [rule polish-stated: IEC 61755 / TIA-568.3-E: single-mode MPO comes as UPC or APC (most often APC); the polish sets the return-loss limit]',
    ],
    ['a reading with no value', () => assembly({ readings: [{ fiber: 1, wavelengthNm: 850 }] }), '/readings/0/lossDb: is required (or referenceDbm + measuredDbm, or noLight / saturated)'],
    ['loss and powers together', () => assembly({ readings: [{ fiber: 1, wavelengthNm: 850, lossDb: 0.2, referenceDbm: -20, measuredDbm: -20.2 }] }), '/readings/0/lossDb: give lossDb or referenceDbm + measuredDbm, not both'],
    ['one power only', () => assembly({ readings: [{ fiber: 1, wavelengthNm: 850, referenceDbm: -20 }] }), '/readings/0/measuredDbm: is required with referenceDbm'],
    ['a duplicate reading', () => assembly({ readings: [{ fiber: 1, wavelengthNm: 850, lossDb: 0.2 }, { fiber: 1, wavelengthNm: 850, lossDb: 0.3 }] }), '/readings/1: duplicate reading for fiber 1 at 850 nm, end A (first at /readings/0)'],
    ['a map position out of range', () => assembly({ polarity: { declared: 'B', measuredMap: { '13': 1 } } }), '/polarity/measuredMap/13: position 13 is not used by a 12-fiber connector (positions 1-12)'],
  ])('semantics: %s', (_what, make, message) => {
    expect(messageOf(make())).toBe(message);
  });
});

describe('the published JSON schema', () => {
  it(`${SCHEMA_FILE} is TestRecordSchema (set UPDATE_RECORD_SCHEMA=1 to regenerate)`, () => {
    const generated = `${JSON.stringify(TestRecordSchema, null, 2)}\n`;
    if (process.env.UPDATE_RECORD_SCHEMA === '1') writeFileSync(SCHEMA_FILE, generated);
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(generated);
  });
});

describe('docs/record-format.md', () => {
  it('its assembly and link examples parse and judge as the text says', () => {
    const blocks = [...readFileSync('docs/record-format.md', 'utf8').matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? '') as unknown);
    expect(blocks).toHaveLength(2);
    const [assemblyExample, linkExample] = blocks.map((b) => evaluateRecord(parseTestRecord(b), library));
    expect(assemblyExample?.verdict).toBe('FAIL');
    expect(assemblyExample?.fibers.filter((f) => f.outcome === 'FAIL').map((f) => f.fiber)).toEqual([12]);
    expect(assemblyExample?.ends).toEqual({ certified: ['A', 'B'] });
    expect(linkExample?.verdict).toBe('PASS');
    expect(linkExample?.link?.budgets[0]?.limitDb).toBe(1.797); // 1.7975 rounded down to 0.001 dB
  });
});
