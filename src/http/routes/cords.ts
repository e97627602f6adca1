import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HttpDeps } from '../context.js';
import * as S from '../schemas.js';

/** GET /benches/:id/cords: the bench's test cords, their wear and their latest verification on this bench. */
export const cordRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'benches' | 'cords'>> = async (app, { benches, cords }) => {
  app.get('/benches/:id/cords', { schema: { params: S.BenchIdParam, response: { 200: S.CordList, 404: S.ErrorReply } } }, async (req, reply) => {
    const bench = benches.get(req.params.id);
    if (!bench) return reply.code(404).send({ error: 'not-found', message: `no bench ${req.params.id}` });
    const c = bench.config.testCords;
    const roles = [['launchCord', c.launchCord], ['receiveCord', c.receiveCord], ['benchPort', c.benchPort]] as const;
    return {
      cords: roles
        .filter(([, cord]) => cord !== undefined)
        .map(([role, cord]) => {
          const v = cords.latestVerification(cord!.id, bench.id);
          return {
            role,
            ...cords.get(cord!.id),
            connector: cord!.connector,
            verification: v ? { ...v, maxLossDb: Number.isFinite(v.maxLossDb) ? v.maxLossDb : null } : null,
          };
        }),
    };
  });
};
