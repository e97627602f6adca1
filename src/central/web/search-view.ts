import { EXPORT_LIMITS } from '../../http/qa-export.js';
import { FIELD_MAX, VERDICTS } from '../../http/qa-query.js';
import { esc, table } from '../../http/web/html.js';
import type { CentralSummary } from '../certificate-rows.js';
import { hubSearchQuery, type HubSearchValues } from '../search-query.js';
import { certificateLinks, issued, notice, verdictCell } from './shell.js';

/** The hub's QA search page: the form (a plain GET: a search is a URL) and one page of results. */
export interface SearchPageModel {
  values: HubSearchValues;
  error?: string;
  result?: { total: number; limit: number; offset: number; items: CentralSummary[] };
}

export const PAGE_SIZE = 50;

function input(name: string, label: string, value: string | undefined, type = 'text'): string {
  return `<div><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" type="${type}" value="${esc(value)}"${type === 'text' ? ` maxlength="${FIELD_MAX}"` : ''}></div>`;
}

export function searchForm(v: HubSearchValues): string {
  const verdicts = ['', ...VERDICTS].map((x) => `<option value="${x}"${(v.verdict ?? '') === x ? ' selected' : ''}>${x === '' ? 'any' : x}</option>`).join('');
  return `<form id="hub-search" class="card filters" method="get" action="/qa" role="search">
${input('serial', 'Serial', v.serial)}
${input('linkId', 'Link id', v.linkId)}
${input('project', 'Project', v.project)}
<div><label for="q-verdict">Verdict</label><select id="q-verdict" name="verdict">${verdicts}</select></div>
${input('site', 'Site', v.site)}
${input('bench', 'Bench', v.bench)}
${input('limitSet', 'Limit set', v.limitSet)}
${input('from', 'Issued from', v.from, 'date')}
${input('to', 'to (inclusive, UTC)', v.to, 'date')}
<div><button type="submit">Search</button> <a href="/qa" class="button secondary">Clear</a></div>
</form>`;
}

function paging(v: HubSearchValues, r: NonNullable<SearchPageModel['result']>): string {
  const at = (offset: number): string => `/qa?${esc(hubSearchQuery(v, { offset: offset === 0 ? undefined : offset, limit: r.limit === PAGE_SIZE ? undefined : r.limit }))}`;
  const newer = r.offset > 0 ? `<a href="${at(Math.max(0, r.offset - r.limit))}" rel="prev">&larr; Newer</a>` : '';
  const older = r.offset + r.items.length < r.total ? `<a href="${at(r.offset + r.limit)}" rel="next">Older &rarr;</a>` : '';
  return `<nav class="paging" aria-label="pages">${newer} <span>${r.offset + 1}&ndash;${r.offset + r.items.length} of ${r.total}</span> ${older}</nav>`;
}

export function searchPage(m: SearchPageModel): string {
  const head = `<h1>QA search: every site and bench</h1>${notice(m.error)}${searchForm(m.values)}`;
  const r = m.result;
  if (!r) return head;
  if (r.total === 0) return `${head}<p id="hub-summary">No certificate matches.</p>`;
  if (r.items.length === 0) return `${head}<p id="hub-summary">${r.total} match; this page is past the last.</p>${paging(m.values, r)}`;
  const exports = (['csv', 'jsonl'] as const)
    .map((f) =>
      r.total > EXPORT_LIMITS[f]
        ? `<span class="muted">${f}: more than ${EXPORT_LIMITS[f].toLocaleString('en')}, narrow the search</span>`
        : `<a class="button secondary" href="/export?${esc(hubSearchQuery(m.values, { format: f }))}">${f === 'csv' ? 'CSV' : 'JSON lines'}</a>`,
    )
    .join(' ');
  const rows = r.items.map((i) => {
    const failed = i.integrity === 'FAILED';
    return [
      esc(i.site),
      esc(i.benchId),
      `<span class="muted">#${i.benchSequence}</span>`,
      i.serial !== null ? esc(i.serial) : `link ${esc(i.linkId)}`,
      esc(i.projectId ?? ''),
      verdictCell(i.verdict, failed),
      esc(issued(i.issuedAt)),
      `${esc(i.limitSetId)}@${esc(i.limitSetVersion)}`,
      failed ? '<span class="chip bad">FAILED verification</span>' : '<span class="chip ok">verified</span>',
      certificateLinks(i.uuid),
    ];
  });
  return `${head}
<p id="hub-summary">${r.total === 1 ? '1 certificate matches' : `${r.total} certificates match`}. <span class="muted">Each row was verified against QA's pinned keys as it was read.</span></p>
<p class="exports">Export all matching: ${exports}</p>
${table(['Site', 'Bench', 'Seq', 'Serial / link', 'Project', 'Verdict', 'Issued (UTC)', 'Limit set', 'Verification', ''], rows, 'id="hub-results"')}
${paging(m.values, r)}`;
}
