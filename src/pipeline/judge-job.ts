import { InputError, JobRefusedError } from '../errors.js';
import type { BenchConfig, DaemonConfig } from '../config/schema.js';
import {
  assertSetupAccepted,
  checkSetup,
  evaluateRecord,
  fiberPositions,
  loadLimitLibrary,
  parseTestRecord,
  type Evaluation,
  type LimitLibrary,
  type PreviousCertificate,
  type Reading,
  type TestRecord,
} from '../evaluation/index.js';
import type { CertificateStore } from '../store/certificate-store.js';
import type { FiberReading } from './readings.js';

/**
 * What a job tests: a test record without readings (what the factory's product catalogue or the
 * request says), plus the id it is certified under.
 */
export interface JobSubject {
  kind: 'assembly' | 'link';
  id: string;
  fiberCount: number;
  /** Ferrule positions that carry fiber (8-fiber: 1-4 and 9-12). */
  positions: number[];
  wavelengthsNm: number[];
  template: TestRecord;
}

export interface JobRequestBody {
  bench: string;
  serial?: string;
  linkId?: string;
  product?: string;
  subject?: Record<string, unknown>;
}

export type SubjectRequestParser = (body: JobRequestBody) => JobSubject;

export interface Judged {
  verdict: string;
  limitSetId: string;
  limitSetVersion: string;
  evaluation: Evaluation;
}

export interface JobJudge {
  parseSubject: SubjectRequestParser;
  /** Refuses, before anything is measured, a setup the limits forbid (gender, worn cords). */
  checkRequest(subject: JobSubject, bench: BenchConfig): void;
  judge(input: { subject: JobSubject; readings: FiberReading[]; operator: string; testedAt: string }): Judged;
}

/**
 * The pipeline's one door to the evaluation engine: the same evaluateRecord that
 * `mpocert evaluate` runs, fed a record built from the bench's readings.
 */
export function createJobJudge(config: DaemonConfig, certificates: CertificateStore): JobJudge {
  const library: LimitLibrary = loadLimitLibrary({ userDir: config.limits.userDir });
  const products = validateProducts(config);

  const parseSubject: SubjectRequestParser = (body) => {
    const bench = config.benches.find((b) => b.id === body.bench);
    if (!bench) throw new JobRefusedError('UNKNOWN_BENCH', `no bench "${body.bench}"`, { bench: body.bench });
    if ((body.serial === undefined) === (body.linkId === undefined)) {
      throw new InputError('give exactly one of serial (an assembly) or linkId (an installed link)', { bench: body.bench });
    }
    let base: Record<string, unknown>;
    if (body.subject !== undefined) {
      base = body.subject;
    } else {
      const name = body.product ?? bench.defaultProduct;
      if (name === undefined) throw new InputError(`bench "${bench.id}" has no default product: name a product or give the subject inline`, { bench: bench.id });
      const product = products.get(name);
      if (!product) throw new InputError(`no product "${name}" in the config (have: ${[...products.keys()].join(', ') || 'none'})`, { product: name });
      base = product;
    }
    const idField = body.serial !== undefined ? { serialNumber: body.serial } : { linkId: body.linkId };
    assertDescribesOnly(base, body.subject !== undefined ? 'the job request' : 'the product');
    const template = parseTestRecord({ wavelengthsNm: bench.wavelengthsNm, ...base, ...idField, readings: [] });
    if ((template.kind === 'assembly') !== (body.serial !== undefined)) {
      throw new InputError(`a ${template.kind} is certified by ${template.kind === 'assembly' ? 'serial' : 'linkId'}`, { bench: bench.id });
    }
    return {
      kind: template.kind,
      id: template.kind === 'assembly' ? template.serialNumber : template.linkId,
      fiberCount: template.fiberCount,
      positions: [...fiberPositions(template.fiberCount)],
      wavelengthsNm: [...template.wavelengthsNm],
      template,
    };
  };

  return {
    parseSubject,
    checkRequest(subject, bench) {
      const maxPosition = Math.max(...subject.positions);
      if (maxPosition > bench.fiberCount) {
        throw new JobRefusedError('BENCH_TOO_SMALL', `bench "${bench.id}" fans out ${bench.fiberCount} fibers; the ${subject.kind} needs position ${maxPosition}`, {
          bench: bench.id,
        });
      }
      assertSetupAccepted(checkSetup(subject.template, library));
      // Forms every limit now (unknown application, grade without a figure, wavelength not for
      // this fiber type...), so such a job is refused before a cord is mated, not after a sweep.
      evaluateRecord(subject.template, library, { guardBandDb: config.evaluation.guardBandDb });
    },
    judge({ subject, readings, operator, testedAt }) {
      const record: TestRecord = {
        ...subject.template,
        operator,
        testedAt,
        readings: readings.map(toRecordReading),
        polarity: { ...subject.template.polarity, ...measuredMap(readings, subject) },
      };
      const previousCert = certificates.previousFor(
        subject.kind === 'assembly' ? { serial: subject.id, linkId: null } : { serial: null, linkId: subject.id },
      );
      const previous = previousCert ? previousFrom(previousCert.document) : undefined;
      const evaluation = evaluateRecord(record, library, {
        guardBandDb: config.evaluation.guardBandDb,
        driftThresholdDb: config.evaluation.driftThresholdDb,
        ...(previous ? { previous } : {}),
      });
      return { verdict: evaluation.verdict, limitSetId: evaluation.limitSet.id, limitSetVersion: evaluation.limitSet.version, evaluation };
    },
  };
}

/**
 * What only the bench can know is never taken from a job request or a product: the test cords
 * (they form the limit) come from the bench config, readings and the measured polarity map from
 * the instruments. Either supplied by a client could widen a limit or invent a polarity PASS.
 */
function assertDescribesOnly(subject: Record<string, unknown>, source: string): void {
  for (const field of ['setup', 'readings', 'testedAt', 'operator']) {
    if (field in subject) throw new InputError(`${source} may not set ${field}: the bench fills it in`);
  }
  if ((subject.polarity as { measuredMap?: unknown } | undefined)?.measuredMap !== undefined) {
    throw new InputError(`${source} may not set polarity.measuredMap: the bench measures it`);
  }
}

function validateProducts(config: DaemonConfig): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [name, product] of Object.entries(config.products)) {
    const placeholderId = product.kind === 'link' ? { linkId: 'config-check' } : { serialNumber: 'config-check' };
    try {
      assertDescribesOnly(product, 'a product');
      // A product without wavelengths takes its bench's at job time; check it with its class's own.
      const someWavelength = String(product.fiberType ?? '').startsWith('OS') ? [1310] : [850];
      parseTestRecord({ wavelengthsNm: someWavelength, ...product, ...placeholderId, readings: [] });
    } catch (err) {
      throw new InputError(`config key products/${name}: ${(err as Error).message}`, { file: config.source });
    }
    out.set(name, product);
  }
  return out;
}

/** Only readings with both powers carry a loss; a flagged reading stays flagged, never a number. */
function toRecordReading(r: FiberReading): Reading {
  const base = { fiber: r.fiber, wavelengthNm: r.wavelengthNm };
  if (r.condition === 'no-light') return { ...base, noLight: true };
  if (r.condition === 'saturated') return { ...base, saturated: true };
  if (r.referenceDbm !== null && r.measuredDbm !== null) return { ...base, referenceDbm: r.referenceDbm, measuredDbm: r.measuredDbm };
  if (r.lossDb !== null) return { ...base, lossDb: r.lossDb };
  return base; // nothing measured: the engine judges it INVALID (missing)
}

/** Where each fiber's light arrived, when the method can tell (loss-test sets); first wavelength only. */
function measuredMap(readings: FiberReading[], subject: JobSubject): { measuredMap?: Record<string, number | null> } {
  const wl = subject.wavelengthsNm[0];
  const located = readings.filter((r) => r.wavelengthNm === wl && r.receivedAt !== undefined);
  if (located.length === 0) return {};
  return { measuredMap: Object.fromEntries(located.map((r) => [String(r.fiber), r.receivedAt ?? null])) };
}

function previousFrom(document: Record<string, unknown>): PreviousCertificate | undefined {
  const evaluation = document.evaluation as Evaluation | undefined;
  if (!evaluation?.fibers) return undefined;
  return {
    subject: evaluation.subject,
    limitSet: { id: evaluation.limitSet.id, version: evaluation.limitSet.version },
    ...(evaluation.testedAt !== undefined ? { testedAt: evaluation.testedAt } : {}),
    fibers: evaluation.fibers,
  };
}
