import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { existsSync, readFileSync } from 'node:fs';
import type { HttpDeps } from '../context.js';

/** GET /checkpoints: the signed checkpoints, for QA to keep: with them, a removed certificate cannot go unnoticed. */
export const checkpointRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'custody'>> = async (app, { custody }) => {
  app.get('/checkpoints', { schema: { hide: false } }, async (_req, reply) => {
    const text = existsSync(custody.checkpoints.path) ? readFileSync(custody.checkpoints.path, 'utf8') : '';
    return reply.type('application/x-ndjson; charset=utf-8').send(text);
  });
};
