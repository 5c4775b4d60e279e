/**
 * The report as one self-contained HTML file: the header, the verdict table, and per scenario a chart of
 * retained heap and one of handles against disconnects, every target on the same axes, then what leaked.
 *
 * Nothing is fetched: the CSS is inline, the charts are inline SVG drawn by chart.ts, there is no script,
 * and a Content-Security-Policy forbids loading anything, so the file opens the same offline, from a CI
 * artifact or an e-mail. Every string from the report goes through the escaping `html` tag: target
 * names, commands and stderr lines are user input.
 */
import {
  formatBytes,
  formatCount,
  type MetricSpec,
} from '../analysis/index.js';
import { renderLineChart, type LineSeries, type Point } from './chart.js';
import {
  durationText,
  errorsText,
  goroutineLines,
  taskLines,
  growthText,
  handlesCell,
  heapCell,
  breakdownMatrix,
  liveWorkersCell,
  metricColumns,
  retainerPathText,
  signedBytes,
  signedCount,
  upstreamMissText,
  upstreamSeenWord,
  verdictWord,
  viaText,
  attachedLines,
} from './figures.js';
import { html, SafeHtml } from './safe-html.js';
import type { LeakcheckReport, SampleRow, ScenarioInfo, ScenarioResult, TargetReport } from './types.js';

export type ChartedMetric = 'heap' | 'handles';

/**
 * A chart's y-axis spans at least this many noise floors of its metrics (heap: 500 KB, handles: 20), so
 * a clean target's wobble between samples (±20 KB of heap, ±1 handle, thresholds.ts) stays within a
 * tenth of the height instead of being stretched into a curve that looks like growth.
 */
export const MIN_Y_SPAN_NOISE_FLOORS = 10;

/**
 * A series as growth since its first sample (the baseline, x = 0): targets whose absolute heaps differ
 * by megabytes compare on the same axes. Rows without the metric are left out.
 */
export function growthSinceBaseline(samples: readonly SampleRow[], key: string): Point[] {
  const points = samples.flatMap((row) => {
    const value = (row as unknown as Record<string, unknown>)[key];
    return typeof value === 'number' && Number.isFinite(value) ? [{ x: row.x, value }] : [];
  });
  const baseline = points[0]?.value ?? 0;
  return points.map(({ x, value }) => ({ x, y: value - baseline }));
}

export function renderHtml(report: LeakcheckReport): string {
  const status = statusOf(report);
  const verdicts = report.targets.map((t) => `${t.name} ${verdictWord(t.verdict)}`).join(', ');
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="${report.tool.name} ${report.tool.version}">
<title>${report.tool.name}: ${status.word}${verdicts ? ` · ${verdicts}` : ''}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${header(report, status)}
${verdictTable(report)}
${report.scenarios.map((info) => scenarioSection(report, info))}
${footer(report)}
</main>
</body>
</html>
`;
  return page.text;
}

interface Status {
  word: string;
  className: 'ok' | 'not-ok' | 'incomplete';
  explanation: string;
}

function statusOf(report: LeakcheckReport): Status {
  if (!report.complete) {
    return { word: 'NOT ok (incomplete)', className: 'incomplete', explanation: 'the run did not finish; the figures are what was measured' };
  }
  if (report.ok) return { word: 'ok', className: 'ok', explanation: 'every verdict met its expectation' };
  return { word: 'NOT ok', className: 'not-ok', explanation: 'a verdict missed its expectation or a budget was exceeded' };
}

/** 2026-11-25T10:58:12.345Z -> 2026-11-25 10:58:12 UTC */
function timeText(iso: string): string {
  const match = /^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z$/.exec(iso);
  return match ? `${match[1]} ${match[2]} UTC` : iso;
}

function header(report: LeakcheckReport, status: Status): SafeHtml {
  const budgets = [
    report.budgets.maxBytesPerDisconnect !== undefined ? `max ${formatBytes(report.budgets.maxBytesPerDisconnect)} per disconnect` : null,
    report.budgets.maxHandlesPerDisconnect !== undefined ? `max ${report.budgets.maxHandlesPerDisconnect} handles per disconnect` : null,
  ].filter((b): b is string => b !== null);
  const facts: [string, string][] = [
    ['tool', `${report.tool.name} ${report.tool.version}`],
    ['started', timeText(report.startedAt)],
    ['duration', durationText(report.durationMs)],
    ['seed', String(report.seed)],
    ['run', report.complete ? 'complete' : 'incomplete'],
    ['upstream', `${report.upstream.tokens} tokens every ${report.upstream.intervalMs} ms`],
    ['Node', report.node],
    ...(budgets.length > 0 ? [['budgets', budgets.join(', ')] as [string, string]] : []),
  ];
  return html`<header>
<h1>${report.tool.name} report</h1>
<p class="status status-${status.className}" data-ok="${String(report.ok)}" data-complete="${String(report.complete)}"><strong>${status.word}</strong> · ${report.complete ? 'complete' : 'incomplete'}: ${status.explanation}</p>
<dl class="facts">${facts.map(([name, value]) => html`<div><dt>${name}</dt><dd>${value}</dd></div>`)}</dl>
${problems(report)}
</header>`;
}

function problems(report: LeakcheckReport): SafeHtml | '' {
  if (report.problems.length === 0) return '';
  return html`<section class="problems" aria-labelledby="problems-title">
<h2 id="problems-title">Problems</h2>
<ul>${report.problems.map((p) => {
    const where = [p.target, p.scenario].filter(Boolean).join(' / ');
    const tail = p.stderrTail && p.stderrTail.length > 0 ? html`<pre>${p.stderrTail.join('\n')}</pre>` : '';
    return html`<li data-code="${p.code}"><code>${p.code}</code>${where ? html` <strong>${where}</strong>` : ''}: ${p.message}${tail}</li>`;
  })}</ul>
</section>`;
}

function verdictBadge(verdict: TargetReport['verdict']): SafeHtml {
  return html`<span class="verdict verdict-${verdict}">${verdictWord(verdict)}</span>`;
}

function metBadge(met: boolean, expect: string): SafeHtml {
  return met ? html`<span class="met">✓ met</span>` : html`<span class="missed">✗ missed (expected ${expect})</span>`;
}

function verdictTable(report: LeakcheckReport): SafeHtml {
  const rows =
    report.targets.length === 0
      ? html`<tr><td colspan="9">no target was measured</td></tr>`
      : report.targets.map(
          (t) => html`<tr data-target="${t.name}">
<th scope="row">${t.name}</th>
<td>${t.expect}</td>
<td data-verdict="${t.verdict}">${verdictBadge(t.verdict)}</td>
<td data-expectation-met="${String(t.expectationMet)}">${metBadge(t.expectationMet, t.expect)}</td>
<td class="num">${heapCell(t)}</td>
<td class="num">${handlesCell(t)}</td>
<td class="num">${liveWorkersCell(t)}</td>
<td>${t.decidingScenario ?? 'none'}</td>
<td class="reason">${t.reason}</td>
</tr>`,
        );
  const overBudget = report.targets.flatMap((t) => t.budgetExceeded.map((b) => html`<li><strong>${t.name}</strong> over budget: ${b}</li>`));
  const upstreamChecks = report.targets.flatMap((t) =>
    t.upstreamCheck
      ? [
          t.upstreamCheck.met
            ? html`<li data-upstream-met="true"><strong>${t.name}</strong> upstream ${upstreamSeenWord(t.upstreamCheck)}, as expected</li>`
            : html`<li data-upstream-met="false"><strong>${t.name}</strong> ${upstreamMissText(t.upstreamCheck)}</li>`,
        ]
      : [],
  );
  return html`<section class="verdicts" aria-labelledby="verdicts-title">
<h2 id="verdicts-title">Verdicts</h2>
<div class="table-wrap"><table class="verdict-table">
<thead><tr><th scope="col">target</th><th scope="col">expect</th><th scope="col">verdict</th><th scope="col">expectation</th><th scope="col">heap / disconnect (95% CI)</th><th scope="col">handles / disconnect</th><th scope="col">live workers / disconnect</th><th scope="col">deciding scenario</th><th scope="col">reason</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
${overBudget.length > 0 ? html`<ul class="over-budget">${overBudget}</ul>` : ''}
${upstreamChecks.length > 0 ? html`<ul class="upstream-checks">${upstreamChecks}</ul>` : ''}
</section>`;
}

function resultOf(target: TargetReport, scenario: string): ScenarioResult | undefined {
  return target.scenarios.find((s) => s.scenario === scenario);
}

function scenarioSection(report: LeakcheckReport, info: ScenarioInfo): SafeHtml {
  const per = info.control ? 'stream' : 'disconnect';
  const plan = `${info.warmupClients} warm-up clients, ${info.cycles} cycles of ${info.clients} clients, ${info.concurrency} at a time`;
  return html`<section class="scenario" data-scenario="${info.name}" aria-labelledby="scenario-${anchor(info.name)}">
<h2 id="scenario-${anchor(info.name)}">Scenario ${info.name}${info.control ? ' (control)' : ''}</h2>
<p class="scenario-plan">${info.description ? html`${info.description} · ` : ''}${plan}</p>
<div class="charts">
${scenarioChart(report, info, 'heap')}
${scenarioChart(report, info, 'handles')}
</div>
${scenarioTable(report, info, per)}
${breakdownTable(report, info)}
${report.targets.map((t) => targetNotes(t, resultOf(t, info.name)))}
</section>`;
}

/** An id fragment from a scenario name (which may hold anything a file name can). */
function anchor(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** The behaviours × targets matrix of a broken-down scenario, or nothing. */
function breakdownTable(report: LeakcheckReport, info: ScenarioInfo): SafeHtml | '' {
  const matrix = breakdownMatrix(report.targets, info.name);
  if (!matrix) return '';
  return html`<div class="table-wrap"><table class="breakdown-table" data-scenario="${info.name}">
<caption>One way of hanging up at a time, per disconnect</caption>
<thead><tr><th scope="col">behaviour</th>${report.targets.map((t) => html`<th scope="col">${t.name}</th>`)}</tr></thead>
<tbody>${matrix.behaviours.map((behaviour, i) => html`<tr><th scope="row">${behaviour}</th>${matrix.cells[i]!.map((text) => html`<td>${text}</td>`)}</tr>`)}</tbody>
</table></div>`;
}

function scenarioTable(report: LeakcheckReport, info: ScenarioInfo, per: string): SafeHtml {
  const results = report.targets.map((t) => ({ target: t, result: resultOf(t, info.name) }));
  const columns: { head: string; cell: (r: ScenarioResult) => string }[] = [
    ...metricColumns(results.map(({ result }) => result)).map((column) => ({
      head: `${column.key === 'rssBytes' ? 'RSS' : column.label} / ${per}`,
      cell: column.cell,
    })),
    { head: 'live workers at end', cell: (r) => String(r.samples.at(-1)?.liveWorkers ?? 'n/a') },
    { head: info.control ? 'streams completed' : 'disconnects', cell: (r) => String(info.control ? r.completed : r.disconnects) },
    { head: 'errors', cell: (r) => errorsText(r.errors) },
    { head: 'upstream', cell: (r) => r.upstream?.summary ?? 'n/a' },
  ];
  // A column no target has a figure for (Go heap on a Node run) says nothing.
  const shown = columns.filter((c) => results.some(({ result }) => result && c.cell(result) !== 'n/a'));
  const rows = results.map(({ target, result }) =>
    result
      ? html`<tr data-target="${target.name}"><th scope="row">${target.name}</th><td data-verdict="${result.verdict}">${verdictBadge(result.verdict)} ${metBadge(result.expectationMet, result.expect)}</td>${shown.map((c) => html`<td>${c.cell(result)}</td>`)}</tr>`
      : html`<tr data-target="${target.name}"><th scope="row">${target.name}</th><td colspan="${shown.length + 1}">not run</td></tr>`,
  );
  return html`<div class="table-wrap"><table class="scenario-table">
<thead><tr><th scope="col">target</th><th scope="col">verdict</th>${shown.map((c) => html`<th scope="col">${c.head}</th>`)}</tr></thead>
<tbody>${rows}</tbody>
</table></div>`;
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function scenarioChart(report: LeakcheckReport, info: ScenarioInfo, metric: ChartedMetric): SafeHtml {
  const series: LineSeries[] = [];
  const specs: MetricSpec[] = [];
  const notes: string[] = [];
  report.targets.forEach((target, index) => {
    const result = resultOf(target, info.name);
    if (!result) {
      notes.push(`${target.name}: not run in this scenario`);
      return;
    }
    const spec = result.probeDescription[metric];
    const points = growthSinceBaseline(result.samples, spec.key);
    if (result.samples.length === 0) {
      notes.push(`${target.name}: no samples (it stopped before its baseline)`);
      return;
    }
    if (points.length === 0) {
      notes.push(`${target.name}: its samples hold no ${spec.label}`);
      return;
    }
    if (points.length === 1) notes.push(`${target.name}: only the baseline sample, so no growth to draw`);
    series.push({ id: target.name, label: target.name, styleIndex: index, points });
    specs.push(spec);
  });

  const labels = [...new Set(specs.map((s) => s.label))];
  const unit = specs[0]?.unit ?? (metric === 'heap' ? 'bytes' : 'count');
  const formatY = unit === 'bytes' ? signedBytes : (y: number) => signedCount(y, Number.isInteger(y) ? 0 : 2);
  // Several probes on one chart (Node heap beside /proc RSS): the legend says which is which.
  if (labels.length > 1) for (const [i, s] of series.entries()) s.label = `${s.id} (${specs[i]!.label})`;
  for (const s of series) s.label += ` ${formatY(s.points.at(-1)!.y)}`;

  const what = labels.length > 0 ? labels.join(' / ') : metric === 'heap' ? 'heap' : 'handles';
  const xLabel = info.control ? 'completed streams' : 'disconnects';
  const title = `${capitalised(what)} retained since baseline: each target from its own first sample (x = 0), scenario ${info.name}`;
  const noteList = notes.length > 0 ? html`<ul class="chart-notes">${notes.map((n) => html`<li>${n}</li>`)}</ul>` : '';
  if (series.length === 0) {
    return html`<figure class="chart-figure chart-missing" data-metric="${metric}" data-scenario="${info.name}">
<figcaption>${capitalised(what)} retained since baseline: nothing to chart</figcaption>
${noteList}
</figure>`;
  }
  const chart = renderLineChart({
    title,
    hooks: { metric, scenario: info.name },
    xLabel,
    yLabel: 'retained since baseline',
    formatX: formatCount,
    formatY,
    minYSpan: MIN_Y_SPAN_NOISE_FLOORS * Math.max(...specs.map((s) => s.noiseFloor)),
    minXStep: 1,
    series,
  });
  return html`<figure class="chart-figure" data-metric="${metric}" data-scenario="${info.name}">
<figcaption><strong>${capitalised(what)} retained since baseline</strong> against ${xLabel}; each target from its own first sample (x = 0), so different absolute sizes compare on one axis</figcaption>
${chart}
${noteList}
</figure>`;
}

function targetNotes(target: TargetReport, result: ScenarioResult | undefined): SafeHtml | '' {
  if (!result) return '';
  const via = viaText(result);
  const notes: [string, string][] = [
    ['why', result.reason],
    ['grew', growthText(result)],
  ];
  if (result.upstream && !result.control) notes.push(['upstream', result.upstream.summary]);
  for (const line of attachedLines(target)) notes.push(['attached', line]);
  if (result.steadyLoad) {
    const load = result.steadyLoad;
    notes.push(['steady load', `${load.completedStreams} full streams, ${load.throughputStreamsPerSec.toFixed(1)} streams/s`]);
  }
  if (result.errors.examples.length > 0) notes.push(['first error', result.errors.examples[0]!]);
  return html`<div class="target-notes" data-target="${target.name}">
<h3>${target.name}${via}: ${verdictBadge(result.verdict)}</h3>
<dl class="notes">${notes.map(([name, text]) => html`<dt>${name}</dt><dd>${text}</dd>`)}</dl>
${attribution(target, result)}${goroutines(target, result)}${tasks(target, result)}
</div>`;
}

/** What the heap snapshots say leaked: objects and bytes added per disconnect, and what holds them. */
function attribution(target: TargetReport, result: ScenarioResult): SafeHtml | '' {
  const a = result.attribution;
  if (!a && result.attributionProblem) {
    return html`<div class="attribution" data-target="${target.name}">
<h4>What leaked, per ${result.per}</h4>
<p class="source">not known: ${result.attributionProblem}</p>
</div>`;
  }
  if (!a || a.retained.length === 0) return '';
  const rows = a.retained.map(
    (g) => html`<tr><th scope="row"><code>${g.group}</code></th><td class="num">${signedCount(g.countPerDisconnect)}</td><td class="num">${signedBytes(g.bytesPerDisconnect)}</td><td class="num">${g.count}</td></tr>`,
  );
  const paths = a.retained
    .filter((g) => g.retainerPath && g.retainerPath.length > 0)
    .map((g) => html`<li><code>${g.group}</code> held by: <code class="path">${retainerPathText(g.retainerPath!)}</code></li>`);
  return html`<div class="attribution" data-target="${target.name}">
<h4>What leaked, per ${result.per}</h4>
<p class="source">heap snapshots of pid ${a.pid}: ${a.snapshots.join(', ')} (written in ${durationText(a.snapshotMs)}, diffed in ${durationText(a.analysisMs)})</p>
<div class="table-wrap"><table class="retained-table">
<thead><tr><th scope="col">retained</th><th scope="col">objects / ${result.per}</th><th scope="col">bytes / ${result.per}</th><th scope="col">in all</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>
${paths.length > 0 ? html`<ul class="retainers">${paths}</ul>` : ''}
</div>`;
}

/** Go: goroutines left behind, by blocking state and where they wait (from the goroutine dumps). */
function goroutines(target: TargetReport, result: ScenarioResult): SafeHtml | '' {
  if (result.verdict === 'clean') return '';
  const lines = goroutineLines(result);
  if (!lines) return '';
  return html`<div class="attribution" data-target="${target.name}">
<h4>What leaked, per ${result.per}</h4>
<p class="source">${lines.title}</p>
<ul class="goroutines">${lines.groups.map((line) => html`<li><code>${line}</code></li>`)}</ul>
${lines.paths.length > 0 ? html`<ul class="retainers">${lines.paths.map((p) => html`<li><code class="path">${p}</code></li>`)}</ul>` : ''}
</div>`;
}

/** Python: tasks left behind by where they wait, and the object types and allocation sites that grew. */
function tasks(target: TargetReport, result: ScenarioResult): SafeHtml | '' {
  if (result.verdict === 'clean') return '';
  const lines = taskLines(result);
  if (!lines) return '';
  return html`<div class="attribution" data-target="${target.name}">
<h4>What leaked, per ${result.per}</h4>
<p class="source">${lines.title}</p>
<ul class="tasks">${lines.groups.map((line) => html`<li><code>${line}</code></li>`)}</ul>
${lines.paths.length > 0 ? html`<ul class="retainers">${lines.paths.map((p) => html`<li><code class="path">${p}</code></li>`)}</ul>` : ''}
</div>`;
}

function footer(report: LeakcheckReport): SafeHtml {
  const h = report.harness;
  return html`<footer>
<p>The checker itself: RSS ${formatBytes(h.rssStartBytes)} at start, ${formatBytes(h.rssPeakBytes)} at peak; left open: ${h.leftOpen.length === 0 ? 'nothing' : h.leftOpen.join(', ')}.</p>
<p>Finished ${timeText(report.finishedAt)}. Generated by ${report.tool.name} ${report.tool.version}; this file loads nothing from anywhere. report.json beside it holds every figure.</p>
</footer>`;
}

/** Our own constant, not report data: inserted as it is (escaping would turn its quotes into entities, which CSS does not read). */
const STYLE = new SafeHtml(`
:root { --fg: #1b1f24; --muted: #57606a; --bg: #fff; --panel: #f6f8fa; --line: #d0d7de;
  --leak: #b42318; --clean: #1a7f37; --warn: #9a6700; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e6edf3; --muted: #9da7b3; --bg: #0d1117; --panel: #161b22; --line: #30363d;
    --leak: #ff7b72; --clean: #56d364; --warn: #e3b341; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 40px; }
h1 { font-size: 1.6em; margin: 0 0 8px; }
h2 { font-size: 1.3em; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05em; margin: 18px 0 4px; }
h4 { font-size: 0.95em; margin: 10px 0 4px; }
code, pre { font: 0.88em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: var(--panel); padding: 8px; overflow-x: auto; white-space: pre-wrap; }
.status { display: inline-block; margin: 4px 0 12px; padding: 6px 12px; border-radius: 6px; border: 1px solid; }
.status-ok { color: var(--clean); }
.status-not-ok, .status-incomplete { color: var(--leak); }
.facts { display: flex; flex-wrap: wrap; gap: 6px 24px; margin: 0; }
.facts div { display: flex; gap: 6px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.problems { border-left: 4px solid var(--leak); padding: 0 12px; }
.problems h2 { border: 0; margin-top: 16px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 10px; font-size: 0.92em; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); }
thead th { color: var(--muted); font-weight: 600; }
tbody th { white-space: nowrap; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.reason { min-width: 240px; }
table.retained-table { width: auto; }
table.retained-table td, table.retained-table th { padding-right: 24px; }
.verdict { font-weight: 700; }
.verdict-leak { color: var(--leak); }
.verdict-clean { color: var(--clean); }
.verdict-saturating, .verdict-inconclusive { color: var(--warn); }
.met { color: var(--clean); white-space: nowrap; }
.missed { color: var(--leak); font-weight: 700; }
.scenario-plan, .source, footer { color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(440px, 1fr)); gap: 12px 24px; margin: 14px 0; }
.chart-figure { margin: 0; }
.chart-figure figcaption { font-size: 0.9em; margin-bottom: 4px; }
.chart-missing { padding: 12px; border: 1px dashed var(--line); }
svg.chart { font-family: inherit; display: block; width: 100%; height: auto; max-width: 760px; }
svg.chart text { fill: var(--fg); }
svg.chart .tick { fill: var(--muted); }
svg.chart .grid { stroke: var(--line); stroke-opacity: 0.6; }
svg.chart .axis { stroke: var(--muted); }
svg.chart .zero { stroke: var(--fg); stroke-opacity: 0.55; }
.chart-notes { margin: 4px 0; color: var(--muted); font-size: 0.9em; }
.notes { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 4px 0 4px 20px; }
.notes dt { color: var(--muted); }
.notes dd { margin: 0; }
.attribution { margin: 6px 0 12px 20px; }
.retainers code.path { overflow-wrap: anywhere; }
.retainers li { margin-bottom: 4px; }
footer { margin-top: 36px; border-top: 1px solid var(--line); font-size: 0.88em; }
@media print {
  :root { --fg: #000; --muted: #444; --bg: #fff; --panel: #f3f3f3; --line: #bbb; }
  main { max-width: none; padding: 0; }
  .charts { grid-template-columns: 1fr 1fr; }
  .chart-figure, table, .attribution { break-inside: avoid; }
  h2 { break-after: avoid; }
}
`);
