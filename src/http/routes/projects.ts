/**
 * The installer's projects (sites): the JSON API and the console pages on the same paths (a
 * browser asking for text/html gets the page, anything else JSON; `?format=` decides outright),
 * and the project report as CSV and PDF.
 *
 *   GET  /projects                     list, with counts; page: the list and the new-project form
 *   POST /projects                     { id, title, site?, csv? }: create, and import the schedule
 *                                      in the same transaction when one is given
 *   GET  /projects/:id                 progress (counts, planned links, unplanned results); page
 *   POST /projects/:id/links           the cable schedule as text/csv: import (store/project-store.ts
 *                                      says what a re-import may change)
 *   GET  /projects/:id/report.csv      one row per planned link, then the unplanned ones
 *   GET  /projects/:id/report.pdf      the same as one PDF, with the project and its counts
 *
 * Who may write: an admin creates projects and imports schedules; an operator (the installer)
 * and QA may not. The plan sets the limit a planned link is judged against (its length,
 * connections, splices, fiber type, polarity and application form it), so writing one is a
 * supervisor's decision, like accepting a reference despite its plausibility checks (benches.ts
 * acceptDespite): the person who certifies a link does not also choose its limit. Like jobs, the
 * shared token (an admin) writes nothing once people have tokens of their own: a plan is stored
 * under a person's name. Reads need no token.
 *
 * Every certificate a progress, page or report names is verified as it is produced (its stored
 * bytes, signature and chain, through the certificate store's verification): one that fails is
 * shown as INTEGRITY FAILED and counted invalid, never by the verdict its body claims, and what
 * was found is recorded with custody, as serving the certificate itself would.
 */
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { InputError, JobRefusedError } from '../../errors.js';
import { SOFTWARE } from '../../pipeline/software.js';
import type { CertificateStore } from '../../store/certificate-store.js';
import {
  MAX_PLANNED_CONNECTIONS,
  MAX_PLANNED_SPLICES,
  MAX_SCHEDULE_LINKS,
  PROJECT_ID_PATTERN,
  SCHEDULE_COLUMNS,
  type CertificateCheck,
  type PlannedLinkProgress,
  type ProjectCertificate,
  type ProjectCounts,
  type ProjectProgress,
} from '../../store/project-store.js';
import type { Auth } from '../auth.js';
import { csvCell } from '../csv-cell.js';
import type { CustodyView, HttpDeps } from '../context.js';
import { cleanText } from '../input.js';
import { CONSOLE_CSP, esc, page, table } from '../web/html.js';

/** What verifying a certificate for a report needs of the certificate store. */
type Verifier = Pick<CertificateStore, 'forServing'>;

type Options = Pick<HttpDeps, 'projects' | 'benches' | 'custody' | 'users'> & {
  auth: Auth;
  /** The certificate store, to verify what a report names. */
  certificates?: Verifier;
};

/**
 * The certificate store reports verify with: the one given, else the daemon's custody's own
 * (server.ts registers these routes with custody, which holds the store). Without either the
 * project routes refuse to start: a report that cannot verify would show stored verdicts as trusted.
 */
function verifierOf(certificates: Verifier | undefined, custody: CustodyView): Verifier {
  const found = certificates ?? (custody as CustodyView & { certificates?: Verifier }).certificates;
  if (typeof found?.forServing !== 'function') throw new Error('project routes need the certificate store to verify the certificates a report names');
  return found;
}

/**
 * Left out of /openapi.json for now: the document's path list is pinned by test/e2e/daemon.test.ts,
 * which this work does not own. Set to false (and add the /projects paths there) to publish them.
 */
const HIDDEN = true;

/** A schedule of MAX_SCHEDULE_LINKS rows of about 100 bytes, with room: above the daemon's 64 kB default. */
const SCHEDULE_BODY_LIMIT = 2 * 1024 * 1024;

const ProjectParam = Type.Object({ id: Type.String({ pattern: PROJECT_ID_PATTERN, description: 'project id' }) });
const PageQuery = Type.Object(
  {
    format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html')])),
    // After an import through the page: what it did, shown once.
    added: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SCHEDULE_LINKS })),
    updated: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SCHEDULE_LINKS })),
    unchanged: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_SCHEDULE_LINKS })),
  },
  { additionalProperties: false },
);
const CreateBody = Type.Object(
  {
    id: Type.String({ pattern: PROJECT_ID_PATTERN, description: 'letters, digits and _ . - ; appears in URLs and certificates' }),
    title: Type.String({ minLength: 1, maxLength: 200 }),
    site: Type.Optional(Type.String({ maxLength: 200 })),
    csv: Type.Optional(Type.String({ maxLength: SCHEDULE_BODY_LIMIT, description: `the cable schedule (CSV with the columns ${SCHEDULE_COLUMNS.join(', ')}), imported with the project` })),
  },
  { additionalProperties: false },
);

function wantsHtml(req: FastifyRequest, format: 'json' | 'html' | undefined): boolean {
  return format === undefined ? (req.headers.accept ?? '').includes('text/html') : format === 'html';
}


export const REPORT_CSV_COLUMNS = [
  'link_id',
  'planned',
  ...SCHEDULE_COLUMNS.slice(1),
  'status',
  'verdict',
  'certificate',
  'issued_at',
  'bench',
  'worst_loss_margin_db',
] as const;

/** The verdict a report shows: a certificate failing verification is never read for one. */
const verdictOf = (c: ProjectCertificate | undefined): string => (c ? (c.integrity === 'FAILED' ? 'INTEGRITY FAILED' : (c.verdict ?? '')) : '');

/** One row per planned link (plan order), then one per unplanned link id (its latest certificate). */
export function renderProjectCsv(progress: ProjectProgress): string {
  const rows = [
    ...progress.links.map((l) => {
      const p = l.plan;
      const c = l.latest;
      return [p.linkId, 'yes', p.lengthM, p.connections, p.splices, p.fiberType, p.fiberCount, p.application ?? '', p.polarity, l.status, verdictOf(c), c?.certificateId, c?.issuedAt, c?.benchId, c?.lowestMarginDb];
    }),
    ...progress.unplanned.map((u) => {
      const c = u.latest;
      return [u.linkId, 'no', '', '', '', '', '', '', '', 'unplanned', verdictOf(c), c.certificateId, c.issuedAt, c.benchId, c.lowestMarginDb];
    }),
  ];
  return [REPORT_CSV_COLUMNS.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\r\n') + '\r\n';
}

const STATUS_CHIP: Record<string, string> = { pass: 'chip ok', fail: 'chip bad', invalid: 'chip warn', untested: 'chip', unplanned: 'chip warn' };

function countsHtml(c: ProjectCounts): string {
  const item = (label: string, n: number, cls = 'chip') => `<span class="${cls}" data-count="${esc(label.toLowerCase())}">${esc(label)} <b>${n}</b></span>`;
  return `<p class="counts" aria-label="progress">${item('Planned', c.planned)}${item('Tested', c.tested)}${item('Pass', c.pass, 'chip ok')}${item('Fail', c.fail, 'chip bad')}${item('Invalid', c.invalid, 'chip warn')}${item('Untested', c.untested)}${item('Unplanned', c.unplanned, 'chip warn')}</p>`;
}

/** A time as the console shows it: UTC to the minute, the full ISO time in its datetime attribute. */
function timeHtml(iso: string | null): string {
  if (!iso) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return `<time datetime="${esc(iso)}" title="${esc(iso)}">${esc(m ? `${m[1]} ${m[2]}` : iso)}</time>`;
}

function certificateCells(c: ProjectCertificate | undefined): string[] {
  if (!c) return ['', '', '', '', ''];
  const verdict = verdictOf(c);
  return [
    `<span class="${esc(c.integrity === 'FAILED' ? 'INVALID' : (c.verdict ?? ''))}">${esc(verdict)}</span>`,
    `<a href="/certificates/${c.certificateId}?format=html">${c.certificateId}</a>`,
    timeHtml(c.issuedAt),
    esc(c.benchId ?? ''),
    esc(c.lowestMarginDb ?? ''),
  ];
}

function plannedRow(l: PlannedLinkProgress): string[] {
  const p = l.plan;
  return [
    String(l.position),
    `<b>${esc(p.linkId)}</b>`,
    esc(p.lengthM),
    esc(p.connections),
    esc(p.splices),
    esc(p.fiberType),
    esc(p.fiberCount),
    esc(p.application ?? ''),
    esc(p.polarity),
    `<span class="${STATUS_CHIP[l.status]}">${esc(l.status)}</span>`,
    ...certificateCells(l.latest),
    esc(l.tests),
  ];
}

/** The schedule fields of both forms: a file, or the text pasted. */
function scheduleFields(prefix: string): string {
  return `<label for="${prefix}-file">Cable schedule: a CSV file</label>
  <input id="${prefix}-file" name="file" type="file" accept=".csv,text/csv">
  <label for="${prefix}-csv">or paste it here</label>
  <textarea id="${prefix}-csv" name="csv" rows="8" cols="90" spellcheck="false" placeholder="${esc(SCHEDULE_COLUMNS.join(','))}"></textarea>
  <p class="muted">Header row with the columns <code>${esc(SCHEDULE_COLUMNS.join(', '))}</code>. Length in metres (multimode at most 2,000 m); connections at most ${MAX_PLANNED_CONNECTIONS} and splices at most ${MAX_PLANNED_SPLICES}, whole numbers; fiber type OM1-OM5, OS1, OS1a or OS2 (the link product's own); fiber count 8, 12, 16 or 24; polarity A, B or C; application as the limit library names it (e.g. 400GBASE-SR8), or empty to keep the product's (or, when it names none, the component budget alone). Link ids as printed: no space before or after, no invisible characters, no two that differ only in case. A file with any bad row imports nothing. Only an admin imports a schedule: the plan sets each link's limit.</p>`;
}

/** A planned link's earlier plans, oldest first: what each said, who imported it, who replaced it and when. */
function historyHtml(links: readonly PlannedLinkProgress[]): string {
  const rows = links.flatMap((l) =>
    (l.history ?? []).map((v, k) => [
      `<b>${esc(l.plan.linkId)}</b>`,
      String(k + 1),
      esc(v.lengthM),
      esc(v.connections),
      esc(v.splices),
      esc(v.fiberType),
      esc(v.fiberCount),
      esc(v.application ?? ''),
      esc(v.polarity),
      `${timeHtml(v.importedAt)} by ${esc(v.importedBy)}`,
      `${timeHtml(v.replacedAt)} by ${esc(v.replacedBy)}`,
    ]),
  );
  if (rows.length === 0) return '<p class="muted">None: no planned link was changed by a later import.</p>';
  return table(['Link', 'Version', 'Length m', 'Conn.', 'Spl.', 'Fiber', 'Count', 'Application', 'Pol.', 'Imported (UTC)', 'Replaced (UTC)'], rows, 'id="plan-history"');
}

export const projectRoutes: FastifyPluginAsyncTypebox<Options> = async (app, { auth, projects, benches, custody, users, certificates }) => {
  if (!projects) return;
  const store = verifierOf(certificates, custody);

  /**
   * Verifies a certificate a progress names, now: its stored bytes (forServing verifies them, or
   * reuses what verifying these very bytes found), then what custody knows against it (e.g. a
   * checkpoint it contradicts). A failure is recorded with custody, as serving it would be.
   */
  const verifiedFor = (where: string): CertificateCheck => (id) => {
    const served = store.forServing(id);
    if (!served) {
      custody.record([{ certificateId: id, problem: 'missing', detail: `certificate ${id} is named by project progress but not in the database` }], where);
      return false;
    }
    if (!served.integrity.valid) {
      custody.record(served.integrity.problems, `${where}: certificate ${id}`);
      return false;
    }
    return !custody.failing.has(id);
  };

  // The cable schedule arrives as text/csv; this parser lives in this plugin only.
  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: SCHEDULE_BODY_LIMIT }, (_req, body, done) => done(null, body));

  /** Who writes a plan: see the comment at the top. Returns the name it is recorded under. */
  const writer = (req: FastifyRequest): string => {
    const p = auth.principalOf(req);
    if (p.role !== 'admin') {
      throw new JobRefusedError(
        'FORBIDDEN',
        `${p.name} (${p.role}) may not create projects or import cable schedules: an admin does, since a plan sets the limit each planned link is judged against (its length, connections, splices, fiber type, polarity and application)`,
      );
    }
    if (p.shared && users.hasUsers()) {
      throw new JobRefusedError('FORBIDDEN', 'people on this daemon have their own tokens (mpocert users add): a plan is stored under a person, so use yours, not the shared token');
    }
    return p.shared ? (auth.sessionOperator(req) ?? 'shared token') : p.name;
  };

  const htmlPage = (reply: FastifyReply, req: FastifyRequest, title: string, body: string, code = 200, scripts: string[] = ['projects.js']) =>
    reply
      .code(code)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CONSOLE_CSP)
      .send(page({ title, section: 'projects', signedInAs: auth.sessionOf(req)?.operator, scripts, body }));

  const notFound = (req: FastifyRequest, reply: FastifyReply, id: string, html: boolean) =>
    html
      ? htmlPage(reply, req, 'No such project', `<h1>No project ${esc(id)}</h1><p><a href="/projects">All projects</a></p>`, 404, [])
      : reply.code(404).send({ error: 'not-found', message: `no project ${id}` });

  app.get('/projects', { schema: { hide: HIDDEN, querystring: PageQuery } }, async (req, reply) => {
    const list = projects.list(verifiedFor('listing projects'));
    if (!wantsHtml(req, req.query.format)) {
      return { items: list.map(({ project, counts }) => ({ ...project, counts })) };
    }
    const rows = list.map(({ project: p, counts: c }) => [
      `<a href="/projects/${encodeURIComponent(p.id)}">${esc(p.id)}</a>`,
      esc(p.title),
      esc(p.site ?? ''),
      String(c.planned),
      String(c.tested),
      `<span class="PASS">${c.pass}</span>`,
      `<span class="FAIL">${c.fail}</span>`,
      String(c.invalid),
      String(c.untested),
      String(c.unplanned),
      esc(p.createdAt.slice(0, 10)),
    ]);
    const body = `<h1>Projects</h1>
<div id="notice" class="notice error" role="alert" hidden></div>
${rows.length > 0 ? table(['Project', 'Title', 'Site', 'Planned', 'Tested', 'Pass', 'Fail', 'Invalid', 'Untested', 'Unplanned', 'Created'], rows, 'id="projects"') : '<p class="muted">No projects yet.</p>'}
<h2>New project</h2>
<p class="muted">Creating a project and importing its cable schedule is an admin's decision: the plan sets the limit each planned link is judged against.</p>
<form id="project-form" class="card" autocomplete="off">
  <label for="p-id">Project id</label>
  <input id="p-id" name="id" type="text" required maxlength="64" pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]{0,63}" title="letters, digits and _ . - (it appears in URLs and on certificates)">
  <label for="p-title">Title</label>
  <input id="p-title" name="title" type="text" required maxlength="200">
  <label for="p-site">Site</label>
  <input id="p-site" name="site" type="text" maxlength="200">
  ${scheduleFields('p')}
  <p><button type="submit">Create project</button></p>
</form>`;
    return htmlPage(reply, req, 'Projects', body);
  });

  app.post(
    '/projects',
    { onRequest: auth.requireToken, bodyLimit: SCHEDULE_BODY_LIMIT, schema: { hide: HIDDEN, body: CreateBody, security: [{ bearer: [] }] } },
    async (req, reply) => {
      const by = writer(req);
      const b = req.body;
      if (projects.get(b.id)) return reply.code(409).send({ error: 'PROJECT_EXISTS', message: `project ${b.id} already exists: import more links into it (POST /projects/${b.id}/links)` });
      const created = projects.create(
        { id: b.id, title: cleanText('title', b.title), ...(b.site !== undefined ? { site: cleanText('site', b.site) } : {}) },
        by,
        new Date().toISOString(),
        b.csv,
      );
      return reply.code(201).header('location', `/projects/${encodeURIComponent(b.id)}`).send(created);
    },
  );

  app.get('/projects/:id', { schema: { hide: HIDDEN, params: ProjectParam, querystring: PageQuery } }, async (req, reply) => {
    const html = wantsHtml(req, req.query.format);
    const progress = projects.progress(req.params.id, verifiedFor(`project ${req.params.id} progress`));
    if (!progress) return notFound(req, reply, req.params.id, html);
    if (!html) return progress;
    const { project: p, counts } = progress;
    const id = encodeURIComponent(p.id);
    const q = req.query;
    const imported =
      q.added !== undefined || q.updated !== undefined || q.unchanged !== undefined
        ? `<p class="notice info" role="status">Cable schedule imported: ${q.added ?? 0} link(s) added, ${q.updated ?? 0} updated, ${q.unchanged ?? 0} unchanged.</p>`
        : '';
    const benchLinks = [...benches.values()]
      .map((b) => `<a class="button secondary" href="/benches/${encodeURIComponent(b.id)}?project=${id}">Certify on ${esc(b.config.title ?? b.id)}</a>`)
      .join(' ');
    const planned = progress.links.length
      ? table(
          ['#', 'Link', 'Length m', 'Conn.', 'Spl.', 'Fiber', 'Count', 'Application', 'Pol.', 'Status', 'Verdict', 'Cert.', 'Issued (UTC)', 'Bench', 'Margin dB', 'Tests'],
          progress.links.map(plannedRow),
          'id="planned-links"',
        )
      : '<p class="muted">No links planned yet: import the cable schedule below.</p>';
    const unplanned = progress.unplanned.length
      ? `<p class="notice error">These link ids are not in the plan: each was certified from the product alone (flagged <code>planned: false</code> on its certificate). To count one, add it to the schedule exactly as its certificate describes it (a link keeps its description: a retest with another length, connections, splices, fiber type or count, polarity or application is refused), and test it again.</p>${table(
          ['Link', 'Status', 'Verdict', 'Cert.', 'Issued (UTC)', 'Bench', 'Margin dB', 'Tests'],
          progress.unplanned.map((u) => [`<b>${esc(u.linkId)}</b>`, `<span class="${STATUS_CHIP.unplanned}">unplanned</span>`, ...certificateCells(u.latest), esc(u.tests)]),
          'id="unplanned-links"',
        )}`
      : '<p class="muted">None: every result of this project is a planned link.</p>';
    const body = `<h1>Project ${esc(p.id)}: ${esc(p.title)}</h1>
<p class="muted">${p.site ? `Site ${esc(p.site)}. ` : ''}Created ${timeHtml(p.createdAt)} UTC by ${esc(p.createdBy)}.</p>
<div id="notice" class="notice error" role="alert" hidden></div>
${imported}
${countsHtml(counts)}
<p class="no-print">Report: <a id="report-pdf" href="/projects/${id}/report.pdf">PDF</a> · <a id="report-csv" href="/projects/${id}/report.csv">CSV</a></p>
<section class="card no-print" aria-labelledby="certify-h"><h2 id="certify-h">Certify</h2>
<p>Scan or type a link id on a bench's page: a planned link takes its length, connections, splices, fiber type and count, polarity and application from this plan (an empty application keeps the product's), and is judged against the product named with the job (or the bench's default product, which must then be a link product of the same fiber type and count). A link id not in the plan is certified from the product alone and flagged unplanned. A link keeps its product and its description: once certified, it is not retested as another.</p>
<p>${benchLinks || '<span class="muted">No benches configured.</span>'}</p></section>
<h2>Planned links</h2>
<p class="muted">Conn.: mated connector pairs; Spl.: splices; Pol.: polarity (trunk type); Cert.: the latest certificate judged against the plan; Margin dB: its worst insertion-loss margin (negative: over the limit).</p>
${planned}
<h2>Plan changes</h2>
<p class="muted">Earlier versions of planned links that a later import replaced (only an untested link's plan may change).</p>
${historyHtml(progress.links)}
<h2>Unplanned results</h2>
${unplanned}
<h2 class="no-print">Import more links</h2>
<form id="import-form" class="card no-print" data-project="${esc(p.id)}" autocomplete="off">
  <p class="muted">New link ids are added; a link already planned may change only while it is untested (the version it replaces is kept, above). Links missing from the file stay planned. Admins only.</p>
  ${scheduleFields('i')}
  <p><button type="submit">Import</button></p>
</form>`;
    return htmlPage(reply, req, `Project ${p.id}`, body);
  });

  app.post(
    '/projects/:id/links',
    { onRequest: auth.requireToken, bodyLimit: SCHEDULE_BODY_LIMIT, schema: { hide: HIDDEN, params: ProjectParam, security: [{ bearer: [] }] } },
    async (req, reply) => {
      const by = writer(req);
      const { id } = req.params;
      if (typeof req.body !== 'string') {
        throw new InputError(`send the cable schedule as the request body with content-type: text/csv (columns ${SCHEDULE_COLUMNS.join(', ')})`);
      }
      if (!projects.get(id)) return notFound(req, reply, id, false);
      return { project: id, ...projects.importCsv(id, req.body, by, new Date().toISOString()) };
    },
  );

  app.get('/projects/:id/report.csv', { schema: { hide: HIDDEN, params: ProjectParam } }, async (req, reply) => {
    const progress = projects.progress(req.params.id, verifiedFor(`project ${req.params.id} report.csv`));
    if (!progress) return notFound(req, reply, req.params.id, false);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="project-${progress.project.id}.csv"`)
      .send(renderProjectCsv(progress));
  });

  app.get('/projects/:id/report.pdf', { schema: { hide: HIDDEN, params: ProjectParam } }, async (req, reply) => {
    const progress = projects.progress(req.params.id, verifiedFor(`project ${req.params.id} report.pdf`));
    if (!progress) return notFound(req, reply, req.params.id, false);
    // Loaded on the first report asked for: pdfkit stays out of the daemon's start-up.
    const { renderProjectReportPdf } = await import('../pdf/project-report-pdf.js');
    const pdf = await renderProjectReportPdf(progress, { generatedAt: new Date().toISOString(), software: `${SOFTWARE.name} ${SOFTWARE.version}` });
    return reply.type('application/pdf').header('content-disposition', `inline; filename="project-${progress.project.id}.pdf"`).send(pdf);
  });
};
