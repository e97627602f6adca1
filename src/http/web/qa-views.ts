import type { CustodyView } from '../context.js';
import type { CertificateSummary } from '../../store/certificate-store.js';
import { EXPORT_FORMATS, EXPORT_LIMITS, FORMAT_NAMES } from '../qa-export.js';
import { FIELD_MAX, searchQuery, VERDICTS, type SearchValues } from '../qa-query.js';
import { esc } from './html.js';

/**
 * QA's search page, rendered whole on the server: the filter form submits as a plain GET (a
 * search is a URL to share, and works without JavaScript), the results table is a form whose
 * ticked rows export as a GET too; assets/qa.js only adds the per-row Verify and the selection
 * count.
 */

export interface QaPageModel {
  values: SearchValues;
  /** Why the search could not run (shown instead of results). */
  error?: string;
  result?: { total: number; limit: number; offset: number; items: CertificateSummary[] };
  failing: ReadonlySet<number>;
  fullCheck: CustodyView['fullCheck'];
}

/** What the background check of every certificate has done so far, in a few words. */
export function fullCheckText(f: CustodyView['fullCheck']): string {
  if (f.state === 'done') return `done, ${f.checked} checked, ${f.problems} problem${f.problems === 1 ? '' : 's'}`;
  if (f.state === 'running') return `running, ${f.checked} checked so far`;
  if (f.state === 'pending') return 'not run yet';
  return f.state;
}

function input(name: string, label: string, value: string | undefined, type = 'text'): string {
  const extra = type === 'text' ? ` maxlength="${FIELD_MAX}"` : '';
  return `<div><label for="q-${name}">${label}</label><input id="q-${name}" name="${name}" type="${type}" value="${esc(value)}"${extra}></div>`;
}

function searchForm(v: SearchValues): string {
  const verdicts = ['', ...VERDICTS].map((x) => `<option value="${x}"${(v.verdict ?? '') === x ? ' selected' : ''}>${x === '' ? 'any' : x}</option>`).join('');
  return `<form id="qa-search" class="card filters" method="get" action="/qa" role="search">
${input('serial', 'Serial', v.serial)}
${input('linkId', 'Link id', v.linkId)}
${input('project', 'Project', v.project)}
<div><label for="q-verdict">Verdict</label><select id="q-verdict" name="verdict">${verdicts}</select></div>
${input('bench', 'Bench', v.bench)}
${input('limitSet', 'Limit set', v.limitSet)}
${input('from', 'Issued from', v.from, 'date')}
${input('to', 'to (inclusive, UTC)', v.to, 'date')}
<div><button type="submit" id="search-btn">Search</button> <a href="/qa" class="button secondary">Clear</a></div>
</form>`;
}

/** Issue time as stored (UTC), to the second. */
const issued = (at: string | null): string => (at ? at.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function row(i: CertificateSummary, failing: boolean, notFailing: string): string {
  const id = String(i.id);
  const subject = i.serial !== null ? esc(i.serial) : i.linkId !== null ? `link ${esc(i.linkId)}` : '<span class="muted">unreadable</span>';
  // A failing certificate's verdict is what its altered body says: shown, never as a trusted one.
  const verdict = i.verdict === null ? '' : failing ? `<span class="muted">${esc(i.verdict)} (not trusted)</span>` : `<span class="${esc(i.verdict)}">${esc(i.verdict)}</span>`;
  const limitSet = i.limitSetId === null ? '' : `${esc(i.limitSetId)}@${esc(i.limitSetVersion)}`;
  const state = failing ? '<span class="chip bad">FAILED verification</span>' : `<span class="muted">${esc(notFailing)}</span>`;
  return `<tr data-id="${id}"${failing ? ' class="failed"' : ''}>
<td><input type="checkbox" name="ids" value="${id}" aria-label="select certificate ${id}"></td>
<td>${id}</td><td class="issued">${esc(issued(i.issuedAt))}</td><td class="subject">${subject}</td><td>${esc(i.projectId ?? '')}</td><td>${esc(i.benchId)}</td>
<td class="verdict-cell">${verdict}</td><td>${limitSet}</td><td class="verification">${state}</td>
<td class="actions"><a href="/certificates/${id}?format=html">Open</a> <a href="/certificates/${id}?format=pdf">PDF</a> <button type="button" class="verify secondary" data-id="${id}">Verify</button></td>
</tr>`;
}

function exportAll(v: SearchValues, total: number): string {
  const links = EXPORT_FORMATS.map((f) =>
    total > EXPORT_LIMITS[f]
      ? `<span class="muted">${FORMAT_NAMES[f]}: more than ${EXPORT_LIMITS[f].toLocaleString('en')}, narrow the search</span>`
      : `<a class="button secondary" id="export-all-${f}" href="/qa/export?${esc(searchQuery(v, { format: f }))}">${FORMAT_NAMES[f]}</a>`,
  );
  return `<p class="exports">Export all matching (${total}): ${links.join(' ')}</p>`;
}

function paging(v: SearchValues, r: NonNullable<QaPageModel['result']>): string {
  const limit = r.limit === 50 ? undefined : r.limit;
  const at = (offset: number): string => `/qa?${esc(searchQuery(v, { offset: offset === 0 ? undefined : offset, limit }))}`;
  const newer = r.offset > 0 ? `<a href="${at(Math.max(0, r.offset - r.limit))}" rel="prev">&larr; Newer</a>` : '';
  const older = r.offset + r.items.length < r.total ? `<a href="${at(r.offset + r.limit)}" rel="next">Older &rarr;</a>` : '';
  return `<nav class="paging" aria-label="pages">${newer} <span>${r.offset + 1}&ndash;${r.offset + r.items.length} of ${r.total}</span> ${older}</nav>`;
}

/** The page's body. */
export function qaPage(m: QaPageModel): string {
  const notFailing = `not failing (last full check: ${fullCheckText(m.fullCheck)})`;
  const head = `<h1>QA search</h1>
<link rel="stylesheet" href="/assets/qa.css">
<div id="notice" class="notice error" role="alert"${m.error ? '' : ' hidden'}>${esc(m.error ?? '')}</div>
${searchForm(m.values)}`;
  const r = m.result;
  if (!r) return head;
  if (r.total === 0) return `${head}<p id="qa-summary">No certificate matches.</p>`;
  if (r.items.length === 0) return `${head}<p id="qa-summary">${r.total} match; this page is past the last (${r.total}).</p>${paging(m.values, r)}`;
  const rows = r.items.map((i) => row(i, m.failing.has(i.id), notFailing)).join('');
  return `${head}
<p id="qa-summary">${r.total === 1 ? '1 certificate matches' : `${r.total} certificates match`}. <span class="muted">Verification: <b>FAILED</b> means a check found a problem (at start-up, in the background check of every certificate, or when it was served or exported); "not failing" means none has, not that this one was checked: <b>Verify</b> checks it now. Opening a certificate verifies it too.</span></p>
${exportAll(m.values, r.total)}
<form id="qa-selection" method="get" action="/qa/export">
<input type="hidden" name="ids" value="">
<p class="selection-bar">Export the ticked rows (<span id="selected-count">0</span> selected):
${EXPORT_FORMATS.map((f) => `<button type="submit" name="format" value="${f}" id="export-selected-${f}" class="secondary">${FORMAT_NAMES[f]}</button>`).join(' ')}</p>
<table id="qa-results"><thead><tr><th><input type="checkbox" id="select-all" aria-label="select every row on this page"></th><th>Id</th><th>Issued (UTC)</th><th>Serial / link</th><th>Project</th><th>Bench</th><th>Verdict</th><th>Limit set</th><th>Verification</th><th></th></tr></thead>
<tbody>${rows}</tbody></table>
</form>
${paging(m.values, r)}`;
}
