import type { Pool } from 'pg';
import { compareWithPrevious, type DriftEntry } from '../evaluation/drift.js';
import { DEFAULT_DRIFT_THRESHOLD_DB, type Evaluation } from '../evaluation/index.js';
import { columnsOf, serve, withBodies, type CentralRowWithBody } from './certificate-rows.js';
import type { CentralTrust } from './merge.js';

/**
 * Drift across re-tests of one serial or link, whichever bench (and site) measured them: every
 * merged certificate of the subject, oldest first, and between each and the one before it the
 * change of every insertion loss (per fiber, wavelength and end), flagged beyond the threshold.
 * The engine's own comparison does it (evaluation/drift.ts), so a bench's drift and the hub's
 * agree. A certificate that fails verification as it is read takes no part: it is listed, excluded.
 */
export interface DriftCertificate {
  uuid: string;
  site: string;
  benchId: string;
  benchSequence: number;
  idOnBench: number;
  issuedAt: string;
  testedAt: string | null;
  verdict: string;
  limitSet: { id: string; version: string };
}

export interface DriftStep {
  from: { uuid: string; site: string; benchId: string; issuedAt: string };
  to: { uuid: string; site: string; benchId: string; issuedAt: string };
  /** Each insertion loss both certificates judged: previousDb (from), currentDb (to), changeDb = current - previous. */
  entries: DriftEntry[];
  flaggedCount: number;
  largestChangeDb: number | null;
}

export interface CentralDriftReport {
  subject: { kind: 'assembly' | 'link'; id: string };
  thresholdDb: number;
  certificates: DriftCertificate[];
  steps: DriftStep[];
  excluded: { uuid: string; site: string; benchId: string; benchSequence: number; problems: string[] }[];
  /** More certificates than one report holds: the oldest MAX_DRIFT_CERTIFICATES are compared. */
  truncated: boolean;
}

export const MAX_DRIFT_CERTIFICATES = 500;

export async function driftReport(
  pool: Pool,
  trust: CentralTrust,
  subject: { kind: 'assembly' | 'link'; id: string; projectId?: string | undefined },
  thresholdDb = DEFAULT_DRIFT_THRESHOLD_DB,
): Promise<CentralDriftReport> {
  const params: unknown[] = [subject.id];
  let where = subject.kind === 'assembly' ? 'serial = $1' : 'link_id = $1';
  if (subject.projectId !== undefined) {
    params.push(subject.projectId);
    where += ` AND project_id = $${params.length}`;
  }
  const rows = (
    await pool.query<CentralRowWithBody>(
      `${withBodies(`SELECT ${columnsOf('certificates')}, certificates.body FROM certificates WHERE ${where} ORDER BY issued_at, site, bench_id, bench_seq LIMIT ${MAX_DRIFT_CERTIFICATES + 1}`)}
       ORDER BY c.issued_at, c.site, c.bench_id, c.bench_seq`,
      params,
    )
  ).rows;
  const truncated = rows.length > MAX_DRIFT_CERTIFICATES;
  const certificates: DriftCertificate[] = [];
  const excluded: CentralDriftReport['excluded'] = [];
  const steps: DriftStep[] = [];
  const ref = { kind: subject.kind, id: subject.id };
  let previous: { cert: DriftCertificate; evaluation: Evaluation } | undefined;
  for (const row of rows.slice(0, MAX_DRIFT_CERTIFICATES)) {
    const served = serve(row, trust);
    const c = served.certificate;
    if (!served.integrity.valid || !c) {
      excluded.push({ uuid: row.uuid, site: row.site, benchId: row.bench_id, benchSequence: Number(row.bench_seq), problems: served.integrity.problems.map((p) => `${p.problem}: ${p.detail}`) });
      continue;
    }
    const evaluation = c.document.evaluation;
    const cert: DriftCertificate = {
      uuid: c.uuid,
      site: row.site,
      benchId: c.benchId,
      benchSequence: Number(row.bench_seq),
      idOnBench: c.id,
      issuedAt: c.issuedAt,
      testedAt: c.document.job?.testedAt ?? evaluation.testedAt ?? null,
      verdict: c.verdict,
      limitSet: { id: c.limitSetId, version: c.limitSetVersion },
    };
    certificates.push(cert);
    if (previous) {
      const d = compareWithPrevious(
        ref,
        evaluation.fibers,
        { subject: ref, limitSet: previous.cert.limitSet, ...(previous.cert.testedAt !== null ? { testedAt: previous.cert.testedAt } : {}), fibers: previous.evaluation.fibers },
        thresholdDb,
      );
      const at = (x: DriftCertificate) => ({ uuid: x.uuid, site: x.site, benchId: x.benchId, issuedAt: x.issuedAt });
      steps.push({ from: at(previous.cert), to: at(cert), entries: [...d.entries], flaggedCount: d.flaggedCount, largestChangeDb: d.largestChangeDb });
    }
    previous = { cert, evaluation };
  }
  return { subject: ref, thresholdDb, certificates, steps, excluded, truncated };
}
