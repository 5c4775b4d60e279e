/**
 * The contract of the analysis step: post-GC sample series in, typed verdicts out.
 * Nothing here knows how the samples were taken or how the verdict will be printed.
 */

/**
 * - `leak`: grows at or above the leak threshold per disconnect, in every cycle.
 * - `saturating`: grew, then flattened: a bounded store filling up, not a per-disconnect leak.
 * - `clean`: no growth beyond noise, or a slope confidently below the leak threshold.
 * - `inconclusive`: the series cannot tell; the reason says what more to run.
 */
export type Verdict = 'leak' | 'saturating' | 'clean' | 'inconclusive';

/**
 * One post-GC reading of one metric. `disconnects` = cumulative intended client disconnects since the
 * baseline (the baseline point has 0).
 */
export interface SeriesPoint {
  disconnects: number;
  value: number;
}

export interface MetricSpec {
  /** e.g. 'heapUsedBytes', 'externalBytes', 'rssBytes', 'handles', 'liveWorkers', 'goroutines', 'fds' */
  key: string;
  /** human name: 'heap used', 'active handles' */
  label: string;
  unit: 'bytes' | 'count';
  /** growth per disconnect at or above which the metric counts as leaking (e.g. 128 bytes, 0.02 handles) */
  leakPerDisconnect: number;
  /** absolute change between two samples that is indistinguishable from noise (e.g. 50 KB of heap, 2 handles) */
  noiseFloor: number;
  /** whether this metric alone can make the target's verdict 'leak' (RSS is advisory: fragmentation, allocator caching) */
  decisive: boolean;
  /**
   * One held thing per unit (a socket, an fd, a goroutine, a task, a worker), not a memory proxy: a store
   * of these that fills by one per disconnect for hundreds of disconnects is rare, so its leak may be
   * called from the warm-up's first small chunks (EARLY_PROBE_CLIENTS), before memory can be.
   */
  heldResource?: true;
}

export interface MetricJudgement {
  key: string;
  label: string;
  unit: 'bytes' | 'count';
  /** copied from the spec, so a report can mark advisory metrics without the spec at hand */
  decisive: boolean;
  verdict: Verdict;
  /** least-squares slope over the measured points, per disconnect (0 when the series cannot be fitted) */
  perDisconnect: number;
  /** 95% confidence interval of that slope (t-distribution on the OLS standard error); [slope, slope] when only 2 points */
  ci95: [number, number];
  /** per-cycle growth per disconnect, one entry per cycle (point i-1 -> i); empty when the series cannot be read as cycles */
  cycleRates: number[];
  /** last - first */
  totalGrowth: number;
  /** last.disconnects - first.disconnects */
  disconnects: number;
  /** one sentence in words, with figures, starting with a verb so that `${label} ${reason}` reads as a sentence */
  reason: string;
}

export interface TargetJudgement {
  verdict: Verdict;
  /** words: which metric decided and why */
  reason: string;
  metrics: MetricJudgement[];
}
