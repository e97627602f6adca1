import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualOperator, type Operator, type OperatorStep } from '../../src/pipeline/operator.js';

/**
 * The person at the bench, asked step by step. With a physical stand-in (a simulated bench whose
 * config says confirmSteps), the step is done only after the person confirmed it, never before,
 * and not at all when nobody confirms.
 */
const CONNECT: OperatorStep = { id: 'connect-end-A', instruction: 'connect end A of S-1', confirmSerial: 'S-1' };

describe('ManualOperator', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('does the physical step after the confirmation, with the subject, and publishes the prompt and its end', async () => {
    const done: string[] = [];
    const standIn: Operator = { kind: 'simulated', perform: async (step, subject) => void done.push(`${step.id} ${subject?.id}`) };
    const op = new ManualOperator('b1', 60, standIn);
    const published: (string | undefined)[] = [];
    op.on('step', (s: OperatorStep | undefined) => published.push(s?.id));
    const performed = op.perform(CONNECT, { id: 'S-1' });
    await vi.advanceTimersByTimeAsync(59_000);
    expect(done).toEqual([]);
    expect(op.pending).toMatchObject({ id: 'connect-end-A', timeoutS: 60 });
    op.confirm('connect-end-A', 'S-1');
    await performed;
    expect(done).toEqual(['connect-end-A S-1']);
    expect(published).toEqual(['connect-end-A', undefined]);
  });

  it('times out after exactly the configured seconds without doing the step', async () => {
    const done: string[] = [];
    const op = new ManualOperator('b1', 5, { kind: 'simulated', perform: async (step) => void done.push(step.id) });
    const performed = op.perform(CONNECT, { id: 'S-1' });
    const outcome = performed.then(
      () => 'resolved',
      (err: Error & { code?: string }) => err.code,
    );
    await vi.advanceTimersByTimeAsync(4_999);
    expect(op.pending?.id).toBe('connect-end-A');
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBe('OPERATOR_TIMEOUT');
    expect(done).toEqual([]);
    expect(op.pending).toBeUndefined();
  });

  it('a cancelled step clears the prompt it published', async () => {
    const op = new ManualOperator('b1', 60);
    const published: (string | undefined)[] = [];
    op.on('step', (s: OperatorStep | undefined) => published.push(s?.id));
    const performed = op.perform(CONNECT).catch((err: Error & { code?: string }) => err.code);
    op.cancel('shutting down');
    expect(await performed).toBe('JOB_ABORTED');
    expect(published).toEqual(['connect-end-A', undefined]);
  });
});
