import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * What the bench daemon's HTTP service (src/http/server.ts) and the central hub's
 * (src/central/hub-server.ts) share, so that a client meets one kind of service: the fastify app
 * and how it reads JSON, the answer to a request fastify itself refuses, and the 404. Each service
 * still maps its own typed errors (a bench refuses jobs; the hub has none).
 *
 * (Under web/ because the central layer may import the bench's web helpers, not the rest of http.)
 */

/** The error body every route answers with: `error` a stable word, `message` one line for a person. */
export interface ErrorBody {
  error: string;
  message: string;
}

/**
 * A fastify app typed by TypeBox (every handler's params, query and body typed from its schema),
 * with one log line per request off (each service logs what matters itself) and ajv coercing
 * values to the schema's types (one value to an array too), filling defaults and removing nothing.
 *
 * Scripts and many HTTP clients send `content-type: application/json` on every POST, body or not.
 * fastify answers an empty JSON body with 400; here it is "no body" instead, so a route that takes
 * none (POST /benches/:id/reference) accepts it, and a route that needs one still refuses it
 * through its schema ("body must be object"). Non-empty bodies go to fastify's own parser
 * (prototype-poisoning protection included).
 */
export function createJsonApp(opts: { logger: FastifyBaseLogger; bodyLimit: number }) {
  const app = Fastify({
    loggerInstance: opts.logger,
    bodyLimit: opts.bodyLimit,
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body.trim() === '') {
      done(null, undefined);
      return;
    }
    jsonParser(req, body, done);
  });
  return app;
}

/**
 * A request fastify refused before any handler of ours ran (schema validation, a malformed or too
 * large body, an unsupported content type): its 4xx status and message, as `bad-request`.
 * Undefined for any other error (the service maps it).
 */
export function fastifyRefusal(err: unknown): { status: number; body: ErrorBody } | undefined {
  const e = err as { validation?: unknown; statusCode?: number; message?: string };
  if (e.validation) return { status: 400, body: { error: 'bad-request', message: e.message ?? 'invalid request' } };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { status: e.statusCode, body: { error: 'bad-request', message: e.message ?? 'bad request' } };
  return undefined;
}

/** The answer to a request no route matches (the app's not-found handler). */
export function replyNoRoute(req: FastifyRequest, reply: FastifyReply): FastifyReply {
  return reply.code(404).send({ error: 'not-found', message: `no route ${req.method} ${req.url}` } satisfies ErrorBody);
}
