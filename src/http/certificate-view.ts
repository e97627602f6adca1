import type { Connector, Evaluation, FiberResult, PolarityResult, TestRecord } from '../evaluation/index.js';
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

/** One colour per outcome, the same on the page and in the PDF. */
export const OUTCOME_COLOUR: Readonly<Record<string, string>> = { PASS: '#1b7f3b', MARGINAL: '#a66300', FAIL: '#b3261e', INVALID: '#5b2c83' };

/** The product as the certificate's subject describes it: fibers, connectors, a link's budget, polarity. */
export function describeSubject(d: TestRecord): string {
  const end = (x: Connector): string => `${x.family} ${x.gender === 'male' ? 'male (pinned)' : 'female (unpinned)'}`;
  const parts = [`${d.fiberCount}-fiber ${d.fiberType}`];
  if (d.connectors) parts.push(`end A ${end(d.connectors.A)}, end B ${end(d.connectors.B)}`);
  if (d.kind === 'link') parts.push(`${d.lengthM} m, ${d.connections} connections, ${d.splices} splices${d.application ? `, ${d.application}` : ''}`);
  const pol = d.polarity?.declared;
  if (pol) parts.push(`polarity ${pol}`);
  return parts.join('; ');
}

/** Which ends the certificate covers, and an end certified elsewhere, said on its face. */
export function endsLine(ev: Evaluation): string {
  const ends = ev.ends;
  if (!ends) return 'A';
  const elsewhere = ends.certifiedElsewhere ? `; end ${ends.certifiedElsewhere.end} is NOT covered here: certified elsewhere (${ends.certifiedElsewhere.note})` : '';
  return `${ends.certified.join(' and ')}${elsewhere}`;
}

/** The reference cords the evaluation relied on, one line each (none: an empty list). */
export function referenceCordLines(ev: Evaluation): string[] {
  return (ev.setup?.verifications ?? []).map(
    (v) => `${v.cordId}: verification ${v.verificationId} of ${v.at} against ${v.against}, highest loss ${fmtDb(v.maxLossDb)} dB (reference grade ≤ ${fmtDb(v.limitDb)} dB), ${v.matingsSince} matings since`,
  );
}

/** How the limits were formed, each once, in the order the rows first use them. */
export function limitBasisLines(rows: readonly FiberRow[]): string[] {
  return [...new Set(rows.map((r) => r.basis))];
}

/** One row per judged quantity, wavelength and end (the first fiber's): the table's columns and the limits line. */
export function judgedColumns(rows: readonly FiberRow[]): FiberRow[] {
  return [...new Map(rows.map((r) => [`${r.quantity}|${r.wavelengthNm}|${r.end}`, r])).values()];
}

/** "insertion loss ≤ 0.60 dB, …": the limits a reader checks the values against. */
export function limitsLine(rows: readonly FiberRow[]): string {
  return [...new Set(judgedColumns(rows).map((c) => `${c.quantity} ${c.limitKind === 'max' ? '≤' : '≥'} ${fmtDb(c.limitDb)} dB`))].join(', ');
}

/** Each position whose measured polarity differs from the declared one, one line each. */
export function polarityDifferenceLines(pol: PolarityResult): string[] {
  return (pol.differencesFromDeclared ?? []).map((x) => `position ${x.position}: expected ${x.expected}, measured ${x.measured ?? 'dark'} (${x.kind})`);
}
