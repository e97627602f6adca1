import type { BenchConfig } from '../../config/schema.js';
import type { InstrumentStatus } from '../../instruments/capabilities.js';
import type { ReplicationView } from '../context.js';
import type { Integrity, StoredCertificate } from '../../store/certificate-store.js';
import type { CordVerificationRecord } from '../../store/cord-store.js';
import { evaluationOf, fiberRows, fmtDb } from '../certificate-view.js';
import { esc, table } from './html.js';

/** What the console knows of a bench at one moment (the same facts GET /status serves). */
export interface BenchSnapshot {
  id: string;
  config: BenchConfig;
  instruments: readonly InstrumentStatus[];
  reference: { takenAt: string; ageS: number; expired: boolean } | undefined;
  cordVerification: CordVerificationRecord | undefined;
  busyWith: string | undefined;
  waitingFor: { instruction: string } | undefined;
}

function age(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}

/** A bench's state in a few lines: instruments online or not, reference, cord, what it is doing. */
export function benchCard(b: BenchSnapshot, link: boolean): string {
  const title = esc(b.config.title ?? b.id);
  const instruments = b.instruments
    .map((i) => `<span class="chip ${i.state === 'online' ? 'online' : 'offline'}" title="${esc(i.port)}${i.lastError ? `: ${esc(i.lastError.message)}` : ''}">${esc(i.id)} ${esc(i.state)}</span>`)
    .join('');
  const ref = b.reference
    ? `<span class="chip ${b.reference.expired ? 'bad' : 'ok'}">${b.reference.expired ? 'expired' : 'valid'}</span> taken ${esc(age(b.reference.ageS))} ago`
    : '<span class="chip bad">none</span> reference the bench before certifying';
  const cord = b.config.testCords.launchCord;
  const cordLine = !cord
    ? '<span class="muted">no counted launch cord</span>'
    : b.cordVerification
      ? `${esc(cord.id)}: <span class="chip ${Number.isFinite(b.cordVerification.maxLossDb) ? 'ok' : 'bad'}">verified</span> against ${esc(b.cordVerification.against)} at ${esc(b.cordVerification.at.slice(0, 16).replace('T', ' '))}, max ${Number.isFinite(b.cordVerification.maxLossDb) ? `${fmtDb(b.cordVerification.maxLossDb)} dB` : 'no light'}`
      : `${esc(cord.id)}: <span class="chip bad">not verified</span> (a reference verifies it)`;
  const doing = b.waitingFor
    ? `<span class="chip warn">waiting for the operator</span> ${esc(b.waitingFor.instruction)}`
    : b.busyWith
      ? `<span class="chip warn">busy</span> ${esc(b.busyWith)}`
      : '<span class="chip ok">idle</span>';
  return `<section class="card bench" data-bench="${esc(b.id)}">
<h2>${link ? `<a href="/benches/${encodeURIComponent(b.id)}">${title}</a>` : title}</h2>
<div>Instruments: ${instruments}</div>
<div>Reference: ${ref}</div>
<div>Launch cord: ${cordLine}</div>
<div>Now: ${doing}</div>
</section>`;
}

/** The bench operator's page: state, guided reference, the scan field, prompts, progress, verdict, recent results. */
export interface ScanChoice {
  /** The installer's project a scanned link is certified for (?project=). */
  project: string | undefined;
  /** The product asked for in the URL (?product=). */
  product: string | undefined;
  products: readonly { id: string; kind: 'assembly' | 'link' }[];
}

/**
 * What a scan certifies: the product chosen (its kind says whether the scan is a serial or a link
 * id). Preselected: the URL's product, else for a project its first link product, else the
 * bench's default.
 */
function productSelect(c: BenchConfig, choice: ScanChoice): string {
  const wanted = choice.product ?? (choice.project ? choice.products.find((p) => p.kind === 'link')?.id : undefined) ?? c.defaultProduct;
  return `<select id="product" name="product">${choice.products
    .map((p) => `<option value="${esc(p.id)}" data-kind="${p.kind}"${p.id === wanted ? ' selected' : ''}>${esc(p.id)} (${p.kind === 'link' ? 'installed link' : 'assembly'})</option>`)
    .join('')}</select>`;
}

export function benchConsole(b: BenchSnapshot, recent: string, choice: ScanChoice): string {
  const project = choice.project;
  const c = b.config;
  const cord = c.testCords.launchCord ? `launch cord ${esc(c.testCords.launchCord.id)}` : 'the bench port';
  const plug = c.testCords.referencePlug;
  const nominal = c.source
    ? Object.entries(c.source.nominalDbm)
        .map(([wl, dbm]) => `${esc(wl)} nm: ${esc(dbm.toFixed(1))} dBm`)
        .join(', ')
    : undefined;
  const checks = [
    nominal ? `every fiber within ${esc(c.source!.maxBelowDb.toFixed(1))} dB of the source's nominal output (${nominal})` : 'every fiber has light',
    'no fiber more than the allowed drop below the last reference of the same setup',
    ...(plug ? [`${cord} against reference plug ${esc(plug.id)}: reference grade`] : []),
  ];
  const ends = ['A', 'B'];
  const cols = ends.flatMap((e) => c.wavelengthsNm.map((wl) => ({ e, wl })));
  const fibers = Array.from({ length: c.fiberCount }, (_, i) => i + 1);
  const grid = `<table class="grid" id="grid"><thead><tr><th>Fiber</th>${cols.map((x) => `<th>End ${x.e} ${x.wl} nm</th>`).join('')}</tr></thead><tbody>${fibers
    .map((f) => `<tr><th>${f}</th>${cols.map((x) => `<td id="cell-${f}-${x.e}-${x.wl}"></td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
  return `<h1>${esc(c.title ?? b.id)}</h1>
<div id="notice" class="notice error" role="alert" hidden></div>
<div class="console">
<div class="console-main">
<form id="scan-form" class="scan card" autocomplete="off">
 <div><label for="scan" id="scan-label">Scan the serial (or type it) and press Enter</label>
 <input id="scan" name="scan" type="text" maxlength="128" autofocus spellcheck="false"></div>
 <div><label for="product">Product</label>${productSelect(c, choice)}</div>
 ${project ? `<div><label>Project</label><span class="chip" id="project" data-project="${esc(project)}">${esc(project)}</span></div>` : ''}
 <div><button type="submit" id="scan-btn">Certify</button></div>
</form>
<div id="prompt" class="prompt" role="status" aria-live="assertive" hidden><span id="prompt-text"></span><span class="countdown" id="countdown"></span>
 <button type="button" id="confirm-btn" class="secondary" hidden>Done (Enter)</button></div>
<div id="verdict-area" aria-live="polite"></div>
<section class="card"><h2>Progress</h2><p id="progress-line" class="muted">No job running.</p>${grid}</section>
</div>
<aside class="console-side">
<div id="bench-state">${benchCard(b, false)}</div>
<section class="card" id="reference-card"><h2>Reference</h2>
<p id="reference-instruction">Connect ${cord} from the source straight to the detector, with nothing else in the path${plug ? `; the second step mates it to reference plug ${esc(plug.id)}` : ''}. Then reference the bench.</p>
<p class="muted">Checks: ${checks.join('; ')}.</p>
<button type="button" id="reference-btn" class="secondary">Reference the bench</button>
<div id="reference-result"></div></section>
<section class="card"><h2>Recent results</h2><div id="recent">${recent}</div></section>
</aside>
</div>`;
}

export interface RecentItem {
  id: number;
  serial: string | null;
  linkId: string | null;
  verdict: string;
  issuedAt: string;
  integrity?: string;
}

export function recentTable(items: readonly RecentItem[]): string {
  if (items.length === 0) return '<p class="muted">No certificates from this bench yet.</p>';
  return table(
    ['Certificate', 'Issued', 'Serial / link', 'Verdict', ''],
    items.map((i) => [
      `<a href="/certificates/${i.id}?format=html">${i.id}</a>`,
      esc(i.issuedAt.slice(0, 19).replace('T', ' ')),
      esc(i.serial ?? i.linkId ?? ''),
      `<b class="${esc(i.verdict)}">${esc(i.verdict)}</b>${i.integrity === 'FAILED' ? ' <span class="chip bad">FAILED verification</span>' : ''}`,
      `<a href="/certificates/${i.id}?format=pdf">PDF</a>`,
    ]),
  );
}

/** A certificate failing verification is never shown from its content: only that it failed, and why. */
export function verificationFailedPanel(id: number, integrity: Integrity): string {
  return `<div class="verdict INVALID" data-verdict="FAILED-VERIFICATION">CHECK<small>certificate ${id} FAILED verification: ${esc(integrity.problems.map((p) => p.detail).join('; '))}; tell QA</small></div>`;
}

/**
 * The verdict shown until the next scan, readable from 3 m: what failed, by how much, against
 * which limit. Rendered from the stored certificate as served (verified), never from the job's
 * progress: what the operator sees is what was signed.
 */
export function verdictPanel(cert: StoredCertificate): string {
  const ev = evaluationOf(cert);
  const subject = cert.document.subject.id;
  const bad = fiberRows(ev.fibers).filter((r) => r.outcome !== 'PASS');
  // Launch positions per end: from end B the same glass may sit at another position (polarity B
  // maps 7 to 6), so "fiber 7" alone would send the technician to the wrong fiber at end B.
  const failingAt = (end: string): number[] => [...new Set(bad.filter((r) => r.outcome !== 'MARGINAL' && r.end === end).map((r) => r.fiber))];
  const failing = [...new Set(bad.map((r) => r.end))]
    .sort()
    .map((end) => ({ end, fibers: failingAt(end) }))
    .filter((x) => x.fibers.length > 0)
    .map((x) => `end ${x.end} fiber${x.fibers.length > 1 ? 's' : ''} ${x.fibers.join(', ')}`);
  const rows = bad.map((r) => [
    esc(r.fiber),
    esc(r.end),
    esc(r.wavelengthNm),
    esc(r.quantity),
    `${fmtDb(r.valueDb)} dB`,
    `${r.limitKind === 'max' ? '≤' : '≥'} ${fmtDb(r.limitDb)} dB`,
    r.marginDb === null ? '—' : `${fmtDb(r.marginDb)} dB`,
    `<b class="${esc(r.outcome)}">${esc(r.outcome)}</b>`,
  ]);
  const pol = ev.polarity;
  const polarity = pol?.outcome === 'FAIL'
    ? `<p><b class="FAIL">Polarity FAIL</b>: ${(pol.differencesFromDeclared ?? []).map((d) => `position ${esc(d.position)} expected ${esc(d.expected)}, measured ${esc(d.measured ?? 'dark')}`).join('; ')}</p>`
    : '';
  const why = [...failing, ...(pol?.outcome === 'FAIL' ? ['polarity'] : [])].join(' · ');
  const project = cert.document.project;
  // An unplanned link was judged against the product alone, not the site's plan: the installer
  // must see that now, not in the report.
  const projectLine = project
    ? project.planned
      ? `<p>Project ${esc(project.id)}: planned link, judged against the project's plan.</p>`
      : `<p class="notice error" id="unplanned"><b>UNPLANNED</b>: ${esc(subject)} is not in project ${esc(project.id)}'s cable schedule; it was judged against the product alone.</p>`
    : '';
  return `<div class="verdict ${esc(cert.verdict)}" data-verdict="${esc(cert.verdict)}">${esc(cert.verdict)}<small>${esc(subject)} · certificate ${cert.id}${why ? ` · ${esc(why)}` : ''}</small></div>
${projectLine}
${rows.length ? table(['Fiber', 'End', 'nm', 'Quantity', 'Measured', 'Limit', 'Margin', 'Outcome'], rows, 'id="failures"') : ''}
${polarity}
<p><a href="/certificates/${cert.id}?format=html">Certificate ${cert.id}</a> · <a href="/certificates/${cert.id}?format=pdf">PDF</a> · next: scan the next assembly</p>`;
}

/** Replication toward the central QA store, on the overview: a backlog that grows is a finding. */
export function replicationCard(r: ReplicationView | undefined): string {
  if (!r) return '';
  const ok = r.state !== 'unreachable';
  const oldest = r.oldestAgeSeconds === null ? '' : `, the oldest waiting ${esc(age(r.oldestAgeSeconds))}`;
  return `<section class="card" id="replication"><h2>Central QA store</h2>
<div><span class="chip ${ok ? 'ok' : 'bad'}">${esc(r.state)}</span> ${r.backlog} waiting to be shipped${oldest}; ${r.shipped} shipped since start${r.lastShippedAt ? `, last at ${esc(r.lastShippedAt.slice(0, 19).replace('T', ' '))}` : ''}</div>
${r.lastError ? `<div class="muted">${esc(r.lastError)}: certificates are kept here and shipped when it answers</div>` : ''}</section>`;
}
