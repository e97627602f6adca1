import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, InputError } from '../../errors.js';
import { CONSOLE_CSP, esc } from '../../http/web/html.js';
import { projectRoot } from '../../project-root.js';
import { listBenches, listQuarantine } from '../bench-status.js';
import { summaryOf, verifyRow } from '../certificate-rows.js';
import { verifyChain } from '../chain-verify.js';
import { tokenMatches } from '../hub-auth.js';
import type { HubDeps } from '../hub-context.js';
import { getRejudgement, listRejudgements } from '../rejudgements.js';
import { searchPage as runSearch } from '../search.js';
import { asTyped, hubFilterOf, hubSearchValues, HUB_SEARCH_FIELDS, type HubSearchValues } from '../search-query.js';
import { benchesPage, benchPage, quarantinePage } from '../web/bench-views.js';
import { driftPage } from '../web/drift-view.js';
import { rejudgeFormPage, rejudgementPage } from '../web/rejudge-views.js';
import { PAGE_SIZE, searchPage } from '../web/search-view.js';
import { hubPage, type HubSection } from '../web/shell.js';
import { driftFor } from './drift.js';
import { BenchParams, QuarantineQuery } from './benches.js';
import { RejudgementParam, startRejudgement } from './rejudge.js';

/** The console's stylesheets, read once at start-up: the hub's pages look like the benches'. */
const ASSETS = new Map(['console.css', 'qa.css'].map((name) => [name, readFileSync(join(projectRoot(), 'src', 'http', 'web', 'assets', name))]));

const Text = Type.Optional(Type.String({ maxLength: 1024 }));
const SearchQuery = Type.Object(
  { serial: Text, linkId: Text, project: Text, verdict: Text, site: Text, bench: Text, limitSet: Text, from: Text, to: Text, offset: Type.Optional(Type.String({ maxLength: 12 })), limit: Type.Optional(Type.String({ maxLength: 12 })) },
  { additionalProperties: false },
);
const DriftPageQuery = Type.Object({ serial: Text, linkId: Text, project: Text }, { additionalProperties: false });
const RejudgeForm = Type.Object(
  { serial: Text, linkId: Text, project: Text, verdict: Text, site: Text, bench: Text, limitSet: Text, from: Text, to: Text, target: Text, by: Text, token: Text },
  { additionalProperties: false },
);

/** A whole number in [min, max] from the URL, or the default when absent or blank. */
function whole(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = /^\d{1,12}$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InputError(`${name}: "${value}" is not a whole number from ${min} to ${max}`, { field: name });
  return n;
}

/**
 * The hub's QA pages, rendered on the server (web/), no script: search, benches with their chain
 * verified, quarantine, drift, re-judge. Reads are open; the re-judge form carries the hub's token.
 */
export const pageRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust' | 'library' | 'token'>> = async (app, deps) => {
  const { pool, trust } = deps;
  const send = (reply: FastifyReply, title: string, section: HubSection | undefined, body: string, status = 200): FastifyReply =>
    reply
      .code(status)
      .type('text/html; charset=utf-8')
      .header('content-security-policy', CONSOLE_CSP)
      .header('cache-control', 'no-store')
      .send(hubPage({ title, ...(section ? { section } : {}), body }));

  // A mistake in a page's request (ajv's or ours) is answered as a page, in words.
  app.setErrorHandler((err, req, reply) => {
    const e = err as { validation?: unknown; message?: string };
    if (!e.validation && !(err instanceof InputError)) throw err;
    return send(reply, 'Not understood', undefined, `<h1>Not understood</h1><div class="notice error" role="alert">${esc(describeError(err))}</div><p><a href="/qa">Back to the search</a></p>`, 400);
  });

  app.get('/', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/qa'));

  app.get('/assets/:name', { schema: { hide: true, params: Type.Object({ name: Type.String({ maxLength: 64 }) }) } }, async (req, reply) => {
    const body = ASSETS.get(req.params.name);
    if (!body) return reply.code(404).send({ error: 'not-found', message: `no asset ${req.params.name}` });
    return reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(body);
  });

  app.get('/qa', { schema: { hide: true, querystring: SearchQuery } }, async (req, reply) => {
    const q = req.query;
    let values: HubSearchValues = asTyped(q);
    try {
      values = hubSearchValues(q);
      const filter = hubFilterOf(values);
      const limit = whole('limit', q.limit, PAGE_SIZE, 1, 500);
      const offset = whole('offset', q.offset, 0, 0, 1_000_000_000);
      const { total, rows } = await runSearch(pool, filter, limit, offset);
      const items = rows.map((r) => summaryOf(r, verifyRow(r, trust)));
      return send(reply, 'QA search', 'search', searchPage({ values, result: { total, limit, offset, items } }));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return send(reply, 'QA search', 'search', searchPage({ values, error: describeError(err) }), 400);
    }
  });

  app.get('/qa/benches', { schema: { hide: true } }, async (_req, reply) => send(reply, 'Benches', 'benches', benchesPage(await listBenches(pool))));

  // The whole chain is verified when asked (?verify=1): a bench of 100,000 certificates takes a while.
  const VerifyQuery = Type.Object({ verify: Type.Optional(Type.String({ maxLength: 4 })) }, { additionalProperties: false });
  app.get('/qa/benches/:site/:bench', { schema: { hide: true, params: BenchParams, querystring: VerifyQuery } }, async (req, reply) => {
    const { site, bench } = req.params;
    const status = (await listBenches(pool, { site, benchId: bench }))[0];
    if (!status) return send(reply, 'No such bench', 'benches', `<h1>No bench ${esc(bench)} at site ${esc(site)}</h1><p><a href="/qa/benches">Benches</a></p>`, 404);
    const verified = req.query.verify === '1' ? await verifyChain(pool, trust, site, bench) : undefined;
    return send(reply, `Bench ${bench}`, 'benches', benchPage(status, verified));
  });

  app.get('/qa/quarantine', { schema: { hide: true, querystring: QuarantineQuery } }, async (req, reply) => {
    const q = req.query;
    const r = await listQuarantine(pool, { site: q.site, benchId: q.bench, limit: q.limit, offset: q.offset });
    return send(reply, 'Quarantine', 'quarantine', quarantinePage(r, { ...(q.site ? { site: q.site } : {}), ...(q.bench ? { bench: q.bench } : {}) }));
  });

  app.get('/qa/drift', { schema: { hide: true, querystring: DriftPageQuery } }, async (req, reply) => {
    const q = req.query;
    const values = { ...(q.serial ? { serial: q.serial } : {}), ...(q.linkId ? { linkId: q.linkId } : {}), ...(q.project ? { project: q.project } : {}) };
    if (!q.serial?.trim() && !q.linkId?.trim()) return send(reply, 'Drift', 'drift', driftPage(values));
    try {
      return send(reply, 'Drift', 'drift', driftPage(values, await driftFor(deps, q)));
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return send(reply, 'Drift', 'drift', driftPage(values, undefined, describeError(err)), 400);
    }
  });

  const rejudgeForm = async (reply: FastifyReply, values: Parameters<typeof rejudgeFormPage>[0]['values'], error?: string, status = 200): Promise<FastifyReply> =>
    send(reply, 'Re-judge', 'rejudge', rejudgeFormPage({ values, sets: deps.library.list(), recent: await listRejudgements(pool, 20), ...(error ? { error } : {}) }), status);

  app.get('/qa/rejudge', { schema: { hide: true, querystring: SearchQuery } }, async (req, reply) => rejudgeForm(reply, asTyped(req.query)));

  app.post('/qa/rejudge', { schema: { hide: true, body: RejudgeForm } }, async (req, reply) => {
    const b = req.body;
    const at = (b.target ?? '').lastIndexOf('@');
    const targetId = at > 0 ? b.target!.slice(0, at) : '';
    const targetVersion = at > 0 ? b.target!.slice(at + 1) : '';
    // What the form showed comes back as typed: never the token.
    const values = { ...asTyped(b), targetId, targetVersion, ...(b.by !== undefined ? { by: b.by } : {}) };
    if (!tokenMatches(b.token, deps.token)) return rejudgeForm(reply, values, "the hub token is not right: re-judging needs the hub's token (http.token in its config)", 401);
    try {
      if (targetId === '' || !/^[0-9]+(\.[0-9]+)*$/.test(targetVersion)) throw new InputError('choose the limit set version to judge against', { field: 'target' });
      const filters = Object.fromEntries(HUB_SEARCH_FIELDS.flatMap((f) => (typeof b[f] === 'string' ? [[f, b[f]]] : [])));
      const { id } = await startRejudgement(deps, { limitSet: { id: targetId, version: targetVersion }, filters, by: b.by ?? '' });
      return reply.code(303).header('location', `/qa/rejudgements/${id}`).send();
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      return rejudgeForm(reply, values, describeError(err), 400);
    }
  });

  app.get('/qa/rejudgements/:id', { schema: { hide: true, params: RejudgementParam } }, async (req, reply) => {
    const r = await getRejudgement(pool, Number(req.params.id));
    if (!r) return send(reply, 'No such re-judgement', 'rejudge', `<h1>No re-judgement ${Number(req.params.id)}</h1><p><a href="/qa/rejudge">Re-judge</a></p>`, 404);
    return send(reply, `Re-judgement ${r.id}`, 'rejudge', rejudgementPage(r));
  });
};
