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

  private async command(line: string): Promise<void> {
    const reply = await sendControlLine(this.cfg.host, this.cfg.port, line, this.timeoutMs);
    if (reply !== 'OK') {
      throw new MpocertError('SIMULATOR_CONTROL', `simulated bench refused: ${reply}`, { port: `tcp://${this.cfg.host}:${this.cfg.port}`, command: line });
    }
  }
}

/**
 * One line to a simulated bench's control port and its one-line reply (the stand-in for the
 * person at the bench, and fault injection in tests). Rejects with the port and command named.
 */
export function sendControlLine(host: string, port: number, line: string, timeoutMs = 5000): Promise<string> {
  const where = `tcp://${host}:${port}`;
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let buffer = '';
    const fail = (message: string): void => {
      socket.destroy();
      reject(new MpocertError('SIMULATOR_CONTROL', message, { port: where, command: line }));
    };
    socket.setTimeout(timeoutMs, () => fail('simulated bench control port did not answer'));
    socket.on('error', (err) => fail(`simulated bench control port: ${err.message}`));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.end();
      resolve(buffer.slice(0, end).trim());
    });
    socket.connect(port, host, () => socket.write(`${line}\n`));
  });
}

export function createOperator(cfg: BenchConfig['operator']): Operator {
  return cfg.kind === 'simulated' ? new SimulatedOperator(cfg) : new ManualOperator();
}
