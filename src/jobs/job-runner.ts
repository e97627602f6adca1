/**
 * Jobs: one job is a measurement (pipeline/) judged (evaluation/) and stored (store/). This layer
 * is where the three meet, so neither the pipeline nor the engine knows the store.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describeError, JobRefusedError, MpocertError } from '../errors.js';
import type { StoredCertificate } from '../store/certificate-store.js';
import type { CordStore, CordWear } from '../store/cord-store.js';
import type { JobStore } from '../store/job-store.js';
import type { ReferenceStore } from '../store/reference-store.js';
import type { BenchRuntime } from '../pipeline/bench-runtime.js';
import { measureAllFibers, measureCordVerification, takeReference } from '../pipeline/measure.js';
import { ManualOperator, type OperatorStep } from '../pipeline/operator.js';
import { cite } from '../evaluation/rules.js';
import { DEFAULT_NO_DEVICE_BELOW_DB } from '../evaluation/thresholds.js';
import { verificationImplausibility } from '../evaluation/setup-check.js';
import { checkReferencePlausible, sameReferenceSetup } from '../pipeline/reference-plausibility.js';
import type { CordVerificationRecord } from '../store/cord-store.js';
import type { BenchReference, FiberReading, JobProgress } from '../pipeline/readings.js';
import type { JobJudge, JobSubject } from './judge-job.js';
import { SOFTWARE } from '../pipeline/software.js';
import { assertSameInstruments } from '../pipeline/instrument-identity.js';

export interface JobRequest {
  benchId: string;
  operator: string;
  /** Whose token started the job: a person, or "shared token". */
  authenticatedAs: string;
  subject: JobSubject;
}

export interface JobView {
  id: string;
  benchId: string;
  state: 'running' | 'completed' | 'aborted' | 'interrupted';
  progress: JobProgress;
  reason?: string;
  /** The typed error's code when the job aborted (e.g. INSTRUMENT_TIMEOUT). */
  errorCode?: string;
  certificateId?: number;
  verdict?: string;
}

const RECENT_JOBS_KEPT = 100;


export interface JobRunnerOptions {
  referenceMaxAgeMs: number;
  /** A reference this far below the last accepted one (same cord, channels, wavelength, fiber) is refused. */
  referenceMaxDropDb: number;
  /** Why nothing may be certified on a bench now (storage lost, broken chain), checked before starting and before storing. */
  refusal?: (benchId: string) => Error | undefined;
  now?: () => Date;
}

export interface ReferenceRequest {
  /** Who referenced the bench (recorded with the cord verification). */
  operator?: string | undefined;
  /** Accept a reference the plausibility checks refuse (a new source, a replaced launch cord): why. */
  acceptDespite?: string | undefined;
}

export interface ReferenceResult {
  reference: BenchReference;
  /** The launch cord's verification against the bench's reference plug, when the bench has one. */
  verification?: CordVerificationRecord;
}

/**
 * Runs jobs: one at a time per bench, any number of benches at once. A job row is written
 * before anything is measured, and the certificate is written in the same transaction that
 * completes it, so an abort, an error or a crash can never leave a certificate behind.
 */
export class JobRunner extends EventEmitter {
  private readonly busy = new Map<string, string>();
  private readonly live = new Map<string, JobView>();
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly benches: Map<string, BenchRuntime>,
    private readonly jobs: JobStore,
    private readonly references: ReferenceStore,
    private readonly judge: JobJudge,
    private readonly cords: CordStore,
    private readonly options: JobRunnerOptions,
  ) {
    super();
    // Every step a person is asked for (a reference's too, not only a job's) as one event, so the
    // console shows the prompt the moment the bench waits and clears it when it stops waiting.
    for (const bench of benches.values()) {
      if (bench.operator instanceof ManualOperator) bench.operator.on('step', (step: OperatorStep | undefined) => this.emit('step', { benchId: bench.id, step: step ?? null }));
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private bench(benchId: string): BenchRuntime {
    const bench = this.benches.get(benchId);
    if (!bench) throw new JobRefusedError('UNKNOWN_BENCH', `no bench "${benchId}" (have: ${[...this.benches.keys()].join(', ')})`, { bench: benchId });
    return bench;
  }

  private claim(benchId: string, what: string): void {
    if (this.stopping) throw new JobRefusedError('SHUTTING_DOWN', 'the daemon is shutting down', { bench: benchId });
    const current = this.busy.get(benchId);
    if (current) throw new JobRefusedError('BENCH_BUSY', `bench "${benchId}" is busy with ${current}`, { bench: benchId });
    this.busy.set(benchId, what);
  }

  /**
   * References a bench now: the launch cord alone, checked for plausibility against the last
   * accepted reference and the source's nominal power (a device left in the path, a dirty cord);
   * then, when the bench has a reference plug, the launch cord is verified against it. Resolves
   * with what was stored; a refused reference stores nothing and leaves the previous one.
   */
  async reference(benchId: string, request: ReferenceRequest = {}): Promise<ReferenceResult> {
    const bench = this.bench(benchId);
    this.claim(benchId, 'a reference');
    try {
      await bench.ensureConnected();
      const cords = bench.config.testCords;
      const cordName = cords.launchCord ? `launch cord ${cords.launchCord.id}` : 'the bench port';
      await bench.operator.perform({ id: 'launch-cord-only', instruction: `remove any device; connect ${cordName} from the source straight to the detector` });
      const taken = await takeReference(bench);
      // The last accepted reference of the same setup, however many of other setups came since:
      // a bench that alternates methods or cords keeps its drop check.
      const previous = this.references.latestMatching<BenchReference>(benchId, (r) => sameReferenceSetup(r, taken))?.body;
      const problems = checkReferencePlausible(taken, previous, bench.config, this.options.referenceMaxDropDb);
      if (problems.length > 0 && request.acceptDespite === undefined) {
        throw new JobRefusedError('REFERENCE_IMPLAUSIBLE', `reference refused, nothing stored: ${problems.join('; ')}`, { bench: benchId });
      }
      const ref: BenchReference = problems.length > 0 ? { ...taken, acceptedDespite: { reason: request.acceptDespite!, checks: problems } } : taken;
      let verification: Omit<CordVerificationRecord, 'matingCount'> | undefined;
      if (cords.launchCord && cords.referencePlug) {
        const plug = cords.referencePlug;
        await bench.operator.perform({ id: 'mate-reference-plug', instruction: `mate ${cordName} to reference plug ${plug.id}, its other end to the detector` });
        const lossDb = await measureCordVerification(bench, ref);
        const all = Object.values(lossDb).flat();
        verification = {
          id: randomUUID(),
          benchId,
          cordId: cords.launchCord.id,
          at: this.now().toISOString(),
          against: plug.id,
          by: request.operator ?? 'bench',
          wavelengthsNm: [...ref.wavelengthsNm],
          lossDb,
          // A fiber without light through the plug has no measured loss: the verification fails.
          maxLossDb: all.some((x) => x === null) ? Number.POSITIVE_INFINITY : Math.max(...(all as number[])),
          minLossDb: all.some((x) => x === null) ? Number.NEGATIVE_INFINITY : Math.min(...(all as number[])),
        };
        // The plug pair read about 0 dB everywhere, or negative: the reference just taken is bad
        // (the plug was never mated, or the reference was taken through a device). Store nothing.
        const implausible = verificationImplausible(verification);
        if (implausible) throw new JobRefusedError('REFERENCE_IMPLAUSIBLE', `reference refused, nothing stored: ${implausible}`, { bench: benchId });
      }
      this.references.save(benchId, ref.takenAt, ref);
      const stored = verification ? this.cords.saveVerification(verification) : undefined;
      this.emit('reference', ref);
      return { reference: ref, ...(stored ? { verification: stored } : {}) };
    } finally {
      this.busy.delete(benchId);
    }
  }

  /** The person at a manual bench confirms the step it is waiting for. */
  confirm(benchId: string, stepId: string, serial?: string): OperatorStep {
    const bench = this.bench(benchId);
    if (!(bench.operator instanceof ManualOperator)) {
      throw new JobRefusedError('NOT_MANUAL', `bench "${benchId}" is operated by a ${bench.operator.kind} operator; there is nothing to confirm`, { bench: benchId });
    }
    return bench.operator.confirm(stepId, serial);
  }

  /** The step a manual bench is waiting for, if any. */
  waitingFor(benchId: string): OperatorStep | undefined {
    const op = this.benches.get(benchId)?.operator;
    return op instanceof ManualOperator ? op.pending : undefined;
  }

  latestReference(benchId: string): BenchReference | undefined {
    return this.references.latest<BenchReference>(benchId)?.body;
  }

  /**
   * Checks what can be checked without touching an instrument, records the job, and starts it.
   * Rejects (and records nothing) when the request cannot run at all.
   */
  start(requested: JobRequest): JobView {
    const bench = this.bench(requested.benchId);
    const refused = this.options.refusal?.(bench.id);
    if (refused) throw refused;
    const { subject, matedCordIds } = this.withTestCords(requested.subject, bench);
    const request = { ...requested, subject };
    // The reference first: referencing also verifies the launch cord, so "no reference" is the
    // first thing to fix on a new bench.
    const reference = this.usableReference(bench, subject);
    this.judge.checkRequest(subject, bench, this.now().toISOString());
    this.claim(bench.id, 'a job');
    const id = randomUUID();
    const view: JobView = { id, benchId: bench.id, state: 'running', progress: { step: 'queued', readings: [] } };
    try {
      this.jobs.start(
        { id, benchId: bench.id, request: { ...requested }, operator: request.operator, startedAt: this.now().toISOString() },
        matedCordIds,
      );
    } catch (err) {
      this.busy.delete(bench.id);
      throw err;
    }
    this.live.set(id, view);
    const run = this.run(view, bench, request, reference).finally(() => {
      this.busy.delete(bench.id);
      this.running.delete(run);
      this.emit('job-ended', { ...view });
      this.forgetOldJobs();
    });
    this.running.add(run);
    return view;
  }

  /**
   * Adds the bench's test cords, with the matings this job will add, to what is judged: the
   * setup check refuses a worn cord or a wrong gender before anything is measured, and the
   * certificate records each cord and its count. The bench port counts only when no launch
   * cord sits between it and the device.
   */
  private withTestCords(subject: JobSubject, bench: BenchRuntime): { subject: JobSubject; matedCordIds: string[] } {
    const cords = bench.config.testCords;
    const counted = (c: NonNullable<typeof cords.launchCord>, wear: CordWear) => {
      // Only a verification this bench made against its own reference plug counts.
      const found = this.cords.latestVerification(c.id, bench.id);
      const v = found && found.against === cords.referencePlug?.id ? found : undefined;
      return {
        id: c.id,
        connector: c.connector,
        matingCount: wear.matingCount + 1,
        ...(c.ratedMatingCycles !== undefined ? { ratedMatingCycles: c.ratedMatingCycles } : {}),
        ...(v
          ? {
              verification: {
                id: v.id,
                at: v.at,
                matingCount: v.matingCount,
                against: v.against,
                wavelengthsNm: v.wavelengthsNm,
                // JSON has no infinity: a verification with a dark fiber is recorded as a huge loss.
                maxLossDb: Number.isFinite(v.maxLossDb) ? v.maxLossDb : 1e9,
                minLossDb: Number.isFinite(v.minLossDb) ? v.minLossDb : -1e9,
                by: v.by,
              },
            }
          : {}),
      };
    };
    const mated = [cords.launchCord, cords.receiveCord, cords.launchCord ? undefined : cords.benchPort].filter((c) => c !== undefined);
    if (mated.length === 0) {
      const { setup: _none, ...template } = subject.template;
      return { subject: { ...subject, template }, matedCordIds: [] };
    }
    const setup = {
      ...(cords.launchCord ? { launchCord: counted(cords.launchCord, this.cords.get(cords.launchCord.id)) } : {}),
      ...(cords.receiveCord ? { receiveCord: counted(cords.receiveCord, this.cords.get(cords.receiveCord.id)) } : {}),
      ...(!cords.launchCord && cords.benchPort ? { benchPort: counted(cords.benchPort, this.cords.get(cords.benchPort.id)) } : {}),
    };
    return { subject: { ...subject, template: { ...subject.template, setup } }, matedCordIds: mated.map((c) => c.id) };
  }

  private usableReference(bench: BenchRuntime, subject: JobSubject): BenchReference {
    const ref = this.latestReference(bench.id);
    const ctx = { bench: bench.id };
    if (!ref) throw new JobRefusedError('NO_REFERENCE', `bench "${bench.id}" has no reference: reference it first`, ctx);
    const ageMs = this.now().getTime() - Date.parse(ref.takenAt);
    if (ageMs > this.options.referenceMaxAgeMs) {
      const hours = (ageMs / 3_600_000).toFixed(1);
      throw new JobRefusedError('REFERENCE_EXPIRED', `bench "${bench.id}" reference is ${hours} h old, older than allowed: reference it again`, ctx);
    }
    // Powers taken by another method (another source, another detector) are not this method's
    // reference: dividing by them reads every loss wrong.
    if (ref.method !== bench.config.method.kind) {
      throw new JobRefusedError('REFERENCE_OTHER_METHOD', `bench "${bench.id}" was referenced with method ${ref.method}, it now measures with ${bench.config.method.kind}: reference it again`, ctx);
    }
    const cord = bench.config.testCords.launchCord?.id ?? null;
    if ((ref.launchCordId ?? null) !== cord) {
      throw new JobRefusedError('REFERENCE_OTHER_CORD', `bench "${bench.id}" was referenced with launch cord ${ref.launchCordId ?? '(none)'}, it now has ${cord ?? '(none)'}: reference it again`, ctx);
    }
    // Each reference power belongs to one switch channel: a changed fiber-to-channel mapping
    // would divide a fiber's power by another fiber's reference.
    if ((ref.channelOffset ?? 0) !== bench.config.channelOffset) {
      throw new JobRefusedError('REFERENCE_OTHER_CHANNELS', `bench "${bench.id}" was referenced with channel offset ${ref.channelOffset ?? 0}, it now has ${bench.config.channelOffset}: reference it again`, ctx);
    }
    for (const wl of subject.wavelengthsNm) {
      if (!ref.wavelengthsNm.includes(wl)) {
        throw new JobRefusedError('REFERENCE_MISSING_WAVELENGTH', `bench "${bench.id}" reference has no ${wl} nm: reference it again`, ctx);
      }
    }
    const needed = Math.max(...subject.positions);
    if (ref.method !== 'loss-test-set' && ref.fiberCount < needed) {
      throw new JobRefusedError('REFERENCE_TOO_FEW_FIBERS', `bench "${bench.id}" reference covers ${ref.fiberCount} fibers, the job needs position ${needed}`, ctx);
    }
    return ref;
  }

  private async run(view: JobView, bench: BenchRuntime, request: JobRequest, reference: BenchReference): Promise<void> {
    const progress = view.progress;
    const step = (s: JobProgress['step']): void => {
      progress.step = s;
      this.emit('progress', view);
    };
    try {
      step('setup');
      await bench.ensureConnected();
      const before = await bench.identifyAll();
      assertSameInstruments(reference.instruments, before, bench.id);
      const readings: FiberReading[] = [];
      const cordName = bench.config.testCords.launchCord ? `launch cord ${bench.config.testCords.launchCord.id}` : 'the bench port';
      const subjectId = request.subject.id;
      const assembly = request.subject.kind === 'assembly';
      for (const [i, end] of request.subject.ends.entries()) {
        const prompt: OperatorStep =
          i === 0
            ? {
                id: 'connect-end-A',
                instruction: `connect end ${end} of ${subjectId} to ${cordName}, ${assembly ? `end ${end === 'A' ? 'B' : 'A'} to the detector` : 'the far end to the detector'}`,
                confirmSerial: subjectId,
              }
            : { id: 'turn-assembly', instruction: `turn ${subjectId} round: end ${end} to ${cordName}, end ${end === 'A' ? 'B' : 'A'} to the detector`, confirmSerial: subjectId };
        step(i === 0 ? 'present-dut' : 'turn-assembly');
        await this.operatorStep(bench, prompt, subjectId, progress, view);
        this.abortIfStopping();
        step('measure');
        progress.end = end;
        readings.push(
          ...(await measureAllFibers(
            bench,
            reference,
            request.subject.positions,
            request.subject.wavelengthsNm,
            end,
            (r) => {
              progress.readings.push(r);
              this.emit('progress', view);
            },
            (fiber, wl) => {
              this.abortIfStopping();
              progress.fiber = fiber;
              progress.wavelengthNm = wl;
            },
          )),
        );
      }
      this.abortIfStopping();
      step('evaluate');
      // Identified again after measuring: an instrument swapped or power-cycled into another
      // identity mid-job must not leave its readings in a certificate.
      const identities = await bench.identifyAll();
      assertSameInstruments(before, identities, bench.id);
      const testedAt = readings[0]?.takenAt ?? this.now().toISOString();
      // The reference was fresh when the job started; a manual step may wait for hours. Every
      // reading must be within the reference's age, not just the start.
      const lastAt = readings.reduce((latest, r) => (r.takenAt > latest ? r.takenAt : latest), testedAt);
      const ageMs = Date.parse(lastAt) - Date.parse(reference.takenAt);
      if (ageMs > this.options.referenceMaxAgeMs) {
        const age = ageMs < 3_600_000 ? `${Math.round(ageMs / 1000)} s` : `${(ageMs / 3_600_000).toFixed(1)} h`;
        throw new JobRefusedError('REFERENCE_EXPIRED', `the reference of ${reference.takenAt} was ${age} old by the last reading (${lastAt}), older than allowed: reference bench "${bench.id}" again and retest`, { bench: bench.id });
      }
      const judged = this.judge.judge({ subject: request.subject, readings, operator: request.operator, testedAt, bench: bench.config });
      step('store');
      this.abortIfStopping();
      // The database file may have been removed or replaced while measuring: a certificate
      // committed there would be reported and lost.
      const refused = this.options.refusal?.(bench.id);
      if (refused) throw refused;
      const issuedAt = this.now().toISOString();
      const document = {
        kind: 'mpocert-certificate',
        formatVersion: 1,
        issuedAt,
        software: SOFTWARE,
        job: { id: view.id, operator: request.operator, authenticatedAs: request.authenticatedAs, testedAt },
        bench: { id: bench.id, title: bench.config.title ?? bench.id, method: bench.config.method.kind, instruments: identities },
        reference: {
          takenAt: reference.takenAt,
          powerDbm: reference.powerDbm,
          instruments: reference.instruments,
          // A person overrode a plausibility check: the certificate says so, with the reason.
          ...(reference.acceptedDespite ? { acceptedDespite: reference.acceptedDespite } : {}),
        },
        subject: { kind: request.subject.kind, id: request.subject.id, product: request.subject.product, description: request.subject.template },
        // The installer's project, signed with the rest: `planned` says whether the description
        // came from the project's plan or (a link id not in the plan) from the product alone.
        ...(request.subject.project ? { project: { id: request.subject.project.id, planned: request.subject.project.planned } } : {}),
        readings,
        limitSet: { id: judged.limitSetId, version: judged.limitSetVersion },
        // Said outright so nobody reads a PASS as covering polarity when the bench could not see it.
        polarityMeasured: readings.some((r) => r.receivedAt !== undefined),
        verdict: judged.verdict,
        evaluation: judged.evaluation,
      };
      const stored: StoredCertificate = this.jobs.complete(
        view.id,
        {
          benchId: bench.id,
          jobId: view.id,
          subjectKind: request.subject.kind,
          serial: request.subject.kind === 'assembly' ? request.subject.id : null,
          linkId: request.subject.kind === 'link' ? request.subject.id : null,
          verdict: judged.verdict,
          limitSetId: judged.limitSetId,
          limitSetVersion: judged.limitSetVersion,
          issuedAt,
          document,
        },
        issuedAt,
      );
      view.state = 'completed';
      view.certificateId = stored.id;
      view.verdict = judged.verdict;
      step('done');
    } catch (err) {
      const reason = describeError(err);
      this.jobs.abort(view.id, reason, this.now().toISOString());
      view.state = 'aborted';
      view.reason = reason;
      view.errorCode = err instanceof MpocertError ? err.code : 'INTERNAL';
      step('aborted');
    }
  }

  /** Runs one operator step, publishing it on the job's progress while a person is asked. */
  private async operatorStep(bench: BenchRuntime, prompt: OperatorStep, subjectId: string, progress: JobProgress, view: JobView): Promise<void> {
    const op = bench.operator;
    const publish = (pending: JobProgress['waitingFor']): void => {
      if (pending) progress.waitingFor = pending;
      else delete progress.waitingFor;
      this.emit('progress', view);
    };
    if (op instanceof ManualOperator) op.on('step', publish);
    try {
      await op.perform(prompt, { id: subjectId });
    } finally {
      if (op instanceof ManualOperator) op.off('step', publish);
      delete progress.waitingFor;
    }
  }

  /** Finished jobs stay in memory (with their progress) only for the most recent few; the database keeps them all. */
  private forgetOldJobs(): void {
    const finished = [...this.live.values()].filter((v) => v.state !== 'running');
    for (const v of finished.slice(0, Math.max(0, finished.length - RECENT_JOBS_KEPT))) this.live.delete(v.id);
  }

  /** A job stops at the next fiber once shutdown begins: a half-measured job never becomes a certificate. */
  private abortIfStopping(): void {
    if (this.stopping) throw new MpocertError('JOB_ABORTED', 'the daemon is shutting down; the job was aborted before its certificate');
  }

  view(id: string): JobView | undefined {
    const live = this.live.get(id);
    if (live) return live;
    const row = this.jobs.get(id);
    if (!row) return undefined;
    return {
      id: row.id,
      benchId: row.benchId,
      state: row.state,
      progress: { step: row.state === 'completed' ? 'done' : 'aborted', readings: [] },
      ...(row.reason !== null ? { reason: row.reason } : {}),
      ...(row.certificateId !== null ? { certificateId: row.certificateId } : {}),
    };
  }

  /** Resolves when the given job ends (immediately if it already has). */
  async waitFor(id: string): Promise<JobView | undefined> {
    const v = this.live.get(id);
    if (!v || v.state !== 'running') return this.view(id);
    return new Promise((resolve) => {
      const onEnd = (ended: JobView): void => {
        if (ended.id !== id) return;
        this.off('job-ended', onEnd);
        resolve(this.view(id));
      };
      this.on('job-ended', onEnd);
    });
  }

  runningJobs(): JobView[] {
    return [...this.live.values()].filter((v) => v.state === 'running');
  }

  busyWith(benchId: string): string | undefined {
    return this.busy.get(benchId);
  }

  /** Refuses new work, lets running jobs reach their end (they abort before storing), and waits. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const bench of this.benches.values()) {
      if (bench.operator instanceof ManualOperator) bench.operator.cancel('the daemon is shutting down; the job was aborted before its certificate');
    }
    await Promise.allSettled([...this.running]);
  }
}

/** Why a launch cord's verification against its plug cannot be right, or undefined. */
function verificationImplausible(v: { maxLossDb: number; minLossDb: number; against: string }): string | undefined {
  const implausible = verificationImplausibility(v);
  if (implausible === 'negative') {
    return `the launch cord reads ${v.minLossDb === Number.NEGATIVE_INFINITY ? 'no light' : `${v.minLossDb.toFixed(3)} dB`} through reference plug ${v.against}: a negative loss means the reference was taken through something (a device left in the path). Remove it, then reference again${cite('reference-error')}`;
  }
  if (implausible === 'no-plug') {
    return `the launch cord reads within ${DEFAULT_NO_DEVICE_BELOW_DB} dB of 0 dB on every fiber through reference plug ${v.against}: the plug was not in the light path (not mated when asked, or still in place during the reference). Reference again, mating the plug only when asked${cite('no-device-in-path')}`;
  }
  return undefined;
}
