import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { listBenches, listQuarantine } from '../bench-status.js';
import { verifyChain } from '../chain-verify.js';
import type { HubDeps } from '../hub-context.js';

export const BenchParams = Type.Object({ site: Type.String({ minLength: 1, maxLength: 64 }), bench: Type.String({ minLength: 1, maxLength: 64 }) });

export const QuarantineQuery = Type.Object(
  {
    site: Type.Optional(Type.String({ maxLength: 64 })),
    bench: Type.Optional(Type.String({ maxLength: 64 })),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  },
  { additionalProperties: false },
);

/**
 * GET /benches (every (site, bench): merged head, quarantined and waiting counts, why its chain
 * stopped), GET /benches/:site/:bench/verify (its whole merged chain re-verified in order against
 * the pinned keys) and GET /quarantine (what was refused, and why).
 */
export const benchRoutes: FastifyPluginAsyncTypebox<Pick<HubDeps, 'pool' | 'trust'>> = async (app, { pool, trust }) => {
  app.get('/benches', async () => ({ benches: await listBenches(pool) }));

  app.get('/benches/:site/:bench/verify', { schema: { params: BenchParams } }, async (req, reply) => {
    const { site, bench } = req.params;
    const known = await listBenches(pool, { site, benchId: bench });
    if (known.length === 0) return reply.code(404).send({ error: 'not-found', message: `no bench ${bench} of site ${site} in the central store` });
    return verifyChain(pool, trust, site, bench);
  });

  app.get('/quarantine', { schema: { querystring: QuarantineQuery } }, async (req) => {
    const q = req.query;
    const { total, items } = await listQuarantine(pool, { site: q.site, benchId: q.bench, limit: q.limit, offset: q.offset });
    return { total, limit: q.limit, offset: q.offset, items };
  });
};
