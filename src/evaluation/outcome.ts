/**
 * Severity order for the overall verdict: PASS < MARGINAL < FAIL < INVALID.
 *
 * INVALID ranks above FAIL because the usual cause (a negative loss, i.e. a reference error) casts
 * doubt on every value of the same test, including the failing ones: QA must re-reference and
 * retest before acting on a FAIL. The summary still counts failing fibers, so an INVALID verdict
 * never hides them, and INVALID is never reported as PASS.
 */
export type Outcome = 'PASS' | 'MARGINAL' | 'FAIL' | 'INVALID';

const SEVERITY: Readonly<Record<Outcome, number>> = { PASS: 0, MARGINAL: 1, FAIL: 2, INVALID: 3 };

export function worse(a: Outcome, b: Outcome): Outcome {
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

export function worstOf(outcomes: Iterable<Outcome>): Outcome {
  let worst: Outcome = 'PASS';
  for (const outcome of outcomes) worst = worse(worst, outcome);
  return worst;
}

/** `mpocert evaluate` exit status: 0 certified (PASS, MARGINAL), 1 FAIL, 2 INVALID. */
export function exitCodeFor(verdict: Outcome): 0 | 1 | 2 {
  switch (verdict) {
    case 'PASS':
    case 'MARGINAL':
      return 0;
    case 'FAIL':
      return 1;
    case 'INVALID':
      return 2;
  }
}
