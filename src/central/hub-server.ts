import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { describeError, InputError, MpocertError } from '../errors.js';
import { createJsonApp, fastifyRefusal, replyNoRoute } from '../http/web/fastify-basics.js';
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
  // Built, and reading JSON, as a bench's service is (an empty JSON body is no body).
  const app = createJsonApp({ logger: deps.logger as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
  // The re-judge page's form posts as a browser does, without a script.
  app.addContentTypeParser<string>('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body)));
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const refused = fastifyRefusal(err);
    if (refused) return reply.code(refused.status).send(refused.body);
    if (err instanceof InputError) return reply.code(400).send({ error: 'bad-request', message: describeError(err) });
    req.log.error({ err }, 'request failed');
    return reply.code(500).send({ error: err instanceof MpocertError ? err.code : 'internal', message: err instanceof MpocertError ? describeError(err) : 'internal error; see the hub log' });
  });
  app.setNotFoundHandler(replyNoRoute);

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
