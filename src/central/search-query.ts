import { InputError } from '../errors.js';
import { cleanText } from '../http/input.js';
import { FIELD_MAX, filterOf, searchQuery, searchValues, type SearchValues } from '../http/qa-query.js';
import type { CentralFilter } from './search.js';

/**
 * QA's search as the hub's pages and export say it: the bench's QA search (src/http/qa-query.ts:
 * the same fields, trimmed and normalised, dates as whole days in UTC, both included) plus the
 * site, since a bench is (site, bench id) centrally.
 */
export type HubSearchValues = SearchValues & { site?: string };

export const HUB_SEARCH_FIELDS = ['serial', 'linkId', 'project', 'verdict', 'site', 'bench', 'limitSet', 'from', 'to'] as const;

export function hubSearchValues(query: Readonly<Partial<Record<string, unknown>>>): HubSearchValues {
  const values: HubSearchValues = searchValues(query);
  const site = query.site;
  if (typeof site === 'string' && site.trim() !== '') {
    values.site = cleanText('site', site.trim());
    if (values.site.length > FIELD_MAX) throw new InputError(`site: at most ${FIELD_MAX} characters`, { field: 'site' });
  }
  return values;
}

export function hubFilterOf(v: HubSearchValues): CentralFilter {
  const f = filterOf(v);
  return {
    serial: f.serial,
    linkId: f.linkId,
    projectId: f.projectId,
    verdict: f.verdict,
    benchId: f.benchId,
    site: v.site,
    limitSetId: f.limitSetId,
    issuedFrom: f.issuedFrom,
    issuedTo: f.issuedTo,
  };
}

/** The search as a query string (blank fields left out), with extra parameters after it. */
export function hubSearchQuery(v: HubSearchValues, extra: Record<string, string | number | undefined> = {}): string {
  const base = new URLSearchParams(searchQuery(v));
  const params = new URLSearchParams();
  for (const f of HUB_SEARCH_FIELDS) {
    const value = f === 'site' ? v.site : base.get(f);
    if (value !== undefined && value !== null) params.set(f, value);
  }
  for (const [k, value] of Object.entries(extra)) if (value !== undefined) params.set(k, String(value));
  return params.toString();
}

/** The search fields as typed, to show a refused search back in its form. */
export function asTyped(q: Readonly<Partial<Record<string, unknown>>>): HubSearchValues {
  return Object.fromEntries(HUB_SEARCH_FIELDS.flatMap((f) => (typeof q[f] === 'string' ? [[f, q[f]]] : []))) as HubSearchValues;
}
