import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { HttpDeps } from '../context.js';
import * as S from '../schemas.js';

/** GET /signing-keys: the trusted keys (from the trusted keys file, never from the database), with how each came to be trusted. */
export const signingKeyRoutes: FastifyPluginAsyncTypebox<Pick<HttpDeps, 'certificates'>> = async (app, { certificates }) => {
  app.get('/signing-keys', { schema: { response: { 200: S.SigningKeys } } }, async () => ({ keys: certificates.trustedKeys() }));
};
