import { describe, expect, it } from 'vitest';
import { linearFit, median, theilSenSlope, tQuantile975 } from './stats.js';

describe('linearFit', () => {
  it('recovers an exact line with zero standard error', () => {
    const fit = linearFit([0, 1, 2, 3].map((x) => ({ x, y: 7 + 2.5 * x })));
    expect(fit.slope).toBeCloseTo(2.5, 12);
    expect(fit.intercept).toBeCloseTo(7, 12);
    expect(fit.slopeStdErr).toBeCloseTo(0, 12);
    expect(fit.degreesOfFreedom).toBe(2);
  });

  it('matches a hand-computed fit', () => {
    // x 1..4, y 2, 3, 5, 4: mean x 2.5, mean y 3.5, Sxx 5, Sxy 4 -> slope 0.8, intercept 1.5.
    // residuals -0.3, -0.1, 1.1, -0.7 -> SSR 1.8, s² 0.9, SE sqrt(0.9 / 5) = 0.4242641.
    const fit = linearFit([
      { x: 1, y: 2 },
      { x: 2, y: 3 },
      { x: 3, y: 5 },
      { x: 4, y: 4 },
    ]);
    expect(fit.slope).toBeCloseTo(0.8, 12);
    expect(fit.intercept).toBeCloseTo(1.5, 12);
    expect(fit.slopeStdErr).toBeCloseTo(0.4242641, 6);
  });

  it('has no standard error with 2 points', () => {
    const fit = linearFit([
      { x: 0, y: 1 },
      { x: 2, y: 5 },
    ]);
    expect(fit.slope).toBe(2);
    expect(fit.slopeStdErr).toBeNaN();
  });

  it('refuses fewer than 2 points or x values that do not spread', () => {
    expect(() => linearFit([{ x: 0, y: 0 }])).toThrow(RangeError);
    expect(() => linearFit([{ x: 1, y: 0 }, { x: 1, y: 5 }])).toThrow(RangeError);
  });
});

describe('tQuantile975', () => {
  it.each([
    [1, 12.7062047],
    [2, 4.3026527],
    [3, 3.1824463],
    [10, 2.2281389],
    [30, 2.0422725],
    // Beyond the table (scipy.stats.t.ppf(0.975, df)):
    [31, 2.0395134],
    [40, 2.0210754],
    [100, 1.9839715],
    [1000, 1.9623391],
  ])('df %i -> %f', (df, expected) => {
    expect(tQuantile975(df)).toBeCloseTo(expected, 5);
  });

  it('refuses degrees of freedom that are not positive integers', () => {
    expect(() => tQuantile975(0)).toThrow(RangeError);
    expect(() => tQuantile975(2.5)).toThrow(RangeError);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the middle two', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('theilSenSlope', () => {
  it('is the median pairwise slope: exact on a line, unmoved by one step', () => {
    expect(theilSenSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBe(2);
    const step = [0, 100, 100, 100, 100, 100].map((y, x) => ({ x, y }));
    expect(theilSenSlope(step)).toBe(0);
    expect(theilSenSlope([{ x: 1, y: 1 }, { x: 1, y: 5 }])).toBe(0);
    expect(theilSenSlope([])).toBe(0);
  });
});
