/**
 * Seeded choice of client behaviours. A run's seed, printed in every report, replays the exact
 * sequence of behaviours each (target, scenario, cycle) got: a suspicious cycle can be re-run as it was.
 */
import type { Behaviour, MixEntry } from './scenario.js';

/**
 * mulberry32: a 32-bit state PRNG (Tommy Ettinger's), uniform in [0, 1). Not cryptographic; chosen
 * because it is tiny, fast, passes the usual statistical batteries for this use, and gives the same
 * sequence on every platform since it only uses 32-bit integer arithmetic.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A seed of its own for one stream of choices, e.g. `deriveSeed(runSeed, 'old/mixed/cycle-2')`:
 * FNV-1a over the label, mixed with the run seed through murmur3's finaliser. The result depends
 * only on (runSeed, label), so adding or removing a target does not change another target's plan.
 */
export function deriveSeed(runSeed: number, label: string): number {
  let hash = 0x811c9dc5 ^ (runSeed >>> 0);
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= Math.imul(runSeed >>> 0, 0x9e3779b1);
  // murmur3 fmix32: every input bit affects every output bit.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

/**
 * `count` behaviours drawn independently from `mix` by weight. The same rng state gives the same
 * sequence. The returned behaviours are the mix's own objects (treat them as read-only).
 */
export function planBehaviours(mix: readonly MixEntry[], count: number, rng: () => number): Behaviour[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`planBehaviours: count must be an integer >= 0, got ${count}`);
  let total = 0;
  for (const entry of mix) {
    if (!(entry.weight >= 0) || !Number.isFinite(entry.weight)) {
      throw new RangeError(`planBehaviours: weights must be finite and >= 0, got ${entry.weight}`);
    }
    total += entry.weight;
  }
  if (!(total > 0)) throw new RangeError('planBehaviours: the mix has no positive weight');

  const plan: Behaviour[] = new Array<Behaviour>(count);
  const last = mix.length - 1;
  for (let n = 0; n < count; n++) {
    let pick = rng() * total;
    let index = 0;
    // Zero-weight entries are never chosen; the final fallback covers float rounding at the top end.
    while (index < last && (pick >= mix[index]!.weight || mix[index]!.weight === 0)) {
      pick -= mix[index]!.weight;
      index++;
    }
    while (mix[index]!.weight === 0) index--;
    plan[n] = mix[index]!.behaviour;
  }
  return plan;
}
