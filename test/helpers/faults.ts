/**
 * Support for the fault suite: simulated benches in this (test) process, so every injected fault
 * can be counted when a simulator actually applies it, a real daemon process from dist/, and the
 * truth every certificate is compared with.
 */
import { DaemonProcess, writeDaemonConfig } from '../../fixtures/harness/daemon-process.js';
import { mulberry32 } from '../../fixtures/simulators/optical-bench.js';
import { PRODUCT_MTP12_OM4_B, PRODUCTS, testCordsFor } from '../../fixtures/harness/products.js';
import { fiberLossDb, fiberLossDbFromEndB, loadAssembly } from '../../fixtures/dut/assembly-model.js';
import type { SimulatedBench } from '../../fixtures/simulators/bench.js';
import type { Fault } from '../../fixtures/simulators/faults.js';
import type { ServedDevice } from '../../fixtures/simulators/line-server.js';

export { root, send, sleep, tempDir, type RawRequest, type Reply } from '../../fixtures/harness/daemon-process.js';
export const TOKEN = 'faults-token-0123456789abcdef';
export { PRODUCT_MTP12_OM4_B };


/** Serial number -> sample assembly the simulated operator inserts. */
export const ASSEMBLIES: Record<string, string> = {
  GOOD: 'mtp12-om4-good',
  BAD7: 'mtp12-om4-fiber7-0.9dB',
  SWAP34: 'mtp12-om4-polarity-swap-3-4',
  DARK5: 'mtp12-om4-dark-fiber-5',
  DIRTY: 'mtp12-om4-dirty-connector',
};

/**
 * The loss-test-set benches certify another product (with polarity) than the line benches (loss
 * only), and a serial keeps the product it was first certified as: their assemblies carry serials
 * of their own, the same samples behind an `L-` prefix.
 */
export const LTS_PREFIX = 'L-';
export const LTS_ASSEMBLIES: Record<string, string> = Object.fromEntries(Object.entries(ASSEMBLIES).map(([serial, sample]) => [`${LTS_PREFIX}${serial}`, sample]));

/** The true loss of a reading launched into `end` at position `fiber` of a serial's assembly (null: dark), exact to 1e-6 dB. */
export function truth(serial: string, fiber: number, wavelengthNm: number, end: 'A' | 'B' = 'A'): number | null {
  const assembly = loadAssembly((ASSEMBLIES[serial] ?? LTS_ASSEMBLIES[serial])!);
  return end === 'A' ? fiberLossDb(assembly, fiber, wavelengthNm) : fiberLossDbFromEndB(assembly, fiber, wavelengthNm);
}



/** Deterministic randomness: failures name their seed and reproduce. */
export const prng = mulberry32;

export function lineBenchConfig(id: string, sim: SimulatedBench, timeoutMs: number): Record<string, unknown> {
  const t = (e: SimulatedBench['meter'] | SimulatedBench['switch']): Record<string, unknown> => {
    const { dialect: _d, ...rest } = e;
    return rest;
  };
  return {
    id,
    defaultProduct: 'MTP12-OM4-LOSS',
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    testCords: testCordsFor(id),
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs, transport: t(sim.meter) },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs, transport: t(sim.switch) },
    ],
    operator: { kind: 'simulated', host: sim.control.host, port: sim.control.port, assemblies: ASSEMBLIES },
  };
}

export function ltsBenchConfig(id: string, sim: SimulatedBench, timeoutMs: number): Record<string, unknown> {
  const l = sim.lossTestSet!;
  return {
    id,
    defaultProduct: 'MTP12-OM4-B',
    wavelengthsNm: [850, 1300],
    method: { kind: 'loss-test-set', lossTestSet: 'lts' },
    testCords: testCordsFor(id),
    instruments: [{ id: 'lts', dialect: 'modbus-loss-test-set', profile: l.profile, timeoutMs, transport: { kind: 'modbus-tcp', host: l.host, port: l.port, unitId: l.unitId } }],
    operator: { kind: 'simulated', host: sim.control.host, port: sim.control.port, assemblies: LTS_ASSEMBLIES },
  };
}

export function writeConfig(dir: string, benches: Record<string, unknown>[]): string {
  // Hundreds of jobs per bench: the suite is about instrument faults, not the quality plan's
  // re-verification interval (test/daemon/test-cords.test.ts tests that).
  return writeDaemonConfig(dir, { benches, products: PRODUCTS, token: TOKEN, extra: { cordVerification: { maxAgeDays: 7, maxMatings: 100_000 } } });
}





/** The real daemon process with this suite's token. */
export class Daemon extends DaemonProcess {
  constructor(configPath: string) {
    super(configPath, { token: TOKEN });
  }
}

/**
 * Counts the faults a simulated device actually applied (not merely queued) and, for
 * disconnects, when the device came back. Wraps the device's FaultPlan.take.
 */
export class FaultLedger {
  applied = 0;
  readonly byKind: Record<string, number> = {};
  /** Per device name: the times (ms since epoch) a disconnected device is back. */
  readonly returns: { device: string; at: number }[] = [];

  watch(name: string, device: Pick<ServedDevice, 'faults'>): void {
    const plan = device.faults;
    const take = plan.take.bind(plan);
    plan.take = (kinds) => {
      const f = take(kinds);
      if (f) {
        this.applied++;
        this.byKind[`${name} ${f.kind}`] = (this.byKind[`${name} ${f.kind}`] ?? 0) + 1;
        if (f.kind === 'disconnect') this.returns.push({ device: name, at: Date.now() + f.arg });
      }
      return f;
    };
  }
}

export type FaultChoice = { device: 'meter' | 'switch' | 'lts'; fault: Fault };
