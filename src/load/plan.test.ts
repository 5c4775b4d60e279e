import { describe, expect, it } from 'vitest';

import { createRng, deriveSeed, planBehaviours } from './plan.js';
import type { MixEntry } from './scenario.js';

const MIX: MixEntry[] = [
  { behaviour: { kind: 'leave-after-events', events: 5 }, weight: 3 },
  { behaviour: { kind: 'complete' }, weight: 1 },
  { behaviour: { kind: 'leave-before-first-byte' }, weight: 0 },
];

describe('createRng', () => {
  it('is deterministic per seed, in [0, 1), and seeds differ', () => {
    const a = createRng(42);
    const b = createRng(42);
    const c = createRng(43);
    const seqA = Array.from({ length: 1000 }, a);
    expect(Array.from({ length: 1000 }, b)).toEqual(seqA);
    expect(Array.from({ length: 1000 }, c)).not.toEqual(seqA);
    expect(seqA.every((x) => x >= 0 && x < 1)).toBe(true);
  });
});

describe('deriveSeed', () => {
  it('depends only on (run seed, label)', () => {
    expect(deriveSeed(7, 'old/mixed/cycle-1')).toBe(deriveSeed(7, 'old/mixed/cycle-1'));
    const seeds = new Set(['cycle-1', 'cycle-2', 'cycle-11', 'warm-up'].flatMap((l) => [deriveSeed(7, l), deriveSeed(8, l)]));
    expect(seeds.size).toBe(8);
  });
});

describe('planBehaviours', () => {
  it('same seed, same plan', () => {
    const one = planBehaviours(MIX, 500, createRng(deriveSeed(1, 'x')));
    const two = planBehaviours(MIX, 500, createRng(deriveSeed(1, 'x')));
    expect(two).toEqual(one);
    expect(planBehaviours(MIX, 500, createRng(deriveSeed(2, 'x')))).not.toEqual(one);
  });

  it('follows the weights and never picks a zero weight', () => {
    const plan = planBehaviours(MIX, 20_000, createRng(3));
    const leaving = plan.filter((b) => b.kind === 'leave-after-events').length / plan.length;
    expect(leaving).toBeGreaterThan(0.73);
    expect(leaving).toBeLessThan(0.77);
    expect(plan.some((b) => b.kind === 'leave-before-first-byte')).toBe(false);
  });

  it('rejects a mix with no weight', () => {
    expect(() => planBehaviours([{ behaviour: { kind: 'complete' }, weight: 0 }], 1, createRng(1))).toThrow(RangeError);
  });
});
