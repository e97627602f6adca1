import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { JobRefusedError } from '../errors.js';
import { mayOperate, type Principal, type UserStore } from '../store/user-store.js';

/**
 * Who may write, in one place: every route that changes something takes `requireToken` as its
 * onRequest hook and asks `operatorOn` before it touches a bench. Reads need no token.
 */
export interface Auth {
  /**
   * onRequest, before the body is parsed or validated: an unauthenticated client learns nothing
   * about the schema. Returning the reply ends the request here (fastify's async-hook contract).
   * A token is the config's shared one or a person's (mpocert users add); the person is recorded.
   */
  requireToken(req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined>;
  /** The authenticated person, allowed to operate on this bench, or a 403 naming what is missing. */
  operatorOn(req: FastifyRequest, benchId: string): Principal;
}

/** The config's shared token: it may do everything, and certificates say it was nobody in particular. */
const SHARED: Principal = { name: 'shared-token', role: 'admin', benches: '*', shared: true };

function bearerOf(header: string | undefined): string | undefined {
  return /^Bearer (\S+)$/.exec(header ?? '')?.[1];
}

function tokenMatches(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function createAuth(sharedToken: string, users: Pick<UserStore, 'authenticate'>): Auth {
  // Filled by requireToken for the requests it let through; nothing else writes it.
  const principals = new WeakMap<FastifyRequest, Principal>();
  return {
    async requireToken(req, reply) {
      const token = bearerOf(req.headers.authorization);
      const principal = token === undefined ? undefined : tokenMatches(token, sharedToken) ? SHARED : users.authenticate(token);
      if (principal) {
        principals.set(req, principal);
        return undefined;
      }
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'a valid bearer token is required for writes' });
    },
    operatorOn(req, benchId) {
      const p = principals.get(req);
      if (!p) throw new Error(`${req.method} ${req.routeOptions.url ?? req.url} asks for an operator but does not take requireToken as its onRequest hook`);
      if (!mayOperate(p, benchId)) {
        throw new JobRefusedError('FORBIDDEN', `${p.name} (${p.role}) may not reference or certify on bench "${benchId}"`, { bench: benchId });
      }
      return p;
    },
  };
}
