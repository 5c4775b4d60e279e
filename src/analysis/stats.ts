/** Small, dependency-free statistics for short sample series. */

export interface XY {
  x: number;
  y: number;
}

export interface LinearFit {
  slope: number;
  intercept: number;
  /**
   * Standard error of the slope: sqrt(SSR / (n - 2) / Sxx). NaN with only 2 points (no degrees of
   * freedom left to estimate the scatter).
   */
  slopeStdErr: number;
  /** n - 2 */
  degreesOfFreedom: number;
}

/** Ordinary least squares y = intercept + slope·x. Throws when the x values do not spread (no slope exists). */
export function linearFit(points: readonly XY[]): LinearFit {
  const n = points.length;
  if (n < 2) throw new RangeError(`linearFit needs at least 2 points, got ${n}`);
  const meanX = points.reduce((sum, p) => sum + p.x, 0) / n;
  const meanY = points.reduce((sum, p) => sum + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - meanX) ** 2;
    sxy += (p.x - meanX) * (p.y - meanY);
  }
  if (!(sxx > 0)) throw new RangeError('linearFit needs at least two distinct x values');
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const degreesOfFreedom = n - 2;
  if (degreesOfFreedom === 0) return { slope, intercept, slopeStdErr: Number.NaN, degreesOfFreedom };
  let ssr = 0;
  for (const p of points) ssr += (p.y - (intercept + slope * p.x)) ** 2;
  return { slope, intercept, slopeStdErr: Math.sqrt(ssr / degreesOfFreedom / sxx), degreesOfFreedom };
}

/** Two-sided 95% quantiles of Student's t (the 0.975 quantile) for df 1..30, from scipy.stats.t.ppf. */
const T_975: readonly number[] = [
  12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934, 2.5705818356363146,
  2.4469118511449786, 2.364624251592784, 2.306004135204166, 2.262157162798205, 2.228138851986274,
  2.200985160091639, 2.1788128296672284, 2.1603686564627913, 2.144786687917804, 2.131449545559776,
  2.1199052992212546, 2.1098155778333156, 2.1009220402410382, 2.0930240544083087, 2.085963447265864,
  2.0796138447276795, 2.0738730679040254, 2.0686576104190486, 2.0638985616280245, 2.0595385527532972,
  2.0555294386428735, 2.0518305164802846, 2.0484071417952454, 2.045229642132703, 2.0422724563012378,
];

/** The standard normal 0.975 quantile. */
const Z_975 = 1.959963984540054;

/**
 * The 0.975 quantile of Student's t with `df` degrees of freedom (the multiplier of a two-sided 95%
 * confidence interval). Exact table up to 30; above that the Cornish-Fisher expansion, which is within
 * 1e-5 of the exact value there and converges to the normal quantile.
 */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  const tabled = T_975[df - 1];
  if (tabled !== undefined) return tabled;
  const z = Z_975;
  return (
    z +
    (z ** 3 + z) / (4 * df) +
    (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df ** 2) +
    (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * df ** 3)
  );
}

/** Median of a non-empty list (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  // Both indexes exist: length >= 1.
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Theil–Sen slope: the median of the slopes between every pair of points. A single step (leftover
 * warm-up landing in one cycle) moves only the pairs that straddle it, so the median stays with the
 * trend of the rest, where least squares tilts toward the step. Points with equal x are skipped.
 */
export function theilSenSlope(points: readonly XY[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const a = points[i]!;
      const b = points[j]!;
      if (b.x !== a.x) slopes.push((b.y - a.y) / (b.x - a.x));
    }
  }
  return slopes.length === 0 ? 0 : median(slopes);
}
