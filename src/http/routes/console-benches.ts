import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { JobView } from '../../jobs/job-runner.js';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';
import { benchCard, benchConsole, replicationCard, recentTable, verdictPanel, verificationFailedPanel, type BenchSnapshot, type RecentItem } from '../web/bench-views.js';
import { CONSOLE_CSP, esc, page } from '../web/html.js';

type Options = Pick<HttpDeps, 'benches' | 'runner' | 'jobEvents' | 'cords' | 'certificates' | 'custody' | 'referenceMaxAgeMs' | 'replication'> & { auth: Auth; products: NonNullable<HttpDeps['products']> };

/** Comments keep a quiet stream open through proxies and tell the browser the daemon is there. */
const KEEPALIVE_MS = 15_000;
/** More consoles than any bench room has; beyond it a stream is refused, not a leak. */
const MAX_STREAMS = 64;

/** What a progress event carries: the job's state and its newest reading, not all readings again. */
function jobEvent(view: JobView): Record<string, unknown> {
  const p = view.progress;
  return {
    id: view.id,
    benchId: view.benchId,
    state: view.state,
    step: p.step,
    end: p.end ?? null,
    fiber: p.fiber ?? null,
    wavelengthNm: p.wavelengthNm ?? null,
    waitingFor: p.waitingFor ?? null,
    readings: p.readings.length,
    reading: p.readings.at(-1) ?? null,
    verdict: view.verdict ?? null,
    certificateId: view.certificateId ?? null,
    reason: view.reason ?? null,
    errorCode: view.errorCode ?? null,
  };
}

/**
 * The bench operator's console: GET / (every bench at a glance), GET /benches/:id (the bench's
 * page: guided reference, scan to certify, prompts, live progress, the verdict), GET /events
 * (server-sent events: job progress, prompts, references) and the fragments those pages reload.
 * Everything a page shows is rendered here, escaped; its script (assets/bench.js) only starts
 * jobs, confirms steps and swaps in fragments.
 */
export const consoleBenchRoutes: FastifyPluginAsyncTypebox<Options> = async (app, o) => {
  const snapshot = (id: string): BenchSnapshot | undefined => {
    const bench = o.benches.get(id);
    if (!bench) return undefined;
    const ref = o.runner.latestReference(id);
    const ageS = ref ? (Date.now() - Date.parse(ref.takenAt)) / 1000 : 0;
    const cord = bench.config.testCords.launchCord;
    return {
      id,
      config: bench.config,
      instruments: bench.status(),
      reference: ref ? { takenAt: ref.takenAt, ageS, expired: ageS * 1000 > o.referenceMaxAgeMs } : undefined,
      cordVerification: cord ? o.cords.latestVerification(cord.id, id) : undefined,
      busyWith: o.runner.busyWith(id),
      waitingFor: o.runner.waitingFor(id),
    };
  };
  const recent = (benchId: string): string => {
    const { itemsJson } = o.certificates.listJson({ benchId, limit: 10, offset: 0 });
    const items = (JSON.parse(itemsJson) as RecentItem[]).map((i) => (o.custody.failing.has(i.id) ? { ...i, integrity: 'FAILED' } : i));
    return recentTable(items);
  };
  const sendPage = (reply: FastifyReply, title: string, body: string, signedInAs: string | undefined, scripts: string[]): FastifyReply =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', CONSOLE_CSP).header('cache-control', 'no-store').send(page({ title, section: 'benches', signedInAs, scripts, body }));
  const notFound = (id: string): string => `<h1>No bench "${esc(id)}"</h1><p><a href="/">All benches</a></p>`;

  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    const cards = [...o.benches.keys()].map((id) => benchCard(snapshot(id)!, true)).join('');
    const body = `<h1>Benches</h1><div id="notice" class="notice error" role="alert" hidden></div><div class="cards" id="cards">${cards}</div>${replicationCard(o.replication?.status())}`;
    return sendPage(reply, 'Benches', body, o.auth.sessionOf(req)?.operator, ['overview.js']);
  });

  const BenchParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

  app.get('/benches/:id', { schema: { hide: true, params: BenchParam, querystring: Type.Object({ project: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })), product: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) }) } }, async (req, reply) => {
    const snap = snapshot(req.params.id);
    if (!snap) return sendPage(reply.code(404), 'No such bench', notFound(req.params.id), o.auth.sessionOf(req)?.operator, []);
    const session = o.auth.sessionOf(req);
    if (!session) return reply.redirect(`/sign-in?next=${encodeURIComponent(req.url)}`);
    return sendPage(reply, snap.config.title ?? snap.id, benchConsole(snap, recent(snap.id), { project: req.query.project, product: req.query.product, products: o.products }), session.operator, ['bench.js']);
  });

  // Fragments the pages swap in when an event says something changed.
  app.get('/benches/:id/card', { schema: { hide: true, params: BenchParam } }, async (req, reply) => {
    const snap = snapshot(req.params.id);
    if (!snap) return reply.code(404).send({ error: 'not-found', message: `no bench "${req.params.id}"` });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(benchCard(snap, req.headers['x-mpocert-card-link'] === '1'));
  });
  app.get('/benches/:id/recent', { schema: { hide: true, params: BenchParam } }, async (req, reply) => {
    if (!o.benches.has(req.params.id)) return reply.code(404).send({ error: 'not-found', message: `no bench "${req.params.id}"` });
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(recent(req.params.id));
  });
  app.get('/certificates/:id/verdict', { schema: { hide: true, params: Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$' }) }) } }, async (req, reply) => {
    const id = Number(req.params.id);
    const served = o.certificates.forServing(id);
    if (!served) return reply.code(404).send({ error: 'not-found', message: `no certificate ${id}` });
    const fragment = (body: string): FastifyReply => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
    if (!served.integrity.valid || !served.certificate) {
      o.custody.record(served.integrity.problems, `showing certificate ${id}'s verdict`);
      return fragment(verificationFailedPanel(id, served.integrity));
    }
    return fragment(verdictPanel(served.certificate));
  });

  // Open event streams, ended before the server closes (a stream never ends by itself). One set
  // of listeners on the runner fans out to every stream: a room full of consoles adds none.
  const streams = new Map<ServerResponse, { bench: string | undefined }>();
  const broadcast = (benchId: string, event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const [res, filter] of streams) if (filter.bench === undefined || filter.bench === benchId) res.write(frame);
  };
  const onProgress = (view: JobView): void => broadcast(view.benchId, 'job', jobEvent(view));
  const onStep = (e: { benchId: string; step: unknown }): void => broadcast(e.benchId, 'step', e);
  const onReference = (ref: { benchId: string; takenAt: string }): void => broadcast(ref.benchId, 'reference', { benchId: ref.benchId, takenAt: ref.takenAt });
  o.jobEvents.on('progress', onProgress);
  o.jobEvents.on('step', onStep);
  o.jobEvents.on('reference', onReference);
  const keepalive = setInterval(() => {
    for (const res of streams.keys()) res.write(': keepalive\n\n');
  }, KEEPALIVE_MS);
  keepalive.unref();
  app.addHook('preClose', async () => {
    for (const res of streams.keys()) res.end();
  });
  app.addHook('onClose', async () => {
    clearInterval(keepalive);
    o.jobEvents.off('progress', onProgress);
    o.jobEvents.off('step', onStep);
    o.jobEvents.off('reference', onReference);
  });

  app.get('/events', { schema: { hide: true, querystring: Type.Object({ bench: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }) } }, async (req, reply) => {
    const only = req.query.bench;
    if (only !== undefined && !o.benches.has(only)) return reply.code(404).send({ error: 'not-found', message: `no bench "${only}"` });
    if (streams.size >= MAX_STREAMS) {
      return reply.code(503).header('retry-after', '10').send({ error: 'busy', message: `${MAX_STREAMS} consoles are already following this daemon; close one` });
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown): void => {
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const mine = (benchId: string): boolean => only === undefined || benchId === only;
    streams.set(res, { bench: only });
    res.on('close', () => streams.delete(res));
    // The state now, so a page opened mid-job (or reconnecting) starts from the truth.
    res.write('retry: 2000\n\n');
    for (const id of o.benches.keys()) {
      if (!mine(id)) continue;
      // Only what is pending: a page starts with no prompt and no job shown.
      const step = o.runner.waitingFor(id);
      if (step) send('step', { benchId: id, step });
      for (const job of o.runner.runningJobs().filter((j) => j.benchId === id)) send('job', jobEvent(job));
    }
  });
};
