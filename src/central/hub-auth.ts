import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The hub's one credential: the config's token. Reads are open (as on a bench); a write
 * (re-judging) carries it as `Authorization: Bearer` (scripts) or types it into the page's form,
 * which sends it once in the POST body and never shows it again.
 */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  // Compared as digests: equal lengths, so the comparison takes the same time whatever was sent.
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(token).digest());
}

export const bearerOf = (header: string | undefined): string | undefined => /^Bearer (\S+)$/.exec(header ?? '')?.[1];

/** onRequest hook for API writes: 401 before the body is read, unless the bearer token is the hub's. */
export function requireBearer(token: string) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    if (tokenMatches(bearerOf(req.headers.authorization), token)) return undefined;
    return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: "send the hub's bearer token (http.token in its config): re-judging is a write" });
  };
}
