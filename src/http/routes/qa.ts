import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** QA search and export (placeholder: filled in by the QA work). */
export const qaRoutes: FastifyPluginAsyncTypebox = async () => {};
