import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HttpDeps } from '../context.js';
import * as S from '../schemas.js';

/** GET /healthz, for probes: 503 once the storage is lost. */
export const healthRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'custody'>> = async (app, { custody }) => {
  app.get('/healthz', { schema: { response: { 200: S.Health, 503: S.ErrorReply } } }, async (_req, reply) => {
    const lost = custody.checkStorage();
    if (lost) return reply.code(503).send({ error: 'STORAGE_LOST', message: `${lost}: accepting no more jobs` });
    return { status: 'ok' as const };
  });
};
