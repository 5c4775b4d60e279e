import { describe, expect, it } from 'vitest';
import { chartAxes, niceAxis, niceStep, pixelOf, renderLineChart, type LineChartSpec, type LineSeries } from './chart.js';

const series = (id: string, points: [number, number][], styleIndex = 0): LineSeries => ({
  id,
  label: id,
  styleIndex,
  points: points.map(([x, y]) => ({ x, y })),
});

function spec(lines: LineSeries[], minYSpan = 500_000): LineChartSpec {
  return {
    title: 'Heap retained since baseline',
    hooks: { metric: 'heap', scenario: 'mixed' },
    xLabel: 'disconnects',
    yLabel: 'retained since baseline',
    formatX: String,
    formatY: String,
    minYSpan,
    minXStep: 1,
    series: lines,
  };
}

/** The pixel pairs of a target's polyline, or null when it has none. */
function polyline(svg: string, target: string): { px: number; py: number }[] | null {
  const match = new RegExp(`<polyline data-target="${target}" points="([^"]*)"`).exec(svg);
  if (!match) return null;
  return match[1]!.split(' ').map((pair) => {
    const [px, py] = pair.split(',').map(Number);
    return { px: px!, py: py! };
  });
}

/** Where the zero line (no growth) and the plot's top and bottom are drawn. */
function frameOf(svg: string): { zero: number; top: number; bottom: number; left: number; right: number } {
  const zero = Number(/<line class="zero" x1="[\d.]+" x2="[\d.]+" y1="([\d.]+)"/.exec(svg)![1]);
  const [, left, top, bottom] = /<line class="axis" x1="([\d.]+)" x2="[\d.]+" y1="([\d.]+)" y2="([\d.]+)"/.exec(svg)!.map(Number);
  const right = Number(/<line class="axis" x1="[\d.]+" x2="([\d.]+)" y1="[\d.]+" y2="[\d.]+"[^>]*\/>\s*<line class="zero"/.exec(svg)![1]);
  return { zero, top: top!, bottom: bottom!, left: left!, right };
}

describe('axes', () => {
  it('steps are 1, 2 or 5 times a power of ten', () => {
    expect([0.3, 1, 1.5, 7, 230, 200_000, 370_000].map(niceStep)).toEqual([0.5, 1, 2, 10, 500, 200_000, 500_000]);
  });

  it('widens to whole ticks around the data, holding 0', () => {
    expect(niceAxis(-150_000, 1_700_000)).toEqual({
      min: -500_000,
      max: 2_000_000,
      ticks: [-500_000, 0, 500_000, 1_000_000, 1_500_000, 2_000_000],
    });
    expect(niceAxis(0, 0.3).ticks).toEqual([0, 0.1, 0.2, 0.3]); // no float dust
  });

  it('below zero, the y-axis ends just under the lowest point, not at the next tick down', () => {
    const axes = chartAxes([series('new', [[0, 0], [200, -150_000]]), series('old', [[0, 0], [200, 1_700_000]])], 500_000, 1);
    expect(axes.y.max).toBe(2_000_000);
    expect(axes.y.min).toBeCloseTo(-150_000 - 0.04 * 2_150_000, 0);
    expect(axes.y.ticks).toEqual([0, 500_000, 1_000_000, 1_500_000, 2_000_000]);
  });

  it('a flat series gets the minimum span above its baseline, not a magnified wobble', () => {
    const axes = chartAxes([series('new', [[0, 0], [200, 0], [400, 0]])], 500_000, 1);
    expect(axes.y).toEqual({ min: 0, max: 500_000, ticks: [0, 100_000, 200_000, 300_000, 400_000, 500_000] });
    expect(axes.x.ticks).toEqual([0, 100, 200, 300, 400]);
  });

  it('a single baseline point still gets two ticks on each axis', () => {
    const axes = chartAxes([series('old', [[0, 0]])], 20, 1);
    expect(axes.x.ticks).toEqual([0, 1]);
    expect(axes.y.min).toBe(0);
    expect(axes.y.max).toBe(20);
  });

  it('maps a data point to its pixel: x from the left edge, y up from the bottom', () => {
    const axes = { x: niceAxis(0, 600), y: niceAxis(0, 2_000_000) };
    const frame = { left: 80, top: 20, width: 400, height: 200 };
    expect(pixelOf({ x: 0, y: 0 }, axes, frame)).toEqual({ px: 80, py: 220 });
    expect(pixelOf({ x: 300, y: 1_000_000 }, axes, frame)).toEqual({ px: 280, py: 120 });
    expect(pixelOf({ x: 600, y: 2_000_000 }, axes, frame)).toEqual({ px: 480, py: 20 });
    expect(pixelOf({ x: 100, y: 333_333 }, axes, frame)).toEqual({ px: 146.7, py: 186.7 });
  });
});

describe('renderLineChart', () => {
  it('draws every series on one pair of axes, with its hooks, a title and a legend', () => {
    const svg = renderLineChart(
      spec([series('old', [[0, 0], [200, 1_000_000], [400, 2_000_000]], 0), series('new', [[0, 0], [200, 10_000], [400, -5_000], [600, 0]], 1)]),
    ).text;
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart" data-metric="heap" data-scenario="mixed" role="img" aria-label="Heap retained since baseline"/);
    expect(svg).toContain('<title>Heap retained since baseline</title>');
    expect(svg).toMatch(/<g class="legend-item" data-target="old">.*<text[^>]*>old<\/text>/);

    const frame = frameOf(svg);
    const old = polyline(svg, 'old')!;
    const fresh = polyline(svg, 'new')!;
    // Both start at the baseline: the left edge, on the zero line.
    expect(old[0]).toEqual({ px: frame.left, py: frame.zero });
    expect(fresh[0]).toEqual({ px: frame.left, py: frame.zero });
    // Shared x: 600 disconnects is the right edge for both (old stopped at 400, two thirds across).
    expect(fresh[3]!.px).toBe(frame.right);
    expect(old[2]!.px).toBeCloseTo(frame.left + ((frame.right - frame.left) * 2) / 3, 0);
    // Evenly growing data, evenly spaced pixels; 2 MB is the top tick, so the top of the plot.
    expect(old[1]!.py - old[0]!.py).toBeCloseTo(old[2]!.py - old[1]!.py, 0);
    expect(old[2]!.py).toBe(frame.top);
    // new dips 5 KB: just under the zero line, near the bottom, with no tick of its own down there.
    expect(fresh[2]!.py).toBeGreaterThan(frame.zero);
    expect(frame.bottom - frame.zero).toBeLessThan(0.06 * (frame.bottom - frame.top));
  });

  it('a flat series lies on the zero line', () => {
    const svg = renderLineChart(spec([series('new', [[0, 0], [200, 0], [400, 0]])])).text;
    const { zero } = frameOf(svg);
    expect(polyline(svg, 'new')!.map((p) => p.py)).toEqual([zero, zero, zero]);
  });

  it('negative growth is drawn below the zero line, which moves up from the bottom', () => {
    const svg = renderLineChart(spec([series('new', [[0, 0], [200, -150_000], [400, -300_000]])])).text;
    const frame = frameOf(svg);
    const points = polyline(svg, 'new')!;
    expect(frame.zero).toBeLessThan(frame.bottom);
    expect(points[1]!.py).toBeGreaterThan(frame.zero);
    expect(points[2]!.py).toBeGreaterThan(points[1]!.py);
    expect(points[2]!.py).toBeLessThanOrEqual(frame.bottom);
  });

  it('a single-point series is a marker without a line', () => {
    const svg = renderLineChart(spec([series('old', [[0, 0]]), series('new', [[0, 0], [100, 0]], 1)])).text;
    expect(polyline(svg, 'old')).toBeNull();
    expect(svg).toMatch(/<g class="series" data-target="old"><circle /);
    expect(polyline(svg, 'new')).toHaveLength(2);
  });

  it('escapes series names and tick text', () => {
    const svg = renderLineChart({ ...spec([series('<b>"x"', [[0, 0], [1, 1]])]), formatY: () => '<1 & 2>' }).text;
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('data-target="&lt;b&gt;&quot;x&quot;"');
    expect(svg).toContain('&lt;1 &amp; 2&gt;');
  });
});
