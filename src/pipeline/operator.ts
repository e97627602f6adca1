import { EventEmitter } from 'node:events';
import { Socket } from 'node:net';
import type { BenchConfig } from '../config/schema.js';
import { InputError, JobRefusedError, MpocertError, type ErrorContext } from '../errors.js';

/**
 * Every physical step the person at the bench takes, as the pipeline asks for it. A step with
 * `confirmSerial` is confirmed by scanning (or typing) that serial again, which also proves the
 * right assembly is on the bench.
 */
export type StepId = 'launch-cord-only' | 'mate-reference-plug' | 'connect-end-A' | 'turn-assembly';

export interface OperatorStep {
  readonly id: StepId;
  /** What to do, in words a technician follows. */
  readonly instruction: string;
  readonly confirmSerial?: string;
}

/** A step waiting for the person at the bench (shown in job and bench progress). */
export interface PendingStep extends OperatorStep {
  readonly since: string;
  readonly timeoutS: number;
}

export interface Operator {
  readonly kind: string;
  /** Resolves once the step is done (the person confirmed, or the simulated stand-in did it). */
  perform(step: OperatorStep, subject?: { id: string }): Promise<void>;
}

/** Ten minutes for a person to connect, turn or scan an assembly. */
export const DEFAULT_CONFIRM_TIMEOUT_S = 600;

export class OperatorTimeoutError extends MpocertError {
  constructor(message: string, context: ErrorContext = {}) {
    super('OPERATOR_TIMEOUT', message, context);
  }
}

/**
 * A person at a real bench. A step is published (`pending`) and waits for `confirm(stepId,
 * serial?)` from the HTTP API, the CLI or the console, with a timeout that aborts the job cleanly
 * and says which step was not confirmed.
 */
export class ManualOperator extends EventEmitter implements Operator {
  readonly kind = 'manual';
  private waiting: { step: PendingStep; resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly benchId: string,
    private readonly timeoutS: number,
  ) {
    super();
  }

  get pending(): PendingStep | undefined {
    return this.waiting?.step;
  }

  perform(step: OperatorStep): Promise<void> {
    if (this.waiting) return Promise.reject(new MpocertError('OPERATOR_BUSY', `bench "${this.benchId}" is already waiting for "${this.waiting.step.id}"`, { bench: this.benchId }));
    return new Promise<void>((resolve, reject) => {
      const pending: PendingStep = { ...step, since: new Date().toISOString(), timeoutS: this.timeoutS };
      const timer = setTimeout(() => {
        this.waiting = undefined;
        this.emit('step', undefined);
        reject(
          new OperatorTimeoutError(`nobody confirmed "${step.instruction}" within ${this.timeoutS} s: the job stopped before measuring anything more`, {
            bench: this.benchId,
            step: step.id,
          }),
        );
      }, this.timeoutS * 1000);
      timer.unref();
      this.waiting = { step: pending, resolve, reject, timer };
      this.emit('step', pending);
    });
  }

  /**
   * The person confirms the step now waiting. A scanned serial must be the assembly under test:
   * a wrong one is refused (InputError) and the step keeps waiting for the right one.
   */
  confirm(stepId: string, serial?: string): PendingStep {
    const w = this.waiting;
    if (!w) throw new JobRefusedError('NOTHING_TO_CONFIRM', `bench "${this.benchId}" is not waiting for any step`, { bench: this.benchId });
    if (w.step.id !== stepId) {
      throw new JobRefusedError('WRONG_STEP', `bench "${this.benchId}" is waiting for "${w.step.id}" (${w.step.instruction}), not "${stepId}"`, { bench: this.benchId });
    }
    if (w.step.confirmSerial !== undefined && (serial === undefined || serial.trim() === '')) {
      // Scanning the serial again is what proves the right assembly is on the bench.
      throw new InputError(`scan ${w.step.confirmSerial}'s serial to confirm "${w.step.instruction}"`, { bench: this.benchId, step: stepId });
    }
    if (w.step.confirmSerial !== undefined && serial !== undefined && serial.trim() !== w.step.confirmSerial) {
      throw new InputError(`scanned serial "${serial.trim()}" is not the assembly under test (${w.step.confirmSerial}): put ${w.step.confirmSerial} on the bench`, {
        bench: this.benchId,
        step: stepId,
      });
    }
    clearTimeout(w.timer);
    this.waiting = undefined;
    this.emit('step', undefined);
    w.resolve();
    return w.step;
  }

  /** Shutdown: a waiting step ends the job. */
  cancel(reason: string): void {
    const w = this.waiting;
    if (!w) return;
    clearTimeout(w.timer);
    this.waiting = undefined;
    w.reject(new MpocertError('JOB_ABORTED', reason, { bench: this.benchId, step: w.step.id }));
  }
}

type SimulatedOperatorConfig = Extract<BenchConfig['operator'], { kind: 'simulated' }>;

/**
 * Stands in for the person at a simulated bench: each step is the physical action on the
 * simulator's control port (fixtures/simulators/bench.ts).
 */
export class SimulatedOperator implements Operator {
  readonly kind = 'simulated';
  constructor(
    private readonly cfg: SimulatedOperatorConfig,
    private readonly timeoutMs = 5000,
  ) {}

  async perform(step: OperatorStep, subject?: { id: string }): Promise<void> {
    switch (step.id) {
      case 'launch-cord-only':
        await this.command('DUT REMOVE');
        await this.command('PLUG REMOVE');
        return;
      case 'mate-reference-plug':
        await this.command('PLUG INSERT');
        return;
      case 'connect-end-A':
        await this.command(`DUT INSERT ${this.fixtureFor(subject?.id ?? '')}`);
        return;
      case 'turn-assembly': {
        const reply = await this.command('DUT TURN', (r) => r === 'OK B' || r === 'OK A');
        if (reply !== 'OK B') throw new MpocertError('SIMULATOR_CONTROL', `simulated bench turned the assembly to end ${reply.slice(3)}, expected B`, { command: 'DUT TURN' });
        return;
      }
    }
  }

  private fixtureFor(subjectId: string): string {
    const fixture = this.cfg.assemblies[subjectId];
    if (fixture === undefined) {
      throw new JobRefusedError(
        'NO_SIMULATED_ASSEMBLY',
        `the simulated bench has no sample assembly for "${subjectId}" (known: ${Object.keys(this.cfg.assemblies).join(', ')})`,
        { subject: subjectId },
      );
    }
    return fixture;
  }

  private async command(line: string, ok: (reply: string) => boolean = (r) => r === 'OK'): Promise<string> {
    const reply = await sendControlLine(this.cfg.host, this.cfg.port, line, this.timeoutMs);
    if (!ok(reply)) {
      throw new MpocertError('SIMULATOR_CONTROL', `simulated bench refused: ${reply}`, { port: `tcp://${this.cfg.host}:${this.cfg.port}`, command: line });
    }
    return reply;
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

export function createOperator(benchId: string, cfg: BenchConfig['operator']): Operator {
  return cfg.kind === 'simulated' ? new SimulatedOperator(cfg) : new ManualOperator(benchId, cfg.confirmTimeoutS ?? DEFAULT_CONFIRM_TIMEOUT_S);
}
