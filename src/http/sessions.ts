import { randomBytes } from 'node:crypto';
import type { Principal } from '../store/user-store.js';

/**
 * Console sign-ins. A person types their token once into the sign-in form; the daemon answers
 * with an opaque session id in an HttpOnly, SameSite=Strict cookie, so no page and no script ever
 * holds or shows the token. Sessions live in the daemon's memory only: a restart signs everyone
 * out, which is the safe direction (nothing about a session is worth persisting).
 */
export const SESSION_COOKIE = 'mpocert_session';
/**
 * Cookie-authenticated writes must carry this header. A cross-site form cannot set a custom
 * header, and a cross-site fetch with one needs a CORS pre-flight the daemon never grants: with
 * SameSite=Strict, a second wall against another page posting a job in the operator's name.
 */
export const CONSOLE_HEADER = 'x-mpocert-console';

/** A shift and a bit: a bench PC signed in at the start of a shift stays so until its end. */
export const SESSION_TTL_MS = 12 * 3_600_000;

export interface ConsoleSession {
  readonly principal: Principal;
  /** SHA-256 of the person's token (never the token): who they are is asked again on every request. Null for the shared token. */
  readonly tokenHash: string | null;
  /** Who runs jobs under this session: the person's own name, or the name given with the shared token. */
  readonly operator: string;
  readonly expiresAt: number;
}

export class ConsoleSessions {
  private readonly sessions = new Map<string, ConsoleSession>();

  constructor(private readonly now: () => number = Date.now) {}

  create(principal: Principal, operator: string, tokenHash: string | null): { id: string; session: ConsoleSession } {
    this.prune();
    const id = randomBytes(32).toString('base64url');
    const session = { principal, operator, tokenHash, expiresAt: this.now() + SESSION_TTL_MS };
    this.sessions.set(id, session);
    return { id, session };
  }

  get(id: string | undefined): ConsoleSession | undefined {
    if (id === undefined) return undefined;
    const s = this.sessions.get(id);
    if (s && s.expiresAt <= this.now()) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  /** The same session with who the person is now (role or benches changed since sign-in). */
  refresh(id: string, principal: Principal): ConsoleSession | undefined {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    const fresh = { ...s, principal };
    this.sessions.set(id, fresh);
    return fresh;
  }

  private prune(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expiresAt <= t) this.sessions.delete(id);
  }
}

/** The value of one cookie in a Cookie header (no library: one name, base64url values). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}`;
}
