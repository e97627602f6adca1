import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HttpDeps } from '../context.js';

/** GET /metrics: Prometheus text. */
export const metricsRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'metrics'>> = async (app, { metrics }) => {
  app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
};
