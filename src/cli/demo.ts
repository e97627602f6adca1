import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { loadConfig } from '../config/load.js';
import type { BenchConfig, DaemonConfig } from '../config/schema.js';
import { MpocertError } from '../errors.js';
import { projectRoot } from '../project-root.js';
import { serveCommand } from './serve.js';

export const DEMO_CONFIG = join(projectRoot(), 'fixtures', 'benches', 'demo.yaml');

/** Where the demo config expects the simulated bench's devices: read from the config itself. */
function simulatorPorts(bench: BenchConfig): SimulatorPorts {
  const m = bench.method;
  if (m.kind === 'loss-test-set' || bench.operator.kind !== 'simulated') {
    throw new MpocertError('DEMO_CONFIG', `bench "${bench.id}" is not a simulated switch-and-meter, switch-and-multiport-meter or mpo-source-and-multiport-meter bench`);
  }
  const portOf = (id: string): number => {
    const t = bench.instruments.find((i) => i.id === id)?.transport as { kind: string; port?: number } | undefined;
    if (t?.kind !== 'tcp' || t.port === undefined) throw new MpocertError('DEMO_CONFIG', `instrument "${id}" of the demo bench must use a tcp transport`);
    return t.port;
  };
  // The switch is started on an ephemeral port when the method has none (it stays unused).
  if (m.kind === 'mpo-source-and-multiport-meter') return { meter: 0, switch: 0, multiPortMeter: portOf(m.multiPortMeter), mpoSource: portOf(m.mpoSource), control: bench.operator.port };
  if (m.kind === 'switch-and-multiport-meter') return { meter: 0, multiPortMeter: portOf(m.multiPortMeter), switch: portOf(m.switch), control: bench.operator.port };
  return { meter: portOf(m.powerMeter), switch: portOf(m.switch), control: bench.operator.port };
}

export interface SimulatorPorts {
  meter: number;
  switch: number;
  control: number;
  /** Start the Santec multi-port meter on this port (0 = ephemeral); absent = none. */
  multiPortMeter?: number;
  /** Start the MPO source (one output per fiber) on this port (0 = ephemeral); absent = none. */
  mpoSource?: number;
}

export interface SimulatorProcess {
  child: ChildProcess;
  /** What the simulator bound, as it printed it (ports are real even when 0 was asked for). */
  endpoints: {
    meter: SimulatedEndpoint;
    switch: SimulatedEndpoint;
    control: { host: string; port: number };
    lossTestSet?: SimulatedEndpoint & { unitId: number; profile: string };
    multiPortMeter?: SimulatedEndpoint;
    mpoSource?: SimulatedEndpoint;
  };
}

/** A simulated device's address, shaped as an instrument transport config (plus its dialect). */
export type SimulatedEndpoint = { dialect: string } & ({ kind: 'tcp' | 'modbus-tcp'; host: string; port: number } | { kind: 'serial'; path: string; baudRate: number });

/** Starts the simulated bench as its own process (dist/fixtures/simulators/run-bench.js). */
export function startSimulatorProcess(ports: SimulatorPorts, extraArgs: string[] = []): Promise<SimulatorProcess> {
  const script = join(projectRoot(), 'dist', 'fixtures', 'simulators', 'run-bench.js');
  const child = spawn(
    process.execPath,
    [
      script,
      '--host',
      '127.0.0.1',
      '--meter-port',
      String(ports.meter),
      '--switch-port',
      String(ports.switch),
      '--control-port',
      String(ports.control),
      ...(ports.multiPortMeter !== undefined ? ['--mpm-port', String(ports.multiPortMeter)] : []),
      ...(ports.mpoSource !== undefined ? ['--mpo-source-port', String(ports.mpoSource)] : []),
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const failed = (why: string): void => reject(new MpocertError('SIMULATOR_START', `the simulated bench did not start: ${why}`, { script }));
    child.once('exit', (code) => failed(`it exited with code ${code}`));
    child.once('error', (err) => failed(err.message));
    lines.once('line', (line) => {
      child.removeAllListeners('exit');
      try {
        resolve({ child, endpoints: JSON.parse(line) as SimulatorProcess['endpoints'] });
      } catch {
        child.kill('SIGTERM');
        failed(`it printed ${JSON.stringify(line)} instead of its endpoints`);
      }
    });
  });
}

/** The newcomer's path: simulated instruments as separate devices on loopback TCP, then the daemon. */
/**
 * The demo replicating to a central QA store (README: "From one bench to central QA"): the site
 * is "demo-site", the URL given on the command line (a real bench reads it from its config,
 * preferably from central.postgresUrlFile).
 */
export function demoCentral(postgresUrl: string | undefined): NonNullable<DaemonConfig['central']> | undefined {
  if (postgresUrl === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(postgresUrl)) throw new MpocertError('DEMO_CONFIG', `--central takes a PostgreSQL URL (postgres://user:password@host/db), not "${postgresUrl}"`);
  return { site: 'demo-site', postgresUrl, batchSize: 200, intervalMs: 1000 };
}

export async function demoCommand(configPath: string, central?: NonNullable<DaemonConfig['central']>): Promise<number> {
  const config = loadConfig(configPath);
  const bench = config.benches[0]!;
  const sim = await startSimulatorProcess(simulatorPorts(bench));
  const stopSim = (): void => void sim.child.kill('SIGTERM');
  process.once('exit', stopSim);
  try {
    return await serveCommand(configPath, (d) => {
      const cfg = configPath === DEMO_CONFIG ? '' : ` --config ${configPath}`;
      process.stdout.write(
        [
          '',
          `mpocert demo is running: simulated bench "${bench.id}" (1x12 switch, multi-port power meter, sample assemblies) and the daemon.`,
          `  console:      ${d.url}/   (sign in with your name and the demo's shared token, http.token in ${configPath === DEMO_CONFIG ? 'fixtures/benches/demo.yaml' : configPath})`,
          `  HTTP:         ${d.url}/status`,
          `  data:         ${config.dataDir}`,
          ...(central ? [`  replicating:  to the central QA store as site "${central.site}" (see ${d.url}/status)`] : []),
          'In another terminal:',
          `  npx mpocert reference --bench ${bench.id}${cfg}`,
          `  npx mpocert certify --bench ${bench.id} --serial DEMO-0001${cfg}    # a good MTP-12 trunk`,
          `  npx mpocert certify --bench ${bench.id} --serial DEMO-0002${cfg}    # fiber 7 at 0.90 dB`,
          `  npx mpocert certify --bench ${bench.id} --serial DEMO-0003${cfg}    # fibers 3 and 4 swapped`,
          `  then open ${d.url}/certificates/1?format=html`,
          'Stop with Ctrl-C.',
          '',
        ].join('\n'),
      );
    }, { demo: true, ...(central ? { central } : {}) });
  } finally {
    stopSim();
  }
}
