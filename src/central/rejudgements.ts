import type { Pool } from 'pg';
import { InputError } from '../errors.js';
import type { LimitLibrary, LimitSetVersionRef } from '../evaluation/index.js';
import { serve } from './certificate-rows.js';
import type { CentralTrust } from './merge.js';
import { REJUDGE_ASSUMPTIONS, rejudgeDocument, type CertificateRejudgement } from './rejudge.js';
import { countMatching, matchingUuids, rowsInBatches, type CentralFilter } from './search.js';

/**
 * QA's re-judgements: a selection of merged certificates re-evaluated against another limit set
 * version (rejudge.ts), kept as a record of its own in `rejudgements`. The certificates are only
 * read. A certificate that fails verification as it is read is not re-judged: the report says so.
 */

/** The most certificates one re-judgement takes (about 1 ms each to judge twice; the report lists every one). */
export const REJUDGE_LIMIT = 5000;

export interface RejudgeRequest {
  filter: CentralFilter;
  /** The selection as QA gave it, kept with the record. */
  selection: Record<string, unknown>;
  /** Exactly these certificates instead of a search. */
  uuids?: readonly string[];
  target: LimitSetVersionRef;
  by: string;
}

export interface RejudgedCertificate extends Partial<CertificateRejudgement> {
  uuid: string;
  site: string;
  benchId: string;
  benchSequence: number;
  idOnBench: number;
  subject: { kind: string; id: string | null };
  issuedAt: string;
  limitSet: { id: string; version: string };
  /** Not re-judged: it failed verification as it was read. */
  skipped?: string;
}

export interface RejudgementSummary {
  certificates: number;
  rejudged: number;
  verdictChanged: number;
  judgmentsChanged: number;
  /** Certificates the new set could not judge. */
  errors: number;
  skipped: number;
  notReproduced: number;
  /** "PASS -> FAIL": how many. */
  transitions: Record<string, number>;
}

export interface RejudgementReport {
  kind: 'mpocert-rejudgement';
  limitSet: { id: string; version: string; title: string; origin: string; fileSha256: string };
  selection: Record<string, unknown>;
  assumptions: readonly string[];
  summary: RejudgementSummary;
  certificates: RejudgedCertificate[];
}

export interface Rejudgement {
  id: number;
  createdAt: string;
  createdBy: string;
  limitSet: { id: string; version: string };
  selection: Record<string, unknown>;
  report: RejudgementReport;
}

/** Gives the event loop back every 10 ms of judging: the hub keeps serving and merging. */
function pacer(): () => Promise<void> | undefined {
  let since = performance.now();
  return () => {
    if (performance.now() - since < 10) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        since = performance.now();
        resolve();
      }),
    );
  };
}

export async function runRejudgement(pool: Pool, trust: CentralTrust, library: LimitLibrary, req: RejudgeRequest): Promise<{ id: number; summary: RejudgementSummary }> {
  const set = library.find(req.target);
  if (!set) {
    throw new InputError(`limitSet: ${req.target.id}@${req.target.version} is not in the hub's limit library (${library.list().map((l) => `${l.id}@${l.version}`).join(', ')})`, { field: 'limitSet' });
  }
  let uuids: readonly string[];
  if (req.uuids) {
    uuids = [...new Set(req.uuids)];
    if (uuids.length === 0) throw new InputError('uuids: name at least one certificate', { field: 'uuids' });
    if (uuids.length > REJUDGE_LIMIT) throw new InputError(`uuids: ${uuids.length} certificates; a re-judgement takes at most ${REJUDGE_LIMIT.toLocaleString('en')}: re-judge them in parts`, { field: 'uuids' });
  } else {
    const total = await countMatching(pool, req.filter);
    if (total === 0) throw new InputError('no certificate matches the selection: nothing to re-judge');
    if (total > REJUDGE_LIMIT) {
      throw new InputError(`${total.toLocaleString('en')} certificates match; a re-judgement takes at most ${REJUDGE_LIMIT.toLocaleString('en')}: narrow the selection (a date range, a bench, a verdict) and re-judge in parts`);
    }
    uuids = await matchingUuids(pool, req.filter, REJUDGE_LIMIT);
  }

  const certificates: RejudgedCertificate[] = [];
  const summary: RejudgementSummary = { certificates: 0, rejudged: 0, verdictChanged: 0, judgmentsChanged: 0, errors: 0, skipped: 0, notReproduced: 0, transitions: {} };
  const pause = pacer();
  for await (const { uuid, row } of rowsInBatches(pool, uuids)) {
    await pause();
    if (!row) throw new InputError(`no certificate ${uuid} in the central store: nothing was re-judged`, { field: 'uuids' });
    const served = serve(row, trust);
    const base = {
      uuid,
      site: row.site,
      benchId: row.bench_id,
      benchSequence: Number(row.bench_seq),
      idOnBench: Number(row.id_on_bench),
      subject: { kind: row.subject_kind, id: row.serial ?? row.link_id },
      issuedAt: row.issued_at,
      limitSet: { id: row.limit_set_id, version: row.limit_set_version },
    };
    summary.certificates++;
    if (!served.integrity.valid || !served.certificate) {
      summary.skipped++;
      certificates.push({ ...base, skipped: `failed verification as it was read: ${served.integrity.problems.map((p) => `${p.problem}: ${p.detail}`).join('; ')}` });
      continue;
    }
    const r = rejudgeDocument(served.certificate.document, req.target, library);
    countRejudgement(summary, r);
    certificates.push({ ...base, ...r });
  }
  const report: RejudgementReport = {
    kind: 'mpocert-rejudgement',
    limitSet: { id: set.id, version: set.version, title: set.title, origin: set.origin, fileSha256: set.fileSha256 },
    selection: req.selection,
    assumptions: REJUDGE_ASSUMPTIONS,
    summary,
    certificates,
  };
  const inserted = await pool.query<{ id: string }>(
    'INSERT INTO rejudgements (created_by, limit_set_id, limit_set_version, selection, report) VALUES ($1, $2, $3, $4, $5) RETURNING id',
    [req.by, set.id, set.version, JSON.stringify(req.selection), JSON.stringify(report)],
  );
  return { id: Number(inserted.rows[0]!.id), summary };
}

export async function getRejudgement(pool: Pool, id: number): Promise<Rejudgement | undefined> {
  const r = await pool.query<{ id: string; created_at: Date; created_by: string; limit_set_id: string; limit_set_version: string; selection: Record<string, unknown>; report: RejudgementReport }>(
    'SELECT id, created_at, created_by, limit_set_id, limit_set_version, selection, report FROM rejudgements WHERE id = $1',
    [id],
  );
  const x = r.rows[0];
  if (!x) return undefined;
  return { id: Number(x.id), createdAt: x.created_at.toISOString(), createdBy: x.created_by, limitSet: { id: x.limit_set_id, version: x.limit_set_version }, selection: x.selection, report: x.report };
}

/** The newest re-judgements, without their per-certificate lists. */
export async function listRejudgements(pool: Pool, limit = 50): Promise<(Omit<Rejudgement, 'report'> & { summary: RejudgementSummary })[]> {
  const r = await pool.query<{ id: string; created_at: Date; created_by: string; limit_set_id: string; limit_set_version: string; selection: Record<string, unknown>; summary: RejudgementSummary }>(
    `SELECT id, created_at, created_by, limit_set_id, limit_set_version, selection, report->'summary' AS summary FROM rejudgements ORDER BY id DESC LIMIT $1`,
    [limit],
  );
  return r.rows.map((x) => ({ id: Number(x.id), createdAt: x.created_at.toISOString(), createdBy: x.created_by, limitSet: { id: x.limit_set_id, version: x.limit_set_version }, selection: x.selection, summary: x.summary }));
}

/**
 * Adds one certificate's re-judgement to the summary. One whose rebuilt record does not give its
 * stored evaluation back under its own limit set cannot say what the new limit set changes: its
 * differences stay listed with it, never counted as the limit set's effect.
 */
export function countRejudgement(summary: RejudgementSummary, r: Pick<CertificateRejudgement, 'error' | 'reproduced' | 'changes' | 'verdictChanged' | 'oldVerdict' | 'newVerdict'>): void {
  if (r.error !== undefined) summary.errors++;
  else summary.rejudged++;
  if (r.reproduced === false) {
    summary.notReproduced++;
    return;
  }
  summary.judgmentsChanged += r.changes.length;
  if (r.verdictChanged && r.newVerdict !== null) {
    summary.verdictChanged++;
    const t = `${r.oldVerdict} -> ${r.newVerdict}`;
    summary.transitions[t] = (summary.transitions[t] ?? 0) + 1;
  }
}
