import { InputError } from '../errors.js';
import type { CertificateFilter } from '../store/certificate-store.js';
import { cleanText } from './input.js';

/**
 * QA's search, as its form and its URLs say it (GET /qa, GET /qa/export): one parser, so a search
 * page and the export of what it found can never mean two different things.
 */

/** The fields, named as the form names them (and, but for the dates, as GET /certificates does). */
export const SEARCH_FIELDS = ['serial', 'linkId', 'project', 'verdict', 'bench', 'limitSet', 'from', 'to'] as const;
export type SearchField = (typeof SEARCH_FIELDS)[number];
export type SearchValues = Partial<Record<SearchField, string>>;

export const VERDICTS = ['PASS', 'MARGINAL', 'FAIL', 'INVALID'] as const;

/** The longest text a field takes (a serial or link id is at most 128 characters when certified). */
export const FIELD_MAX = 128;

/**
 * The search as typed: a form sends every field, the blank ones as "", which mean "any". Text is
 * trimmed (a scanner or a paste adds spaces no serial has) and normalised like certified text
 * (NFC), so the same serial has one spelling; control characters are refused.
 */
export function searchValues(query: Readonly<Partial<Record<string, unknown>>>): SearchValues {
  const values: SearchValues = {};
  for (const field of SEARCH_FIELDS) {
    const raw = query[field];
    if (typeof raw !== 'string') continue;
    const text = cleanText(field, raw.trim());
    if (text !== '') values[field] = text;
  }
  return values;
}

const DAY_MS = 86_400_000;

/** A calendar date YYYY-MM-DD, or an InputError naming the field. */
function day(field: 'from' | 'to', value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Number.NaN;
  // Date.parse rolls 2026-02-31 over to March: a date must read back as typed.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new InputError(`${field}: "${value}" is not a date; use YYYY-MM-DD`, { field });
  }
  return ms;
}

/**
 * The store filter a search means. Dates are whole days in UTC (certificates are issued in UTC),
 * both included: "from 2026-11-01 to 2026-11-30" is all of November, as a person reads it.
 */
export function filterOf(v: SearchValues): Omit<CertificateFilter, 'limit' | 'offset'> {
  if (v.verdict !== undefined && !(VERDICTS as readonly string[]).includes(v.verdict)) {
    throw new InputError(`verdict: "${v.verdict}" is not one of ${VERDICTS.join(', ')}`, { field: 'verdict' });
  }
  for (const field of SEARCH_FIELDS) {
    if ((v[field]?.length ?? 0) > FIELD_MAX) throw new InputError(`${field}: at most ${FIELD_MAX} characters`, { field });
  }
  const from = v.from === undefined ? undefined : day('from', v.from);
  const to = v.to === undefined ? undefined : day('to', v.to);
  if (from !== undefined && to !== undefined && from > to) throw new InputError(`from ${v.from} is after to ${v.to}: no day is in that range`, { field: 'from' });
  return {
    serial: v.serial,
    linkId: v.linkId,
    projectId: v.project,
    verdict: v.verdict,
    benchId: v.bench,
    limitSetId: v.limitSet,
    issuedFrom: v.from,
    // The store's upper bound is exclusive: the day after the last day asked for.
    issuedTo: to === undefined ? undefined : new Date(to + DAY_MS).toISOString().slice(0, 10),
  };
}

/** The search as a query string (blank fields left out), with extra parameters after it. */
export function searchQuery(v: SearchValues, extra: Record<string, string | number | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const field of SEARCH_FIELDS) if (v[field] !== undefined) params.set(field, v[field]);
  for (const [k, value] of Object.entries(extra)) if (value !== undefined) params.set(k, String(value));
  return params.toString();
}
