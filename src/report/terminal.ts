/**
 * The report as terminal text: targets side by side (one column each), per scenario and overall, then
 * the reasons and what the upstream saw. Colour only when asked (the CLI decides: TTY, NO_COLOR).
 */
import { Chalk, type ChalkInstance } from 'chalk';
import type { UpstreamCheck } from '../analysis/upstream.js';
import type { ScenarioResult, LeakcheckReport, TargetReport } from './types.js';
import { sparkline } from './sparkline.js';
import { renderTable } from './table.js';
import {
  attributionLines,
  durationText,
  errorsText,
  goroutineLines,
  growthText,
  handlesCell,
  heapCell,
  breakdownMatrix,
  metricColumns,
  requestLine,
  taskLines,
  upstreamMissText,
  upstreamSeenWord,
  verdictWord,
  viaText,
  attachedLines,
} from './figures.js';

export interface TerminalOptions {
  color: boolean;
}

export function renderTerminal(report: LeakcheckReport, options: TerminalOptions): string {
  const c = new Chalk({ level: options.color ? 1 : 0 });
  const lines: string[] = [];
  lines.push(
    c.bold(`streamer-leakcheck ${report.tool.version}`) +
      c.dim(
        ` · seed ${report.seed} · upstream ${report.upstream.tokens} tokens every ${report.upstream.intervalMs} ms · ${durationText(report.durationMs)}`,
      ),
  );
  lines.push('');

  const targets = report.targets;
  if (targets.length > 0) {
    const rows: string[][] = [['', ...targets.map((t) => c.bold(t.name))]];
    for (const info of report.scenarios) {
      const results = targets.map((t) => t.scenarios.find((s) => s.scenario === info.name));
      if (results.every((r) => !r)) continue;
      const per = info.control ? 'stream' : 'disconnect';
      rows.push([c.bold(info.name) + c.dim(info.control ? ' (control)' : ''), ...targets.map(() => '')]);
      rows.push(['  verdict', ...results.map((r) => (r ? verdictCell(c, r.verdict, r.expect, r.expectationMet) : c.dim('not run')))]);
      for (const column of metricColumns(results)) {
        rows.push([`  ${column.label} / ${per}`, ...results.map((r) => (r ? column.cell(r) : ''))]);
      }
      if (results.some((r) => r?.samples.some((s) => s.liveWorkers !== undefined))) {
        rows.push(['  live workers at end', ...results.map((r) => String(r?.samples.at(-1)?.liveWorkers ?? 'n/a'))]);
      }
      rows.push([info.control ? '  streams completed' : '  disconnects', ...results.map((r) => (r ? String(info.control ? r.completed : r.disconnects) : ''))]);
      rows.push(['  errors', ...results.map((r) => (r ? colourErrors(c, r) : ''))]);
    }
    rows.push([c.bold('overall'), ...targets.map(() => '')]);
    const heapNotes = new Set(targets.map((t) => t.scenarios[0]?.probeDescription.heapNote ?? null));
    const [heapNote] = heapNotes;
    if (heapNotes.size === 1 && heapNote) rows.push([`  (${heapNote})`, ...targets.map(() => '')]);
    rows.push(['  verdict', ...targets.map((t) => verdictCell(c, t.verdict, t.expect, t.expectationMet))]);
    rows.push(['  heap / disconnect', ...targets.map((t) => heapCell(t))]);
    rows.push(['  handles / disconnect', ...targets.map((t) => handlesCell(t))]);
    if (targets.some((t) => t.upstreamCheck)) {
      rows.push(['  upstream', ...targets.map((t) => (t.upstreamCheck ? upstreamCell(c, t.upstreamCheck) : c.dim('not checked')))]);
    }
    // A row no target has a figure for (heap on a Go-only run, fds on a Node-only run) says nothing.
    lines.push(...renderTable(rows.filter((row) => row.length < 2 || row.slice(1).some((cell) => cell !== 'n/a'))));
    lines.push('');
    // Retained memory over the deciding scenario, each target on its own scale: climbing vs flat.
    for (const target of targets) {
      const scenario = target.scenarios.find((r) => r.scenario === target.decidingScenario);
      const spec = scenario?.probeDescription.heap;
      const key = spec?.key ?? 'rssBytes';
      const values = scenario?.samples.map((row) => row[key] ?? 0) ?? [];
      if (values.length < 2) continue;
      const grew = values.at(-1)! - values[0]!;
      // A probe whose memory figure is a count (Python's allocated blocks) says it as a count.
      const what = spec?.unit === 'count' ? `${spec.label} ${grew >= 0 ? '+' : ''}${grew}` : `${key === 'rssBytes' ? 'rss' : 'heap'} ${grew >= 0 ? '+' : ''}${(grew / 1e6).toFixed(1)} MB`;
      lines.push(`${target.name.padEnd(12)} ${c.cyan(sparkline(values))}  ${what} over ${values.length - 1} cycles`);
    }
    lines.push('');
    for (const info of report.scenarios) {
      const matrix = breakdownMatrix(targets, info.name);
      if (!matrix) continue;
      lines.push(c.bold(`${info.name}, one way of hanging up at a time`) + c.dim(' (per disconnect)'));
      lines.push(...renderTable([['', ...targets.map((t) => c.bold(t.name))], ...matrix.behaviours.map((b, i) => [`  ${b}`, ...matrix.cells[i]!])]));
      lines.push('');
    }
    for (const target of targets) lines.push(...targetNotes(c, target));
  }

  for (const problem of report.problems) {
    const where = [problem.target, problem.scenario].filter(Boolean).join(' / ');
    lines.push(c.red(`problem${where ? ` (${where})` : ''}: ${problem.message}`));
    for (const line of problem.stderrTail ?? []) lines.push(c.dim(`  | ${line}`));
  }
  if (report.problems.length > 0) lines.push('');

  lines.push(summaryLine(c, report));
  return lines.join('\n') + '\n';
}

function verdictCell(c: ChalkInstance, verdict: string, expect: string, met: boolean): string {
  const word = verdictWord(verdict as never);
  const coloured = verdict === 'leak' ? c.red.bold(word) : verdict === 'clean' ? c.green(word) : c.yellow(word);
  return `${coloured} ${met ? c.green('✓') : c.red(`✗ expected ${expect}`)}`;
}

function upstreamCell(c: ChalkInstance, check: UpstreamCheck): string {
  return `${upstreamSeenWord(check)} ${check.met ? c.green('✓') : c.red(`✗ expected ${check.expect}`)}`;
}

function colourErrors(c: ChalkInstance, r: ScenarioResult): string {
  const text = errorsText(r.errors);
  return r.errors.total > 0 ? c.yellow(text) : text;
}

function targetNotes(c: ChalkInstance, target: TargetReport): string[] {
  const via = viaText(target.scenarios[0]);
  const lines = [`${c.bold(target.name)}${c.dim(via)}: ${target.reason}`];
  if (target.origin !== 'builtin' && target.request) lines.push(c.dim(`  request: ${requestLine(target.request)}`));
  for (const line of attachedLines(target)) lines.push(c.dim(`  ${line}`));
  for (const result of target.scenarios) {
    const notes: string[] = [];
    const growth = growthText(result);
    if (result.verdict !== 'clean' && growth !== 'none') notes.push(`grew: ${growth}`);
    if (result.upstream && !result.control) notes.push(`upstream: ${result.upstream.summary}`);
    if (result.steadyLoad) {
      notes.push(`steady load: ${result.steadyLoad.completedStreams} full streams, ${result.steadyLoad.throughputStreamsPerSec.toFixed(1)} streams/s`);
    }
    if (result.errors.examples.length > 0) notes.push(`first error: ${result.errors.examples[0]}`);
    for (const note of notes) lines.push(c.dim(`  ${result.scenario}: ${note}`));
    const leaked = [attributionLines(result), ...(result.verdict !== 'clean' ? [goroutineLines(result), taskLines(result)] : [])];
    for (const what of leaked) {
      if (!what) continue;
      lines.push(`  ${result.scenario}: ${what.title}${what.groups.length + what.paths.length > 0 ? ':' : ''}`);
      for (const group of what.groups.slice(0, 6)) lines.push(`    ${group}`);
      for (const held of what.paths) lines.push(c.dim(`    ${held}`));
    }
  }
  return lines;
}

function summaryLine(c: ChalkInstance, report: LeakcheckReport): string {
  if (!report.complete) return c.red.bold('INCOMPLETE: ') + 'the run did not finish; figures above are what was measured';
  const missed = report.targets.filter((t) => !t.expectationMet);
  const overBudget = report.targets.filter((t) => t.budgetExceeded.length > 0);
  const upstreamMissed = report.targets.filter((t) => t.upstreamCheck && !t.upstreamCheck.met);
  if (missed.length === 0 && overBudget.length === 0 && upstreamMissed.length === 0) return c.green.bold('PASS: ') + 'every verdict met its expectation';
  return (
    c.red.bold('FAIL: ') +
    [
      ...missed.map((t) => `${t.name} was ${verdictWord(t.verdict)}, expected ${t.expect}`),
      ...overBudget.flatMap((t) => t.budgetExceeded.map((b) => `${t.name} ${b}`)),
      ...upstreamMissed.map((t) => `${t.name}: ${upstreamMissText(t.upstreamCheck!)}`),
    ].join('; ')
  );
}
