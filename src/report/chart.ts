/**
 * A line chart as inline SVG, drawn here so the HTML report needs no script, no chart library and no
 * network. Pure: series in, markup out. Several series share one pair of axes; each series keeps the
 * colour and dash of its `styleIndex`, so the caller can give a target the same look in every chart, and
 * lines stay apart when printed in greyscale.
 */
import { html, SafeHtml } from './safe-html.js';

export interface Point {
  x: number;
  y: number;
}

export interface LineSeries {
  /** Stable hook for tests and styling: data-target on the series' elements. */
  id: string;
  /** Legend text. */
  label: string;
  /** Position in the palette. */
  styleIndex: number;
  points: Point[];
}

export interface LineChartSpec {
  /** For screen readers and tooltips (<title>, aria-label); the page shows its own heading. */
  title: string;
  /** data-* attributes on the <svg>: { metric: 'heap', scenario: 'mixed' } -> data-metric="heap" … */
  hooks: Record<string, string>;
  xLabel: string;
  yLabel: string;
  formatX: (x: number) => string;
  formatY: (y: number) => string;
  /** The y-axis spans at least this much, so a flat series' noise does not fill the chart. */
  minYSpan: number;
  /** Smallest x tick step: 1 when x counts things. */
  minXStep?: number;
  series: LineSeries[];
}

export interface Axis {
  min: number;
  max: number;
  ticks: number[];
}

/** The plot area inside the SVG, in pixels. */
export interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Okabe–Ito colours: told apart with the common colour-vision deficiencies, readable on white and dark. */
export const SERIES_COLOURS = ['#d55e00', '#0072b2', '#009e73', '#cc79a7', '#e69f00', '#56b4e9'] as const;
/** Solid, dashed, dotted, dash-dot: a second cue besides colour. */
export const SERIES_DASHES = ['', '7 4', '2 3', '9 3 2 3'] as const;

const WIDTH = 560;
const PLOT_HEIGHT = 220;
/** Room for y tick labels such as "+1.5 MB" and the rotated y label. */
const MARGIN_LEFT = 84;
const MARGIN_RIGHT = 18;
/** Room for x tick labels and the x label. */
const MARGIN_BOTTOM = 46;
const LEGEND_ROW_HEIGHT = 18;
/** Around 5 ticks per axis: enough to read a value off, few enough for labels not to collide. */
const TARGET_TICKS = 5;
/** Average width of a character of the 12 px legend text, to lay legend entries out without a browser. */
const LEGEND_CHAR_WIDTH = 7;

/** 1, 2 or 5 times a power of ten, the smallest not below `rough`. */
export function niceStep(rough: number): number {
  if (!(rough > 0) || !Number.isFinite(rough)) return 1;
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const multiple = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return multiple * power;
}

/** An axis over [low, high], widened to whole ticks of a 1-2-5 step. */
export function niceAxis(low: number, high: number, minStep = 0): Axis {
  const span = high > low ? high - low : 1;
  const step = Math.max(niceStep(span / TARGET_TICKS), minStep);
  const first = Math.floor(low / step + 1e-9);
  const last = Math.ceil(high / step - 1e-9);
  const ticks: number[] = [];
  // Multiply, never accumulate, and trim float dust (0.1 * 3 = 0.30000000000000004).
  for (let i = first; i <= Math.max(last, first + 1); i++) ticks.push(Number((i * step).toPrecision(12)));
  return { min: ticks[0]!, max: ticks.at(-1)!, ticks };
}

/** Room below the lowest point when it is under 0, as a share of the y span: the marker stays whole. */
const BELOW_ZERO_PADDING = 0.04;

/**
 * Both axes for a set of series: x from 0 (the baseline sample) to the furthest point; y always holding
 * 0 (no growth), every point, and at least `minYSpan` above the lowest value. The y-axis ends at a tick
 * at the top, but just under the lowest point at the bottom: a clean target dipping 5 KB below its
 * baseline should not hand a fifth of the chart to a -500 KB tick.
 */
export function chartAxes(series: readonly LineSeries[], minYSpan: number, minXStep = 0): { x: Axis; y: Axis } {
  const points = series.flatMap((s) => s.points);
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const xLow = Math.min(0, ...xs);
  const xHigh = Math.max(xLow + (minXStep || 1), ...xs);
  const yLow = Math.min(0, ...ys);
  const yHigh = Math.max(0, yLow + minYSpan, ...ys);
  const y = niceAxis(yLow, yHigh);
  if (yLow < 0) {
    const min = Math.max(y.min, yLow - BELOW_ZERO_PADDING * (y.max - yLow));
    return { x: niceAxis(xLow, xHigh, minXStep), y: { min, max: y.max, ticks: y.ticks.filter((tick) => tick >= min) } };
  }
  return { x: niceAxis(xLow, xHigh, minXStep), y };
}

const tenth = (value: number) => Math.round(value * 10) / 10;

/** Where a data point lands in the SVG, to a tenth of a pixel (y grows downwards in SVG). */
export function pixelOf(point: Point, axes: { x: Axis; y: Axis }, frame: Frame): { px: number; py: number } {
  const fx = (point.x - axes.x.min) / (axes.x.max - axes.x.min);
  const fy = (point.y - axes.y.min) / (axes.y.max - axes.y.min);
  return { px: tenth(frame.left + fx * frame.width), py: tenth(frame.top + frame.height - fy * frame.height) };
}

interface LegendEntry {
  series: LineSeries;
  x: number;
  row: number;
}

/** Legend entries left to right, wrapping into rows that fit the chart's width. */
function layoutLegend(series: readonly LineSeries[]): { entries: LegendEntry[]; rows: number } {
  const entries: LegendEntry[] = [];
  let x = MARGIN_LEFT;
  let row = 0;
  for (const s of series) {
    const width = 34 + s.label.length * LEGEND_CHAR_WIDTH + 18;
    if (x > MARGIN_LEFT && x + width > WIDTH - MARGIN_RIGHT) {
      row++;
      x = MARGIN_LEFT;
    }
    entries.push({ series: s, x, row });
    x += width;
  }
  return { entries, rows: series.length === 0 ? 0 : row + 1 };
}

function seriesStyle(index: number): { colour: string; dash: string } {
  const i = Math.abs(Math.trunc(index));
  return {
    colour: SERIES_COLOURS[i % SERIES_COLOURS.length]!,
    dash: SERIES_DASHES[i % SERIES_DASHES.length]!,
  };
}

export function renderLineChart(spec: LineChartSpec): SafeHtml {
  const legend = layoutLegend(spec.series);
  const top = 10 + legend.rows * LEGEND_ROW_HEIGHT + 8;
  const frame: Frame = { left: MARGIN_LEFT, top, width: WIDTH - MARGIN_LEFT - MARGIN_RIGHT, height: PLOT_HEIGHT };
  const height = top + PLOT_HEIGHT + MARGIN_BOTTOM;
  const axes = chartAxes(spec.series, spec.minYSpan, spec.minXStep);
  const bottom = frame.top + frame.height;
  const right = frame.left + frame.width;
  const at = (point: Point) => pixelOf(point, axes, frame);
  const hooks = Object.entries(spec.hooks).map(([name, value]) => html` data-${name.replace(/[^a-z0-9-]/g, '')}="${value}"`);

  const yTicks = axes.y.ticks.map((tick) => {
    const { py } = at({ x: axes.x.min, y: tick });
    return html`<line class="grid" x1="${frame.left}" x2="${right}" y1="${py}" y2="${py}" stroke="#ddd"/><text class="tick" x="${frame.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle">${spec.formatY(tick)}</text>`;
  });
  const xTicks = axes.x.ticks.map((tick) => {
    const { px } = at({ x: tick, y: axes.y.min });
    return html`<line class="grid" x1="${px}" x2="${px}" y1="${frame.top}" y2="${bottom}" stroke="#eee"/><text class="tick" x="${px}" y="${bottom + 16}" text-anchor="middle">${spec.formatX(tick)}</text>`;
  });
  const zero = at({ x: axes.x.min, y: 0 }).py;

  const lines = spec.series.map((s) => {
    const { colour, dash } = seriesStyle(s.styleIndex);
    const pixels = s.points.map(at);
    const polyline =
      pixels.length >= 2
        ? html`<polyline data-target="${s.id}" points="${pixels.map((p) => `${p.px},${p.py}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="2.5" stroke-linejoin="round"${dash ? html` stroke-dasharray="${dash}"` : ''}/>`
        : '';
    const markers = s.points.map((point, i) => {
      const p = pixels[i]!;
      return html`<circle cx="${p.px}" cy="${p.py}" r="3.5" fill="${colour}"><title>${s.id}: ${spec.formatY(point.y)} at ${spec.formatX(point.x)} ${spec.xLabel}</title></circle>`;
    });
    return html`<g class="series" data-target="${s.id}">${polyline}${markers}</g>`;
  });

  const legendItems = legend.entries.map(({ series: s, x, row }) => {
    const { colour, dash } = seriesStyle(s.styleIndex);
    const y = 10 + row * LEGEND_ROW_HEIGHT + LEGEND_ROW_HEIGHT / 2;
    return html`<g class="legend-item" data-target="${s.id}"><line x1="${x}" x2="${x + 26}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2.5"${dash ? html` stroke-dasharray="${dash}"` : ''}/><circle cx="${x + 13}" cy="${y}" r="3.5" fill="${colour}"/><text x="${x + 34}" y="${y}" dominant-baseline="middle">${s.label}</text></g>`;
  });

  const summary = spec.series
    .map((s) => {
      const last = s.points.at(-1);
      return last ? `${s.id}: ${spec.formatY(last.y)} at ${spec.formatX(last.x)} ${spec.xLabel}` : `${s.id}: no points`;
    })
    .join('; ');

  return html`<svg xmlns="http://www.w3.org/2000/svg" class="chart"${hooks} role="img" aria-label="${spec.title}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" font-family="system-ui, sans-serif" font-size="12">
<title>${spec.title}</title>
<desc>${summary}</desc>
<g class="grid-lines">${xTicks}${yTicks}</g>
<line class="axis" x1="${frame.left}" x2="${frame.left}" y1="${frame.top}" y2="${bottom}" stroke="#888"/>
<line class="axis" x1="${frame.left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#888"/>
<line class="zero" x1="${frame.left}" x2="${right}" y1="${zero}" y2="${zero}" stroke="#555" stroke-width="1.2"/>
<text class="axis-label" x="${frame.left + frame.width / 2}" y="${height - 8}" text-anchor="middle">${spec.xLabel}</text>
<text class="axis-label" transform="translate(14 ${frame.top + frame.height / 2}) rotate(-90)" text-anchor="middle">${spec.yLabel}</text>
${lines}
<g class="legend">${legendItems}</g>
</svg>`;
}
