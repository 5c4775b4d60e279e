/**
 * One scenario on one running target, from its first sample to its result: the phases (phases.ts),
 * the steady load beside the cycles, the upstream's counters around them, the verdict (analysis/), and
 * the evidence of what leaked (started, ended, concluded, discarded). The target is started and stopped
 * by the caller; everything else comes in through MeasureDeps, so a test can run this with a target and
 * a batch driver of its own.
 */
import { meetsExpectation } from '../analysis/index.js';
import { cancellationOf, describeUpstream } from '../analysis/upstream.js';
import { growthByKind, judgeRows, reasonWithEnding } from '../analysis/policy.js';
import { LeakcheckError } from '../core/errors.js';
import type { BatchOutcome } from '../load/clients.js';
import type { Scenario } from '../load/scenario.js';
import type { EvidenceOptions } from '../probe/probe.js';
import type { ScenarioResult, SteadyLoadFigures } from '../report/types.js';
import type { Target } from '../targets/target.js';
import type { UpstreamStats } from '../targets/upstream.js';
import { baseline, cycles, Tally, warmUp, type PhaseName, type ScenarioDeps } from './phases.js';

export interface MeasureDeps {
  /** Runs `count` clients of the scenario's mix against the target; `label` seeds the script. */
  batch(label: string, count: number): Promise<BatchOutcome>;
  /** The pause between a batch and its sample. */
  settle(): Promise<void>;
  /** The upstream's counters now; null when there is no upstream of ours to ask. */
  upstreamStats(): Promise<UpstreamStats | null>;
  /** Starts full-length streams beside the cycles until `signal` aborts; resolves with their figures. */
  steadyLoad(connections: number, signal: AbortSignal): Promise<SteadyLoadFigures | null>;
  /** Where file evidence goes, and its name stem; null: collect none. */
  evidence: EvidenceOptions | null;
  /** Resolves once no other target's evidence is being read. */
  quiet(): Promise<void>;
  /** Takes a conclusion that finishes later (snapshot reading): the run awaits it before reporting. */
  defer(work: Promise<void>): void;
  phase(name: PhaseName, cycle: number, cycles: number): void;
}

/**
 * A probe's channel into a target (an agent's socket, an inspector session) closes as the target dies,
 * often before the death itself is seen: an exit event comes after the sockets close, and an attached
 * process is only polled. A failure that the death follows within this is reported as the death.
 */
export const DEATH_AFTER_FAILURE_MS = 1500;

/** `work`, or the target's death if that comes first or soon after `work` fails. */
export async function guardedBy<T>(died: Promise<never>, work: Promise<T>): Promise<T> {
  try {
    return await Promise.race([work, died]);
  } catch (error) {
    if (error instanceof LeakcheckError) throw error;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([died, new Promise((resolve) => (timer = setTimeout(resolve, DEATH_AFTER_FAILURE_MS)))]);
    } finally {
      clearTimeout(timer);
    }
    throw error;
  }
}

export async function measureScenario(target: Target, scenario: Scenario, deps: MeasureDeps): Promise<ScenarioResult> {
  const started = Date.now();
  const guarded = <T>(work: Promise<T>) => guardedBy(target.died, work);
  const steadyController = new AbortController();
  let steady: Promise<SteadyLoadFigures | null> = Promise.resolve(null);
  const evidence = deps.evidence ? target.evidence(deps.evidence) : null;
  const guardedEvidence = evidence && {
    start: () => guarded(evidence.start()),
    end: (verdict: Parameters<typeof evidence.end>[0]) => guarded(evidence.end(verdict)),
    conclude: evidence.conclude.bind(evidence),
    discard: evidence.discard.bind(evidence),
  };
  const phaseDeps: ScenarioDeps = {
    scenario,
    specs: target.probe.metrics,
    sample: () => guarded(target.sample()),
    settle: () => guarded(deps.settle()),
    batch: (label, count) => guarded(deps.batch(label, count)),
    evidence: guardedEvidence,
    quiet: () => guarded(deps.quiet()),
    phase: (name, cycle) => deps.phase(name, cycle, scenario.cycles),
  };
  try {
    const tally = new Tally();
    const x = () => (scenario.control ? tally.completed : tally.disconnects);
    let upstreamBefore = await deps.upstreamStats();
    let series = await warmUp(phaseDeps, x, tally);
    if (!series) {
      const first = await baseline(phaseDeps, tally);
      upstreamBefore = await deps.upstreamStats();
      await guardedEvidence?.start();
      if (scenario.steadyLoad) steady = deps.steadyLoad(scenario.steadyLoad.connections, steadyController.signal).catch(() => null);
      series = await cycles(phaseDeps, first, x, tally);
    }
    steadyController.abort();
    const steadyFigures = await steady;
    const upstreamAfter = await deps.upstreamStats();
    const { rows } = series;
    const judgement = judgeRows(rows, target.probe.metrics);
    const decidedAfter = { disconnects: tally.disconnectsSinceStart, ms: Date.now() - started };
    await guardedEvidence?.end(judgement.verdict);

    const expect = scenario.control ? 'clean' : target.spec.expect;
    const result: ScenarioResult = {
      scenario: scenario.name,
      control: scenario.control,
      probe: target.probe.name,
      probeDescription: target.probe.description,
      framing: tally.framing,
      attribution: null,
      expect,
      verdict: judgement.verdict,
      expectationMet: meetsExpectation(judgement.verdict, expect),
      reason: reasonWithEnding(judgement.reason, series.ending),
      cyclesRun: rows.length - 1,
      per: scenario.control ? 'stream' : 'disconnect',
      disconnects: tally.disconnects,
      completed: tally.completed,
      endedEarly: tally.endedEarly,
      errors: tally.errors,
      metrics: judgement.metrics,
      handleGrowthByType: growthByKind(series.first.breakdown, series.last.breakdown),
      goroutineGrowth: null,
      breakdown: null,
      samples: rows,
      upstream: upstreamDelta(upstreamBefore, upstreamAfter, tally.disconnects, tally.completed),
      steadyLoad: steadyFigures,
      disconnectsPerSec: tally.loadMs > 0 ? (tally.disconnects * 1000) / tally.loadMs : 0,
      decidedAfter,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
    };
    const later = evidence?.conclude(result, {
      disconnectsSinceStart: tally.disconnectsSinceStart,
      seriesSpan: rows.at(-1)!.x - rows[0]!.x,
    });
    if (later) {
      // Handled from the start: a failure surfaces where the run awaits them all, not as unhandled.
      later.catch(() => {});
      deps.defer(later);
    }
    return result;
  } finally {
    steadyController.abort();
    await steady;
    // Whatever ended the scenario, no evidence stays that no conclusion took over.
    await evidence?.discard();
  }
}

function upstreamDelta(
  before: UpstreamStats | null,
  after: UpstreamStats | null,
  disconnects: number,
  completedClients: number,
): ScenarioResult['upstream'] {
  if (!before || !after) return null;
  const counters = {
    streamsStarted: after.streamsStarted - before.streamsStarted,
    streamsCompleted: after.streamsCompleted - before.streamsCompleted,
    streamsCancelled: after.streamsCancelled - before.streamsCancelled,
    tokensAfterClientLeft: after.tokensAfterClientLeft - before.tokensAfterClientLeft,
    streamsInFlightAtEnd: after.streamsInFlight,
    openConnectionsAtEnd: after.openConnections,
  };
  return { ...counters, cancellation: cancellationOf(counters, disconnects), summary: describeUpstream(counters, disconnects, completedClients) };
}
