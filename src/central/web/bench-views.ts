import { esc, table } from '../../http/web/html.js';
import type { BenchStatus, QuarantineItem } from '../bench-status.js';
import type { ChainVerification } from '../chain-verify.js';
import { issued } from './shell.js';

const benchHref = (site: string, bench: string): string => `/qa/benches/${encodeURIComponent(site)}/${encodeURIComponent(bench)}`;

/** Every (site, bench): how far it is merged, what was refused, what waits. */
export function benchesPage(benches: readonly BenchStatus[]): string {
  if (benches.length === 0) return '<h1>Benches</h1><p>No bench has shipped anything yet.</p>';
  const rows = benches.map((b) => [
    esc(b.site),
    `<a href="${esc(benchHref(b.site, b.benchId))}">${esc(b.benchId)}</a>`,
    String(b.headSequence),
    esc(issued(b.lastIssuedAt)),
    b.quarantined > 0 ? `<a href="/qa/quarantine?site=${esc(encodeURIComponent(b.site))}&amp;bench=${esc(encodeURIComponent(b.benchId))}"><span class="chip bad">${b.quarantined}</span></a>` : '0',
    b.waiting > 0 ? `<span class="chip warn">${b.waiting}</span>` : '0',
    b.broken ? `<span class="chip bad">chain broken</span> ${esc(b.broken)}` : '<span class="chip ok">merging</span>',
  ]);
  return `<h1>Benches</h1>
<p class="muted">A bench is its site and its id. Merged: the bench sequence of its newest certificate in the central store. Quarantined: what arrived and was refused. Waiting: shipped, not merged yet.</p>
${table(['Site', 'Bench', 'Merged up to', 'Last issued (UTC)', 'Quarantined', 'Waiting', 'State'], rows, 'id="hub-benches"')}`;
}

/** One bench: its state and, when asked, its whole chain verified now. */
export function benchPage(b: BenchStatus, v: ChainVerification | undefined): string {
  const here = `/qa/benches/${esc(encodeURIComponent(b.site))}/${esc(encodeURIComponent(b.benchId))}`;
  const verification = v ? chainResult(b, v) : `<p><a class="button" id="verify-chain" href="${here}?verify=1">Verify its whole chain now</a> <span class="muted">(${b.headSequence} certificate${b.headSequence === 1 ? '' : 's'}, read in order and checked against QA's pinned keys)</span></p>`;
  return `<h1>Bench ${esc(b.benchId)} <span class="muted">(site ${esc(b.site)})</span></h1>
<div class="card">
<p>Merged up to sequence <b>${b.headSequence}</b>${b.lastIssuedAt ? `, issued ${esc(issued(b.lastIssuedAt))}` : ''}. Quarantined: <b>${b.quarantined}</b>. Waiting in the inbox: <b>${b.waiting}</b>.</p>
${b.broken ? `<p class="notice error">Stopped: ${esc(b.broken)}.</p>` : ''}
</div>
<h2>Verification of the whole merged chain</h2>
${verification}
<p><a href="/qa?site=${esc(encodeURIComponent(b.site))}&amp;bench=${esc(encodeURIComponent(b.benchId))}">Its certificates</a> · <a href="/qa/quarantine?site=${esc(encodeURIComponent(b.site))}&amp;bench=${esc(encodeURIComponent(b.benchId))}">its quarantine</a> · <a href="/benches/${esc(encodeURIComponent(b.site))}/${esc(encodeURIComponent(b.benchId))}/verify">verification as JSON</a></p>`;
}

function chainResult(b: BenchStatus, v: ChainVerification): string {
  const problems = v.problems.length
    ? table(
        ['Sequence', 'Certificate', 'Problem', 'Detail'],
        v.problems.map((p) => [String(p.benchSequence), p.uuid ? `<a href="/certificates/${esc(p.uuid)}?format=html">${esc(p.uuid)}</a>` : '', `<b>${esc(p.problem)}</b>`, esc(p.detail)]),
        'id="chain-problems"',
      )
    : '';
  return `<p id="chain-result" class="notice ${v.valid ? 'info' : 'error'}">${v.valid ? 'Intact' : `${v.problemCount} problem${v.problemCount === 1 ? '' : 's'}`}: ${v.checked} certificate${v.checked === 1 ? '' : 's'} checked in order against QA's pinned keys for site ${esc(b.site)} in ${v.seconds.toFixed(3)} s (${v.perSecond} a second).</p>
${problems}`;
}

/** What was refused, and why, newest first. */
export function quarantinePage(r: { total: number; items: QuarantineItem[] }, filter: { site?: string; bench?: string }): string {
  const what = filter.site || filter.bench ? ` of ${filter.bench ? `bench ${esc(filter.bench)}` : 'every bench'}${filter.site ? ` at site ${esc(filter.site)}` : ''}` : '';
  if (r.total === 0) return `<h1>Quarantine${what}</h1><p>Nothing was refused.</p>`;
  const rows = r.items.map((q) => [
    String(q.id),
    esc(q.site),
    esc(q.benchId ?? ''),
    q.benchSequence === null ? '' : String(q.benchSequence),
    `${esc(q.kind)} <small class="muted">${esc(q.ref)}</small>`,
    `<span class="muted">${esc(q.claimed.serial ?? q.claimed.linkId ?? '')} ${esc(q.claimed.verdict ?? '')}</span>`,
    `<b>${esc(q.problem)}</b>`,
    esc(issued(q.quarantinedAt)),
  ]);
  return `<h1>Quarantine${what}</h1>
<p class="muted">${r.total} item${r.total === 1 ? '' : 's'} arrived and ${r.total === 1 ? 'was' : 'were'} not merged: none of them is searchable or served as a certificate. What they claim is shown as claimed, not trusted.</p>
${table(['#', 'Site', 'Bench', 'Sequence', 'What', 'Claimed', 'Why refused', 'Quarantined (UTC)'], rows, 'id="hub-quarantine"')}
${r.items.length < r.total ? `<p class="muted">The newest ${r.items.length} shown.</p>` : ''}`;
}
