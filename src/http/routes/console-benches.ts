import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Auth } from '../auth.js';
import type { HttpDeps } from '../context.js';

type Options = Pick<HttpDeps, 'benches' | 'runner' | 'jobEvents' | 'cords' | 'certificates' | 'referenceMaxAgeMs'> & { auth: Auth };

/** The bench operator's console: the benches overview, each bench's page, live events. */
export const consoleBenchRoutes: FastifyPluginAsyncTypebox<Options> = async () => {};
