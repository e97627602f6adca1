import type { Db } from './database.js';

/** One bench reference: the power each fiber delivered through the launch cord alone. */
export interface StoredReference<T = unknown> {
  id: number;
  benchId: string;
  takenAt: string;
  body: T;
}

export class ReferenceStore {
  constructor(private readonly db: Db) {}

  save<T>(benchId: string, takenAt: string, body: T): StoredReference<T> {
    const info = this.db
      .prepare('INSERT INTO bench_references (bench_id, taken_at, body) VALUES (?, ?, ?)')
      .run(benchId, takenAt, JSON.stringify(body));
    return { id: Number(info.lastInsertRowid), benchId, takenAt, body };
  }

  /**
   * The newest of the bench's last `scan` references whose body `matches` (e.g. the same method,
   * launch cord and channels), so a comparison is never made with a reference of another setup.
   */
  latestMatching<T>(benchId: string, matches: (body: T) => boolean, scan = 500): StoredReference<T> | undefined {
    const rows = this.db
      .prepare('SELECT id, bench_id, taken_at, body FROM bench_references WHERE bench_id = ? ORDER BY id DESC LIMIT ?')
      .all(benchId, scan) as { id: number; bench_id: string; taken_at: string; body: string }[];
    for (const row of rows) {
      const body = JSON.parse(row.body) as T;
      if (matches(body)) return { id: row.id, benchId: row.bench_id, takenAt: row.taken_at, body };
    }
    return undefined;
  }

  latest<T>(benchId: string): StoredReference<T> | undefined {
    const row = this.db
      .prepare('SELECT id, bench_id, taken_at, body FROM bench_references WHERE bench_id = ? ORDER BY id DESC LIMIT 1')
      .get(benchId) as { id: number; bench_id: string; taken_at: string; body: string } | undefined;
    return row && { id: row.id, benchId: row.bench_id, takenAt: row.taken_at, body: JSON.parse(row.body) as T };
  }
}
