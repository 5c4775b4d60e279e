import type { Verdict } from './types.js';

/** What a scenario says a target should show: the reference leaky server 'leak', its fix 'clean'. */
export type Expectation = 'leak' | 'clean';

/**
 * Does the verdict meet the expectation?
 * - leak expected: only 'leak' meets it. Saturation is bounded growth, so a server expected to leak per
 *   disconnect that only saturates has not shown the leak.
 * - clean expected: 'clean' and 'saturating' meet it. A bounded store filling up (a cache, a pool, the
 *   tail of warm-up) is not a per-disconnect leak, and a clean server whose first cycle still carries
 *   warm-up growth reads as saturating; failing CI on that would teach people to ignore the tool.
 * - 'inconclusive' meets neither: a run that could not tell must not pass as proof of either.
 */
export function meetsExpectation(verdict: Verdict, expected: Expectation): boolean {
  if (expected === 'leak') return verdict === 'leak';
  return verdict === 'clean' || verdict === 'saturating';
}
