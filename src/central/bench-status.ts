import type { Pool } from 'pg';

/**
 * Every bench the central store has heard of, (site, bench id): how far its chain is merged, why
 * it stopped if it did, how many of its certificates were refused, how many wait in the inbox.
 */
export interface BenchStatus {
  site: string;
  benchId: string;
  /** The bench sequence of its newest merged certificate (0: none merged). */
  headSequence: number;
  headHash: string | null;
  /** Issue time of that certificate. */
  lastIssuedAt: string | null;
  quarantined: number;
  /** Certificates shipped and not merged yet (waiting for an earlier one, or for the next merge). */
  waiting: number;
  /**
   * Why nothing more of this bench merges: the certificate for its next sequence was refused
   * (its later ones link to it and wait); null while its chain merges.
   */
  broken: string | null;
}

export async function listBenches(pool: Pool, only?: { site: string; benchId: string }): Promise<BenchStatus[]> {
  const params: unknown[] = [];
  let filter = '';
  if (only) {
    params.push(only.site, only.benchId);
    filter = 'WHERE b.site = $1 AND b.bench_id = $2';
  }
  const r = await pool.query<{
    site: string;
    bench_id: string;
    seq: string | null;
    hash: Buffer | null;
    next_seq: string;
    refused: string | null;
    last_issued_at: string | null;
    quarantined: string;
    waiting: string;
  }>(
    `WITH b AS (
       SELECT site, bench_id FROM bench_heads
       UNION SELECT site, bench_id FROM quarantine WHERE bench_id IS NOT NULL
       UNION SELECT site, bench_id FROM inbox WHERE kind = 'certificate' AND bench_id IS NOT NULL
     )
     SELECT b.site, b.bench_id, h.seq, h.hash, COALESCE(h.seq, 0) + 1 AS next_seq,
       (SELECT q.problem FROM quarantine q WHERE q.kind = 'certificate' AND q.site = b.site AND q.bench_id = b.bench_id AND q.bench_seq = COALESCE(h.seq, 0) + 1 ORDER BY q.id DESC LIMIT 1) AS refused,
       (SELECT c.issued_at FROM certificates c WHERE c.site = b.site AND c.bench_id = b.bench_id AND c.bench_seq = h.seq) AS last_issued_at,
       (SELECT count(*) FROM quarantine q WHERE q.site = b.site AND q.bench_id = b.bench_id) AS quarantined,
       (SELECT count(*) FROM inbox i WHERE i.kind = 'certificate' AND i.site = b.site AND i.bench_id = b.bench_id) AS waiting
     FROM b LEFT JOIN bench_heads h ON h.site = b.site AND h.bench_id = b.bench_id
     ${filter}
     ORDER BY b.site, b.bench_id`,
    params,
  );
  return r.rows.map((x) => ({
    site: x.site,
    benchId: x.bench_id,
    headSequence: x.seq === null ? 0 : Number(x.seq),
    headHash: x.hash === null || x.hash.length === 0 ? null : x.hash.toString('hex'),
    lastIssuedAt: x.last_issued_at,
    quarantined: Number(x.quarantined),
    waiting: Number(x.waiting),
    broken: x.refused === null ? null : `sequence ${x.next_seq} was refused (${x.refused}): the bench's later certificates link to it and wait until a certificate for sequence ${x.next_seq} verifies`,
  }));
}

/** One shipment the merge refused (a row of the quarantine table): what it was, whose, and why. */
export interface QuarantinedShipment {
  id: number;
  kind: string;
  ref: string;
  site: string;
  benchId: string | null;
  benchSequence: number | null;
  problem: string;
}

/** The quarantine table's columns that make a QuarantinedShipment, as pg returns them. */
export type QuarantineRow = { id: string; kind: string; ref: string; site: string; bench_id: string | null; bench_seq: string | null; problem: string };

export function quarantinedShipment(q: QuarantineRow): QuarantinedShipment {
  return { id: Number(q.id), kind: q.kind, ref: q.ref, site: q.site, benchId: q.bench_id, benchSequence: q.bench_seq === null ? null : Number(q.bench_seq), problem: q.problem };
}

/** What was refused and why: newest first, optionally one site or bench. */
export interface QuarantineItem extends QuarantinedShipment {
  /** What the shipped fields claimed (not trusted: it was refused). */
  claimed: { serial: string | null; linkId: string | null; verdict: string | null; issuedAt: string | null };
  receivedAt: string;
  quarantinedAt: string;
}

export async function listQuarantine(pool: Pool, f: { site?: string | undefined; benchId?: string | undefined; limit: number; offset: number }): Promise<{ total: number; items: QuarantineItem[] }> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (f.site !== undefined) {
    params.push(f.site);
    where.push(`site = $${params.length}`);
  }
  if (f.benchId !== undefined) {
    params.push(f.benchId);
    where.push(`bench_id = $${params.length}`);
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const [count, page] = await Promise.all([
    pool.query<{ n: string }>(`SELECT count(*) AS n FROM quarantine ${clause}`, params),
    pool.query<QuarantineRow & { fields: Record<string, unknown>; received_at: Date; quarantined_at: Date }>(
      `SELECT id, kind, ref, site, bench_id, bench_seq, problem, fields, received_at, quarantined_at FROM quarantine ${clause} ORDER BY id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
      [...params, f.limit, f.offset],
    ),
  ]);
  const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  return {
    total: Number(count.rows[0]!.n),
    items: page.rows.map((q) => ({
      ...quarantinedShipment(q),
      claimed: { serial: text(q.fields.serial), linkId: text(q.fields.linkId), verdict: text(q.fields.verdict), issuedAt: text(q.fields.issuedAt) },
      receivedAt: q.received_at.toISOString(),
      quarantinedAt: q.quarantined_at.toISOString(),
    })),
  };
}
