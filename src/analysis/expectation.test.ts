import { describe, expect, it } from 'vitest';
import { meetsExpectation } from './expectation.js';
import type { Verdict } from './types.js';

describe('meetsExpectation', () => {
  it.each<[Verdict, boolean, boolean]>([
    // verdict, meets 'leak', meets 'clean'
    ['leak', true, false],
    ['saturating', false, true],
    ['clean', false, true],
    ['inconclusive', false, false],
  ])('%s: leak expected -> %s, clean expected -> %s', (verdict, meetsLeak, meetsClean) => {
    expect(meetsExpectation(verdict, 'leak')).toBe(meetsLeak);
    expect(meetsExpectation(verdict, 'clean')).toBe(meetsClean);
  });
});
