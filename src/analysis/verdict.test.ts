import { describe, expect, it } from 'vitest';
import { NODE_HANDLES, NODE_HEAP_USED, NODE_RSS, PROC_RSS } from './thresholds.js';
import type { MetricSpec, SeriesPoint, Verdict } from './types.js';
import { judgeMetric, judgeTarget } from './verdict.js';

// ---------------------------------------------------------------------------------------------------
// Recorded-style series. The clean heap follows the measured clean drift (docs/measurements.md#node-heap:
// a clean Node SSE server, 2×gc per sample): after warm-up it drifts ~86 B per disconnect over the first 2 000 disconnects, easing to
// ~4 B after 5 000, with ±20 KB between samples (modelled as Gaussian noise, σ = 10 KB, so ±20 KB is
// 2σ and the tails reach further). The run's warm-up may have driven anywhere from 0 to 3 000
// disconnects before the baseline, so a run can start anywhere on that drift curve.

/** mulberry32: a tiny seeded PRNG, so every failing seed can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(random: () => number): number {
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Clean drift in bytes per disconnect at `d` disconnects since the server started. */
function cleanDriftRate(d: number): number {
  if (d < 2_000) return 86;
  if (d < 5_000) return 86 - ((d - 2_000) / 3_000) * (86 - 4);
  return 4;
}

/** Heap retained by the clean drift between two disconnect counts (integrated in 10-disconnect steps). */
function cleanDrift(from: number, to: number): number {
  let bytes = 0;
  for (let d = from; d < to; d += 10) bytes += cleanDriftRate(d) * Math.min(10, to - d);
  return bytes;
}

interface HeapRun {
  cycles: number;
  perCycle: number;
  /** planted leak, bytes per disconnect */
  leakBytes?: number;
  /** warm-up growth the run failed to drop, landing in cycle 1 */
  residualWarmupBytes?: number;
  noiseSigmaBytes?: number;
}

function heapSeries(seed: number, run: HeapRun): SeriesPoint[] {
  const random = prng(seed);
  const warmupDisconnects = Math.floor(random() * 3_000);
  const sigma = run.noiseSigmaBytes ?? 10_000;
  const base = 30_000_000;
  const points: SeriesPoint[] = [];
  for (let cycle = 0; cycle <= run.cycles; cycle++) {
    const disconnects = cycle * run.perCycle;
    const drift = cleanDrift(warmupDisconnects, warmupDisconnects + disconnects);
    const leak = (run.leakBytes ?? 0) * disconnects;
    const residual = cycle > 0 ? (run.residualWarmupBytes ?? 0) : 0;
    points.push({ disconnects, value: base + drift + leak + residual + sigma * gaussian(random) });
  }
  return points;
}

/** Handles: a fixed base, `perDisconnect` leaked each disconnect, jitter of 0 ± 1 per sample. */
function handleSeries(seed: number, cycles: number, perCycle: number, perDisconnect: number): SeriesPoint[] {
  const random = prng(seed);
  return Array.from({ length: cycles + 1 }, (_, cycle) => ({
    disconnects: cycle * perCycle,
    value: 12 + Math.round(perDisconnect * cycle * perCycle) + Math.floor(random() * 3) - 1,
  }));
}

function tally(verdicts: Verdict[]): Record<Verdict, number> {
  const counts: Record<Verdict, number> = { leak: 0, saturating: 0, clean: 0, inconclusive: 0 };
  for (const v of verdicts) counts[v]++;
  return counts;
}

/** Series from per-cycle growths (absolute), `perCycle` disconnects each. */
function fromGrowths(growths: number[], perCycle: number, start = 1_000_000): SeriesPoint[] {
  const points: SeriesPoint[] = [{ disconnects: 0, value: start }];
  growths.forEach((growth, i) => points.push({ disconnects: (i + 1) * perCycle, value: points[i]!.value + growth }));
  return points;
}

const SEEDS = Array.from({ length: 200 }, (_, i) => i + 1);
const RUN_SHAPES = [
  { cycles: 4, perCycle: 500 },
  { cycles: 5, perCycle: 500 },
  { cycles: 4, perCycle: 1_000 },
  { cycles: 5, perCycle: 1_000 },
  { cycles: 4, perCycle: 1_500 },
  { cycles: 5, perCycle: 1_500 },
];

// ---------------------------------------------------------------------------------------------------

describe('judgeMetric on a clean Node heap (warm-up drift, ±20 KB noise)', () => {
  it.each(RUN_SHAPES)('never calls it a leak: $cycles cycles × $perCycle disconnects, 200 seeds', ({ cycles, perCycle }) => {
    const verdicts = SEEDS.map((seed) => judgeMetric(heapSeries(seed, { cycles, perCycle }), NODE_HEAP_USED).verdict);
    const counts = tally(verdicts);
    expect(counts.leak).toBe(0);
    // Most runs are confidently clean; the rest may only be inconclusive, never a leak.
    expect(counts.clean).toBeGreaterThanOrEqual(190);
  });

  it('never calls it a leak when the first cycle still carries up to 300 KB of warm-up growth', () => {
    const verdicts = RUN_SHAPES.flatMap(({ cycles, perCycle }) =>
      SEEDS.map((seed) => {
        const residualWarmupBytes = prng(seed * 7919)() * 300_000;
        return judgeMetric(heapSeries(seed, { cycles, perCycle, residualWarmupBytes }), NODE_HEAP_USED).verdict;
      }),
    );
    const counts = tally(verdicts);
    expect(counts.leak).toBe(0);
    // Mostly saturating (the leftover rise, then the drift) or clean; short cycles may not tell.
    expect(counts.clean + counts.saturating).toBeGreaterThanOrEqual(0.95 * verdicts.length);
  });

  it('stays clean when every cycle rises above noise but only at the 86 B drift', () => {
    const judgement = judgeMetric(fromGrowths([86_000, 86_000, 86_000, 86_000], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('clean');
    expect(judgement.reason).toBe('moved 86 B per disconnect (95% CI 86–86 B), below the leak threshold of 128 B per disconnect');
  });
});

describe('judgeMetric on a planted 256 B/disconnect heap leak (same drift and noise)', () => {
  it('flags 1000 disconnects × 5 cycles as a leak in ≥ 99% of 200 seeds', () => {
    const verdicts = SEEDS.map(
      (seed) => judgeMetric(heapSeries(seed, { cycles: 5, perCycle: 1_000, leakBytes: 256 }), NODE_HEAP_USED).verdict,
    );
    expect(tally(verdicts).leak).toBeGreaterThanOrEqual(198);
  });

  it.each(RUN_SHAPES)('flags $cycles cycles × $perCycle disconnects as a leak in ≥ 99% of 200 seeds', ({ cycles, perCycle }) => {
    const verdicts = SEEDS.map((seed) => judgeMetric(heapSeries(seed, { cycles, perCycle, leakBytes: 256 }), NODE_HEAP_USED).verdict);
    expect(tally(verdicts).leak).toBeGreaterThanOrEqual(198);
  });
});

describe('judgeMetric on the reference leaky server (4.7 KB and 1 handle per disconnect)', () => {
  it('flags the heap with perDisconnect within 5% of 4.7 KB', () => {
    for (const seed of SEEDS.slice(0, 20)) {
      const judgement = judgeMetric(heapSeries(seed, { cycles: 4, perCycle: 1_000, leakBytes: 4_700 }), NODE_HEAP_USED);
      expect(judgement.verdict).toBe('leak');
      expect(Math.abs(judgement.perDisconnect - 4_700) / 4_700).toBeLessThan(0.05);
      expect(judgement.ci95[0]).toBeLessThanOrEqual(judgement.perDisconnect);
      expect(judgement.ci95[1]).toBeGreaterThanOrEqual(judgement.perDisconnect);
      expect(judgement.cycleRates).toHaveLength(4);
      expect(judgement.disconnects).toBe(4_000);
    }
  });

  it('flags the handles at 1.00 per disconnect, and says so in words', () => {
    const judgement = judgeMetric(handleSeries(3, 4, 1_000, 1), NODE_HANDLES);
    expect(judgement.verdict).toBe('leak');
    expect(Math.abs(judgement.perDisconnect - 1)).toBeLessThan(0.05);
    expect(judgement.reason).toMatch(/^grew in each of 4 cycles, 1\.00 per disconnect \(95% CI 1\.00–1\.00\)$/);
  });

  it('writes the heap reason with figures', () => {
    const judgement = judgeMetric(fromGrowths([4_700_000, 4_700_000, 4_700_000, 4_700_000], 1_000), NODE_HEAP_USED);
    expect(judgement.reason).toBe('grew in each of 4 cycles, 4.7 KB per disconnect (95% CI 4.7–4.7 KB)');
  });

  it('keeps a clean server’s handles clean (0 ± 1 per sample)', () => {
    for (const seed of SEEDS) expect(judgeMetric(handleSeries(seed, 5, 1_000, 0), NODE_HANDLES).verdict).toBe('clean');
  });
});

describe('the weakest cycle decides', () => {
  it('does not call a leak when one cycle did not grow, however steep the mean', () => {
    const judgement = judgeMetric(fromGrowths([600_000, 600_000, 10_000, 600_000], 1_000), NODE_HEAP_USED);
    expect(judgement.perDisconnect).toBeGreaterThan(NODE_HEAP_USED.leakPerDisconnect);
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.reason).toContain('not in every cycle (cycle 3: +10 KB');
  });

  it('counts a cycle growing by exactly the noise floor as not grown', () => {
    const atFloor = fromGrowths([2, 2, 2, 2], 50);
    expect(judgeMetric(atFloor, NODE_HANDLES).verdict).not.toBe('leak');
    const aboveFloor = fromGrowths([3, 3, 3, 3], 50);
    expect(judgeMetric(aboveFloor, NODE_HANDLES).verdict).toBe('leak');
  });

  it('does not call a leak when every cycle grew beyond noise but one grew slower than the leak threshold', () => {
    // 400, 400, 100 (below 128 B), 400 B per disconnect: a flat-ish cycle in the middle.
    const judgement = judgeMetric(fromGrowths([400_000, 400_000, 100_000, 400_000], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('inconclusive');
  });
});

describe('a steady trend over a long series', () => {
  // Recorded shape (bench, planted 256 B per disconnect, mixed, extended to 8 cycles of ~590): the CI
  // was 233–324 B per disconnect but cycle 3 fell 52 KB, so "every cycle" left it inconclusive
  // (docs/measurements.md#steady-trend).
  const recorded = [250_000, 150_000, -52_400, 180_000, 160_000, 140_000, 170_000, 150_000];

  it('calls a leak when the whole CI lies above the threshold though one cycle fell', () => {
    const judgement = judgeMetric(fromGrowths(recorded, 590), NODE_HEAP_USED);
    expect(judgement.ci95[0]).toBeGreaterThanOrEqual(NODE_HEAP_USED.leakPerDisconnect);
    expect(judgement.verdict).toBe('leak');
    expect(judgement.reason).toMatch(/^grew in 7 of 8 cycles, .* all of it at or above the leak threshold of 128 B per disconnect\)$/);
  });

  it('needs 6 points: the same cycles cut to 4 stay inconclusive', () => {
    expect(judgeMetric(fromGrowths(recorded.slice(0, 4), 590), NODE_HEAP_USED).verdict).toBe('inconclusive');
  });

  it('needs the last two cycles at leak pace: growth that flattens at the end is not a leak', () => {
    const flattening = [250_000, 150_000, -52_400, 180_000, 160_000, 140_000, 20_000, 10_000];
    expect(judgeMetric(fromGrowths(flattening, 590), NODE_HEAP_USED).verdict).not.toBe('leak');
  });

  it('needs 3 in 4 cycles at leak pace, not only a steep CI: 6 of 8 pass, 5 of 8 do not', () => {
    const twoWeak = [250_000, 150_000, -52_400, 180_000, 30_000, 140_000, 170_000, 150_000];
    expect(judgeMetric(fromGrowths(twoWeak, 590), NODE_HEAP_USED).verdict).toBe('leak');
    const threeWeak = [250_000, 150_000, -52_400, 180_000, 30_000, 140_000, 40_000, 250_000];
    expect(judgeMetric(fromGrowths(threeWeak, 590), NODE_HEAP_USED).verdict).not.toBe('leak');
  });

  it('never calls the clean drift a leak over 8 cycles × 600 with ±100 KB swings, 200 seeds', () => {
    const verdicts = SEEDS.map(
      (seed) => judgeMetric(heapSeries(seed, { cycles: 8, perCycle: 600, noiseSigmaBytes: 50_000 }), NODE_HEAP_USED).verdict,
    );
    expect(tally(verdicts).leak).toBe(0);
  });

  it('catches 256 B per disconnect over 8 cycles × 600 with ±100 KB swings in most seeds', () => {
    const verdicts = SEEDS.map(
      (seed) =>
        judgeMetric(heapSeries(seed, { cycles: 8, perCycle: 600, leakBytes: 256, noiseSigmaBytes: 50_000 }), NODE_HEAP_USED).verdict,
    );
    expect(tally(verdicts).leak).toBeGreaterThanOrEqual(150);
  });
});

describe('saturating', () => {
  it('reads a bounded cache (300 KB, 200 KB, 50 KB, 0, 0) as saturating', () => {
    const judgement = judgeMetric(fromGrowths([300_000, 200_000, 50_000, 0, 0], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('saturating');
    expect(judgement.reason).toBe(
      'grew 550 KB, then levelled off: 300 B per disconnect in cycle 1, at most 50 B per disconnect over the last 3 cycles (bounded growth, not a per-disconnect leak)',
    );
  });

  it('reads the same cache through ±20 KB noise as saturating in ≥ 99% of 200 seeds', () => {
    const verdicts = SEEDS.map((seed) => {
      const random = prng(seed);
      const clean = fromGrowths([300_000, 200_000, 50_000, 0, 0], 1_000);
      return judgeMetric(
        clean.map((p) => ({ ...p, value: p.value + 10_000 * gaussian(random) })),
        NODE_HEAP_USED,
      ).verdict;
    });
    expect(tally(verdicts).saturating).toBeGreaterThanOrEqual(198);
  });

  it('reads a handle pool that fills and stops as saturating', () => {
    expect(judgeMetric(fromGrowths([200, 150, 0, 0], 1_000, 10), NODE_HANDLES).verdict).toBe('saturating');
  });

  it('does not read growth that resumes after a pause as saturating', () => {
    expect(judgeMetric(fromGrowths([300_000, 0, 300_000, 0], 1_000), NODE_HEAP_USED).verdict).toBe('inconclusive');
  });

  it('does not read a leak whose first cycle carries leftover warm-up as saturating', () => {
    const judgement = judgeMetric(fromGrowths([1_200_000, 340_000, 340_000, 340_000], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('leak');
  });
});

describe('clean', () => {
  it('is clean when every cycle stays within noise', () => {
    const judgement = judgeMetric(fromGrowths([20_000, -30_000, 15_000, 10_000], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('clean');
    expect(judgement.reason).toBe('stayed within noise (50 KB) in each of 4 cycles: +15 KB over 4000 disconnects');
  });

  it('is clean when the metric falls', () => {
    const judgement = judgeMetric(fromGrowths([-200_000, -100_000, -120_000, -90_000], 1_000, 5_000_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('clean');
    expect(judgement.reason).toMatch(/^fell 510 KB over 4000 disconnects/);
  });

  it('is not clean when cycles too short to show the threshold add up to it', () => {
    // 128 B × 300 disconnects = 38 KB a cycle: each within noise, 192 KB in all.
    const judgement = judgeMetric(fromGrowths([38_400, 38_400, 38_400, 38_400, 38_400], 300), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.reason).toContain('run at least 800 disconnects per cycle');
  });
});

describe('inconclusive', () => {
  it('says so for big swings both ways', () => {
    const judgement = judgeMetric(fromGrowths([400_000, -350_000, 420_000, -380_000, 400_000], 1_000), NODE_HEAP_USED);
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.reason).toMatch(/^swung both ways \(cycle 1 \+400 KB, cycle 2 -350 KB\)/);
    expect(judgement.reason).toMatch(/run more cycles or more disconnects per cycle$/);
  });

  it('says so for 2 points, even for a steep rise, and asks for more cycles', () => {
    const judgement = judgeMetric(
      [
        { disconnects: 0, value: 0 },
        { disconnects: 1_000, value: 5_000_000 },
      ],
      NODE_HEAP_USED,
    );
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.perDisconnect).toBe(5_000);
    expect(judgement.ci95).toEqual([5_000, 5_000]);
    expect(judgement.cycleRates).toEqual([5_000]);
    expect(judgement.reason).toContain('at least 2 cycles');
  });

  it('says so for 1 or 0 points, unreadable samples and cycles without disconnects', () => {
    expect(judgeMetric([], NODE_HEAP_USED).verdict).toBe('inconclusive');
    expect(judgeMetric([{ disconnects: 0, value: 1 }], NODE_HEAP_USED).verdict).toBe('inconclusive');
    const nan = judgeMetric(
      [
        { disconnects: 0, value: 1 },
        { disconnects: 10, value: Number.NaN },
        { disconnects: 20, value: 3 },
      ],
      NODE_HEAP_USED,
    );
    expect(nan.verdict).toBe('inconclusive');
    expect(nan.reason).toContain('point 1');
    const stalled = judgeMetric(
      [
        { disconnects: 0, value: 0 },
        { disconnects: 1_000, value: 1_000_000 },
        { disconnects: 1_000, value: 2_000_000 },
      ],
      NODE_HEAP_USED,
    );
    expect(stalled.verdict).toBe('inconclusive');
    expect(stalled.reason).toContain('no disconnects in cycle 2');
    expect(stalled.cycleRates).toEqual([]);
  });

  it('says so when the CI straddles the threshold', () => {
    // ~100 B per disconnect with wide scatter: below the threshold, but not surely.
    const judgement = judgeMetric(fromGrowths([160_000, 40_000, 170_000, 30_000], 1_000), NODE_HEAP_USED);
    expect(judgement.perDisconnect).toBeLessThan(NODE_HEAP_USED.leakPerDisconnect);
    expect(judgement.ci95[1]).toBeGreaterThan(NODE_HEAP_USED.leakPerDisconnect);
    expect(judgement.verdict).toBe('inconclusive');
    expect(judgement.reason).toContain('does not rule out the leak threshold of 128 B per disconnect');
  });
});

describe('the slope and its confidence interval', () => {
  it('matches a hand-computed example', () => {
    // x = 0..4 thousand, y = 0, 5000, 9000, 16000, 20000.
    // mean x = 2000, mean y = 10000, Sxx = 10e6, Sxy = 51e6 -> slope 5.1, intercept -200.
    // residuals 200, 100, -1000, 900, -200 -> SSR 1.9e6, s² = 1.9e6 / 3, SE = sqrt(s² / Sxx) = 0.2516611.
    // t(0.975, 3) = 3.1824463 -> half-width 0.8008981 -> CI [4.2991019, 5.9008981].
    const spec: MetricSpec = { ...NODE_HEAP_USED, noiseFloor: 1, leakPerDisconnect: 1 };
    const judgement = judgeMetric(
      [0, 5_000, 9_000, 16_000, 20_000].map((value, i) => ({ disconnects: i * 1_000, value })),
      spec,
    );
    expect(judgement.perDisconnect).toBeCloseTo(5.1, 10);
    expect(judgement.ci95[0]).toBeCloseTo(4.2991019, 6);
    expect(judgement.ci95[1]).toBeCloseTo(5.9008981, 6);
    expect(judgement.cycleRates).toEqual([5, 4, 7, 4]);
    expect(judgement.totalGrowth).toBe(20_000);
    expect(judgement.verdict).toBe('leak');
  });
});

// ---------------------------------------------------------------------------------------------------

describe('judgeTarget', () => {
  const flat = fromGrowths([1_000, -2_000, 1_500, 500], 1_000);
  const leaking = fromGrowths([500_000, 500_000, 500_000, 500_000], 1_000);
  const filling = fromGrowths([300_000, 200_000, 50_000, 0], 1_000);
  const swinging = fromGrowths([400_000, -350_000, 420_000, -380_000], 1_000);
  const handlesLeaking = fromGrowths([1_000, 1_000, 1_000, 1_000], 1_000, 10);
  const handlesFlat = fromGrowths([0, 1, -1, 0], 1_000, 10);
  const specs = [NODE_HEAP_USED, NODE_RSS, NODE_HANDLES];

  it('is leak when any decisive metric leaks, and names it', () => {
    const target = judgeTarget({ heapUsedBytes: flat, handles: handlesLeaking }, specs);
    expect(target.verdict).toBe('leak');
    expect(target.reason).toBe('active handles grew in each of 4 cycles, 1.00 per disconnect (95% CI 1.00–1.00)');
    expect(target.metrics.map((m) => m.key)).toEqual(['heapUsedBytes', 'handles']);
  });

  it('prefers leak over saturating over inconclusive over clean', () => {
    expect(judgeTarget({ heapUsedBytes: filling, handles: handlesLeaking }, specs).verdict).toBe('leak');
    expect(judgeTarget({ heapUsedBytes: swinging, handles: handlesLeaking }, specs).verdict).toBe('leak');
    expect(judgeTarget({ heapUsedBytes: filling, handles: handlesFlat }, specs).verdict).toBe('saturating');
    expect(judgeTarget({ heapUsedBytes: swinging, handles: fromGrowths([200, 150, 0, 0], 1_000, 10) }, specs).verdict).toBe(
      'saturating',
    );
    expect(judgeTarget({ heapUsedBytes: swinging, handles: handlesFlat }, specs).verdict).toBe('inconclusive');
    expect(judgeTarget({ heapUsedBytes: flat, handles: handlesFlat }, specs).verdict).toBe('clean');
  });

  it('lists every decisive metric with the deciding verdict', () => {
    const target = judgeTarget({ heapUsedBytes: leaking, handles: handlesLeaking }, specs);
    expect(target.reason).toMatch(/^heap used grew in each of 4 cycles, .*; also leak: active handles$/);
  });

  it('does not let an advisory metric make a leak, but notes it', () => {
    const rssLeaking = fromGrowths([5_000_000, 5_000_000, 5_000_000, 5_000_000], 1_000, 80_000_000);
    const target = judgeTarget({ heapUsedBytes: flat, rssBytes: rssLeaking, handles: handlesFlat }, specs);
    expect(target.verdict).toBe('clean');
    expect(target.metrics.find((m) => m.key === 'rssBytes')?.verdict).toBe('leak');
    expect(target.reason).toContain('note: resident memory (RSS) grew in each of 4 cycles, 5 KB per disconnect');
  });

  it('lets RSS decide when it is the decisive /proc spec', () => {
    const rssLeaking = fromGrowths([5_000_000, 5_000_000, 5_000_000, 5_000_000], 1_000, 80_000_000);
    expect(judgeTarget({ rssBytes: rssLeaking }, [PROC_RSS]).verdict).toBe('leak');
  });

  it('skips specs without a series, and is inconclusive with nothing decisive to judge', () => {
    expect(judgeTarget({ handles: handlesFlat }, specs).metrics).toHaveLength(1);
    const onlyRss = judgeTarget({ rssBytes: flat }, specs);
    expect(onlyRss.verdict).toBe('inconclusive');
    expect(onlyRss.reason).toContain('only advisory metrics were sampled');
    expect(judgeTarget({}, specs).verdict).toBe('inconclusive');
  });
});

describe('recorded series from the reference streamers (2-core machine, mixed scenario)', () => {
  // Settled heapUsed after warm-up, one point per cycle, recorded while tuning the probe
  // (docs/measurements.md#no-trend).
  const newAfterWarmup = [
    { disconnects: 0, value: 11_719_000 },
    { disconnects: 581, value: 11_422_000 },
    { disconnects: 1173, value: 11_490_000 },
    { disconnects: 1760, value: 11_608_000 },
    { disconnects: 2342, value: 11_672_000 },
  ];
  const newLonger = [11_554, 11_412, 11_480, 11_571, 11_148, 11_219, 11_471].map((kb, i) => ({
    disconnects: [0, 588, 1179, 1761, 2351, 2939, 3524][i]!,
    value: kb * 1000,
  }));
  const oldLeaking = [
    { disconnects: 0, value: 76_473_000 },
    { disconnects: 581, value: 100_420_000 },
    { disconnects: 1173, value: 125_875_000 },
    { disconnects: 1760, value: 149_784_000 },
    { disconnects: 2342, value: 175_082_000 },
  ];

  it('calls the fixed streamer clean although its heap swings', () => {
    expect(judgeMetric(newAfterWarmup, NODE_HEAP_USED).verdict).toBe('clean');
    expect(judgeMetric(newLonger, NODE_HEAP_USED).verdict).toBe('clean');
    expect(judgeMetric(newLonger, NODE_HEAP_USED).reason).toMatch(/^no growth that repeats/);
  });

  it('calls the fixed streamer clean when leftover warm-up lands in cycle 1 and 7 flat cycles follow', () => {
    // Default run, 8 cycles (extended): least squares 69 B (CI 7–130 B) from the one step alone.
    const stepThenFlat = [10_786, 11_203, 11_156, 11_232, 11_245, 11_144, 11_258, 11_288, 11_302].map((kb, i) => ({
      disconnects: [0, 590, 1176, 1767, 2355, 2946, 3530, 4121, 4712][i]!,
      value: kb * 1000,
    }));
    const judgement = judgeMetric(stepThenFlat, NODE_HEAP_USED);
    expect(judgement.perDisconnect).toBeGreaterThan(64);
    expect(judgement.verdict).toBe('clean');
    expect(judgement.reason).toMatch(/^no growth that repeats: 69 B per disconnect overall \(95% CI 7–130 B; median of pairwise slopes \d+ B per disconnect\)/);
  });

  it('does not let the same step hide a leak: 256 B per disconnect on top stays a leak or inconclusive', () => {
    const leaking = [10_786, 11_203, 11_156, 11_232, 11_245, 11_144, 11_258, 11_288, 11_302].map((kb, i) => {
      const disconnects = [0, 590, 1176, 1767, 2355, 2946, 3530, 4121, 4712][i]!;
      return { disconnects, value: kb * 1000 + 256 * disconnects };
    });
    expect(judgeMetric(leaking, NODE_HEAP_USED).verdict).not.toBe('clean');
  });

  it('calls the leaky streamer a leak at ~42 KB per disconnect', () => {
    const judgement = judgeMetric(oldLeaking, NODE_HEAP_USED);
    expect(judgement.verdict).toBe('leak');
    expect(judgement.perDisconnect).toBeGreaterThan(41_000);
    expect(judgement.perDisconnect).toBeLessThan(43_000);
  });
});
