import type { Integrity, StoredCertificate } from '../store/certificate-store.js';
import {
  describeSubject,
  endsLine,
  evaluationOf,
  fiberRows,
  fmtDb,
  judgedColumns,
  limitBasisLines,
  limitsLine,
  OUTCOME_COLOUR,
  polarityDifferenceLines,
  referenceCordLines,
  type FiberRow,
} from './certificate-view.js';
import { esc } from './web/html.js';

// Moved to certificate-view.ts (the PDF shares it); still exported here for existing importers.
export { endsLine };

/**
 * Insertion loss per fiber against its limit, one bar per fiber and wavelength: a person sees at
 * a glance which fiber is close to or over the line. Plain SVG, so the page prints as it shows.
 */
function lossChart(rows: FiberRow[]): string {
  const il = rows.filter((r) => r.quantity === 'insertion loss');
  if (il.length === 0) return '';
  const wavelengths = [...new Set(il.map((r) => r.wavelengthNm))];
  const fibers = [...new Set(il.map((r) => r.fiber))];
  const top = Math.max(...il.map((r) => Math.max(r.limitDb, r.valueDb ?? 0))) * 1.15 || 1;
  const W = 720, H = 220, left = 40, bottom = 30, plotH = H - bottom - 10;
  const groupW = (W - left) / fibers.length;
  const barW = Math.max(4, (groupW - 6) / wavelengths.length);
  const y = (v: number): number => 10 + plotH - (Math.max(0, v) / top) * plotH;
  const parts: string[] = [];
  fibers.forEach((fiber, fi) => {
    const x0 = left + fi * groupW + 3;
    wavelengths.forEach((wl, wi) => {
      const r = il.find((x) => x.fiber === fiber && x.wavelengthNm === wl);
      if (!r) return;
      const x = x0 + wi * barW;
      if (r.valueDb === null) {
        parts.push(`<text x="${x + barW / 2}" y="${y(0) - 4}" font-size="10" text-anchor="middle" fill="${OUTCOME_COLOUR.INVALID}">?</text>`);
      } else {
        parts.push(
          `<rect x="${x}" y="${y(r.valueDb)}" width="${barW - 1}" height="${y(0) - y(r.valueDb)}" fill="${OUTCOME_COLOUR[r.outcome] ?? '#555'}" opacity="${wi === 0 ? 1 : 0.6}"><title>fiber ${esc(fiber)} ${esc(wl)} nm: ${fmtDb(r.valueDb)} dB (limit ${fmtDb(r.limitDb)})</title></rect>`,
        );
      }
      parts.push(`<line x1="${x}" x2="${x + barW - 1}" y1="${y(r.limitDb)}" y2="${y(r.limitDb)}" stroke="#000" stroke-width="2"/>`);
    });
    parts.push(`<text x="${x0 + (groupW - 6) / 2}" y="${H - 12}" font-size="11" text-anchor="middle">${esc(fiber)}</text>`);
  });
  const ticks = [0, top / 2, top].map(
    (v) => `<text x="${left - 4}" y="${y(v) + 4}" font-size="10" text-anchor="end">${v.toFixed(2)}</text><line x1="${left}" x2="${W}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
  );
  return `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="insertion loss per fiber against the limit">
${ticks.join('')}${parts.join('')}
<text x="${left}" y="${H}" font-size="10">fiber (bars: ${wavelengths.join(' / ')} nm; black line: limit; dB)</text></svg>`;
}

/**
 * The page of a certificate whose stored bytes fail verification: nothing of its content is
 * rendered as content (it is not what the bench signed, and may be crafted to look like a PASS),
 * only the notice, the problems and the stored bytes, escaped.
 */
export function renderIntegrityFailure(id: number, integrity: Integrity, storedBody: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Certificate ${id}: INTEGRITY CHECK FAILED</title>
<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}.verdict{font-size:2em;font-weight:bold;color:#5b2c83;border:3px solid #5b2c83;display:inline-block;padding:.1em .5em}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:1em}</style></head><body>
<h1>Certificate ${id}</h1>
<p class="verdict">INTEGRITY CHECK FAILED</p>
<p><b>Do not rely on this certificate.</b> Its stored bytes are not what the bench signed:</p>
<ul>${integrity.problems.map((p) => `<li>${esc(p.problem)}: ${esc(p.detail)}</li>`).join('')}</ul>
<h2>Stored bytes, as found</h2>
<pre>${esc(storedBody)}</pre>
</body></html>
`;
}

export function renderCertificateHtml(cert: StoredCertificate, integrity: Integrity = { valid: true, problems: [] }): string {
  const ev = evaluationOf(cert);
  const doc = cert.document;
  const rows = fiberRows(ev.fibers);
  const subject = cert.serial ?? cert.linkId ?? '';
  const colour = OUTCOME_COLOUR[cert.verdict] ?? '#333';
  // One row per fiber, one column per quantity, wavelength and end: twelve lines a person can
  // read and print, with each value's margin beside it and the limit in the header.
  const columns = judgedColumns(rows);
  const multiEnd = new Set(rows.map((r) => r.end)).size > 1;
  const head = columns
    .map((c) => `<th class="n">${c.quantity === 'insertion loss' ? 'IL' : 'RL'} ${c.wavelengthNm} nm${multiEnd ? ` end ${esc(c.end)}` : ''}<br><small>dB (margin)</small></th>`)
    .join('');
  const table = ev.fibers
    .map((f) => {
      const cells = columns.map((c) => {
        const r = rows.find((x) => x.fiber === f.fiber && x.quantity === c.quantity && x.wavelengthNm === c.wavelengthNm && x.end === c.end);
        if (!r) return '<td class="n">—</td>';
        const colour = OUTCOME_COLOUR[r.outcome] ?? '#333';
        return `<td class="n" style="color:${colour}" title="${esc(r.outcome)}; limit ${r.limitKind === 'max' ? '≤' : '≥'} ${fmtDb(r.limitDb)} dB: ${esc(r.basis)}">${fmtDb(r.valueDb)} <small>(${fmtDb(r.marginDb)})</small></td>`;
      });
      const reasons = rows.filter((x) => x.fiber === f.fiber && x.reason).map((x) => esc(x.reason));
      return `<tr class="${esc(f.outcome)}"><td>${esc(f.fiber)}</td>${cells.join('')}<td style="color:${OUTCOME_COLOUR[f.outcome] ?? '#333'}"><b>${esc(f.outcome)}</b></td><td>${reasons.join('<br>')}</td></tr>`;
    })
    .join('\n');
  const pol = ev.polarity;
  const polarity = pol
    ? `<p>Declared: <b>${esc(pol.declared ?? '—')}</b>${pol.expectedType ? ` (expects type ${esc(pol.expectedType)})` : ''}.
${pol.classification ? ` Measured map fits type <b>${esc(pol.classification.bestFit ?? 'none')}</b> at ${pol.classification.matchingPositions}/${pol.classification.positions} positions.` : ' <b>Polarity NOT verified</b>: this bench cannot see where each fiber\'s light arrives; the verdict covers loss only.'}
${pol.outcome ? ` Result: <b style="color:${OUTCOME_COLOUR[pol.outcome]}">${esc(pol.outcome)}</b>.` : ''}</p>
${polarityDifferenceLines(pol).length ? `<ul>${polarityDifferenceLines(pol).map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}`
    : '<p>No polarity declared.</p>';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Certificate ${cert.id} — ${esc(subject)} — ${esc(cert.verdict)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{margin:0}.verdict{font-size:2em;font-weight:bold;color:${colour};border:3px solid ${colour};display:inline-block;padding:.1em .5em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:2px 6px;text-align:left}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.FAIL,tr.INVALID{background:#fdecea}tr.MARGINAL{background:#fff4e0}dl{display:grid;grid-template-columns:max-content 1fr;gap:0 1em}dt{font-weight:bold}
small{color:#666;word-break:break-all}@media print{body{margin:0}}
</style></head><body>
<h1>Test certificate ${cert.id}</h1>
${integrity.valid ? `<p class="verdict">${esc(cert.verdict)}</p>` : `<p class="verdict" style="color:#5b2c83;border-color:#5b2c83">INTEGRITY CHECK FAILED</p>
<p><b>Do not rely on this certificate.</b> Its stored bytes do not match what the bench signed (the verdict stored is ${esc(cert.verdict)}):</p>
<ul>${integrity.problems.map((p) => `<li>${esc(p.problem)}: ${esc(p.detail)}</li>`).join('')}</ul>`}
<ul>${ev.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
<dl>
<dt>${cert.subjectKind === 'assembly' ? 'Serial number' : 'Link id'}</dt><dd>${esc(subject)}</dd>
<dt>Description</dt><dd>${esc(describeSubject(doc.subject.description))}</dd>
${doc.project ? `<dt>Project</dt><dd>${esc(doc.project.id)}${doc.project.planned ? ' (planned link: length, connections, splices, fiber type and count, polarity and application from the project\'s cable schedule; an application it leaves empty is the product\'s)' : ' <b>UNPLANNED</b>: not in the project\'s cable schedule; described by the product alone'}</dd>` : ''}
<dt>Limit set</dt><dd>${esc(ev.limitSet.title)} (${esc(cert.limitSetId)} version ${esc(cert.limitSetVersion)})${ev.limitSet.origin === 'user' ? ` <b>user limit set</b>, file sha256 ${esc(ev.limitSet.fileSha256)}` : ''}</dd>
<dt>Ends certified</dt><dd>${esc(endsLine(ev))}</dd>
<dt>Reference cords</dt><dd>${referenceCordLines(ev).map(esc).join('<br>') || 'none verified'}</dd>
<dt>Limit basis</dt><dd>${limitBasisLines(rows).map(esc).join('<br>')}</dd>
<dt>Guard band</dt><dd>${fmtDb(ev.settings.guardBandDb)} dB (MARGINAL within it)</dd>
<dt>Tested</dt><dd>${esc(doc.job.testedAt)} by ${esc(doc.job.operator)}${doc.job.authenticatedAs ? ` (authenticated as ${esc(doc.job.authenticatedAs)})` : ''}</dd>
<dt>Bench</dt><dd>${esc(doc.bench.title)} (${esc(doc.bench.id)})</dd>
<dt>Instruments</dt><dd>${doc.bench.instruments.map((i) => esc(i.raw)).join('<br>')}</dd>
<dt>Reference</dt><dd>${esc(doc.reference.takenAt)}</dd>
<dt>Issued</dt><dd>${esc(cert.issuedAt)} by ${esc(doc.software.name)} ${esc(doc.software.version)}</dd>
</dl>
<h2>Insertion loss per fiber</h2>
${lossChart(rows)}
<p>Limits: ${esc(limitsLine(rows))}. Margin = limit − value for a maximum; negative fails.</p>
<table><thead><tr><th>Fiber</th>${head}<th>Outcome</th><th>Reason</th></tr></thead>
<tbody>
${table}
</tbody></table>
<h2>Polarity</h2>
${polarity}
<h2>Signature</h2>
<p><small>Ed25519 key ${esc(cert.keyId)}<br>hash ${esc(cert.hash)}<br>previous ${esc(cert.prevHash ?? '(first certificate of this bench)')}<br>signature ${esc(cert.signature)}</small></p>
<p><a href="/certificates/${cert.id}/verify">Verify this certificate</a> · <a href="/certificates/${cert.id}?format=json">JSON</a> · <a href="/certificates/${cert.id}?format=csv">CSV</a></p>
</body></html>
`;
}
