import type { FiberType } from './record-schema.js';

/** A figure after loading: the `verify` marker travels with the value into every judgment. */
export interface Figure {
  readonly value: number;
  readonly verify: boolean;
  readonly note?: string;
}

export interface LimitSetVersionRef {
  readonly id: string;
  readonly version: string;
}

export interface ConnectorGrade {
  readonly id: string;
  readonly title?: string;
  readonly insertionLossDb: { readonly multimode?: Figure; readonly singlemode?: Figure };
  readonly insertionLossMeanDb: { readonly multimode?: Figure; readonly singlemode?: Figure };
  readonly returnLossDb: { readonly multimode?: Figure; readonly singlemodeUpc?: Figure; readonly singlemodeApc?: Figure };
  readonly ratedMatingCycles?: Figure;
  /** The set the grade's figures come from (an including set may inherit it). */
  readonly definedIn: LimitSetVersionRef;
}

export interface FiberAttenuation {
  readonly fiberTypes: readonly FiberType[];
  readonly wavelengthNm: number;
  readonly plant?: 'inside' | 'outside';
  readonly dbPerKm: Figure;
}

export interface ApplicationChannel {
  readonly channelLossDb: Figure;
  readonly reachM: Figure;
  readonly connectionLossDb?: Figure;
}

export interface Application {
  readonly id: string;
  readonly title?: string;
  readonly wavelengthNm?: number;
  readonly note?: string;
  readonly signal?: 'parallel' | 'duplex';
  readonly fiberCounts?: readonly (8 | 12 | 16 | 24)[];
  readonly testWavelengthsNm?: readonly number[];
  readonly channels: ReadonlyMap<string, ApplicationChannel>;
}

/** A limit set with its includes merged in: everything an evaluation needs, nothing to look up elsewhere. */
export interface LimitSet extends LimitSetVersionRef {
  readonly title: string;
  readonly source: string;
  readonly origin: 'shipped' | 'user';
  readonly file: string;
  /** SHA-256 of the file's bytes, so a certificate shows exactly which file judged it. */
  readonly fileSha256: string;
  /** Every set merged into this one, transitively, with exact versions. */
  readonly includes: readonly LimitSetVersionRef[];
  readonly familyGrades: { readonly MTP?: string; readonly MPO?: string };
  readonly connectorGrades: ReadonlyMap<string, ConnectorGrade>;
  readonly componentAllowances: {
    readonly matedPairDb?: Figure;
    readonly spliceDb?: Figure;
    /** Own entries first, then included ones: the first match wins. */
    readonly fiberAttenuation: readonly FiberAttenuation[];
  };
  readonly applications: ReadonlyMap<string, Application>;
  readonly referenceGradeCordLossDb: { readonly multimode?: Figure; readonly singlemode?: Figure };
}

export interface LimitSetSummary extends LimitSetVersionRef {
  readonly title: string;
  readonly origin: 'shipped' | 'user';
  readonly file: string;
  readonly fileSha256: string;
}

export interface LimitLibrary {
  /** The exact version when `version` is given (never a substitute), else the highest version of the id. */
  find(ref: { id: string; version?: string | undefined }): LimitSet | undefined;
  list(): readonly LimitSetSummary[];
}

/** Numeric, segment by segment: 1.10.0 is newer than 1.9.2. */
export function compareVersions(a: string, b: string): number {
  const as = a.split('.').map(Number);
  const bs = b.split('.').map(Number);
  for (let i = 0; i < Math.max(as.length, bs.length); i++) {
    const diff = (as[i] ?? 0) - (bs[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

export function formatRef(ref: LimitSetVersionRef): string {
  return `${ref.id}@${ref.version}`;
}
