import type { Db } from './database.js';

export interface CordWear {
  cordId: string;
  matingCount: number;
}

/** A test cord verified by the bench against its reference plug, per fiber and wavelength. */
export interface CordVerificationRecord {
  id: string;
  benchId: string;
  cordId: string;
  at: string;
  /** The cord's mating count once the plug was mated (wear and validity count from here). */
  matingCount: number;
  /** The reference-grade plug it was mated to. */
  against: string;
  by: string;
  wavelengthsNm: number[];
  /** Loss per wavelength (key nm) per fiber (index 0 = fiber 1), dB; null where no light came through. */
  lossDb: Record<string, (number | null)[]>;
  /** The highest per-fiber loss (a fiber without light counts as infinite: the verification fails). */
  maxLossDb: number;
  /** The lowest (a negative one is a reference error). */
  minLossDb: number;
}

/** Mating counts of test cords and bench ports (a cord never seen has mated 0 times), and their verifications. */
export class CordStore {
  constructor(private readonly db: Db) {}

  get(cordId: string): CordWear {
    const row = this.db.prepare('SELECT mating_count FROM cord_matings WHERE cord_id = ?').get(cordId) as { mating_count: number } | undefined;
    return { cordId, matingCount: row?.mating_count ?? 0 };
  }

  /** Adds one mating to each cord. Call inside the transaction that records the job. */
  addMating(cordIds: readonly string[], at: string): void {
    const stmt = this.db.prepare(
      `INSERT INTO cord_matings (cord_id, mating_count, updated_at) VALUES (?, 1, ?)
       ON CONFLICT (cord_id) DO UPDATE SET mating_count = mating_count + 1, updated_at = excluded.updated_at`,
    );
    for (const id of cordIds) stmt.run(id, at);
  }

  /** Stores a verification; mating the plug counts as one mating of the cord (in the same transaction). */
  saveVerification(v: Omit<CordVerificationRecord, 'matingCount'>): CordVerificationRecord {
    return this.db.transaction(() => {
      this.addMating([v.cordId], v.at);
      const record: CordVerificationRecord = { ...v, matingCount: this.get(v.cordId).matingCount };
      this.db
        .prepare('INSERT INTO cord_verifications (id, bench_id, cord_id, at, mating_count, against, by, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(record.id, record.benchId, record.cordId, record.at, record.matingCount, record.against, record.by, JSON.stringify(record));
      return record;
    })();
  }

  /** The newest verification of a cord made on a given bench. */
  latestVerification(cordId: string, benchId: string): CordVerificationRecord | undefined {
    const row = this.db
      .prepare('SELECT body FROM cord_verifications WHERE cord_id = ? AND bench_id = ? ORDER BY at DESC, rowid DESC LIMIT 1')
      .get(cordId, benchId) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as CordVerificationRecord) : undefined;
  }
}
