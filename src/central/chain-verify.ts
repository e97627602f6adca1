import type { Pool } from 'pg';
import { columnsOf, verifyRow, type CentralRowWithBody } from './certificate-rows.js';
import type { CentralTrust } from './merge.js';

export interface ChainProblem {
  benchSequence: number;
  uuid: string | null;
  problem: string;
  detail: string;
}

export interface ChainVerification {
  site: string;
  benchId: string;
  /** Certificates read and verified. */
  checked: number;
  valid: boolean;
  /** Every problem found, the first MAX_LISTED of them listed. */
  problemCount: number;
  problems: ChainProblem[];
  /** The merged head the hub recorded for this bench (null: none). */
  head: { sequence: number; hash: string | null } | null;
  seconds: number;
  perSecond: number;
}

const MAX_LISTED = 1000;
const BATCH = 500;

/**
 * Re-verifies a bench's whole merged chain, in order, against QA's pinned keys for its site: each
 * certificate's content against its hash, its signature by a pinned key (not one rotated away
 * before it signed), its columns against its signed body, its link to the certificate before it;
 * the sequences run 1, 2, 3... without a gap; the last one is the head the merge recorded. Reads
 * 500 at a time (memory stays flat at any chain length).
 */
export async function verifyChain(pool: Pool, trust: CentralTrust, site: string, benchId: string): Promise<ChainVerification> {
  const started = performance.now();
  const problems: ChainProblem[] = [];
  let problemCount = 0;
  const report = (p: ChainProblem): void => {
    problemCount++;
    if (problems.length < MAX_LISTED) problems.push(p);
  };
  const headRow = (await pool.query<{ seq: string; hash: Buffer }>('SELECT seq, hash FROM bench_heads WHERE site = $1 AND bench_id = $2', [site, benchId])).rows[0];
  const head = headRow ? { sequence: Number(headRow.seq), hash: headRow.hash.length === 0 ? null : headRow.hash.toString('hex') } : null;

  let checked = 0;
  let lastSeq = 0;
  let lastHash: string | null = null;
  let lastUuid: string | null = null;
  for (;;) {
    const rows = (
      await pool.query<CentralRowWithBody>(
        `SELECT ${columnsOf('c')}, c.body, NULL::bytea AS merged_prev_hash FROM certificates c WHERE c.site = $1 AND c.bench_id = $2 AND c.bench_seq > $3 ORDER BY c.bench_seq LIMIT $4`,
        [site, benchId, lastSeq, BATCH],
      )
    ).rows;
    if (rows.length === 0) break;
    for (const row of rows) {
      const seq = Number(row.bench_seq);
      if (seq !== lastSeq + 1) {
        const many = seq - lastSeq > 2;
        report({
          benchSequence: lastSeq + 1,
          uuid: null,
          problem: 'missing',
          detail: `sequence${many ? 's' : ''} ${lastSeq + 1}${many ? `-${seq - 1}` : ''} of bench ${benchId} (${site}) ${many ? 'are' : 'is'} not in the central store: removed after it was merged`,
        });
      }
      // The link is checked against the certificate read just before it: after a gap, against none.
      const integrity = verifyRow(row, trust, seq === lastSeq + 1 ? lastHash : null);
      for (const p of integrity.problems) report({ benchSequence: seq, uuid: row.uuid, problem: p.problem, detail: p.detail });
      checked++;
      lastSeq = seq;
      lastHash = row.hash.toString('hex');
      lastUuid = row.uuid;
    }
  }
  if (head && head.sequence !== lastSeq) {
    report({
      benchSequence: head.sequence,
      uuid: null,
      problem: 'missing',
      detail: `the merge recorded bench ${benchId} (${site}) up to sequence ${head.sequence}; the central store holds it up to ${lastSeq}: certificates were removed after they were merged`,
    });
  } else if (head && head.hash !== null && lastHash !== null && head.hash !== lastHash) {
    report({ benchSequence: lastSeq, uuid: lastUuid, problem: 'chain', detail: `the merge recorded head hash ${head.hash} for sequence ${head.sequence}; the certificate there has ${lastHash}: it was replaced` });
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    site,
    benchId,
    checked,
    valid: problemCount === 0,
    problemCount,
    problems,
    head,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: seconds > 0 ? Math.round(checked / seconds) : checked,
  };
}
