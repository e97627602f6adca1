import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** GET /openapi.json: the OpenAPI document @fastify/swagger builds from every route's schema. */
export const docsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
