/**
 * One scenario on one running target, in named phases: warm-up, baseline, cycles. Each phase drives
 * batches of clients, settles, samples and returns its rows; the rules for stopping and extending are
 * asked of analysis/policy.ts. Everything the phases touch comes in through ScenarioDeps, so a test can
 * hand them a target and a batch driver of its own (no processes) and check the rules in milliseconds.
 */
import { afterCycle, EARLY_PROBE_CLIENTS, EARLY_STOP_MIN_CYCLES, unmistakableLeak, unmistakableResourceLeak, type Ending } from '../analysis/policy.js';
import type { MetricSpec } from '../analysis/index.js';
import type { BatchOutcome } from '../load/clients.js';
import type { Scenario } from '../load/scenario.js';
import type { Evidence } from '../probe/probe.js';
import type { SampleRow } from '../report/types.js';
import type { TargetSample } from '../targets/target.js';

export type PhaseName = 'warm-up' | 'baseline' | 'cycle';

export interface ScenarioDeps {
  scenario: Scenario;
  /** The specs the target's probe judges by. */
  specs: readonly MetricSpec[];
  /** A settled sample of the target (the caller races it against the target's death). */
  sample(): Promise<TargetSample>;
  /** The pause between a batch's end and its sample, so closes and cancellations in flight finish. */
  settle(): Promise<void>;
  /** Runs `count` clients of the scenario's mix; `label` seeds the script (same for every target). */
  batch(label: string, count: number): Promise<BatchOutcome>;
  /** Evidence of what leaked, collected around the judged series; null for none. */
  evidence: Evidence | null;
  /** Resolves once no other target's evidence is being read: no baseline is taken beside that. */
  quiet(): Promise<void>;
  phase(name: PhaseName, cycle: number): void;
}

/** What the clients did over the judged series (the warm-up's own counts are dropped at the baseline). */
export class Tally {
  disconnects = 0;
  completed = 0;
  endedEarly = 0;
  loadMs = 0;
  errors = { total: 0, byKind: {} as Record<string, number>, examples: [] as string[] };
  /** Disconnects since the scenario's first sample, warm-up included: what evidence divides by. */
  disconnectsSinceStart = 0;
  /** The framing the first responses were read in; null until one was read. */
  framing: BatchOutcome['framing'] = null;

  add(outcome: BatchOutcome): void {
    this.framing ??= outcome.framing;
    this.disconnectsSinceStart += outcome.disconnects;
    this.disconnects += outcome.disconnects;
    this.completed += outcome.completed;
    this.endedEarly += outcome.endedEarly;
    this.loadMs += outcome.durationMs;
    this.errors.total += outcome.errors.total;
    for (const [kind, n] of Object.entries(outcome.errors.byKind)) this.errors.byKind[kind] = (this.errors.byKind[kind] ?? 0) + n;
    for (const example of outcome.errors.examples) if (this.errors.examples.length < MAX_ERROR_EXAMPLES) this.errors.examples.push(example);
  }

  /** The judged series starts here: what came before was warm-up. */
  restart(): void {
    this.disconnects = 0;
    this.completed = 0;
    this.endedEarly = 0;
    this.loadMs = 0;
    this.errors = { total: 0, byKind: {}, examples: [] };
  }
}

const MAX_ERROR_EXAMPLES = 5;

export interface Series {
  rows: SampleRow[];
  /** The first sample of the judged series and the last: growth by kind is read between them. */
  first: TargetSample;
  last: TargetSample;
  ending: Ending;
}

export function toRow(sample: TargetSample, x: number): SampleRow {
  return { x, atMs: sample.atMs, ...sample.values, rssBytes: sample.values.rssBytes ?? 0, processes: sample.processes.length };
}

/**
 * Warm-up in chunks of one cycle's size: a target whose first chunks already show an unmistakable leak
 * is decided on them (its later cycles would only cost time); any other target gets the rest of the
 * warm-up in one batch, unsampled (a sample costs ~0.7 s and its figures are dropped anyway; a leak
 * that shows only later is caught by the cycles). Not smaller chunks: a bounded store still filling
 * over both looks exactly like a leak, so the chunk size is the largest store the early stop can tell
 * from one (docs/measurements.md#warm-up). The last chunk is never sampled (the baseline follows).
 *
 * Returns the series when the warm-up decided, null when the baseline and cycles are to follow.
 */
export async function warmUp(deps: ScenarioDeps, x: () => number, tally: Tally): Promise<Series | null> {
  const { scenario } = deps;
  if (scenario.warmupClients <= 0) return null;
  const beforeWarmUp = await deps.sample();
  await deps.evidence?.start();
  const rows: SampleRow[] = [toRow(beforeWarmUp, 0)];
  const chunk = Math.max(1, Math.min(scenario.clients, scenario.warmupClients));
  const decided = (last: TargetSample, judged: SampleRow[]): Series => ({
    rows: judged,
    first: beforeWarmUp,
    last,
    ending: { how: 'decided-in-warm-up', chunks: judged.length - 1, disconnects: tally.disconnectsSinceStart },
  });
  // The first chunk in small parts, sampled, for a leak of held resources (analysis/policy.ts).
  const probe = Math.min(EARLY_PROBE_CLIENTS, chunk);
  let firstChunkSent = 0;
  if (probe * EARLY_STOP_MIN_CYCLES < chunk && scenario.warmupClients > EARLY_STOP_MIN_CYCLES * chunk) {
    const probeRows = [...rows];
    for (let part = 1; part <= EARLY_STOP_MIN_CYCLES; part++) {
      deps.phase('warm-up', 1);
      tally.add(await deps.batch(`warm-up-1.${part}`, probe));
      firstChunkSent += probe;
      await deps.settle();
      const sample = await deps.sample();
      probeRows.push(toRow(sample, x()));
      if (part === EARLY_STOP_MIN_CYCLES && unmistakableResourceLeak(probeRows, deps.specs)) return decided(sample, probeRows);
    }
  }
  for (let done = 0, part = 1; done < scenario.warmupClients; done += chunk, part++) {
    deps.phase('warm-up', part);
    const rest = Math.min(chunk, scenario.warmupClients - done) - (part === 1 ? firstChunkSent : 0);
    tally.add(await deps.batch(`warm-up-${part}`, rest));
    if (done + chunk >= scenario.warmupClients) break;
    await deps.settle();
    const sample = await deps.sample();
    rows.push(toRow(sample, x()));
    if (part < EARLY_STOP_MIN_CYCLES) continue;
    if (unmistakableLeak(rows, deps.specs)) return decided(sample, rows);
    deps.phase('warm-up', part + 1);
    tally.add(await deps.batch(`warm-up-${part + 1}`, scenario.warmupClients - done - chunk));
    break;
  }
  return null;
}

/** The judged series' first point: counts start again from here (the caller starts the evidence after it). */
export async function baseline(deps: ScenarioDeps, tally: Tally): Promise<TargetSample> {
  tally.restart();
  await deps.quiet();
  deps.phase('baseline', 0);
  await deps.settle();
  return deps.sample();
}

/** The measured cycles: a batch, settle, sample, and the policy's word on stopping or extending. */
export async function cycles(deps: ScenarioDeps, first: TargetSample, x: () => number, tally: Tally): Promise<Series> {
  const planned = deps.scenario.cycles;
  const rows: SampleRow[] = [toRow(first, 0)];
  let last = first;
  let extendedBy = 0;
  let ending: Ending = { how: 'planned' };
  for (let cycle = 1; cycle <= planned + extendedBy; cycle++) {
    deps.phase('cycle', cycle);
    tally.add(await deps.batch(`cycle-${cycle}`, deps.scenario.clients));
    await deps.settle();
    last = await deps.sample();
    rows.push(toRow(last, x()));
    const decision = afterCycle(rows, deps.specs, cycle, planned, extendedBy);
    if (decision.next === 'stop') {
      ending = { how: decision.because === 'leak' ? 'stopped-early' : 'stopped-clean', after: cycle, planned };
      break;
    }
    if (decision.next === 'extend') extendedBy = decision.by;
  }
  if (extendedBy > 0) ending = { how: 'extended', by: extendedBy, cycles: rows.length - 1, planned };
  return { rows, first, last, ending };
}
