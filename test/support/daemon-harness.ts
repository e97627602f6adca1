import { DaemonProcess as HarnessDaemon, writeDaemonConfig } from '../../fixtures/harness/daemon-process.js';
import { startSimulatorProcess, type SimulatedEndpoint, type SimulatorProcess } from '../../src/cli/demo.js';
import { sendControlLine } from '../../src/pipeline/operator.js';

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

export const PRODUCT_MTP12_OM4_B = {
  kind: 'assembly',
  fiberCount: 12,
  fiberType: 'OM4',
  connectors: { A: { family: 'MTP', gender: 'female' }, B: { family: 'MTP', gender: 'female' } },
  polarity: { declared: 'B' },
  limitSet: { id: 'mtp-mpo-connector-grades' },
};

export const SAMPLE_ASSEMBLIES = {
  'GOOD-1': 'mtp12-om4-good',
  'GOOD-2': 'mtp12-om4-good',
  'BAD-7': 'mtp12-om4-fiber7-0.9dB',
  'SWAP-34': 'mtp12-om4-polarity-swap-3-4',
  'DARK-5': 'mtp12-om4-dark-fiber-5',
};


export interface BenchOptions {
  id: string;
  sim: SimulatorProcess;
  assemblies?: Record<string, string>;
}

/** The simulator's endpoint as an instrument's transport config (TCP or a socat pty, as it was started). */
export function transportOf(endpoint: SimulatedEndpoint): Record<string, unknown> {
  const { dialect: _dialect, ...transport } = endpoint as SimulatedEndpoint & { profile?: string };
  delete (transport as { profile?: string }).profile;
  return transport;
}

/** A switch-and-meter bench on the simulator's meter and switch, over whatever transport they run on. */
export function benchConfig({ id, sim, assemblies = SAMPLE_ASSEMBLIES }: BenchOptions): Record<string, unknown> {
  const e = sim.endpoints;
  return {
    id,
    defaultProduct: 'MTP12-OM4-B',
    wavelengthsNm: [850, 1300],
    method: { kind: 'switch-and-meter', powerMeter: 'meter', switch: 'switch' },
    instruments: [
      { id: 'meter', dialect: 'thorlabs-pm100', timeoutMs: 1000, transport: transportOf(e.meter) },
      { id: 'switch', dialect: 'dicon-mems-switch', timeoutMs: 1000, transport: transportOf(e.switch) },
    ],
    operator: { kind: 'simulated', host: e.control.host, port: e.control.port, assemblies },
  };
}

export function writeConfig(dir: string, benches: Record<string, unknown>[], extra: Record<string, unknown> = {}): string {
  return writeDaemonConfig(dir, { benches, products: { 'MTP12-OM4-B': PRODUCT_MTP12_OM4_B }, token: TOKEN, extra });
}


export { startSimulatorProcess, type SimulatorProcess };

/** One command on the simulated bench's control port (the stand-in for a person, and fault injection). */
export function simControl(sim: SimulatorProcess, line: string): Promise<string> {
  return sendControlLine(sim.endpoints.control.host, sim.endpoints.control.port, line);
}
