/**
 * The report as Markdown fit for a PR comment or a CI step summary: a verdict table first (headings from
 * h3, as GitHub's step summary renders them), the per-scenario detail folded in <details>.
 */
import type { LeakcheckReport } from './types.js';
import {
  attachedLines,
  attributionLines,
  durationText,
  errorsText,
  goroutineLines,
  growthText,
  handlesCell,
  heapCell,
  metricCell,
  requestLine,
  taskLines,
  upstreamMissText,
  upstreamSeenWord,
  verdictWord,
  breakdownMatrix,
} from './figures.js';

export function renderMarkdown(report: LeakcheckReport): string {
  const out: string[] = [];
  const status = !report.complete ? '⚠️ incomplete' : report.ok ? '✅ pass' : '❌ fail';
  out.push(`### streamer-leakcheck: ${status}`);
  out.push('');
  out.push(
    `seed \`${report.seed}\` · upstream ${report.upstream.tokens} tokens every ${report.upstream.intervalMs} ms · ${durationText(report.durationMs)} · Node ${report.node}`,
  );
  out.push('');
  out.push('| target | verdict | expected | heap / disconnect | handles / disconnect | disconnects |');
  out.push('| --- | --- | --- | --- | --- | --- |');
  for (const t of report.targets) {
    out.push(
      `| ${cell(t.name)} | ${t.expectationMet ? '✅' : '❌'} ${verdictWord(t.verdict)} | ${t.expect} | ${heapCell(t)} | ${handlesCell(t)} | ${t.disconnects} |`,
    );
  }
  out.push('');
  for (const t of report.targets) out.push(`- **${cell(t.name)}**: ${cell(t.reason)}`);
  for (const t of report.targets) for (const line of attachedLines(t)) out.push(`- **${cell(t.name)}** ${cell(line)}`);
  for (const t of report.targets) if (t.origin !== 'builtin' && t.request) out.push(`- **${cell(t.name)}** request: \`${requestLine(t.request).replaceAll('`', "'")}\``); // code: *** is not emphasis
  for (const t of report.targets) for (const b of t.budgetExceeded) out.push(`- ❌ **${cell(t.name)}** over budget: ${cell(b)}`);
  for (const t of report.targets) {
    const check = t.upstreamCheck;
    if (check) out.push(check.met ? `- ✅ **${cell(t.name)}** upstream ${upstreamSeenWord(check)}, as expected` : `- ❌ **${cell(t.name)}** ${cell(upstreamMissText(check))}`);
  }
  if (report.problems.length > 0) {
    out.push('');
    out.push('#### Problems');
    for (const p of report.problems) {
      const where = [p.target, p.scenario].filter(Boolean).join(' / ');
      out.push(`- ${where ? `**${cell(where)}**: ` : ''}${cell(p.message)}`);
    }
  }
  out.push('');
  out.push('<details><summary>Per scenario</summary>');
  out.push('');
  for (const info of report.scenarios) {
    out.push(`#### ${info.name}${info.control ? ' (control)' : ''}`);
    out.push('');
    if (info.description) out.push(`${cell(info.description)}`, '');
    out.push('| target | verdict | heap | external | handles | live workers | disconnects | completed | errors | upstream |');
    out.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const t of report.targets) {
      const r = t.scenarios.find((s) => s.scenario === info.name);
      if (!r) continue;
      out.push(
        `| ${cell(t.name)} | ${r.expectationMet ? '✅' : '❌'} ${verdictWord(r.verdict)} | ${heapCell(r)} | ${metricCell(r, 'externalBytes')} | ${metricCell(r, 'handles')} | ${
          r.samples.at(-1)?.liveWorkers ?? 'n/a'
        } | ${r.disconnects} | ${r.completed} | ${cell(errorsText(r.errors))} | ${cell(r.upstream?.summary ?? 'n/a')} |`,
      );
    }
    out.push('');
    const matrix = breakdownMatrix(report.targets, info.name);
    if (matrix) {
      out.push('One way of hanging up at a time, per disconnect:', '');
      out.push(`| behaviour | ${report.targets.map((t) => cell(t.name)).join(' | ')} |`);
      out.push(`| --- | ${report.targets.map(() => '---').join(' | ')} |`);
      matrix.behaviours.forEach((behaviour, i) => out.push(`| ${cell(behaviour)} | ${matrix.cells[i]!.map(cell).join(' | ')} |`));
      out.push('');
    }
    for (const t of report.targets) {
      const r = t.scenarios.find((s) => s.scenario === info.name);
      if (!r) continue;
      const goroutines = r.verdict !== 'clean' ? goroutineLines(r) : null;
      const tasks = r.verdict !== 'clean' ? taskLines(r) : null;
      const grew = growthText(r);
      // A Go target's growth is its goroutines, a Python target's its tasks, listed just below.
      out.push(`- **${cell(t.name)}**: ${cell(r.reason)}${grew === 'none' && (goroutines || tasks) ? '' : `; grew: ${grew}`}`);
      for (const leaked of [attributionLines(r), goroutines, tasks]) {
        if (!leaked) continue;
        out.push(`  - ${cell(leaked.title)}${leaked.groups.length + leaked.paths.length > 0 ? ':' : ''}`);
        for (const group of leaked.groups) out.push(`    - ${cell(group)}`);
        for (const held of leaked.paths) out.push(`    - \`${held.replaceAll('`', "'")}\``);
      }
    }
    out.push('');
  }
  out.push('</details>');
  return out.join('\n') + '\n';
}

/** Keep a value from breaking a table row. */
function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}
