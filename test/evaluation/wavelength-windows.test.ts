import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseTestRecord } from '../../src/evaluation/index.js';
import { projectRoot } from '../../src/project-root.js';

const passing = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(projectRoot(), 'fixtures/records/assembly-mtp12-om4-pass.json'), 'utf8')) as Record<string, unknown>;

function messageOf(record: Record<string, unknown>): string {
  try {
    parseTestRecord(record);
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return (err as Error).message;
  }
  throw new Error('expected an InputError');
}

describe('test wavelengths belong to the fiber type', () => {
  it('accepts multimode at 850 and 1300 nm', () => {
    expect(parseTestRecord(passing()).wavelengthsNm).toEqual([850, 1300]);
  });

  it('refuses single-mode fiber measured at 850 nm: its limits do not describe that measurement', () => {
    expect(messageOf({ ...passing(), fiberType: 'OS2' })).toBe('/wavelengthsNm/0: 850 nm is not a singlemode test wavelength for OS2 (1260-1675 nm)');
  });

  it('refuses multimode fiber at 1550 nm', () => {
    const r = passing();
    const readings = (r.readings as { wavelengthNm: number }[]).map((x) => ({ ...x, wavelengthNm: x.wavelengthNm === 1300 ? 1550 : x.wavelengthNm }));
    expect(messageOf({ ...r, wavelengthsNm: [850, 1550], readings })).toBe('/wavelengthsNm/1: 1550 nm is not a multimode test wavelength for OM4 (800-950 or 1250-1350 nm)');
  });

  it('refuses a wavelength outside any optical test band (it could alias another reading)', () => {
    expect(messageOf({ ...passing(), wavelengthsNm: [850, 100850] })).toMatch(/^\/wavelengthsNm\/1: must be <= 1700/);
  });
});
