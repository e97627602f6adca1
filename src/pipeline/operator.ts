import { EventEmitter } from 'node:events';
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
 * and says which step was not confirmed. With `physical`, the confirmed step is then done by it
 * (a simulated bench asking its person as a real one does: the demo's console shows every prompt).
 */
export class ManualOperator extends EventEmitter implements Operator {
  readonly kind = 'manual';
  private waiting: { step: PendingStep; resolve: () => void; reject: (err: Error) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly benchId: string,
    private readonly timeoutS: number,
    private readonly physical?: Operator,
  ) {
    super();
  }

  get pending(): PendingStep | undefined {
    return this.waiting?.step;
  }

  async perform(step: OperatorStep, subject?: { id: string }): Promise<void> {
    await this.ask(step);
    if (this.physical) await this.physical.perform(step, subject);
  }

  private ask(step: OperatorStep): Promise<void> {
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
    this.emit('step', undefined);
    w.reject(new MpocertError('JOB_ABORTED', reason, { bench: this.benchId, step: w.step.id }));
  }
}

