import { InputError, JobRefusedError } from '../errors.js';
import type { BenchConfig, DaemonConfig } from '../config/schema.js';
import {
  assertSetupAccepted,
  checkSetup,
  evaluateRecord,
  fiberClassOf,
  fiberPositions,
  loadLimitLibrary,
  parseTestRecord,
  type Evaluation,
  type FiberType,
  type LimitLibrary,
  type PreviousCertificate,
  type Reading,
  type TestRecord,
} from '../evaluation/index.js';
import type { CertificateStore } from '../store/certificate-store.js';
import { linkIdProblem, type PlannedLink, type ProjectStore } from '../store/project-store.js';
import type { BenchRuntime } from '../pipeline/bench-runtime.js';
import { cite } from '../evaluation/rules.js';
import { endsCertified } from '../evaluation/ends.js';
import { DEFAULT_NO_LIGHT_BELOW_DBM } from '../instruments/power-floor.js';
import type { FiberReading } from '../pipeline/readings.js';

/**
 * What a job tests: a test record without readings (what the factory's product catalogue or the
 * request says), plus the id it is certified under.
 */
export interface JobSubject {
  kind: 'assembly' | 'link';
  id: string;
  /** The configured product it is certified as. */
  product: string;
  fiberCount: number;
  /** Ferrule positions that carry fiber (8-fiber: 1-4 and 9-12). */
  positions: number[];
  wavelengthsNm: number[];
  /** Ends measured, in order: an assembly both (end A, then turned round, end B) unless one is certified elsewhere. */
  ends: ('A' | 'B')[];
  template: TestRecord;
  /**
   * The installer's project the link is certified for: `planned` when its description came from
   * the project's plan, false when the link id is not in the plan (certified from the product
   * alone, and flagged so). The certificate carries it at its top level.
   */
  project?: { id: string; planned: boolean };
}

export interface JobRequestBody {
  bench: string;
  serial?: string;
  linkId?: string;
  product?: string;
  /** The installer's project (its id) the link is certified for. */
  project?: string;
  /** Refused: what is certified comes from the configured products only. */
  subject?: unknown;
}

/** What a job needs of the installer's projects. */
export type ProjectLookup = Pick<ProjectStore, 'get' | 'plannedLink' | 'plannedSpelling' | 'latestCertificateId'>;

export type SubjectRequestParser = (body: JobRequestBody) => JobSubject;

export interface Judged {
  verdict: string;
  limitSetId: string;
  limitSetVersion: string;
  evaluation: Evaluation;
}

export interface JobJudge {
  parseSubject: SubjectRequestParser;
  /**
   * Refuses, before anything is measured, what cannot certify: a setup the rules forbid (cords,
   * genders, polishes, verification), a product that does not fit the bench, a declared polarity
   * the bench cannot measure. `now` stands for the test time.
   */
  checkRequest(subject: JobSubject, bench: BenchRuntime, now: string): void;
  judge(input: { subject: JobSubject; readings: FiberReading[]; operator: string; testedAt: string; bench: BenchConfig }): Judged;
}

/**
 * The pipeline's one door to the evaluation engine: the same evaluateRecord that
 * `mpocert evaluate` runs, fed a record built from the bench's readings.
 */
export function createJobJudge(
  config: DaemonConfig,
  certificates: CertificateStore,
  library: LimitLibrary = loadLimitLibrary({ userDir: config.limits.userDir }),
  /** The installer's projects; without them a job naming a project is refused. */
  projects?: ProjectLookup,
): JobJudge {
  const products = validateProducts(config, library);
  const policy = { maxAgeDays: config.cordVerification.maxAgeDays, maxMatings: config.cordVerification.maxMatings };
  const optionsFor = (bench: BenchConfig) => ({
    guardBandDb: config.evaluation.guardBandDb,
    powerFloorDbm: benchPowerFloor(bench),
    cordVerification: policy,
  });

  const parseSubject: SubjectRequestParser = (body) => {
    const bench = config.benches.find((b) => b.id === body.bench);
    if (!bench) throw new JobRefusedError('UNKNOWN_BENCH', `no bench "${body.bench}"`, { bench: body.bench });
    if ((body.serial === undefined) === (body.linkId === undefined)) {
      throw new InputError('give exactly one of serial (an assembly) or linkId (an installed link)', { bench: body.bench });
    }
    const given = body.serial ?? body.linkId;
    const idProblem = given === undefined ? undefined : linkIdProblem(given);
    if (idProblem !== undefined) {
      // As a cable schedule refuses it: " L-001" must not be certified as a link other than L-001.
      const field = body.serial !== undefined ? 'serial' : 'linkId';
      throw new InputError(`${field} ${JSON.stringify(given)} ${idProblem}`, { bench: bench.id });
    }
    if (body.subject !== undefined) {
      // A client that could describe the subject could certify an 8-fiber assembly to skip a bad
      // fiber, or pick a looser limit set: the daemon's products say what is certified.
      throw new InputError(
        `a job names a configured product (product, or the bench's default) and the serial or link id; it may not describe the subject itself${cite('subject-from-product')}`,
        { bench: bench.id },
      );
    }
    const project = body.project === undefined ? undefined : projects?.get(body.project);
    if (body.project !== undefined && !project) {
      throw new JobRefusedError('UNKNOWN_PROJECT', `no project "${body.project}"${projects ? '' : ' (this daemon keeps no projects)'}: create it and import its cable schedule first`, { bench: bench.id, project: body.project });
    }
    if (project && body.serial !== undefined) {
      throw new InputError(`project ${project.id} plans installed links: certify one by linkId, not serial`, { bench: bench.id, project: project.id });
    }
    // Stored by an authenticated person when the schedule was imported, never sent with the job.
    const plan = project && body.linkId !== undefined ? projects!.plannedLink(project.id, body.linkId) : undefined;
    if (project && body.linkId !== undefined && !plan) {
      // "l-001" for the planned L-001 would be certified as another, unplanned link.
      const spelt = projects!.plannedSpelling(project.id, body.linkId);
      if (spelt !== undefined) {
        throw new InputError(`link ${body.linkId} is not in project ${project.id}'s plan; planned link ${spelt} differs from it only in case: certify it as ${spelt}`, { bench: bench.id, project: project.id });
      }
    }
    const name = body.product ?? bench.defaultProduct;
    if (name === undefined) throw new InputError(`bench "${bench.id}" has no default product: name one of the configured products (${[...products.keys()].join(', ') || 'none'})`, { bench: bench.id });
    const configured = products.get(name);
    if (!configured) throw new InputError(`no product "${name}" in the config (have: ${[...products.keys()].join(', ') || 'none'})`, { product: name });
    const { fields: product, serialPattern } = configured;
    const id = body.serial ?? body.linkId ?? '';
    if (serialPattern && !serialPattern.test(id)) {
      // The part number says which serials it covers: a serial cannot be certified as a looser product.
      throw new InputError(`${id} is not a serial of product ${name} (its serials match ${serialPattern.source})${cite('subject-from-product')}`, { product: name });
    }
    const owner = [...products].find(([other, p]) => other !== name && p.serialPattern?.test(id));
    if (owner) {
      throw new InputError(`${id} is a serial of product ${owner[0]} (its serials match ${owner[1].serialPattern!.source}), not of ${name}${cite('subject-from-product')}`, { product: name });
    }
    const idField = body.serial !== undefined ? { serialNumber: body.serial } : { linkId: body.linkId };
    const fields = plan ? describeFromPlan(plan, project!.id, name, product) : product;
    const template = parseTestRecord({ wavelengthsNm: bench.wavelengthsNm, ...fields, ...idField, readings: [] });
    if ((template.kind === 'assembly') !== (body.serial !== undefined)) {
      throw new InputError(`a ${template.kind} is certified by ${template.kind === 'assembly' ? 'serial' : 'linkId'}`, { bench: bench.id });
    }
    return {
      kind: template.kind,
      id: template.kind === 'assembly' ? template.serialNumber : template.linkId,
      product: name,
      fiberCount: template.fiberCount,
      positions: [...fiberPositions(template.fiberCount)],
      wavelengthsNm: [...template.wavelengthsNm],
      ends: endsCertified(template),
      template,
      ...(project ? { project: { id: project.id, planned: plan !== undefined } } : {}),
    };
  };

  /**
   * A planned link's description: the product gives what the plan does not say (limit set,
   * connectors, required quantities, cable plant, link type), the plan gives the link itself
   * (length, connections, splices, fiber type and count, polarity, application), which forms its
   * limit (TIA-568.3-E link budget; IEEE 802.3 channel loss). A product that cannot describe the
   * planned link is refused before anything is measured, never bent to fit. A plan never loosens
   * what the product requires: its fiber type must be the product's, and its application may only
   * be added where the product names none (an empty one keeps the product's).
   */
  const describeFromPlan = (plan: PlannedLink, projectId: string, name: string, product: Record<string, unknown>): Record<string, unknown> => {
    const refuse = (why: string): JobRefusedError =>
      new JobRefusedError('PLAN_PRODUCT_MISMATCH', `link ${plan.linkId} of project ${projectId} ${why}${cite('subject-from-product')}`, { product: name, project: projectId });
    const linkProducts = [...products].filter(([, p]) => p.fields.kind === 'link').map(([n]) => n);
    if (product.kind !== 'link') {
      throw refuse(`is a planned installed link, and product ${name} is an assembly: name a link product with the job (${linkProducts.join(', ') || 'the config has none'})`);
    }
    if (product.fiberCount !== plan.fiberCount) {
      throw refuse(`has ${plan.fiberCount} fibers in the plan, and product ${name} is for ${String(product.fiberCount)}-fiber links: certify it as a ${plan.fiberCount}-fiber link product, on a bench that measures ${plan.fiberCount} fibers`);
    }
    const productType = product.fiberType as FiberType;
    if (fiberClassOf(productType) !== fiberClassOf(plan.fiberType)) {
      throw refuse(`is ${plan.fiberType} (${fiberClassOf(plan.fiberType)}) in the plan, and product ${name} is ${productType} (${fiberClassOf(productType)}): its connectors and test wavelengths are for the other kind of fiber`);
    }
    if (productType !== plan.fiberType) {
      // Within one class the fiber type still sets the attenuation and every application's channel
      // loss and reach (40GBASE-SR4: 1.9 dB on OM3, 1.5 dB on OM4): a plan may not choose another.
      throw refuse(`is ${plan.fiberType} in the plan, and product ${name} is for ${productType} links: the fiber type sets the attenuation and the channel limit, so certify it with a ${plan.fiberType} link product`);
    }
    const productApplication = typeof product.application === 'string' ? product.application : undefined;
    if (plan.application !== undefined && productApplication !== undefined && plan.application !== productApplication) {
      // The product's application is a limit its links must meet; a plan never replaces it with another's.
      throw refuse(`names application ${plan.application}, and product ${name} is for ${productApplication} links: a plan may name an application only for a product that names none or the same one; certify it with a product for ${plan.application}`);
    }
    const application = plan.application ?? productApplication;
    if (plan.application !== undefined) {
      const ref = product.limitSet as { id: string; version: string };
      const app = library.find(ref)?.applications.get(plan.application);
      if (!app) throw refuse(`names application ${plan.application}, which limit set ${ref.id}@${ref.version} of product ${name} does not define: it could not judge the channel loss`);
      if (!app.channels.has(plan.fiberType)) throw refuse(`names application ${plan.application} on ${plan.fiberType}, for which limit set ${ref.id}@${ref.version} of product ${name} has no channel`);
    }
    const { application: _productApplication, polarity: _productPolarity, ...rest } = product;
    return {
      ...rest,
      lengthM: plan.lengthM,
      connections: plan.connections,
      splices: plan.splices,
      fiberType: plan.fiberType,
      fiberCount: plan.fiberCount,
      polarity: { declared: plan.polarity },
      // The plan's application, else the product's: a plan that leaves it empty never drops the
      // product's channel limit. Neither names one: the component budget alone.
      ...(application !== undefined ? { application } : {}),
    };
  };

  /**
   * The subject's newest certificate, which the product and description rules and drift compare
   * with. Without a project: its newest anywhere (as before projects existed), so naming no project
   * never escapes a certificate of one. With a project: its newest in that project or in none (a
   * link certified outside any project is the same link, and naming a project must not escape
   * it); another project's certificates do not count (another site has its own L-001).
   */
  const previousOf = (subject: JobSubject): { id: number; document: Record<string, unknown> } | undefined => {
    if (subject.project) {
      // No project store: parseSubject refused the project already; never fall back to a wider lookup silently.
      if (!projects) throw new JobRefusedError('UNKNOWN_PROJECT', `this daemon keeps no projects (project ${subject.project.id})`, { project: subject.project.id });
      const id = projects.latestCertificateId(subject.project.id, subject.id);
      return id === undefined ? undefined : certificates.get(id);
    }
    return certificates.previousFor(subject.kind === 'assembly' ? { serial: subject.id, linkId: null } : { serial: null, linkId: subject.id });
  };

  return {
    parseSubject,
    checkRequest(subject, runtime, now) {
      const bench = runtime.config;
      if (subject.fiberCount !== bench.fiberCount) {
        // A bench measures every position it fans out; a product of another count would leave
        // fibers unmeasured (or measure ones it does not have).
        throw new JobRefusedError(
          'FIBER_COUNT_MISMATCH',
          `product ${subject.product} has ${subject.fiberCount} fibers; bench "${bench.id}" measures ${bench.fiberCount}: certify it on a ${subject.fiberCount}-fiber bench${cite('subject-from-product')}`,
          { bench: bench.id, product: subject.product },
        );
      }
      // A subject keeps the product it was first certified as: a retest under a looser product
      // (an MPO grade for a failed MTP assembly, a longer link) would turn its FAIL into a PASS.
      const earlier = previousOf(subject);
      const earlierProduct = (earlier?.document.subject as { product?: unknown } | undefined)?.product;
      if (typeof earlierProduct === 'string' && earlierProduct !== subject.product) {
        throw new JobRefusedError(
          'PRODUCT_CHANGED',
          `${subject.id} was certified as product ${earlierProduct} (certificate ${earlier!.id}); it cannot be certified as ${subject.product}: ${subject.kind === 'assembly' ? 'an assembly' : 'a link'} keeps its product${cite('subject-from-product')}`,
          { bench: bench.id, product: subject.product },
        );
      }
      // A link keeps its description too: the same product with another plan row (more connections,
      // a longer length, another application) would loosen the limit a FAIL was judged against.
      const changed = subject.kind === 'link' ? descriptionChanges(earlier?.document, subject.template) : [];
      if (changed.length > 0) {
        throw new JobRefusedError(
          'SUBJECT_CHANGED',
          `${subject.id} was certified described with ${changed.map((c) => `${c.field} ${c.before}`).join(', ')} (certificate ${earlier!.id}); this job describes it with ${changed.map((c) => `${c.field} ${c.after}`).join(', ')}: a link keeps its description (length, connections, splices, fiber type and count, polarity, application), whether it comes from the product or a project's plan; certify the link as it was described, or under a new id if it was rebuilt${cite('subject-from-product')}`,
          { bench: bench.id, product: subject.product, ...(subject.project ? { project: subject.project.id } : {}) },
        );
      }
      const declared = subject.template.polarity?.declared;
      if (declared !== undefined && !runtime.resolvesPositions) {
        throw new JobRefusedError(
          'POLARITY_NOT_MEASURABLE',
          `product ${subject.product} declares polarity ${declared}, and bench "${bench.id}" cannot see where each fiber's light arrives (one large-area meter), so it cannot verify it: certify on a bench with a multi-port meter or a loss-test set${cite('polarity-measured')}`,
          { bench: bench.id, product: subject.product },
        );
      }
      const plan = { ...subject.template, testedAt: now };
      assertSetupAccepted(checkSetup(plan, library, policy));
      // Forms every limit now (unknown application, grade without a figure, wavelength not for
      // this fiber type...), so such a job is refused before a cord is mated, not after a sweep.
      evaluateRecord(plan, library, optionsFor(bench));
    },
    judge({ subject, readings, operator, testedAt, bench }) {
      const record: TestRecord = {
        ...subject.template,
        operator,
        testedAt,
        readings: readings.map(toRecordReading),
        // The ends the job was to measure, never the ends readings happen to exist for: an end
        // with no readings is then missing (INVALID), not silently left off the certificate.
        endsMeasured: [...subject.ends],
        polarity: { ...subject.template.polarity, ...measuredMap(readings, subject) },
      };
      const previousCert = previousOf(subject);
      const previous = previousCert ? previousFrom(previousCert.document) : undefined;
      const evaluation = evaluateRecord(record, library, {
        ...optionsFor(bench),
        endBTurnedCheck: true,
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

function validateProducts(config: DaemonConfig, library: LimitLibrary): Map<string, { fields: Record<string, unknown>; serialPattern?: RegExp }> {
  const out = new Map<string, { fields: Record<string, unknown>; serialPattern?: RegExp }>();
  for (const [name, entry] of Object.entries(config.products)) {
    const { serialPattern: pattern, ...product } = entry as Record<string, unknown> & { serialPattern?: unknown };
    let serialPattern: RegExp | undefined;
    if (pattern !== undefined) {
      try {
        if (typeof pattern !== 'string') throw new Error('must be a string');
        serialPattern = new RegExp(`^(?:${pattern})$`);
      } catch (err) {
        throw new InputError(`config key products/${name}/serialPattern: not a regular expression: ${(err as Error).message}`, { file: config.source });
      }
    }
    const placeholderId = product.kind === 'link' ? { linkId: 'config-check' } : { serialNumber: 'config-check' };
    try {
      assertDescribesOnly(product, 'a product');
      const ref = product.limitSet as { id?: unknown; version?: unknown } | undefined;
      if (typeof ref?.version !== 'string') {
        // "The newest version" would change what the product is judged against whenever a set is added.
        throw new InputError(`/limitSet/version: a product pins its limit set's version (e.g. { id: ${String(ref?.id ?? 'mtp-mpo-connector-grades')}, version: "1.1.0" })${cite('limit-set-pinned')}`);
      }
      if (!library.find({ id: String(ref.id), version: ref.version })) {
        throw new InputError(`/limitSet: limit set ${String(ref.id)}@${ref.version} is not in the library (${library.list().map((l) => `${l.id}@${l.version}`).join(', ')})`);
      }
      // A product without wavelengths takes its bench's at job time; check it with its class's own.
      const someWavelength = String(product.fiberType ?? '').startsWith('OS') ? [1310] : [850];
      parseTestRecord({ wavelengthsNm: someWavelength, ...product, ...placeholderId, readings: [] });
    } catch (err) {
      throw new InputError(`config key products/${name}: ${(err as Error).message}`, { file: config.source });
    }
    out.set(name, { fields: product, ...(serialPattern ? { serialPattern } : {}) });
  }
  return out;
}

/** The fields of a link's description that "a link keeps its description" compares, as a certificate names them. */
const DESCRIPTION_FIELDS: readonly { field: string; of: (d: Record<string, unknown>) => unknown }[] = [
  { field: 'lengthM', of: (d) => d.lengthM },
  { field: 'connections', of: (d) => d.connections },
  { field: 'splices', of: (d) => d.splices },
  { field: 'fiberType', of: (d) => d.fiberType },
  { field: 'fiberCount', of: (d) => d.fiberCount },
  { field: 'polarity', of: (d) => (d.polarity as { declared?: unknown } | undefined)?.declared },
  { field: 'application', of: (d) => d.application },
];

/**
 * Where the description a job would certify a link with differs from the one its earlier
 * certificate signed: each field, its value then and now ("(none)" when absent).
 */
function descriptionChanges(earlier: Record<string, unknown> | undefined, now: TestRecord): { field: string; before: string; after: string }[] {
  const described = (earlier?.subject as { description?: unknown } | undefined)?.description;
  if (typeof described !== 'object' || described === null) return [];
  const show = (v: unknown): string => (v === undefined || v === null ? '(none)' : typeof v === 'string' ? v : JSON.stringify(v));
  return DESCRIPTION_FIELDS.flatMap(({ field, of }) => {
    const before = of(described as Record<string, unknown>);
    const after = of(now as unknown as Record<string, unknown>);
    return show(before) === show(after) ? [] : [{ field, before: show(before), after: show(after) }];
  });
}

/** The bench meter's no-light floor: the engine applies the same one the drivers do. */
function benchPowerFloor(bench: BenchConfig): number {
  const m = bench.method;
  const meterId = m.kind === 'switch-and-meter' ? m.powerMeter : m.kind === 'loss-test-set' ? undefined : m.multiPortMeter;
  return bench.instruments.find((i) => i.id === meterId)?.noLightBelowDbm ?? DEFAULT_NO_LIGHT_BELOW_DBM;
}

/** Only readings with both powers carry a loss; a flagged reading stays flagged, never a number. */
function toRecordReading(r: FiberReading): Reading {
  const base = { fiber: r.fiber, wavelengthNm: r.wavelengthNm, ...(r.end === 'B' ? { end: 'B' as const } : {}) };
  if (r.condition === 'no-light') return { ...base, noLight: true };
  if (r.condition === 'saturated') return { ...base, saturated: true };
  if (r.referenceDbm !== null && r.measuredDbm !== null) return { ...base, referenceDbm: r.referenceDbm, measuredDbm: r.measuredDbm };
  // A loss-test set computes the loss itself; its received power still meets the meter floor.
  if (r.lossDb !== null) return { ...base, lossDb: r.lossDb, ...(r.measuredDbm !== null ? { measuredDbm: r.measuredDbm } : {}) };
  return base; // nothing measured: the engine judges it INVALID (missing)
}

/** Where each fiber's light arrived from end A, when the method can tell; first wavelength only. */
function measuredMap(readings: FiberReading[], subject: JobSubject): { measuredMap?: Record<string, number | null> } {
  const wl = subject.wavelengthsNm[0];
  const located = readings.filter((r) => r.end === 'A' && r.wavelengthNm === wl && r.receivedAt !== undefined);
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
