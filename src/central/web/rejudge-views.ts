import { fmtDb } from '../../http/certificate-view.js';
import { FIELD_MAX, VERDICTS } from '../../http/qa-query.js';
import { esc, table } from '../../http/web/html.js';
import type { LimitSetSummary } from '../../evaluation/index.js';
import type { Rejudgement, RejudgementSummary } from '../rejudgements.js';
import type { HubSearchValues } from '../search-query.js';
import { notice, verdictCell } from './shell.js';

const quantity = (q: string): string => (q === 'insertionLoss' ? 'IL' : 'RL');

/**
 * The re-judge form: the selection (the search's fields), the limit set version to judge against,
 * who asks, and the hub's token, typed here and sent once with the POST: never shown back.
 */
export function rejudgeFormPage(o: {
  values: HubSearchValues & { targetId?: string; targetVersion?: string; by?: string };
  sets: readonly LimitSetSummary[];
  recent: readonly { id: number; createdAt: string; createdBy: string; limitSet: { id: string; version: string }; summary: RejudgementSummary }[];
  error?: string;
}): string {
  const v = o.values;
  const field = (name: string, label: string, value: string | undefined, type = 'text'): string =>
    `<div><label for="r-${name}">${label}</label><input id="r-${name}" name="${name}" type="${type}" value="${esc(value)}"${type === 'text' ? ` maxlength="${FIELD_MAX}"` : ''}></div>`;
  const verdicts = ['', ...VERDICTS].map((x) => `<option value="${x}"${(v.verdict ?? '') === x ? ' selected' : ''}>${x === '' ? 'any' : x}</option>`).join('');
  const target = `${v.targetId ?? ''}@${v.targetVersion ?? ''}`;
  const sets = o.sets.map((s) => `<option value="${esc(`${s.id}@${s.version}`)}"${`${s.id}@${s.version}` === target ? ' selected' : ''}>${esc(`${s.id}@${s.version}`)} (${esc(s.origin)}) ${esc(s.title)}</option>`).join('');
  const recent = o.recent.length
    ? table(
        ['#', 'When (UTC)', 'By', 'Against', 'Certificates', 'Verdicts changed', 'Judgments changed'],
        o.recent.map((r) => [`<a href="/qa/rejudgements/${r.id}">${r.id}</a>`, esc(r.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')), esc(r.createdBy), `${esc(r.limitSet.id)}@${esc(r.limitSet.version)}`, String(r.summary.certificates), String(r.summary.verdictChanged), String(r.summary.judgmentsChanged)]),
        'id="recent-rejudgements"',
      )
    : '<p class="muted">None yet.</p>';
  return `<h1>Re-judge certificates</h1>${notice(o.error)}
<p class="muted">The selected certificates' stored tests are judged again against another limit set version. No certificate changes: the report of what would change, fiber by fiber, is kept as a record of its own.</p>
<form id="hub-rejudge" class="card" method="post" action="/qa/rejudge" autocomplete="off">
<h2>Which certificates</h2>
<div class="filters">
${field('serial', 'Serial', v.serial)}
${field('linkId', 'Link id', v.linkId)}
${field('project', 'Project', v.project)}
<div><label for="r-verdict">Verdict</label><select id="r-verdict" name="verdict">${verdicts}</select></div>
${field('site', 'Site', v.site)}
${field('bench', 'Bench', v.bench)}
${field('limitSet', 'Judged by limit set', v.limitSet)}
${field('from', 'Issued from', v.from, 'date')}
${field('to', 'to (inclusive, UTC)', v.to, 'date')}
</div>
<h2>Against</h2>
<label for="r-target">Limit set version</label><select id="r-target" name="target" required>${sets}</select>
<h2>Who</h2>
<div class="filters">
<div><label for="r-by">Your name</label><input id="r-by" name="by" type="text" maxlength="128" required value="${esc(v.by)}"></div>
<div><label for="r-token">Hub token</label><input id="r-token" name="token" type="password" maxlength="256" required autocomplete="off"></div>
</div>
<p><button type="submit">Re-judge</button></p>
</form>
<h2>Recent re-judgements</h2>
${recent}`;
}

/** One re-judgement: what would change, certificate by certificate, fiber by fiber. */
export function rejudgementPage(r: Rejudgement): string {
  const rep = r.report;
  const s = rep.summary;
  const transitions = Object.entries(s.transitions).map(([t, n]) => `${esc(t)}: ${n}`).join(', ') || 'none';
  const certs = rep.certificates
    .map((c) => {
      const title = `${esc(c.site)} ${esc(c.benchId)} #${c.benchSequence}: ${esc(c.subject.id ?? '')}`;
      if (c.skipped !== undefined) return `<div class="card"><h3>${title}</h3><p class="notice error">Not re-judged: ${esc(c.skipped)}</p></div>`;
      const verdicts = `${verdictCell(c.oldVerdict ?? null)} → ${c.newVerdict ? verdictCell(c.newVerdict) : '<span class="muted">not judged</span>'}`;
      const error = c.error !== undefined ? `<p class="notice error">The new limit set cannot judge it: ${esc(c.error)}</p>` : '';
      const repro = c.reproduced === true ? '' : `<p class="muted">${esc(c.reproducedNote ?? '')}</p>`;
      const changes = c.changes?.length
        ? table(
            ['Fiber', 'Quantity', 'nm', 'End', 'Value dB', 'Old limit', 'Old', 'New limit', 'New'],
            c.changes.map((x) => [
              String(x.fiber),
              quantity(x.quantity),
              String(x.wavelengthNm),
              esc(x.end),
              fmtDb(x.valueDb),
              `${x.old.limitKind === 'max' ? '≤' : '≥'} ${fmtDb(x.old.limitDb)}`,
              verdictCell(x.old.outcome),
              `${x.new.limitKind === 'max' ? '≤' : '≥'} ${fmtDb(x.new.limitDb)}`,
              verdictCell(x.new.outcome),
            ]),
            `class="rejudge-changes" data-uuid="${esc(c.uuid)}"`,
          )
        : '<p class="muted">No judgment changes.</p>';
      const limits = c.limitChanges?.length ? `<p class="muted">Limits: ${c.limitChanges.map((l) => `${quantity(l.quantity)} ${l.wavelengthNm} nm end ${esc(l.end)} ${fmtDb(l.old.limitDb)} → ${fmtDb(l.new.limitDb)} dB (${esc(l.new.basis)})`).join('; ')}</p>` : '';
      const reasons = c.reasonsAdded?.length ? `<ul>${c.reasonsAdded.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '';
      return `<div class="card"><h3>${title} <a href="/certificates/${esc(c.uuid)}?format=html">certificate</a></h3><p>Verdict: ${verdicts}</p>${error}${repro}${limits}${changes}${reasons}</div>`;
    })
    .join('\n');
  return `<h1>Re-judgement ${r.id}</h1>
<div class="card" id="rejudgement-summary">
<p>Against <b>${esc(rep.limitSet.id)}@${esc(rep.limitSet.version)}</b> (${esc(rep.limitSet.title)}, ${esc(rep.limitSet.origin)}, file sha256 <small>${esc(rep.limitSet.fileSha256)}</small>), by ${esc(r.createdBy)} at ${esc(r.createdAt)}.</p>
<p>Selection: <code>${esc(JSON.stringify(r.selection))}</code></p>
<p>${s.certificates} certificate${s.certificates === 1 ? '' : 's'}: ${s.verdictChanged} verdict${s.verdictChanged === 1 ? '' : 's'} would change (${transitions}), ${s.judgmentsChanged} judgment${s.judgmentsChanged === 1 ? '' : 's'}; ${s.errors} could not be judged, ${s.skipped} skipped (failed verification), ${s.notReproduced} not reproduced.</p>
<details><summary>Assumptions</summary><ul>${rep.assumptions.map((a) => `<li>${esc(a)}</li>`).join('')}</ul></details>
<p><a href="/rejudgements/${r.id}">as JSON</a></p>
</div>
${certs}`;
}
