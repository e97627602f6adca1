import type { Db } from './database.js';

export interface Acknowledgement {
  certificateId: number;
  problem: string;
  by: string;
  reason: string;
  at: string;
}

/**
 * QA's record that they have looked at a certificate that fails verification (a restored backup
 * missing certificates, a row someone edited). It lets the bench issue certificates again; it
 * never makes the certificate verify: `mpocert verify` still reports it, with the acknowledgement
 * beside it. Append-only, like the certificates.
 */
export class AcknowledgementStore {
  constructor(private readonly db: Db) {}

  add(a: Acknowledgement): void {
    this.db.prepare('INSERT INTO custody_acknowledgements (certificate_id, problem, by, reason, at) VALUES (?, ?, ?, ?, ?)').run(a.certificateId, a.problem, a.by, a.reason, a.at);
  }

  all(): Acknowledgement[] {
    return this.db
      .prepare('SELECT certificate_id AS certificateId, problem, by, reason, at FROM custody_acknowledgements ORDER BY rowid')
      .all() as Acknowledgement[];
  }

  /** Whether this problem of this certificate was acknowledged ('*' acknowledges every kind). */
  covers(certificateId: number, problem: string): boolean {
    return this.db.prepare("SELECT 1 FROM custody_acknowledgements WHERE certificate_id = ? AND problem IN (?, '*')").get(certificateId, problem) !== undefined;
  }
}
