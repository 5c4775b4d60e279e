/**
 * Which way of hanging up leaks: a mixed scenario whose verdict is inconclusive or a diluted leak (or
 * any leak, on request) is measured again, one leaving behaviour at a time, each on a fresh start of the target with a short
 * warm-up and the same stopping rules in smaller cycles, without evidence or steady load; the arms fold
 * into the mixed result (policy.ts).
 */
import { foldBreakdown, wantsBreakdown } from '../analysis/policy.js';
import { meetsExpectation } from '../analysis/index.js';
import type { Behaviour, Scenario } from '../load/scenario.js';
import type { BehaviourArm, ScenarioResult } from '../report/types.js';

/**
 * Clients per cycle of an arm, and its cycles: a leak of ~1 KB per disconnect shows above the 50 KB
 * noise floor in one cycle, and the early stop ends a steep one after two (docs/measurements.md#breakdown).
 */
export const ARM_CLIENTS = 200;
export const ARM_CYCLES = 4;
/** A fresh start still compiles and fills its pools: a short warm-up, dropped from the verdict as always. */
export const ARM_WARMUP_CLIENTS = 400;

/** `stall-then-leave (after 2 events, 100 ms)`: a behaviour as a person reads it. */
export function describeBehaviour(behaviour: Behaviour): string {
  switch (behaviour.kind) {
    case 'leave-after-events':
    case 'reset-after-events':
      return `${behaviour.kind} (${behaviour.events} events)`;
    case 'leave-after-ms':
      return `${behaviour.kind} (${behaviour.ms} ms)`;
    case 'stall-then-leave':
      return `${behaviour.kind} (after ${behaviour.afterEvents} events, ${behaviour.stallMs} ms)`;
    default:
      return behaviour.kind;
  }
}

/** One arm per leaving entry of the mix (full-length streams are not a way of leaving). */
export function armsOf(scenario: Scenario): Scenario[] {
  return scenario.mix
    .filter((entry) => entry.behaviour.kind !== 'complete')
    .map((entry, i, leaving) => ({
      ...scenario,
      // Two entries of one kind (different parameters) get their own names.
      // No `/`: the name goes into request ids, which go into the stream path.
      name: `${scenario.name}.${entry.behaviour.kind}${leaving.filter((e) => e.behaviour.kind === entry.behaviour.kind).length > 1 ? `-${i + 1}` : ''}`,
      description: describeBehaviour(entry.behaviour),
      warmupClients: Math.min(ARM_WARMUP_CLIENTS, scenario.warmupClients),
      cycles: ARM_CYCLES,
      clients: Math.min(ARM_CLIENTS, scenario.clients),
      mix: [{ behaviour: entry.behaviour, weight: 1 }],
      steadyLoad: null,
    }));
}

export type BreakdownMode = 'auto' | 'always' | 'never';

/**
 * A held resource (sockets, goroutines, tasks) left by at most every other disconnect: some ways of
 * leaving leave one and others do not. The reference old leaves 1.00 per disconnect, on every way.
 */
export const PARTIAL_RESOURCE_LEAK = 0.5;

/**
 * What 'auto' breaks down: an inconclusive mix; a leak that needed every planned cycle; and a leak of
 * held resources at most every other disconnect leaves (PARTIAL_RESOURCE_LEAK), however soon it was
 * decided. A memory leak that was unmistakable early (the reference old, after 400 disconnects) leaks
 * on most ways of leaving, and five arms would cost ~55 s to say so; a leak that only just shows in the
 * mix, or a count of tasks that only some disconnects leave, is the one a single way of leaving may
 * cause, diluted by the others (1 client in 12 stalls in `mixed`).
 */
export function autoBreakdown(
  scenario: Pick<Scenario, 'cycles'>,
  result: Pick<ScenarioResult, 'verdict' | 'cyclesRun' | 'metrics' | 'probeDescription'>,
): boolean {
  if (result.verdict === 'inconclusive') return true;
  if (result.verdict !== 'leak') return false;
  if (result.cyclesRun >= scenario.cycles) return true;
  const handles = result.probeDescription.handles;
  const held = result.metrics.find((m) => m.key === handles.key);
  return handles.heldResource === true && held?.verdict === 'leak' && held.perDisconnect <= PARTIAL_RESOURCE_LEAK;
}

/**
 * Measures the arms of `result`'s scenario when `mode` and its verdict ask for them (`measureArm` runs
 * one on a fresh start of the target), and folds them into it.
 */
export async function breakDown(
  scenario: Scenario,
  result: ScenarioResult,
  mode: BreakdownMode,
  measureArm: (arm: Scenario) => Promise<ScenarioResult>,
): Promise<void> {
  const arms = armsOf(scenario);
  if (mode === 'never' || !wantsBreakdown(result, arms.length) || (mode === 'auto' && !autoBreakdown(scenario, result))) return;
  const measured: BehaviourArm[] = [];
  /** Every disconnect the arms sent, their warm-ups included. */
  let armDisconnects = 0;
  for (const arm of arms) {
    const armResult = await measureArm(arm);
    armDisconnects += armResult.decidedAfter.disconnects;
    const figure = (key: string | null) => (key === null ? null : (armResult.metrics.find((m) => m.key === key)?.perDisconnect ?? null));
    measured.push({
      behaviour: arm.description,
      kind: arm.mix[0]!.behaviour.kind,
      verdict: armResult.verdict,
      reason: armResult.reason,
      disconnects: armResult.disconnects,
      cyclesRun: armResult.cyclesRun,
      bytesPerDisconnect: figure(armResult.probeDescription.overall.bytes ?? armResult.probeDescription.heap.key),
      handlesPerDisconnect: figure(armResult.probeDescription.overall.handles ?? armResult.probeDescription.handles.key),
      durationMs: armResult.durationMs,
    });
  }
  const folded = foldBreakdown(result, measured);
  if (folded.verdict !== result.verdict) {
    result.decidedAfter = {
      disconnects: result.decidedAfter.disconnects + armDisconnects,
      ms: result.decidedAfter.ms + measured.reduce((ms, arm) => ms + arm.durationMs, 0),
    };
  }
  result.breakdown = measured;
  result.verdict = folded.verdict;
  result.reason = folded.reason;
  result.expectationMet = meetsExpectation(result.verdict, result.expect);
  result.durationMs += measured.reduce((ms, arm) => ms + arm.durationMs, 0);
}
