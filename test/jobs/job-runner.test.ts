/**
 * The job runner on its own: in-memory instruments on the simulators' optical model, a real
 * SQLite store in a temporary directory, and fake timers, so time is exact. A meter reading takes
 * 20 ms of timer time; nothing else in a job waits on a timer, so a job's duration is exactly
 * 20 ms per reading and each expected figure below is counted by hand.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { DaemonConfig } from '../../src/config/schema.js';
import { BenchRuntime } from '../../src/pipeline/bench-runtime.js';
import { ManualOperator } from '../../src/pipeline/operator.js';
import { JobRunner, type JobView } from '../../src/jobs/job-runner.js';
import { createJobJudge } from '../../src/jobs/judge-job.js';
import { openDatabase, type Db } from '../../src/store/database.js';
import { loadOrCreateSigningKey } from '../../src/store/signing-key.js';
import { TrustedKeys } from '../../src/store/trusted-keys.js';
import { CertificateStore } from '../../src/store/certificate-store.js';
import { JobStore } from '../../src/store/job-store.js';
import { ReferenceStore } from '../../src/store/reference-store.js';
import { CordStore } from '../../src/store/cord-store.js';
import { OpticalBench } from '../../fixtures/simulators/optical-bench.js';
import { loadAssembly } from '../../fixtures/dut/assembly-model.js';
import { PRODUCTS, testCordsFor } from '../../fixtures/harness/products.js';
import { MemoryMeter, MemoryMpoSource, MemoryMultiPortMeter, MemorySwitch, ModelOperator } from '../helpers/in-memory-bench.js';
import { tempDir } from '../helpers/daemon-harness.js';

const READ_MS = 20;
const ASSEMBLIES = { 'DEMO-0001': 'mtp12-om4-good', 'DEMO-0002': 'mtp12-om4-fiber7-0.9dB' };

interface Rig {
  runner: JobRunner;
  certificates: CertificateStore;
  meter: MemoryMeter;
  operator: ModelOperator;
  manual: ManualOperator;
  manualModel: OpticalBench;
  autoModel: OpticalBench;
  db: Db;
}

let tmp: ReturnType<typeof tempDir>;
let rig: Rig;

/** A daemon config around these benches (their instruments are never opened: in-memory ones stand in). */
function configWith(benches: Record<string, unknown>[]): DaemonConfig {
  return resolveConfig(
    { dataDir: join(tmp.dir, 'data'), http: { host: '127.0.0.1', port: 0, token: 'unit-test-token-0123456789' }, products: PRODUCTS, benches },
    join(tmp.dir, 'config.json'),
  );
}

const unopened = (id: string, dialect: string) => ({ id, dialect, transport: { kind: 'tcp', host: '127.0.0.1', port: 9 } });

function config(): DaemonConfig {
  const bench = (id: string, operator: Record<string, unknown>) => ({
    id,
    defaultProduct: 'MTP12-OM4-LOSS',
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    instruments: [unopened('meter', 'thorlabs-pm100'), unopened('switch', 'dicon-mems-switch')],
    testCords: testCordsFor(id),
    operator,
  });
  return configWith([bench('auto', { kind: 'manual' }), bench('manual', { kind: 'manual', confirmTimeoutS: 600 })]);
}

function makeRig(): Rig {
  const cfg = config();
  const db = openDatabase(join(tmp.dir, 'db', 'mpocert.db'));
  const key = loadOrCreateSigningKey(join(tmp.dir, 'db', 'signing-key.pem'));
  const certificates = new CertificateStore(db, key, new TrustedKeys(TrustedKeys.pin(key, new Date().toISOString()), 'unit test'));
  const jobs = new JobStore(db, certificates);
  const models = { auto: new OpticalBench({ channels: 12 }), manual: new OpticalBench({ channels: 12 }) };
  const meter = new MemoryMeter(models.auto, READ_MS);
  const operator = new ModelOperator(models.auto, ASSEMBLIES);
  const manual = new ManualOperator('manual', 600);
  const benches = new Map(
    cfg.benches.map((b) => {
      const model = models[b.id as 'auto' | 'manual'];
      const runtime = new BenchRuntime(b, {
        instrument: (c) => (c.id === 'meter' ? (b.id === 'auto' ? meter : new MemoryMeter(model, READ_MS)) : new MemorySwitch(model)),
        operator: () => (b.id === 'auto' ? operator : manual),
      });
      return [b.id, runtime] as const;
    }),
  );
  const runner = new JobRunner(benches, jobs, new ReferenceStore(db), createJobJudge(cfg, certificates), new CordStore(db), {
    referenceMaxAgeMs: cfg.reference.maxAgeHours * 3_600_000,
    referenceMaxDropDb: cfg.reference.maxDropDb,
  });
  return { runner, certificates, meter, operator, manual, manualModel: models.manual, autoModel: models.auto, db };
}

/** Certificates in the database. */
function stored(): number {
  return (rig.db.prepare('SELECT count(*) AS n FROM certificates').get() as { n: number }).n;
}

function certify(serial: string, benchId = 'auto'): JobView {
  const subject = createJobJudge(config(), rig.certificates).parseSubject({ bench: benchId, serial });
  return rig.runner.start({ benchId, operator: 'unit test', authenticatedAs: 'shared token', subject });
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-30T08:00:00.000Z'), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  tmp = tempDir('mpocert-jobs-');
  rig = makeRig();
});
afterEach(() => {
  rig.db.close();
  tmp.remove();
  vi.useRealTimers();
});

/** References the auto bench: 12 fibers x 2 wavelengths through the launch cord, then the same through the reference plug. */
async function reference(): Promise<void> {
  const done = rig.runner.reference('auto');
  await vi.advanceTimersByTimeAsync(2 * 24 * READ_MS);
  await done;
  rig.meter.readings = 0;
}

describe('JobRunner with in-memory instruments and fake timers', () => {
  it('certifies a good assembly in exactly 48 readings x 20 ms: end A, turned, end B; losses are the model\'s', async () => {
    await reference();
    const view = certify('DEMO-0001');
    await vi.advanceTimersByTimeAsync(48 * READ_MS - 1);
    expect(rig.runner.view(view.id)?.state).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    const ended = await rig.runner.waitFor(view.id);
    expect(ended).toMatchObject({ state: 'completed', verdict: 'PASS' });
    expect(rig.meter.readings).toBe(48);
    expect(rig.operator.steps).toEqual(['launch-cord-only', 'mate-reference-plug', 'connect-end-A', 'turn-assembly']);
    const cert = rig.certificates.get(ended!.certificateId!)!;
    const endA850 = cert.document.readings.filter((r) => r.end === 'A' && r.wavelengthNm === 850).map((r) => r.lossDb);
    expect(endA850).toEqual(loadAssembly('mtp12-om4-good').lossDb['850']);
  });

  it('fails fiber 7 (0.90 dB) and fiber 6 (end B) against the 0.60 dB MTP multimode grade, and the certificate says which fibers', async () => {
    await reference();
    const view = certify('DEMO-0002');
    await vi.advanceTimersByTimeAsync(48 * READ_MS);
    const ended = await rig.runner.waitFor(view.id);
    expect(ended).toMatchObject({ state: 'completed', verdict: 'FAIL' });
    const doc = rig.certificates.get(ended!.certificateId!)!.document;
    const failing = doc.evaluation.fibers.filter((f) => f.outcome === 'FAIL').map((f) => f.fiber);
    expect(failing).toEqual([6, 7]);
  });

  it('a meter that stops answering aborts the job at its timeout: no certificate, the bench is free again', async () => {
    await reference();
    rig.meter.hangAfter = 30;
    const before = stored();
    const view = certify('DEMO-0001');
    await vi.advanceTimersByTimeAsync(30 * READ_MS + 1000);
    const ended = await rig.runner.waitFor(view.id);
    expect(ended).toMatchObject({ state: 'aborted', errorCode: 'INSTRUMENT_TIMEOUT' });
    expect(stored()).toBe(before);
    expect(rig.runner.busyWith('auto')).toBeUndefined();
    rig.meter.hangAfter = Infinity;
    const again = certify('DEMO-0001');
    await vi.advanceTimersByTimeAsync(48 * READ_MS);
    expect(await rig.runner.waitFor(again.id)).toMatchObject({ state: 'completed', verdict: 'PASS' });
  });

  it('refuses a job once the reference is 24 h old, to the millisecond', async () => {
    await reference();
    // Exactly 24 h after the reference was taken it is still usable; a millisecond later it is not.
    const takenAt = Date.parse(rig.runner.latestReference('auto')!.takenAt);
    vi.setSystemTime(takenAt + 24 * 3_600_000 - 48 * READ_MS);
    const ok = certify('DEMO-0001');
    await vi.advanceTimersByTimeAsync(48 * READ_MS);
    expect(await rig.runner.waitFor(ok.id)).toMatchObject({ state: 'completed' });
    expect(Date.now()).toBe(takenAt + 24 * 3_600_000);
    expect(() => certify('DEMO-0002')).not.toThrow();
    await vi.advanceTimersByTimeAsync(48 * READ_MS);
    vi.setSystemTime(takenAt + 24 * 3_600_000 + 1);
    expect(() => certify('DEMO-0001')).toThrow(expect.objectContaining({ code: 'REFERENCE_EXPIRED' }));
  });

  it('a person who never confirms a step: the job aborts after exactly 600 s and says which step', async () => {
    const ref = rig.runner.reference('manual');
    await vi.advanceTimersByTimeAsync(0);
    expect(rig.runner.waitingFor('manual')?.id).toBe('launch-cord-only');
    rig.runner.confirm('manual', 'launch-cord-only');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    // The person mates the plug, then confirms.
    rig.manualModel.insertPlug();
    rig.runner.confirm('manual', 'mate-reference-plug');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    await ref;
    const before = stored();
    const view = certify('DEMO-0001', 'manual');
    await vi.advanceTimersByTimeAsync(0);
    expect(rig.runner.waitingFor('manual')?.id).toBe('connect-end-A');
    await vi.advanceTimersByTimeAsync(600_000 - 1);
    expect(rig.runner.view(view.id)?.state).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    const ended = await rig.runner.waitFor(view.id);
    expect(ended).toMatchObject({ state: 'aborted', errorCode: 'OPERATOR_TIMEOUT' });
    expect(ended?.reason).toMatch(/connect-end-A|end A/);
    expect(stored()).toBe(before);
  });
});

describe('the all-fibers-lit method (MPO source + multi-port meter) in the job runner', () => {
  const MPO_ASSEMBLIES = { 'DEMO-0001': 'mtp12-om4-good', 'DEMO-0003': 'mtp12-om4-polarity-swap-3-4', 'DEMO-0004': 'mtp12-om4-dark-fiber-5' };

  function mpoRig(benchId = 'mpo', model = new OpticalBench({ channels: 12 })) {
    const cfg = configWith([
      {
        id: benchId,
        defaultProduct: 'MTP12-OM4-B',
        wavelengthsNm: [850, 1300],
        method: { kind: 'mpo-source-and-multiport-meter', mpoSource: 'src', multiPortMeter: 'mpm' },
        instruments: [unopened('src', 'mpocert-mpo-source'), unopened('mpm', 'santec-mpm-210h')],
        testCords: testCordsFor(benchId),
        operator: { kind: 'manual' },
      },
    ]);
    const meter = new MemoryMultiPortMeter(model, READ_MS);
    const source = new MemoryMpoSource(model);
    const operator = new ModelOperator(model, MPO_ASSEMBLIES);
    const bench = new BenchRuntime(cfg.benches[0]!, { instrument: (c) => (c.id === 'mpm' ? meter : source), operator: () => operator });
    const runner = new JobRunner(new Map([[benchId, bench]]), new JobStore(rig.db, rig.certificates), new ReferenceStore(rig.db), createJobJudge(cfg, rig.certificates), new CordStore(rig.db), {
      referenceMaxAgeMs: 24 * 3_600_000,
      referenceMaxDropDb: 0.2,
    });
    const certifyOn = (serial: string): JobView =>
      runner.start({ benchId, operator: 'unit test', authenticatedAs: 'shared token', subject: createJobJudge(cfg, rig.certificates).parseSubject({ bench: benchId, serial }) });
    return { runner, meter, source, model, certifyOn };
  }

  it('references in 24 readings (6 coded patterns x 2 wavelengths, launch cord then plug), certifies in 24 (the same for each end): PASS, type B measured', async () => {
    const r = mpoRig();
    const ref = r.runner.reference('mpo');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    await ref;
    expect(r.meter.queries).toBe(24);
    r.meter.queries = 0;
    const view = r.certifyOn('DEMO-0001');
    await vi.advanceTimersByTimeAsync(24 * READ_MS - 1);
    expect(r.runner.view(view.id)?.state).toBe('running');
    await vi.advanceTimersByTimeAsync(1);
    const ended = await r.runner.waitFor(view.id);
    expect(ended).toMatchObject({ state: 'completed', verdict: 'PASS' });
    expect(r.meter.queries).toBe(24);
    const doc = rig.certificates.get(ended!.certificateId!)!.document;
    expect(doc.polarityMeasured).toBe(true);
    const endA = doc.readings.filter((x) => x.end === 'A' && x.wavelengthNm === 850);
    expect(endA.map((x) => x.receivedAt)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect(endA.map((x) => x.lossDb)).toEqual(loadAssembly('mtp12-om4-good').lossDb['850']);
    // The source is dark after every sweep.
    expect(r.source.lit.at(-1)).toEqual([]);
  });

  it('fibers 3 and 4 swapped: FAIL on polarity; fiber 5 dark: INVALID', async () => {
    const r = mpoRig();
    const ref = r.runner.reference('mpo');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    await ref;
    const swapped = r.certifyOn('DEMO-0003');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    const s = await r.runner.waitFor(swapped.id);
    expect(s).toMatchObject({ state: 'completed', verdict: 'FAIL' });
    const polarity = rig.certificates.get(s!.certificateId!)!.document.evaluation.polarity;
    expect(JSON.stringify(polarity)).toMatch(/"FAIL"/);
    const darkJob = r.certifyOn('DEMO-0004');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    const d = await r.runner.waitFor(darkJob.id);
    expect(d).toMatchObject({ state: 'completed', verdict: 'INVALID' });
    // The dark fiber is end A's position 5, which a type B trunk brings to end B's position 8.
    const readings = rig.certificates.get(d!.certificateId!)!.document.readings;
    const dark = (end: 'A' | 'B', fiber: number) => readings.filter((x) => x.end === end && x.fiber === fiber).map((x) => [x.wavelengthNm, x.receivedAt, x.lossDb, x.condition]);
    expect(dark('A', 5)).toEqual([
      [850, null, null, 'no-light'],
      [1300, null, null, 'no-light'],
    ]);
    expect(dark('B', 8)).toEqual([
      [850, null, null, 'no-light'],
      [1300, null, null, 'no-light'],
    ]);
  });

  it('a bench reconfigured to another method refuses the old method\'s reference (its powers are another source\'s)', async () => {
    await reference();
    // Same bench id and database, now measured by MPO source + multi-port meter.
    const other = mpoRig('auto', rig.autoModel);
    expect(() => other.certifyOn('DEMO-0001')).toThrow(expect.objectContaining({ code: 'REFERENCE_OTHER_METHOD' }));
  });

  it('the drop check compares with the last reference of the same setup, even after one of another method', async () => {
    await reference();
    const other = mpoRig('auto', rig.autoModel);
    const viaMpo = other.runner.reference('auto');
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    await viaMpo;
    rig.autoModel.mpoSource = null; // back to the switch
    rig.autoModel.sourceOffsetDb = -0.25; // the switched path now 0.25 dB lower than its last reference
    const again = rig.runner.reference('auto');
    const refused = expect(again).rejects.toMatchObject({ code: 'REFERENCE_IMPLAUSIBLE' });
    await vi.advanceTimersByTimeAsync(24 * READ_MS);
    await refused;
  });
});
