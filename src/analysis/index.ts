/** Pure analysis: post-GC sample series -> per-disconnect rates, shape, verdict. No I/O, no clock. */
export type { MetricJudgement, MetricSpec, SeriesPoint, TargetJudgement, Verdict } from './types.js';
export {
  CYCLE_DIFFERENCE_NOISE_MULTIPLE,
  MIN_POINTS,
  SATURATION_RATIO,
  SIGNIFICANT_NOISE_MULTIPLE,
  judgeMetric,
  judgeTarget,
} from './verdict.js';
export { meetsExpectation, type Expectation } from './expectation.js';
export * from './thresholds.js';
export { formatBytes, formatCount, formatPerDisconnect, formatQuantity, formatRateRange, plural, type Unit } from './format.js';
export { linearFit, median, tQuantile975, type LinearFit } from './stats.js';
