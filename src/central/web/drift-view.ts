import { fmtDb } from '../../http/certificate-view.js';
import { esc, table } from '../../http/web/html.js';
import type { CentralDriftReport } from '../drift.js';
import { issued, notice, verdictCell } from './shell.js';

function form(v: { serial?: string; linkId?: string; project?: string }): string {
  const field = (name: string, label: string, value: string | undefined): string =>
    `<div><label for="d-${name}">${label}</label><input id="d-${name}" name="${name}" type="text" maxlength="128" value="${esc(value)}"></div>`;
  return `<form id="hub-drift" class="card filters" method="get" action="/qa/drift">
${field('serial', 'Serial', v.serial)}
${field('linkId', 'or link id', v.linkId)}
${field('project', 'in project', v.project)}
<div><button type="submit">Show drift</button></div>
</form>`;
}

const signed = (v: number): string => `${v > 0 ? '+' : ''}${v.toFixed(3)}`;

/** Every test of one subject across benches, and the loss changes between consecutive tests. */
export function driftPage(values: { serial?: string; linkId?: string; project?: string }, report?: CentralDriftReport, error?: string): string {
  const head = `<h1>Drift across re-tests</h1>${notice(error)}${form(values)}`;
  if (!report) return head;
  if (report.certificates.length === 0 && report.excluded.length === 0) return `${head}<p>No certificate of ${esc(report.subject.kind)} ${esc(report.subject.id)}.</p>`;
  const tests = table(
    ['#', 'Site', 'Bench', 'Issued (UTC)', 'Verdict', 'Limit set', ''],
    report.certificates.map((c, i) => [String(i + 1), esc(c.site), esc(c.benchId), esc(issued(c.issuedAt)), verdictCell(c.verdict), `${esc(c.limitSet.id)}@${esc(c.limitSet.version)}`, `<a href="/certificates/${esc(c.uuid)}?format=html">HTML</a>`]),
    'id="drift-tests"',
  );
  const steps = report.steps
    .map((s, i) => {
      const rows = s.entries.map((e) => [String(e.fiber), String(e.wavelengthNm), esc(e.end), fmtDb(e.previousDb), fmtDb(e.currentDb), e.flagged ? `<b class="FAIL">${signed(e.changeDb)}</b>` : signed(e.changeDb)]);
      return `<h2>Test ${i + 1} (${esc(s.from.benchId)}, ${esc(s.from.site)}) → test ${i + 2} (${esc(s.to.benchId)}, ${esc(s.to.site)})</h2>
<p>${s.flaggedCount} change${s.flaggedCount === 1 ? '' : 's'} beyond ${fmtDb(report.thresholdDb)} dB; largest ${s.largestChangeDb === null ? '—' : `${signed(s.largestChangeDb)} dB`}.</p>
${table(['Fiber', 'nm', 'End', `Before (${s.from.benchId}) dB`, `After (${s.to.benchId}) dB`, 'Change dB'], rows, `class="drift-step" data-step="${i + 1}"`)}`;
    })
    .join('\n');
  const excluded = report.excluded.length
    ? `<h2>Excluded: failed verification</h2><ul>${report.excluded.map((x) => `<li>${esc(x.site)} ${esc(x.benchId)} #${x.benchSequence}: ${esc(x.problems.join('; '))}</li>`).join('')}</ul>`
    : '';
  return `${head}
<p id="drift-summary">${report.certificates.length} test${report.certificates.length === 1 ? '' : 's'} of ${esc(report.subject.kind)} <b>${esc(report.subject.id)}</b>, oldest first${report.truncated ? ' (the oldest 500)' : ''}.</p>
${tests}
${steps}
${excluded}`;
}
