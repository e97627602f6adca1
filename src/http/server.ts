/**
 * The HTTP service: this file builds the fastify app and owns what every route shares; the routes
 * themselves are plugins under routes/, one file per resource (health, status, checkpoints,
 * signing keys, certificates, jobs, benches, cords, metrics, the OpenAPI document).
 *
 * - Why plugins: each resource's routes, with their schemas and only the dependencies they use
 *   (passed as the plugin's options), read and change on their own; each plugin is encapsulated,
 *   so nothing it adds leaks into another.
 * - Types: the app uses the TypeBox type provider, so every handler's params, query and body are
 *   typed from the route's schema (schemas.ts): what ajv validated is what the handler reads, with
 *   no casts. Replies with a response schema are type-checked against it too (except GET
 *   /certificates, which sends JSON text straight from SQLite: schemas.ts, sentAsText).
 * - Auth lives in auth.ts: a write route takes `auth.requireToken` as its onRequest hook (before
 *   the body is parsed or validated) and calls `auth.operatorOn` before it touches a bench.
 *   Reads need no token.
 * - Here, before any route is registered (so every plugin inherits them): the JSON body parser,
 *   the OpenAPI (swagger) collector, the latency metric, the error handler that maps our typed
 *   errors to statuses and one error body shape, and the 404 for unknown routes. Certificate
 *   pages set their own CSP (routes/certificates.ts).
 * - What http needs from the rest of the daemon is declared in context.ts (HttpDeps, CustodyView,
 *   HttpMetrics), as narrow as the routes use it: the daemon's objects satisfy it structurally,
 *   and http imports no daemon module.
 */
import swagger from '@fastify/swagger';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { describeError, InputError, JobRefusedError, MpocertError } from '../errors.js';
import { SOFTWARE } from '../pipeline/software.js';
import { createAuth } from './auth.js';
import type { HttpDeps } from './context.js';
import { benchRoutes } from './routes/benches.js';
import { certificateRoutes } from './routes/certificates.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { consoleBenchRoutes } from './routes/console-benches.js';
import { consoleShellRoutes } from './routes/console-shell.js';
import { cordRoutes } from './routes/cords.js';
import { docsRoutes } from './routes/docs.js';
import { healthRoutes } from './routes/health.js';
import { jobRoutes } from './routes/jobs.js';
import { metricsRoutes } from './routes/metrics.js';
import { projectRoutes } from './routes/projects.js';
import { qaRoutes } from './routes/qa.js';
import { signingKeyRoutes } from './routes/signing-keys.js';
import { statusRoutes } from './routes/status.js';
import { createJsonApp, fastifyRefusal, replyNoRoute } from './web/fastify-basics.js';

export type { CustodyView, HttpDeps, HttpMetrics } from './context.js';
export { cleanText } from './input.js';

const REFUSAL_STATUS: Record<string, number> = {
  FORBIDDEN: 403,
  UNAUTHORIZED: 401,
  STORAGE_LOST: 503,
  BENCH_BUSY: 409,
  SHUTTING_DOWN: 503,
  UNKNOWN_BENCH: 404,
  UNKNOWN_PROJECT: 404,
};

/** Custody refusals: the store, not the bench or the request, is why. */
const CUSTODY_STATUS: Record<string, number> = {
  STORAGE_LOST: 503,
  CHAIN_BROKEN: 409,
};

/** Maps our typed errors to HTTP: a client error is always 4xx with a message, never a 500. */
function statusFor(err: unknown): number {
  if (err instanceof JobRefusedError) return REFUSAL_STATUS[err.code] ?? 422;
  if (err instanceof InputError) return 400;
  if (err instanceof MpocertError) return CUSTODY_STATUS[err.code] ?? 502; // else an instrument or bench failed, not the request
  return 500;
}

export async function buildHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  // Jobs are logged when they end; one line per GET would bury them (so no request logging). An
  // empty JSON body is no body (web/fastify-basics.ts), as on the hub.
  const app = createJsonApp({ logger: deps.logger as FastifyBaseLogger, bodyLimit: 64 * 1024 });

  await app.register(swagger, {
    openapi: {
      info: { title: 'mpocert', version: SOFTWARE.version, description: 'MPO/MTP fiber certification daemon' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  app.addHook('onResponse', async (req, reply) => {
    deps.metrics.httpLatency.observe(
      { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    const refused = fastifyRefusal(err);
    if (refused) return reply.code(refused.status).send(refused.body);
    const status = statusFor(err);
    if (status >= 500) req.log.error({ err }, 'request failed');
    return reply.code(status).send({
      error: err instanceof MpocertError ? err.code : 'internal',
      message: status === 500 && !(err instanceof MpocertError) ? 'internal error; see the daemon log' : describeError(err),
    });
  });
  app.setNotFoundHandler(replyNoRoute);

  const auth = createAuth(deps.token, deps.users);
  // In the order the routes have always been declared: the OpenAPI document lists them so.
  await app.register(docsRoutes);
  await app.register(metricsRoutes, { metrics: deps.metrics });
  await app.register(healthRoutes, { custody: deps.custody });
  await app.register(checkpointRoutes, { custody: deps.custody });
  await app.register(statusRoutes, { custody: deps.custody, benches: deps.benches, runner: deps.runner, referenceMaxAgeMs: deps.referenceMaxAgeMs, replication: deps.replication ?? null });
  await app.register(signingKeyRoutes, { certificates: deps.certificates });
  await app.register(certificateRoutes, { certificates: deps.certificates, custody: deps.custody });
  await app.register(jobRoutes, { runner: deps.runner, users: deps.users, parseSubject: deps.parseSubject, auth });
  await app.register(benchRoutes, { runner: deps.runner, auth });
  await app.register(cordRoutes, { benches: deps.benches, cords: deps.cords });
  // The console (web pages for the bench operator, the installer and QA) on the same service.
  await app.register(consoleShellRoutes, { auth, users: deps.users });
  await app.register(consoleBenchRoutes, { auth, benches: deps.benches, runner: deps.runner, jobEvents: deps.jobEvents, cords: deps.cords, certificates: deps.certificates, custody: deps.custody, referenceMaxAgeMs: deps.referenceMaxAgeMs, products: deps.products ?? [], replication: deps.replication ?? null });
  await app.register(projectRoutes, { auth, projects: deps.projects, benches: deps.benches, custody: deps.custody, users: deps.users });
  await app.register(qaRoutes, { certificates: deps.certificates, custody: deps.custody, auth });

  return app;
}
