import { DaemonProcess as HarnessDaemon, writeDaemonConfig } from '../../fixtures/harness/daemon-process.js';
import { PRODUCTS, TEST_CORDS } from '../../fixtures/harness/products.js';
import { startSimulatorProcess, type SimulatedEndpoint, type SimulatorProcess } from '../../src/cli/demo.js';
import { sendControlLine } from '../../fixtures/simulators/simulated-operator.js';

/**
 * A real daemon process (dist/, as production runs it) on a real simulated bench process, a real
 * SQLite file in a temporary directory and HTTP on an ephemeral loopback port.
 */
export const TOKEN = 'test-token-0123456789abcdef';
export { root, tempDir, sleep, send, type Reply as ApiReply } from '../../fixtures/harness/daemon-process.js';

/** The real daemon process with this suite's token. */
export class DaemonProcess extends HarnessDaemon {
  constructor(configPath: string, env: NodeJS.ProcessEnv = {}) {
    super(configPath, { env, token: TOKEN });
  }
}

export { PRODUCT_MTP12_OM4_B, PRODUCT_MTP12_OM4_LOSS, TEST_CORDS } from '../../fixtures/harness/products.js';

export const SAMPLE_ASSEMBLIES = {
  'GOOD-1': 'mtp12-om4-good',
  'GOOD-2': 'mtp12-om4-good',
  'BAD-7': 'mtp12-om4-fiber7-0.9dB',
  'SWAP-34': 'mtp12-om4-polarity-swap-3-4',
  'DARK-5': 'mtp12-om4-dark-fiber-5',
  'FAR-B-5': 'mtp12-om4-far-end-bad',
};


export interface BenchOptions {
  id: string;
  sim: SimulatorProcess;
  assemblies?: Record<string, string>;
  multiPort?: boolean;
}

/** The simulator's endpoint as an instrument's transport config (TCP or a socat pty, as it was started). */
export function transportOf(endpoint: SimulatedEndpoint): Record<string, unknown> {
  const { dialect: _dialect, ...transport } = endpoint as SimulatedEndpoint & { profile?: string };
  delete (transport as { profile?: string }).profile;
  return transport;
}

/**
 * A bench on the simulator's switch and, by default, its PM100 (one large-area detector: loss
 * only, so its default product declares no polarity), or with `multiPort` its Santec multi-port
 * meter (loss and polarity; the simulator must have been started with one). Both with the
 * harness's verified launch cord.
 */
export function benchConfig({ id, sim, assemblies = SAMPLE_ASSEMBLIES, multiPort = false }: BenchOptions): Record<string, unknown> {
  const e = sim.endpoints;
  const meter = multiPort
    ? { id: 'mpm', dialect: 'santec-mpm-210h', timeoutMs: 1000, transport: transportOf(required(e.multiPortMeter, 'the simulator has no multi-port meter (start it with multiPortMeter: 0)')) }
    : { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: 1000, transport: transportOf(e.meter) };
  return {
    id,
    defaultProduct: multiPort ? 'MTP12-OM4-B' : 'MTP12-OM4-LOSS',
    wavelengthsNm: [850, 1300],
    method: multiPort ? { kind: 'switch-and-multiport-meter', multiPortMeter: 'mpm', switch: 'switch' } : { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    instruments: [meter, { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: 1000, transport: transportOf(e.switch) }],
    testCords: TEST_CORDS,
    operator: { kind: 'simulated', host: e.control.host, port: e.control.port, assemblies },
  };
}

function required<T>(value: T | undefined, message: string): T {
  if (value === undefined) throw new Error(message);
  return value;
}

export function writeConfig(dir: string, benches: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return writeDaemonConfig(dir, { benches, products: PRODUCTS, token: TOKEN, extra });
}


export { startSimulatorProcess, type SimulatorProcess };

/** One command on the simulated bench's control port (the stand-in for a person, and fault injection). */
export function simControl(sim: SimulatorProcess, line: string): Promise<string> {
  return sendControlLine(sim.endpoints.control.host, sim.endpoints.control.port, line);
}
