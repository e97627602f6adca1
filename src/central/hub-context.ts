import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { LimitLibrary } from '../evaluation/index.js';
import type { CentralTrust } from './merge.js';

/** What the hub's routes use: the central database, QA's pinned keys, the limit library, the token. */
export interface HubDeps {
  pool: Pool;
  trust: CentralTrust;
  /** Shipped limit sets and the config's `limits.userDir`: what a re-judgement may name. */
  library: LimitLibrary;
  token: string;
  logger: Logger;
  /** What the merge loop has done (for /healthz); absent when no loop runs (a test). */
  merging?: { readonly totals: { merges: number; merged: number; quarantined: number; lastMergeAt: string | null; lastError: string | null } };
}
