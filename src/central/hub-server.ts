import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { describeError, InputError, MpocertError } from '../errors.js';
import type { HubDeps } from './hub-context.js';
import { benchRoutes } from './routes/benches.js';
import { certificateRoutes } from './routes/certificates.js';
import { driftRoutes } from './routes/drift.js';
import { exportRoutes } from './routes/export.js';
import { pageRoutes } from './routes/pages.js';
import { rejudgeRoutes } from './routes/rejudge.js';

/**
 * The hub's HTTP service: QA's read API and pages over the central store, one route plugin per
 * resource (routes/), TypeBox-typed like the bench's (src/http/server.ts). Reads are open; the one
 * write (re-judging) needs the hub's token. A client error is a 4xx with a message, never a 500.
 */
export async function buildHubServer(deps: HubDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // `content-type: application/json` with no body is no body (as on a bench).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.trim() === '') {
      done(null, undefined);
      return;
    }
    jsonParser(req, body, done);
  });
  // The re-judge page's form posts as a browser does, without a script.
  app.addContentTypeParser<string>('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body)));
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const e = err as { validation?: unknown; statusCode?: number; message?: string };
    if (e.validation) return reply.code(400).send({ error: 'bad-request', message: e.message ?? 'invalid request' });
    if (err instanceof InputError) return reply.code(400).send({ error: 'bad-request', message: describeError(err) });
    if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return reply.code(e.statusCode).send({ error: 'bad-request', message: e.message ?? 'bad request' });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: err instanceof MpocertError ? err.code : 'internal', message: err instanceof MpocertError ? describeError(err) : 'internal error; see the hub log' });
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'not-found', message: `no route ${req.method} ${req.url}` }));

  app.get('/healthz', async (_req, reply) => {
    try {
      await deps.pool.query('SELECT 1');
    } catch (err) {
      return reply.code(503).send({ status: 'central store unreachable', message: describeError(err) });
    }
    return { status: 'ok', merging: deps.merging?.totals ?? null };
  });
  await app.register(certificateRoutes, { pool: deps.pool, trust: deps.trust });
  await app.register(exportRoutes, { pool: deps.pool, trust: deps.trust });
  await app.register(benchRoutes, { pool: deps.pool, trust: deps.trust });
  await app.register(driftRoutes, { pool: deps.pool, trust: deps.trust });
  await app.register(rejudgeRoutes, { pool: deps.pool, trust: deps.trust, library: deps.library, token: deps.token });
  await app.register(pageRoutes, { pool: deps.pool, trust: deps.trust, library: deps.library, token: deps.token });
  return app;
}
