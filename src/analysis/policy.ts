/**
 * The run's rules, pure: judging a series of sample rows, when to stop early, when to extend, and how a
 * target's scenarios sum up into its verdict, figures and budgets. The run (src/run/) measures and
 * asks; nothing here does I/O or reads a clock. (Types only come from the report: it is the shape these
 * rules fill in.)
 */
import type { BehaviourArm, Budgets, SampleRow, ScenarioResult, TargetReport } from '../report/types.js';
import { meetsExpectation, type Expectation } from './expectation.js';
import type { MetricSpec, SeriesPoint, TargetJudgement, Verdict } from './types.js';
import { formatBytes } from './format.js';
import { checkUpstream, type UpstreamCancellation } from './upstream.js';
import { judgeTarget } from './verdict.js';

/** The metric series of `rows` that `specs` can judge: a key every row holds, as points over x. */
export function seriesOf(rows: readonly SampleRow[], specs: readonly MetricSpec[]): Record<string, SeriesPoint[]> {
  const series: Record<string, SeriesPoint[]> = {};
  for (const { key } of specs) {
    if (key in series || !rows.every((row) => typeof row[key] === 'number')) continue;
    series[key] = rows.map((row) => ({ disconnects: row.x, value: row[key] as number }));
  }
  return series;
}

export function judgeRows(rows: readonly SampleRow[], specs: readonly MetricSpec[]): TargetJudgement {
  return judgeTarget(seriesOf(rows, specs), specs);
}

/**
 * A leak this steep does not turn clean in later cycles, and each later cycle of a leaking target costs
 * more (a bigger heap to collect, more zombie streams upstream). After EARLY_STOP_MIN_CYCLES samples
 * past the first, stop when a decisive metric is a leak whose CI's lower bound is
 * EARLY_STOP_THRESHOLD_MULTIPLE times its threshold (old: handles 1.00 vs 0.02, heap ~45 KB vs 128 B
 * per disconnect). See docs/measurements.md#early-stop.
 */
export const EARLY_STOP_MIN_CYCLES = 2;
export const EARLY_STOP_THRESHOLD_MULTIPLE = 10;

export function unmistakableLeak(rows: readonly SampleRow[], specs: readonly MetricSpec[]): boolean {
  const judgement = judgeRows(rows, specs);
  if (judgement.verdict !== 'leak') return false;
  return judgement.metrics.some((metric) => {
    const spec = specs.find((s) => s.key === metric.key);
    return (
      spec?.decisive === true &&
      metric.verdict === 'leak' &&
      metric.ci95[0] >= EARLY_STOP_THRESHOLD_MULTIPLE * spec.leakPerDisconnect
    );
  });
}

/**
 * The warm-up's first two chunks are this small (when a cycle is larger): a leak of held resources
 * (EARLY_STOP_THRESHOLD_MULTIPLE × 0.02 per disconnect or more, as the reference old's 1.00 socket)
 * is called there, after 400 disconnects, by the same rule on those metrics alone. Memory is judged
 * on chunks of a whole cycle, as before: a bounded store of ~1000 entries fills linearly over the first
 * 400 and must not be called a leak (docs/measurements.md#warm-up).
 */
export const EARLY_PROBE_CLIENTS = 200;

export function unmistakableResourceLeak(rows: readonly SampleRow[], specs: readonly MetricSpec[]): boolean {
  const held = specs.filter((spec) => spec.heldResource);
  return held.length > 0 && unmistakableLeak(rows, held);
}

/**
 * The other way: a series already clean after EARLY_STOP_MIN_CYCLES cycles stops there when it is clean
 * with room to spare, as a sequential test stops on the null. Stricter than the verdict's own clean, so
 * that what stops early would have stayed clean: every decisive metric's slope under
 * EARLY_CLEAN_SHARE_OF_THRESHOLD of its leak threshold (falls included), its last cycle not at leak
 * pace, and cycles long enough that growth at the threshold would clear the noise floor in one of them
 * (otherwise a leak at the threshold hides in two cycles of noise: mixed's 600 disconnects add 77 KB at
 * 128 B against a 50 KB floor; the breakdown's arms of 200 add 26 KB and never stop clean early). A
 * real leak puts its slope at its rate in every cycle; the reference new's series after its warm-up
 * swings ±150 KB around a flat line (docs/measurements.md#early-clean).
 */
export const EARLY_CLEAN_SHARE_OF_THRESHOLD = 0.5;

export function unmistakablyClean(rows: readonly SampleRow[], specs: readonly MetricSpec[]): boolean {
  const judgement = judgeRows(rows, specs);
  if (judgement.verdict !== 'clean') return false;
  const decisive = judgement.metrics.filter((metric) => metric.decisive);
  return (
    decisive.length > 0 &&
    decisive.every((metric) => {
      const spec = specs.find((s) => s.key === metric.key);
      if (spec === undefined) return false;
      const cycles = metric.cycleRates.map((rate, i) => ({ rate, disconnects: rows[i + 1]!.x - rows[i]!.x }));
      const last = cycles.at(-1);
      return (
        last !== undefined &&
        cycles.every((c) => spec.leakPerDisconnect * c.disconnects > spec.noiseFloor) &&
        metric.perDisconnect < EARLY_CLEAN_SHARE_OF_THRESHOLD * spec.leakPerDisconnect &&
        !(last.rate * last.disconnects > spec.noiseFloor && last.rate >= spec.leakPerDisconnect)
      );
    })
  );
}

/**
 * "Inconclusive" asks for more data: give it, once, as many cycles again as the scenario has (a share of
 * the planned cycles, at least EXTRA_CYCLES_MIN). The reference `new`'s heap swung ±400 KB in some
 * early cycles while V8 compiled and optimised; more points bring the slope back under the threshold.
 * See docs/measurements.md#extension.
 */
export const EXTRA_CYCLES_SHARE = 1;
export const EXTRA_CYCLES_MIN = 2;

export function extraCycles(plannedCycles: number): number {
  return Math.max(EXTRA_CYCLES_MIN, Math.round(plannedCycles * EXTRA_CYCLES_SHARE));
}

/** What the cycle loop does after the sample of `cycle`: go on, stop (an unmistakable leak, or clean with room to spare), or extend. */
export type CycleDecision = { next: 'continue' } | { next: 'stop'; because: 'leak' | 'clean' } | { next: 'extend'; by: number };

export function afterCycle(
  rows: readonly SampleRow[],
  specs: readonly MetricSpec[],
  cycle: number,
  plannedCycles: number,
  extendedBy: number,
): CycleDecision {
  if (cycle >= EARLY_STOP_MIN_CYCLES && cycle < plannedCycles) {
    if (unmistakableLeak(rows, specs)) return { next: 'stop', because: 'leak' };
    if (unmistakablyClean(rows, specs)) return { next: 'stop', because: 'clean' };
  }
  if (cycle === plannedCycles && extendedBy === 0 && judgeRows(rows, specs).verdict === 'inconclusive') {
    return { next: 'extend', by: extraCycles(plannedCycles) };
  }
  return { next: 'continue' };
}

/** How a scenario's verdict came about, appended to the judgement's reason. */
export type Ending =
  | { how: 'planned' }
  | { how: 'decided-in-warm-up'; chunks: number; disconnects: number }
  | { how: 'stopped-early'; after: number; planned: number }
  | { how: 'stopped-clean'; after: number; planned: number }
  | { how: 'extended'; by: number; cycles: number; planned: number };

export function reasonWithEnding(reason: string, ending: Ending): string {
  switch (ending.how) {
    case 'planned':
      return reason;
    case 'decided-in-warm-up':
      return `${reason}; decided during warm-up: the leak was unmistakable after ${ending.chunks} chunks (${ending.disconnects} disconnects)`;
    case 'stopped-early':
      return `${reason}; stopped after ${ending.after} of ${ending.planned} cycles: the leak was unmistakable`;
    case 'stopped-clean':
      return `${reason}; stopped after ${ending.after} of ${ending.planned} cycles: every decisive metric under half its leak threshold, the last cycle not at leak pace`;
    case 'extended':
      return `${reason}; ${ending.cycles} cycles: extended by ${ending.by} after an inconclusive first ${ending.planned}`;
  }
}

/** Growth by kind from the first to the last sample (handle types, goroutines by place); zeros left out. */
export function growthByKind(first: Readonly<Record<string, number>>, last: Readonly<Record<string, number>>): Record<string, number> {
  const growth: Record<string, number> = {};
  for (const kind of new Set([...Object.keys(first), ...Object.keys(last)])) {
    const grown = (last[kind] ?? 0) - (first[kind] ?? 0);
    if (grown !== 0) growth[kind] = grown;
  }
  return growth;
}

const VERDICT_SEVERITY: Record<Verdict, number> = { clean: 0, saturating: 1, inconclusive: 2, leak: 3 };

/** The scenario that gives a target its verdict: the worst, and among equals a disconnect scenario over a control. */
export function decidingScenario(results: readonly ScenarioResult[]): ScenarioResult | null {
  return results.reduce<ScenarioResult | null>((worst, r) => {
    if (!worst) return r;
    const a = VERDICT_SEVERITY[r.verdict];
    const b = VERDICT_SEVERITY[worst.verdict];
    return a > b || (a === b && worst.control && !r.control) ? r : worst;
  }, null);
}

/** Budgets bind targets expected clean (a positive control is supposed to blow them): what each scenario exceeded. */
export function budgetsExceeded(expect: Expectation, results: readonly ScenarioResult[], budgets: Budgets): string[] {
  if (expect !== 'clean') return [];
  const exceeded: string[] = [];
  for (const r of results) {
    const figure = (key: string | null) => (key === null ? undefined : r.metrics.find((m) => m.key === key)?.perDisconnect);
    const bytes = figure(r.probeDescription.overall.bytes);
    const count = figure(r.probeDescription.overall.handles);
    if (budgets.maxBytesPerDisconnect !== undefined && bytes !== undefined && bytes > budgets.maxBytesPerDisconnect) {
      exceeded.push(`${r.scenario}: ${bytes.toFixed(0)} bytes per disconnect > --max-bytes-per-disconnect ${budgets.maxBytesPerDisconnect}`);
    }
    if (budgets.maxHandlesPerDisconnect !== undefined && count !== undefined && count > budgets.maxHandlesPerDisconnect) {
      exceeded.push(`${r.scenario}: ${count.toFixed(3)} handles per disconnect > --max-handles-per-disconnect ${budgets.maxHandlesPerDisconnect}`);
    }
  }
  return exceeded;
}

export interface TargetIdentity {
  name: string;
  origin: 'builtin' | 'user' | 'attached';
  /** The probe asked for, reported when no scenario ran to say which one read it. */
  probe: string;
  expect: Expectation;
  expectUpstream?: UpstreamCancellation;
}

/** A target's scenarios summed up: the deciding scenario's verdict and figures, expectations, budgets. */
export function summariseTarget(target: TargetIdentity, results: ScenarioResult[], budgets: Budgets): TargetReport {
  const deciding = decidingScenario(results);
  const metric = (key: string | null | undefined) => (key ? (deciding?.metrics.find((m) => m.key === key) ?? null) : null);
  const heap = metric(deciding?.probeDescription.overall.bytes);
  const handles = metric(deciding?.probeDescription.overall.handles);
  const workers = metric('liveWorkers');
  const lastRow = deciding?.samples.at(-1);
  return {
    name: target.name,
    origin: target.origin,
    probe: results[0]?.probe ?? target.probe,
    expect: target.expect,
    verdict: deciding?.verdict ?? 'inconclusive',
    // Judged on the target's verdict, once; each scenario shows its own against its own expectation.
    expectationMet: deciding !== null && meetsExpectation(deciding.verdict, target.expect),
    budgetExceeded: budgetsExceeded(target.expect, results, budgets),
    upstreamCheck: target.expectUpstream ? checkUpstream(target.expectUpstream, results) : null,
    reason: deciding ? `${deciding.scenario}: ${deciding.reason}` : 'no scenario finished',
    disconnects: results.reduce((n, r) => n + r.disconnects, 0),
    heap: { bytesPerDisconnect: heap?.perDisconnect ?? null, ci95: heap?.ci95 ?? null },
    handles: { perDisconnect: handles?.perDisconnect ?? null, ci95: handles?.ci95 ?? null },
    liveWorkers: workers ? { perDisconnect: workers.perDisconnect, atEnd: lastRow?.liveWorkers ?? null } : null,
    decidingScenario: deciding?.scenario ?? null,
    scenarios: results,
  };
}

/** A mixed scenario is broken down, one behaviour at a time, when its verdict asks who is to blame or cannot tell. */
export function wantsBreakdown(result: Pick<ScenarioResult, 'control' | 'verdict'>, leavingBehaviours: number): boolean {
  return !result.control && leavingBehaviours >= 2 && (result.verdict === 'leak' || result.verdict === 'inconclusive');
}

/** `+2.2 KB, +0.02 handles` per disconnect, as the breakdown lines say it. */
export function armFigures(arm: BehaviourArm): string {
  const parts: string[] = [];
  if (arm.bytesPerDisconnect !== null) parts.push(signed(arm.bytesPerDisconnect, formatBytes));
  if (arm.handlesPerDisconnect !== null) parts.push(`${signed(arm.handlesPerDisconnect, (n) => n.toFixed(2))} handles`);
  return parts.join(', ');
}

function signed(value: number, format: (n: number) => string): string {
  return `${value >= 0 ? '+' : '−'}${format(Math.abs(value))}`;
}

/**
 * Folds the arms into the mixed result: the reason says which ways of leaving leak ("leaks when:
 * stall-then-leave +2.2 KB, +0.02 handles; leave-before-first-byte clean"), and a mixed result the
 * arms decide takes their verdict: inconclusive with an arm that leaks is a leak. An inconclusive mix
 * whose arms are all clean stays inconclusive: each arm is smaller than the mix, so less sensitive.
 */
export function foldBreakdown(result: Pick<ScenarioResult, 'verdict' | 'reason'>, arms: readonly BehaviourArm[]): { verdict: Verdict; reason: string } {
  const leaking = arms.filter((arm) => arm.verdict === 'leak');
  const others = arms.filter((arm) => arm.verdict !== 'leak');
  const said = [...leaking.map((arm) => `${arm.kind} ${armFigures(arm)} per disconnect`), ...others.map((arm) => `${arm.kind} ${arm.verdict}`)].join('; ');
  if (leaking.length === 0) return { verdict: result.verdict, reason: `${result.reason}; no single way of leaving leaks on its own: ${said}` };
  const mix = result.verdict === 'leak' ? `the mix: ${result.reason}` : `the mix alone was inconclusive: ${result.reason}`;
  return { verdict: 'leak', reason: `leaks when: ${said} (${mix})` };
}
