/**
 * Derived dB values are rounded once, where they are computed, to 0.001 dB, and the rounded value
 * is judged, stored and shown (docs/limits.md, "Resolution"). Expected values by hand.
 */
import { describe, expect, it } from 'vitest';
import { evaluateRecord, parseTestRecord, roundDb, roundLimitDb } from '../../src/evaluation/index.js';
import { judgeAgainst } from '../../src/evaluation/judge.js';
import { renderCertificateCsv } from '../../src/http/certificate-csv.js';
import type { StoredCertificate } from '../../src/store/certificate-store.js';
import { assembly, library, link } from '../helpers/records.js';

describe('roundDb: a value at 0.001 dB, halves away from zero', () => {
  it.each([
    [0.2099999999999973, 0.21], // -20.1 - -20.31 in binary floating point
    [0.6600010000000003, 0.66],
    [0.6005, 0.601], // a half rounds up: never a better-looking loss
    [1.0005, 1.001], // 1.0005 is stored as 1.000499999...: still a half
    [0.6004999, 0.6],
    [-0.0005, -0.001],
    [-0.0004, 0], // and never -0
  ])('%s dB -> %s dB', (value, expected) => {
    expect(Object.is(roundDb(value), expected)).toBe(true);
  });
});

describe('roundLimitDb: a derived limit at 0.001 dB, towards the stricter side', () => {
  it('rounds a maximum down and a minimum up; an exact limit stays', () => {
    expect(roundLimitDb(2 * 0.75 + 0.085 * 3.5, 'max')).toBe(1.797); // 1.7975 dB budget
    expect(roundLimitDb(26.0004, 'min')).toBe(26.001);
    expect(roundLimitDb(0.6 + 0.6, 'max')).toBe(1.2); // 1.2 is 1.19999999... in binary: still 1.2
    expect(roundLimitDb(0.1 + 0.2, 'max')).toBe(0.3); // 0.30000000000000004: not 0.301, not 0.299
  });
});

function fromPowers(referenceDbm: number, measuredDbm: number) {
  return assembly({
    wavelengthsNm: [850],
    readings: (['A', 'B'] as const).flatMap((end) => Array.from({ length: 12 }, (_, i) => ({ fiber: i + 1, wavelengthNm: 850, end, referenceDbm, measuredDbm }))),
  });
}

describe('judgeAgainst: the margin from strict-side values, never from rounding the difference', () => {
  it('a limit between grid steps gives no slack: return loss 26.000 dB against a minimum of 26.0004 dB fails', () => {
    // Rounding the difference (-0.0004) would give 0.000 and PASS; the minimum rounds up to 26.001.
    expect(judgeAgainst(26.0, { value: 26.0004, kind: 'min', basis: 'test', verify: false }, 0)).toEqual({ margin: -0.001, outcome: 'FAIL' });
    expect(judgeAgainst(0.6004, { value: 0.6, kind: 'max', basis: 'test', verify: false }, 0)).toEqual({ margin: -0.001, outcome: 'FAIL' });
    expect(judgeAgainst(0.6, { value: 0.6, kind: 'max', basis: 'test', verify: false }, 0.05)).toEqual({ margin: 0, outcome: 'MARGINAL' });
  });
  it('refuses a value or limit that is not a finite number rather than judging it', () => {
    expect(() => judgeAgainst(Number.NaN, { value: 0.6, kind: 'max', basis: 'grade B', verify: false }, 0)).toThrow('cannot judge NaN against 0.6 (grade B): not a finite number');
    expect(() => judgeAgainst(0.3, { value: Number.POSITIVE_INFINITY, kind: 'max', basis: 'grade B', verify: false }, 0)).toThrow('not a finite number');
  });
});

describe('the certificate carries the rounded numbers', () => {
  it('a loss from two powers is 0.21 dB, margin 0.39 dB, in the evaluation and the CSV', () => {
    expect(-20.1 - -20.31).not.toBe(0.21); // the float noise this rounding removes
    const ev = evaluateRecord(parseTestRecord(fromPowers(-20.1, -20.31)), library);
    const j = ev.fibers[0]!.judgments[0]!;
    expect([j.value, j.limit, j.margin, j.outcome]).toEqual([0.21, 0.6, 0.39, 'PASS']);
    expect(ev.summary.lowestMarginDb).toBe(0.39);
    expect(JSON.stringify(j)).toContain('"value":0.21,"limit":0.6,"limitKind":"max","margin":0.39');
    const csv = renderCertificateCsv({ id: 1, serial: 'SN-1', limitSetId: ev.limitSet.id, limitSetVersion: ev.limitSet.version, verdict: ev.verdict, document: { evaluation: ev } } as unknown as StoredCertificate);
    expect(ev.verdict).toBe('PASS');
    // The basis has commas, so its cell is quoted (RFC 4180).
    expect(csv.split('\r\n')[1]).toBe('1,SN-1,PASS,mtp-mpo-connector-grades@1.1.0,1,850,A,insertion loss,0.21,0.6,max,"end A grade MTP 0.60 dB (own grade, one connector per reading) (multimode)",0.39,PASS,,,valid');
    expect(csv.split('\r\n')[2]).toBe('1,SN-1,PASS,mtp-mpo-connector-grades@1.1.0,1,850,B,insertion loss,0.21,0.6,max,"end B grade MTP 0.60 dB (own grade, one connector per reading) (multimode)",0.39,PASS,,,valid');
  });

  it('judges the rounded value at the limit: 0.6000000000000014 dB is 0.600 dB (MARGINAL), 0.6005 dB is 0.601 dB (FAIL)', () => {
    const atLimit = evaluateRecord(parseTestRecord(fromPowers(-20.2, -20.8)), library);
    expect(-20.2 - -20.8).toBeGreaterThan(0.6); // 0.6000000000000014
    expect(atLimit.fibers[0]!.judgments[0]).toMatchObject({ value: 0.6, margin: 0, outcome: 'MARGINAL' });
    const over = evaluateRecord(parseTestRecord(assembly({ wavelengthsNm: [850], readings: Array.from({ length: 12 }, (_, i) => ({ fiber: i + 1, wavelengthNm: 850, lossDb: 0.6005 })) })), library);
    expect(over.fibers[0]!.judgments[0]).toMatchObject({ value: 0.601, margin: -0.001, outcome: 'FAIL' });
  });

  it('a link budget is a clean number: 100 m of OM4 at 850 nm with 2 connections is 1.85 dB', () => {
    const ev = evaluateRecord(parseTestRecord(link({ wavelengthsNm: [850], readings: Array.from({ length: 12 }, (_, i) => ({ fiber: i + 1, wavelengthNm: 850, lossDb: 1.0 })) })), library);
    // 2 x 0.75 + 0.1 km x 3.5 dB/km = 1.85 dB; margin 1.85 - 1.0 = 0.85 dB
    expect(ev.link?.budgets[0]?.limitDb).toBe(1.85);
    expect(ev.fibers[0]!.judgments[0]).toMatchObject({ value: 1, limit: 1.85, margin: 0.85 });
  });
});
