import type { Evaluation, FiberResult } from '../evaluation/index.js';
import type { StoredCertificate } from '../store/certificate-store.js';

/**
 * The per-fiber rows every human-facing rendering (HTML, CSV, CLI) shows, taken from the stored
 * evaluation: one place decides what a row is, so the page and the CSV never disagree.
 */
export interface FiberRow {
  fiber: number;
  wavelengthNm: number;
  end: string;
  quantity: string;
  valueDb: number | null;
  limitDb: number;
  limitKind: 'max' | 'min';
  marginDb: number | null;
  outcome: string;
  reason: string;
  /** How the limit was formed (e.g. "end A grade MTP 0.60 dB"): QA must see it. */
  basis: string;
  /** A link with an application: channel loss minus the value. */
  headroomDb: number | null;
}

export function evaluationOf(cert: StoredCertificate): Evaluation {
  return cert.document.evaluation;
}

export function fiberRows(fibers: readonly FiberResult[]): FiberRow[] {
  return fibers.flatMap((f) =>
    f.judgments.map((j) => ({
      fiber: f.fiber,
      wavelengthNm: j.wavelengthNm,
      end: j.end,
      quantity: j.quantity === 'insertionLoss' ? 'insertion loss' : 'return loss',
      valueDb: j.value,
      limitDb: j.limit,
      limitKind: j.limitKind,
      marginDb: j.margin,
      outcome: j.outcome,
      reason: j.reason ?? '',
      basis: j.basis,
      headroomDb: j.headroomDb ?? null,
    })),
  );
}

export const fmtDb = (v: number | null): string => (v === null ? '—' : v.toFixed(2));
