import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './database.js';

export type Role = 'operator' | 'qa' | 'admin';

/** Who is asking, once their token is known. */
export interface Principal {
  readonly name: string;
  readonly role: Role;
  /** Benches an operator may reference and certify on; '*' for all. */
  readonly benches: readonly string[] | '*';
  /** The config's shared token: nobody in particular. */
  readonly shared: boolean;
}

export interface UserRow {
  name: string;
  role: Role;
  benches: string[] | '*';
  createdAt: string;
  disabledAt: string | null;
}

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * People and their roles. A token is 32 random bytes shown once when the user is added; only its
 * SHA-256 is stored (a random token needs no slow hash), so the database never holds a usable one.
 */
export class UserStore {
  constructor(private readonly db: Db) {}

  add(name: string, role: Role, benches: readonly string[] | '*', at: string): { user: UserRow; token: string } {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/.test(name)) throw new Error(`user name "${name}": letters, digits and _ . @ - only, at most 64`);
    const token = `mpc_${randomBytes(32).toString('base64url')}`;
    this.db
      .prepare('INSERT INTO users (name, role, benches, token_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(name, role, JSON.stringify(benches), hashToken(token), at);
    return { user: { name, role, benches: benches === '*' ? '*' : [...benches], createdAt: at, disabledAt: null }, token };
  }

  disable(name: string, at: string): boolean {
    return this.db.prepare('UPDATE users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL').run(at, name).changes === 1;
  }

  list(): UserRow[] {
    return (this.db.prepare('SELECT name, role, benches, created_at, disabled_at FROM users ORDER BY name').all() as { name: string; role: Role; benches: string; created_at: string; disabled_at: string | null }[]).map(
      (r) => ({ name: r.name, role: r.role, benches: JSON.parse(r.benches) as string[] | '*', createdAt: r.created_at, disabledAt: r.disabled_at }),
    );
  }

  /** Whether anyone has been given their own token (active or not). */
  hasUsers(): boolean {
    return this.db.prepare('SELECT 1 FROM users LIMIT 1').get() !== undefined;
  }

  /** The active user holding this token, or undefined. */
  authenticate(token: string): Principal | undefined {
    return this.authenticateHash(hashToken(token));
  }

  /**
   * The active user whose token has this SHA-256 (a console session keeps the hash, never the
   * token, and asks again on every request: a disabled person's session stops at once).
   */
  authenticateHash(tokenHash: string): Principal | undefined {
    const r = this.db.prepare('SELECT name, role, benches FROM users WHERE token_hash = ? AND disabled_at IS NULL').get(tokenHash) as
      | { name: string; role: Role; benches: string }
      | undefined;
    return r ? { name: r.name, role: r.role, benches: JSON.parse(r.benches) as string[] | '*', shared: false } : undefined;
  }
}

/** Whether a principal may act on a bench (reference, certify, confirm). */
export function mayOperate(p: Principal, benchId: string): boolean {
  if (p.role === 'admin') return true;
  if (p.role !== 'operator') return false;
  return p.benches === '*' || p.benches.includes(benchId);
}
