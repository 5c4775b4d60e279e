/**
 * Series -> verdict. Pure: sample series and metric specs in, typed judgements out.
 *
 * A series is a baseline (taken after warm-up) followed by one post-GC point per cycle. Each cycle is
 * judged on its own, because the mean hides the cycle that did not grow: next-leak's four-cycle runs
 * flagged 3 of 9 healthy routes as leaks until it judged the weakest cycle
 * (docs/measurements.md#weakest-cycle). The least-squares slope and its confidence interval then say
 * how fast and how surely.
 *
 * A cycle is "at leak pace" when it grew by more than the noise floor AND at or above the leak rate.
 * - leak: every cycle at leak pace, slope >= leak rate, CI lower bound > 0, total > 3 noise floors;
 *   or, with >= 6 points, the whole CI at or above the leak rate, 3 in 4 cycles and the last two at pace.
 *   (Requiring the leak rate of the weakest cycle too, not only of the slope, is what keeps a clean
 *   server's first cycle carrying leftover warm-up from dragging the slope over the threshold.)
 * - saturating: total > 3 noise floors, an earlier cycle at leak pace, the last not, the last at most
 *   half the fastest and slower by more than noise, no fall beyond noise, no rebound.
 * - clean: every cycle and the total within noise (falls included), or growth that does not repeat
 *   with least-squares and Theil–Sen slopes under the leak rate and one under half of it, or the CI's upper bound below
 *   the leak rate.
 * - inconclusive: fewer than 3 points, unreadable points, and everything else, with advice.
 */
import { formatPerDisconnect, formatQuantity, formatRateRange, plural, type Unit } from './format.js';
import { linearFit, median, theilSenSlope, tQuantile975 } from './stats.js';
import type { MetricJudgement, MetricSpec, SeriesPoint, TargetJudgement, Verdict } from './types.js';

/** A baseline and two cycles: the fewest points in which growth can repeat. */
export const MIN_POINTS = 3;

/**
 * Total growth must exceed this many noise floors to count as significant (for leak and saturating).
 * With every cycle already above the noise floor it only bites on two-cycle runs, where two barely-
 * above-noise cycles are not yet evidence.
 */
export const SIGNIFICANT_NOISE_MULTIPLE = 3;

/**
 * Saturating means the last cycle's rate fell to at most this fraction of the fastest earlier cycle.
 * A leak near the threshold wobbles by far less (at 500 disconnects/cycle the heap's ±20 KB is ±40 B
 * per disconnect on a cycle), so a noisy leak is not mistaken for a store filling up
 * (docs/measurements.md#saturation).
 */
export const SATURATION_RATIO = 0.5;

/**
 * Two cycles' growths differ meaningfully only by more than this many noise floors: the difference of
 * two growths carries the noise of three or four samples. Used both ways for saturating: the last cycle
 * must have slowed by more than this against the fastest (else a noisy clean drift at 500
 * disconnects/cycle reads as "levelled off"), and no cycle may outgrow the one before by more than
 * this (growth that resumes is not a store filling up).
 */
export const CYCLE_DIFFERENCE_NOISE_MULTIPLE = 2;

/**
 * A slope below this share of the leak threshold, without every cycle at leak pace, is clean even when
 * the CI is wide: see clean(). Half keeps a real leak at the threshold (whose slope sits at ~1.0 of it)
 * well away from the rule.
 */
export const NO_TREND_SHARE_OF_THRESHOLD = 0.5;

/**
 * …and only while a typical cycle moves at most this many noise floors: the reference `new` swings a
 * median ~100 KB per cycle (4 × 50 KB allows it); a series swinging ±400 KB every cycle says nothing
 * and stays inconclusive (docs/measurements.md#no-trend).
 */
export const NO_TREND_MAX_SWING_NOISE_MULTIPLE = 4;

interface Cycle {
  /** 1-based, as people count cycles */
  number: number;
  growth: number;
  disconnects: number;
  rate: number;
  /** grew beyond noise at or above the leak rate */
  atLeakPace: boolean;
  /** fell by more than noise */
  fell: boolean;
}

interface Figures {
  perDisconnect: number;
  ci95: [number, number];
  cycleRates: number[];
  totalGrowth: number;
  disconnects: number;
}

interface Evidence extends Figures {
  spec: MetricSpec;
  /** Theil–Sen slope: the trend a one-off step does not tilt. */
  robustPerDisconnect: number;
  cycles: Cycle[];
  pointCount: number;
}

export function judgeMetric(series: readonly SeriesPoint[], spec: MetricSpec): MetricJudgement {
  const head = { key: spec.key, label: spec.label, unit: spec.unit, decisive: spec.decisive };
  const unfitted = (reason: string, totalGrowth = 0, disconnects = 0): MetricJudgement => ({
    ...head,
    verdict: 'inconclusive',
    perDisconnect: 0,
    ci95: [0, 0],
    cycleRates: [],
    totalGrowth,
    disconnects,
    reason,
  });

  const first = series[0];
  const last = series[series.length - 1];
  if (first === undefined || last === undefined) return unfitted('has no samples: the run recorded none for this metric');
  const broken = series.findIndex((p) => !Number.isFinite(p.value) || !Number.isFinite(p.disconnects));
  const bad = series[broken];
  if (bad !== undefined) {
    return unfitted(`has an unreadable sample (point ${broken}: ${bad.value} at ${bad.disconnects} disconnects); check the probe`);
  }
  const totalGrowth = last.value - first.value;
  const disconnects = last.disconnects - first.disconnects;
  if (series.length === 1) return unfitted('has only the baseline sample; run a baseline and at least 2 cycles');

  const cycles = readCycles(series, spec);
  const stalled = cycles.find((c) => !(c.disconnects > 0));
  if (stalled) {
    return unfitted(
      `recorded no disconnects in cycle ${stalled.number}, so growth cannot be put per disconnect; check that the load ran`,
      totalGrowth,
      disconnects,
    );
  }

  const fit = linearFit(series.map((p) => ({ x: p.disconnects, y: p.value })));
  const halfWidth = fit.degreesOfFreedom > 0 ? tQuantile975(fit.degreesOfFreedom) * fit.slopeStdErr : 0;
  const evidence: Evidence = {
    spec,
    cycles,
    pointCount: series.length,
    perDisconnect: fit.slope,
    robustPerDisconnect: theilSenSlope(series.map((p) => ({ x: p.disconnects, y: p.value }))),
    ci95: [fit.slope - halfWidth, fit.slope + halfWidth],
    cycleRates: cycles.map((c) => c.rate),
    totalGrowth,
    disconnects,
  };
  const { verdict, reason } = decide(evidence);
  const { perDisconnect, ci95, cycleRates } = evidence;
  return { ...head, verdict, perDisconnect, ci95, cycleRates, totalGrowth, disconnects, reason };
}

function readCycles(series: readonly SeriesPoint[], spec: MetricSpec): Cycle[] {
  const cycles: Cycle[] = [];
  for (let i = 1; i < series.length; i++) {
    // Both exist: 1 <= i < length.
    const before = series[i - 1]!;
    const after = series[i]!;
    const growth = after.value - before.value;
    const disconnects = after.disconnects - before.disconnects;
    const rate = disconnects > 0 ? growth / disconnects : 0;
    cycles.push({
      number: i,
      growth,
      disconnects,
      rate,
      // Strictly above the floor: a change of exactly the noise floor is, by definition, noise.
      atLeakPace: growth > spec.noiseFloor && rate >= spec.leakPerDisconnect,
      fell: growth < -spec.noiseFloor,
    });
  }
  return cycles;
}

function decide(e: Evidence): { verdict: Verdict; reason: string } {
  if (e.pointCount < MIN_POINTS) {
    return {
      verdict: 'inconclusive',
      reason:
        `changed ${signed(e.totalGrowth, e.spec.unit)} in a single cycle (${rate(e.perDisconnect, e.spec)}); ` +
        'one cycle cannot show a trend: run a baseline and at least 2 cycles (4–6 are typical)',
    };
  }
  return leak(e) ?? saturating(e) ?? clean(e) ?? inconclusive(e);
}

/**
 * Grew at leak pace in every cycle (the weakest cycle decides), with a slope whose CI excludes zero.
 * Or, over a longer series, a steady trend that one noisy cycle does not hide: see steadyTrend().
 */
function leak(e: Evidence): { verdict: Verdict; reason: string } | undefined {
  const { spec } = e;
  if (e.perDisconnect < spec.leakPerDisconnect) return undefined;
  if (!(e.ci95[0] > 0)) return undefined;
  if (!(e.totalGrowth > SIGNIFICANT_NOISE_MULTIPLE * spec.noiseFloor)) return undefined;
  if (e.cycles.every((c) => c.atLeakPace)) {
    return {
      verdict: 'leak',
      reason: `grew in each of ${plural(e.cycles.length, 'cycle')}, ${rate(e.perDisconnect, spec)} (95% CI ${range(e.ci95, spec.unit)})`,
    };
  }
  return steadyTrend(e);
}

/** A series this long has a CI worth trusting on its own (degrees of freedom >= 4). */
export const TREND_MIN_POINTS = 6;
/** …and most of its cycles must still grow at leak pace: one or two noisy ones may not. */
export const TREND_MIN_SHARE_AT_PACE = 0.75;

/**
 * The weakest-cycle rule asks every cycle to grow at leak pace; over 8 cycles a small leak near the
 * noise (256 B per disconnect adds ~150 KB to a 600-disconnect cycle, against swings of ±50–100 KB)
 * almost always has one cycle that did not, and stays inconclusive however long it runs
 * (docs/measurements.md#steady-trend). On a long enough series the CI itself carries the evidence: a
 * leak when the whole CI lies at or above the threshold, most cycles grew at leak pace, and the last
 * two cycles together still did (growth that flattens at the end is a store filling up: saturating,
 * judged next).
 */
function steadyTrend(e: Evidence): { verdict: Verdict; reason: string } | undefined {
  const { spec, cycles } = e;
  if (e.pointCount < TREND_MIN_POINTS) return undefined;
  if (!(e.ci95[0] >= spec.leakPerDisconnect)) return undefined;
  const atPace = cycles.filter((c) => c.atLeakPace).length;
  if (atPace < TREND_MIN_SHARE_AT_PACE * cycles.length) return undefined;
  const lastTwo = cycles.slice(-2);
  const tailGrowth = lastTwo.reduce((sum, c) => sum + c.growth, 0);
  const tailDisconnects = lastTwo.reduce((sum, c) => sum + c.disconnects, 0);
  if (!(tailGrowth > spec.noiseFloor && tailGrowth / tailDisconnects >= spec.leakPerDisconnect)) return undefined;
  return {
    verdict: 'leak',
    reason:
      `grew in ${atPace} of ${plural(cycles.length, 'cycle')}, ${rate(e.perDisconnect, spec)} ` +
      `(95% CI ${range(e.ci95, spec.unit)}, all of it at or above the leak threshold of ${rate(spec.leakPerDisconnect, spec)})`,
  };
}

/**
 * Significant growth that flattened: an earlier cycle grew at leak pace, the last one no longer does
 * and runs at most SATURATION_RATIO of the fastest (and slower by more than noise), nothing fell
 * beyond noise (a store fills, it does not swing) and growth never picked up again on the way down.
 */
function saturating(e: Evidence): { verdict: Verdict; reason: string } | undefined {
  const { spec, cycles } = e;
  const lastCycle = cycles[cycles.length - 1];
  if (lastCycle === undefined || lastCycle.atLeakPace) return undefined;
  if (!(e.totalGrowth > SIGNIFICANT_NOISE_MULTIPLE * spec.noiseFloor)) return undefined;
  if (cycles.some((c) => c.fell)) return undefined;
  const fastest = cycles.reduce((a, b) => (b.rate > a.rate ? b : a));
  if (!fastest.atLeakPace) return undefined;
  if (!(lastCycle.rate <= SATURATION_RATIO * fastest.rate)) return undefined;
  // Compared as rates, put back into growth over the later cycle, so unequal cycles compare fairly.
  const meaningful = CYCLE_DIFFERENCE_NOISE_MULTIPLE * spec.noiseFloor;
  if (!((fastest.rate - lastCycle.rate) * lastCycle.disconnects > meaningful)) return undefined;
  for (let i = 1; i < cycles.length; i++) {
    const before = cycles[i - 1]!;
    const after = cycles[i]!;
    if ((after.rate - before.rate) * after.disconnects > meaningful) return undefined;
  }
  let settled = 0;
  for (let i = cycles.length - 1; i >= 0 && !cycles[i]!.atLeakPace; i--) settled++;
  const tail = cycles.slice(cycles.length - settled);
  const tailRate = Math.max(...tail.map((c) => c.rate));
  const tailText =
    settled === 1
      ? `${rate(tailRate, spec)} in the last cycle; one more cycle would confirm it`
      : `at most ${rate(tailRate, spec)} over the last ${plural(settled, 'cycle')}`;
  return {
    verdict: 'saturating',
    reason:
      `grew ${formatQuantity(e.totalGrowth, spec.unit)}, then levelled off: ${rate(fastest.rate, spec)} in cycle ${fastest.number}, ` +
      `${tailText} (bounded growth, not a per-disconnect leak)`,
  };
}

/** Flat within noise, or a slope whose whole CI lies below the leak threshold (falling included). */
function clean(e: Evidence): { verdict: Verdict; reason: string } | undefined {
  const { spec, cycles } = e;
  const noise = formatQuantity(spec.noiseFloor, spec.unit);
  const over = `over ${e.disconnects} disconnects`;
  if (cycles.every((c) => c.growth <= spec.noiseFloor) && e.totalGrowth <= spec.noiseFloor) {
    if (e.totalGrowth < -spec.noiseFloor) {
      return {
        verdict: 'clean',
        reason: `fell ${formatQuantity(-e.totalGrowth, spec.unit)} ${over} and never rose beyond noise (${noise}) in a cycle`,
      };
    }
    return {
      verdict: 'clean',
      reason: `stayed within noise (${noise}) in each of ${plural(cycles.length, 'cycle')}: ${signed(e.totalGrowth, spec.unit)} ${over}`,
    };
  }
  const ci = `95% CI ${range(e.ci95, spec.unit)}`;
  // Growth that does not repeat: some cycles within noise or below leak pace, and a trend well under
  // the threshold. A clean server's cycles can swing hundreds of KB around a flat line (V8 settling,
  // idle sockets), so its CI is wide although nothing accumulates; a real leak grows at leak pace in
  // every cycle. The trend is read two ways, least squares and Theil–Sen (the median of pairwise
  // slopes): one step of leftover warm-up in cycle 1 tilts least squares (to 69 B per disconnect on the
  // reference `new`) while Theil–Sen stays with the flat rest; a drop in cycle 1 does the opposite. One
  // of them must be under half the threshold and both under it: a real leak puts both at its rate
  // (docs/measurements.md#no-trend).
  const trends = [e.perDisconnect, e.robustPerDisconnect];
  if (
    !cycles.every((c) => c.atLeakPace) &&
    Math.min(...trends) < NO_TREND_SHARE_OF_THRESHOLD * spec.leakPerDisconnect &&
    Math.max(...trends) < spec.leakPerDisconnect &&
    median(cycles.map((c) => Math.abs(c.growth))) <= NO_TREND_MAX_SWING_NOISE_MULTIPLE * spec.noiseFloor
  ) {
    const still = cycles.filter((c) => !c.atLeakPace).map((c) => c.number);
    return {
      verdict: 'clean',
      reason:
        `no growth that repeats: ${rate(e.perDisconnect, spec)} overall (${ci}; median of pairwise slopes ` +
        `${rate(e.robustPerDisconnect, spec)}), under the leak threshold of ${rate(spec.leakPerDisconnect, spec)} and one of them under half of it, and ` +
        `${still.length === 1 ? `cycle ${still[0]} was` : `cycles ${still.join(', ')} were`} not at leak pace`,
    };
  }
  if (e.ci95[1] < spec.leakPerDisconnect) {
    if (e.totalGrowth < -spec.noiseFloor && e.perDisconnect < 0) {
      return { verdict: 'clean', reason: `fell ${formatQuantity(-e.totalGrowth, spec.unit)} ${over} (${rate(e.perDisconnect, spec)}, ${ci})` };
    }
    return {
      verdict: 'clean',
      reason: `moved ${rate(e.perDisconnect, spec)} (${ci}), below the leak threshold of ${rate(spec.leakPerDisconnect, spec)}`,
    };
  }
  return undefined;
}

/** Whatever is left: say what was seen and what would settle it. */
function inconclusive(e: Evidence): { verdict: Verdict; reason: string } {
  const { spec, cycles } = e;
  const ci = `95% CI ${range(e.ci95, spec.unit)}`;
  const riser = cycles.find((c) => c.atLeakPace);
  const faller = cycles.find((c) => c.fell);
  const weakest = cycles.reduce((a, b) => (b.rate < a.rate ? b : a));
  let seen: string;
  if (riser && faller) {
    seen =
      `swung both ways (cycle ${riser.number} ${signed(riser.growth, spec.unit)}, cycle ${faller.number} ` +
      `${signed(faller.growth, spec.unit)}): ${rate(e.perDisconnect, spec)} overall, ${ci}`;
  } else if (e.perDisconnect >= spec.leakPerDisconnect && !weakest.atLeakPace) {
    seen =
      `rose ${rate(e.perDisconnect, spec)} overall but not in every cycle ` +
      `(cycle ${weakest.number}: ${signed(weakest.growth, spec.unit)}, ${rate(weakest.rate, spec)})`;
  } else if (e.perDisconnect >= spec.leakPerDisconnect && !(e.ci95[0] > 0)) {
    seen = `rose ${rate(e.perDisconnect, spec)} but the ${ci} still includes zero`;
  } else if (e.perDisconnect >= spec.leakPerDisconnect) {
    seen = `rose ${rate(e.perDisconnect, spec)} but only ${formatQuantity(e.totalGrowth, spec.unit)} in all, too little above noise (${formatQuantity(spec.noiseFloor, spec.unit)})`;
  } else {
    seen = `rose ${rate(e.perDisconnect, spec)} (${ci}), which does not rule out the leak threshold of ${rate(spec.leakPerDisconnect, spec)}`;
  }
  return { verdict: 'inconclusive', reason: `${seen}; ${advice(e)}` };
}

/** Short cycles hide a leak at the threshold inside the noise; otherwise more cycles narrow the CI. */
function advice(e: Evidence): string {
  const { spec, cycles } = e;
  const typicalCycle = median(cycles.map((c) => c.disconnects));
  const growthAtThreshold = spec.leakPerDisconnect * typicalCycle;
  if (growthAtThreshold <= spec.noiseFloor) {
    const needed = Math.ceil((2 * spec.noiseFloor) / spec.leakPerDisconnect / 100) * 100;
    return (
      `cycles of ${Math.round(typicalCycle)} disconnects add only ${formatQuantity(growthAtThreshold, spec.unit)} at the leak threshold, ` +
      `within noise (${formatQuantity(spec.noiseFloor, spec.unit)}): run at least ${needed} disconnects per cycle`
    );
  }
  return cycles.length < 4
    ? `run more cycles (${plural(cycles.length, 'cycle')} so far; 4–6 are typical)`
    : 'run more cycles or more disconnects per cycle';
}

function rate(value: number, spec: MetricSpec): string {
  return formatPerDisconnect(value, spec.unit);
}

function range(ci: readonly [number, number], unit: Unit): string {
  return formatRateRange(ci[0], ci[1], unit);
}

function signed(value: number, unit: Unit): string {
  return value > 0 ? `+${formatQuantity(value, unit)}` : formatQuantity(value, unit);
}

// ---------------------------------------------------------------------------------------------------

/**
 * One verdict per target, from its decisive metrics: leak if any is leak, else saturating if any
 * saturates, else inconclusive if any is inconclusive, else clean. Advisory metrics (RSS) are judged and
 * reported, and a leak among them is noted, but they cannot decide. Specs without a series are skipped;
 * with no decisive series at all the target is inconclusive (nothing measured is not clean).
 */
export function judgeTarget(series: Readonly<Record<string, readonly SeriesPoint[]>>, specs: readonly MetricSpec[]): TargetJudgement {
  const metrics: MetricJudgement[] = [];
  for (const spec of specs) {
    const points = series[spec.key];
    if (points !== undefined) metrics.push(judgeMetric(points, spec));
  }
  const decisive = metrics.filter((m) => m.decisive);
  const advisoryLeaks = metrics.filter((m) => !m.decisive && m.verdict === 'leak');
  const note =
    advisoryLeaks.length === 0
      ? ''
      : ` (note: ${advisoryLeaks.map((m) => `${m.label} ${m.reason}`).join('; ')}; advisory only: allocator caching and fragmentation grow it too)`;

  if (decisive.length === 0) {
    const sampled = metrics.length === 0 ? 'no metric was sampled' : `only advisory metrics were sampled (${metrics.map((m) => m.label).join(', ')})`;
    return { verdict: 'inconclusive', reason: `${sampled}; a verdict needs a heap, handle or goroutine series${note}`, metrics };
  }
  for (const verdict of ['leak', 'saturating', 'inconclusive'] as const) {
    const hits = decisive.filter((m) => m.verdict === verdict);
    const [deciding, ...others] = hits;
    if (deciding === undefined) continue;
    const also = others.length === 0 ? '' : `; also ${verdict}: ${others.map((m) => m.label).join(', ')}`;
    return { verdict, reason: `${deciding.label} ${deciding.reason}${also}${note}`, metrics };
  }
  return {
    verdict: 'clean',
    reason: `no decisive metric grew per disconnect (${decisive.map((m) => m.label).join(', ')} clean)${note}`,
    metrics,
  };
}
