import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

/** Installer projects (placeholder: filled in by the projects work). */
export const projectRoutes: FastifyPluginAsyncTypebox = async () => {};
