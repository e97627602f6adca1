import type { Db } from './database.js';

export interface CordWear {
  cordId: string;
  matingCount: number;
  reverifiedAtMatingCount: number | null;
  reverifiedAt: string | null;
  reverifiedBy: string | null;
}

interface Row {
  cord_id: string;
  mating_count: number;
  reverified_at_mating_count: number | null;
  reverified_at: string | null;
  reverified_by: string | null;
}

const fromRow = (r: Row): CordWear => ({
  cordId: r.cord_id,
  matingCount: r.mating_count,
  reverifiedAtMatingCount: r.reverified_at_mating_count,
  reverifiedAt: r.reverified_at,
  reverifiedBy: r.reverified_by,
});

/** Mating counts of test cords and bench ports; a cord never seen has mated 0 times. */
export class CordStore {
  constructor(private readonly db: Db) {}

  get(cordId: string): CordWear {
    const row = this.db.prepare('SELECT * FROM cord_matings WHERE cord_id = ?').get(cordId) as Row | undefined;
    return row ? fromRow(row) : { cordId, matingCount: 0, reverifiedAtMatingCount: null, reverifiedAt: null, reverifiedBy: null };
  }

  /** Adds one mating to each cord. Call inside the transaction that records the job. */
  addMating(cordIds: readonly string[], at: string): void {
    const stmt = this.db.prepare(
      `INSERT INTO cord_matings (cord_id, mating_count, updated_at) VALUES (?, 1, ?)
       ON CONFLICT (cord_id) DO UPDATE SET mating_count = mating_count + 1, updated_at = excluded.updated_at`,
    );
    for (const id of cordIds) stmt.run(id, at);
  }

  /** Records that a person re-verified the cord (e.g. against a reference-grade cord): wear restarts. */
  reverify(cordId: string, by: string, at: string): CordWear {
    this.db
      .prepare(
        `INSERT INTO cord_matings (cord_id, mating_count, reverified_at_mating_count, reverified_at, reverified_by, updated_at)
         VALUES (@id, 0, 0, @at, @by, @at)
         ON CONFLICT (cord_id) DO UPDATE SET reverified_at_mating_count = mating_count, reverified_at = @at, reverified_by = @by, updated_at = @at`,
      )
      .run({ id: cordId, at, by });
    return this.get(cordId);
  }
}
