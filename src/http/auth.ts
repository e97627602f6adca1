import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { InputError, JobRefusedError } from '../errors.js';
import { hashToken, mayOperate, type Principal, type UserStore } from '../store/user-store.js';
import { CONSOLE_HEADER, ConsoleSessions, cookieValue, SESSION_COOKIE, type ConsoleSession } from './sessions.js';

/**
 * Who may write, in one place: every route that changes something takes `requireToken` as its
 * onRequest hook and asks `operatorOn` before it touches a bench. Reads need no token. A write
 * is authenticated by a bearer token (CLI, scripts) or by a console session (sessions.ts): the
 * cookie plus the console's header.
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
  /** The person a request's principal stands for: requireToken must have let it through. */
  principalOf(req: FastifyRequest): Principal;
  /** The operator name of the console session that authenticated this request, if it was one. */
  sessionOperator(req: FastifyRequest): string | undefined;
  /** The console session a request's cookie names (pages show who is signed in). */
  sessionOf(req: FastifyRequest): ConsoleSession | undefined;
  /**
   * Checks a token typed into the console's sign-in form and opens a session. With the shared
   * token the person names themself; once people have their own tokens, the shared one signs
   * nobody in (jobs would be recorded under a typed name).
   */
  signIn(token: string, name: string | undefined): { id: string; session: ConsoleSession };
  signOut(req: FastifyRequest): void;
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

type Users = Pick<UserStore, 'authenticate' | 'hasUsers'> & Partial<Pick<UserStore, 'authenticateHash'>>;

export function createAuth(sharedToken: string, users: Users, sessions = new ConsoleSessions()): Auth {
  // Filled by requireToken for the requests it let through; nothing else writes it.
  const principals = new WeakMap<FastifyRequest, Principal>();
  const sessionOperators = new WeakMap<FastifyRequest, string>();
  // A session is only as good as the credential behind it, asked again on every request: a
  // disabled person, a changed role or benches, or personal tokens issued since a shared-token
  // sign-in take effect at once, not 12 hours later.
  const sessionOf = (req: FastifyRequest): ConsoleSession | undefined => {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const s = sessions.get(id);
    if (!s || id === undefined) return undefined;
    if (s.tokenHash === null) {
      if (!users.hasUsers()) return s;
      sessions.end(id);
      return undefined;
    }
    const now = users.authenticateHash?.(s.tokenHash);
    if (!now) {
      sessions.end(id);
      return undefined;
    }
    return sessions.refresh(id, now);
  };
  const principalOf = (req: FastifyRequest): Principal => {
    const p = principals.get(req);
    if (!p) throw new Error(`${req.method} ${req.routeOptions.url ?? req.url} asks for a principal but does not take requireToken as its onRequest hook`);
    return p;
  };
  return {
    async requireToken(req, reply) {
      const token = bearerOf(req.headers.authorization);
      const principal = token === undefined ? undefined : tokenMatches(token, sharedToken) ? SHARED : users.authenticate(token);
      if (principal) {
        principals.set(req, principal);
        return undefined;
      }
      // No bearer token: a console session, if the request also carries the console's header.
      const session = token === undefined && req.headers[CONSOLE_HEADER] !== undefined ? sessionOf(req) : undefined;
      if (session) {
        principals.set(req, session.principal);
        sessionOperators.set(req, session.operator);
        return undefined;
      }
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', message: 'sign in (console) or send a valid bearer token: writes need a person\'s credentials' });
    },
    principalOf,
    sessionOperator: (req) => sessionOperators.get(req),
    sessionOf,
    signIn(token, name) {
      if (tokenMatches(token, sharedToken)) {
        if (users.hasUsers()) {
          throw new JobRefusedError('FORBIDDEN', 'people on this daemon have their own tokens (mpocert users add): sign in with yours, not the shared token');
        }
        if (name === undefined) throw new InputError('name: with the shared token, say who you are (jobs are recorded under this name)');
        return sessions.create(SHARED, name, null);
      }
      const p = users.authenticate(token);
      // One message for every wrong token: the form tells nobody which tokens exist.
      if (!p) throw new JobRefusedError('UNAUTHORIZED', 'that token signs nobody in (a person\'s token comes from `mpocert users add`)');
      return sessions.create(p, p.name, hashToken(token));
    },
    signOut(req) {
      sessions.end(cookieValue(req.headers.cookie, SESSION_COOKIE));
    },
    operatorOn(req, benchId) {
      const p = principalOf(req);
      if (!mayOperate(p, benchId)) {
        throw new JobRefusedError('FORBIDDEN', `${p.name} (${p.role}) may not reference or certify on bench "${benchId}"`, { bench: benchId });
      }
      return p;
    },
  };
}
