import type { Pool } from 'pg';
import { columnsOf, withBodies, type CentralRowWithBody } from './certificate-rows.js';

/**
 * QA's search over every merged certificate, all sites and benches: one filter, turned into one
 * WHERE clause, for the API, the pages, the export and the re-judge selection. Each condition is
 * answered by an index (schema.ts migrations 1 and 2): serial, link and project with their issue
 * times, verdict with issue time, bench, limit set, site through the unique (site, bench_id,
 * bench_seq) index, a date range (and the newest first) through the issue-time index.
 */
export interface CentralFilter {
  serial?: string | undefined;
  linkId?: string | undefined;
  projectId?: string | undefined;
  verdict?: string | undefined;
  benchId?: string | undefined;
  site?: string | undefined;
  limitSetId?: string | undefined;
  /** Issued at or after (ISO date or date-time, UTC). */
  issuedFrom?: string | undefined;
  /** Issued before (exclusive). */
  issuedTo?: string | undefined;
}

/** Issue times are stored as the bench wrote them (ISO, `T`, UTC): a bound with a space compares as one with a `T`. */
const isoBound = (v: string): string => v.replace(' ', 'T');

export function whereOf(f: CentralFilter, params: unknown[] = []): { clause: string; params: unknown[] } {
  const where: string[] = [];
  const add = (sql: string, value: string | undefined): void => {
    if (value === undefined) return;
    params.push(value);
    where.push(sql.replace('?', `$${params.length}`));
  };
  add('serial = ?', f.serial);
  add('link_id = ?', f.linkId);
  add('project_id = ?', f.projectId);
  add('verdict = ?', f.verdict);
  add('bench_id = ?', f.benchId);
  add('site = ?', f.site);
  add('limit_set_id = ?', f.limitSetId);
  add('issued_at >= ?', f.issuedFrom === undefined ? undefined : isoBound(f.issuedFrom));
  add('issued_at < ?', f.issuedTo === undefined ? undefined : isoBound(f.issuedTo));
  return { clause: where.length ? `WHERE ${where.join(' AND ')}` : '', params };
}

/** Newest first; ties (the same millisecond) in chain order. */
export const NEWEST_FIRST = 'ORDER BY issued_at DESC, site, bench_id, bench_seq DESC';
const NEWEST_FIRST_C = 'ORDER BY c.issued_at DESC, c.site, c.bench_id, c.bench_seq DESC';

/**
 * The order of a search's results, newest first. Within one bench (site and bench both given) that
 * is chain order, which the merge keeps in time order (issue times never go back in a chain): read
 * backwards from the unique (site, bench, sequence) index instead of sorting the bench's whole
 * history by issue time (227 ms at 1,000,000 certificates, 10,000 a bench; benchmarks/central.ts).
 */
function newestFirst(f: CentralFilter, alias = ''): string {
  if (f.site !== undefined && f.benchId !== undefined) return `ORDER BY ${alias}bench_seq DESC`;
  return alias === '' ? NEWEST_FIRST : NEWEST_FIRST_C;
}

export async function countMatching(pool: Pool, f: CentralFilter): Promise<number> {
  const { clause, params } = whereOf(f);
  const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM certificates ${clause}`, params);
  return Number(r.rows[0]!.n);
}

/** One page of matches, newest first, each with its body and predecessor hash (to verify it). */
export async function searchPage(pool: Pool, f: CentralFilter, limit: number, offset: number): Promise<{ total: number; rows: CentralRowWithBody[] }> {
  const { clause, params } = whereOf(f);
  const inner = `SELECT ${columnsOf('certificates')}, certificates.body FROM certificates ${clause} ${newestFirst(f)} LIMIT $${params.length + 1} OFFSET $${params.length + 2}`;
  const [total, page] = await Promise.all([countMatching(pool, f), pool.query<CentralRowWithBody>(`${withBodies(inner)} ${newestFirst(f, 'c.')}`, [...params, limit, offset])]);
  return { total, rows: page.rows };
}

/** The uuids of every match, newest first (an export or a re-judge fixes its selection first). */
export async function matchingUuids(pool: Pool, f: CentralFilter, cap: number): Promise<string[]> {
  const { clause, params } = whereOf(f);
  const r = await pool.query<{ uuid: string }>(`SELECT uuid FROM certificates ${clause} ${newestFirst(f)} LIMIT $${params.length + 1}`, [...params, cap]);
  return r.rows.map((x) => x.uuid);
}

/** These certificates with bodies and predecessor hashes, in the order given (missing ones left out). */
export async function rowsByUuid(pool: Pool, uuids: readonly string[]): Promise<CentralRowWithBody[]> {
  if (uuids.length === 0) return [];
  const r = await pool.query<CentralRowWithBody>(withBodies(`SELECT ${columnsOf('certificates')}, certificates.body FROM certificates WHERE uuid = ANY($1::uuid[])`), [uuids]);
  const byUuid = new Map(r.rows.map((row) => [row.uuid, row]));
  return uuids.flatMap((u) => byUuid.get(u) ?? []);
}

/** Reads a list of uuids in batches, as an async sequence (memory stays flat for an export of 10,000). */
export async function* rowsInBatches(pool: Pool, uuids: readonly string[], size = 100): AsyncGenerator<{ uuid: string; row: CentralRowWithBody | undefined }> {
  for (let i = 0; i < uuids.length; i += size) {
    const batch = uuids.slice(i, i + size);
    const rows = new Map((await rowsByUuid(pool, batch)).map((r) => [r.uuid, r]));
    for (const uuid of batch) yield { uuid, row: rows.get(uuid) };
  }
}
