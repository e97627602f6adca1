import { Socket } from 'node:net';
import type { BenchConfig } from '../config/schema.js';
import { JobRefusedError, MpocertError } from '../errors.js';

/**
 * The person at the bench. The pipeline asks for the launch cord alone before a reference and
 * for the device under test before measuring. On a real bench the job is started once the
 * person has done so; on a simulated bench a stand-in does it over the simulator's control port.
 */
export interface Operator {
  readonly kind: string;
  prepareReference(): Promise<void>;
  presentDeviceUnderTest(subjectId: string): Promise<void>;
}

export class ManualOperator implements Operator {
  readonly kind = 'manual';
  async prepareReference(): Promise<void> {}
  async presentDeviceUnderTest(): Promise<void> {}
}

type SimulatedOperatorConfig = Extract<BenchConfig['operator'], { kind: 'simulated' }>;

export class SimulatedOperator implements Operator {
  readonly kind = 'simulated';
  constructor(
    private readonly cfg: SimulatedOperatorConfig,
    private readonly timeoutMs = 5000,
  ) {}

  async prepareReference(): Promise<void> {
    await this.command('DUT REMOVE');
  }

  async presentDeviceUnderTest(subjectId: string): Promise<void> {
    const fixture = this.cfg.assemblies[subjectId];
    if (fixture === undefined) {
      throw new JobRefusedError(
        'NO_SIMULATED_ASSEMBLY',
        `the simulated bench has no sample assembly for "${subjectId}" (known: ${Object.keys(this.cfg.assemblies).join(', ')})`,
        { subject: subjectId },
      );
    }
    await this.command(`DUT INSERT ${fixture}`);
  }

  private command(line: string): Promise<void> {
    const where = `tcp://${this.cfg.host}:${this.cfg.port}`;
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let buffer = '';
      const fail = (message: string): void => {
        socket.destroy();
        reject(new MpocertError('SIMULATOR_CONTROL', message, { port: where, command: line }));
      };
      socket.setTimeout(this.timeoutMs, () => fail('simulated bench control port did not answer'));
      socket.on('error', (err) => fail(`simulated bench control port: ${err.message}`));
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        const end = buffer.indexOf('\n');
        if (end < 0) return;
        const reply = buffer.slice(0, end).trim();
        socket.end();
        if (reply === 'OK') resolve();
        else fail(`simulated bench refused: ${reply}`);
      });
      socket.connect(this.cfg.port, this.cfg.host, () => socket.write(`${line}\n`));
    });
  }
}

export function createOperator(cfg: BenchConfig['operator']): Operator {
  return cfg.kind === 'simulated' ? new SimulatedOperator(cfg) : new ManualOperator();
}
