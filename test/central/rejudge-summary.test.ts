import { describe, expect, it } from 'vitest';
import { countRejudgement, type RejudgementSummary } from '../../src/central/rejudgements.js';

const empty = (): RejudgementSummary => ({ certificates: 0, rejudged: 0, verdictChanged: 0, judgmentsChanged: 0, errors: 0, skipped: 0, notReproduced: 0, transitions: {} });
const change = { fiber: 7 } as never;

describe('re-judgement summary', () => {
  it('counts what the new limit set changes only for certificates whose stored evaluation was reproduced', () => {
    const s = empty();
    countRejudgement(s, { reproduced: true, changes: [change, change], verdictChanged: true, oldVerdict: 'PASS', newVerdict: 'FAIL' });
    // Rebuilt differently from what was signed: its PASS -> INVALID is not the limit set's doing.
    countRejudgement(s, { reproduced: false, changes: [change], verdictChanged: true, oldVerdict: 'PASS', newVerdict: 'INVALID' });
    countRejudgement(s, { reproduced: true, changes: [], verdictChanged: false, oldVerdict: 'PASS', newVerdict: 'PASS' });
    countRejudgement(s, { reproduced: true, changes: [], verdictChanged: false, oldVerdict: 'PASS', newVerdict: null, error: 'no such limit set' });
    expect(s).toEqual({ certificates: 0, rejudged: 3, verdictChanged: 1, judgmentsChanged: 2, errors: 1, skipped: 0, notReproduced: 1, transitions: { 'PASS -> FAIL': 1 } });
  });
});
