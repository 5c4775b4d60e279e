/**
 * The orchestration of one run: start the upstream, then for each target and scenario start the target
 * fresh, warm it up, take a settled baseline, run the measured cycles (load, settle, sample), judge the
 * series, stop the target. Measure here, decide in analysis/, print in report/.
 *
 * Problems with targets (would not start, died) never throw out of here: they are recorded in the report,
 * the other targets still run, and the report is marked incomplete. Only an interruption ends the run
 * early, and then too the report so far is returned.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { judgeTarget, meetsExpectation, specsFor, type SeriesPoint, type Verdict } from '../analysis/index.js';
import { diffGoroutineGroups } from '../analysis/goroutines.js';
import { describeUpstream } from '../analysis/upstream.js';
import { InterruptedError, LeakcheckError } from '../core/errors.js';
import { packageVersion } from '../core/paths.js';
import { runBatch, type BatchOutcome } from '../load/clients.js';
import type { Framing } from '../load/framing/index.js';
import { summarizeRequest } from '../load/request.js';
import { createRng, deriveSeed, planBehaviours } from '../load/plan.js';
import type { Scenario } from '../load/scenario.js';
import { runSteadyLoad } from '../load/steady.js';
import type { GoroutineDumpRead } from '../probe/go.js';
import { ProbeHub } from '../probe/hub.js';
import type { SnapshotWritten } from '../probe/protocol.js';
import { attributeInWorker } from './attribution.js';
import type {
  LeakcheckReport,
  RunProblem,
  SampleRow,
  ScenarioResult,
  SteadyLoadFigures,
  TargetReport,
} from '../report/types.js';
import { GOROUTINE_KIND_PREFIX, REPORT_SCHEMA_VERSION, type GoroutineGrowth } from '../report/types.js';
import { ProcessSupervisor } from '../targets/supervisor.js';
import { startTarget, type RunningTarget, type TargetSample, type TargetSpec } from '../targets/target.js';
import { startUpstream, type RunningUpstream, type UpstreamStats } from '../targets/upstream.js';

export interface RunOptions {
  targets: TargetSpec[];
  scenarios: Scenario[];
  seed: number;
  upstream: { tokens: number; intervalMs: number };
  startTimeoutMs: number;
  /** Pause after each batch before sampling, so closes and cancellations in flight can finish. */
  settleMs: number;
  /**
   * A 0700 folder for heap snapshots of Node targets (at the start of each scenario, and at its end when
   * it is a leak), diffed into "what leaked" under leak verdicts; null for no snapshots.
   */
  snapshotDir?: string | null;
  /** Numbers instead of (on top of) verdicts, for targets expected clean: exceeded -> the run fails. */
  budgets?: Budgets;
  signal?: AbortSignal;
  /**
   * Targets side by side, TARGETS_AT_ONCE at a time, instead of one after another. Off unless given
   * here; the CLI, the config file and leakcheck() default to it. Measured on 2 cores (default run, 20
   * runs each, 2026-11-29): median 15.4 s, max 17.7 s, against 24.7 s and 26.2 s one after another;
   * new never missed its expectation. It was opt-in while the heap figure held V8's compiled code: with
   * a neighbour on the CPU the optimising compiler lagged, new's code kept growing past its warm-up and
   * it was once called a leak in 32 runs.
   */
  parallel?: boolean;
  onEvent?: (event: RunEvent) => void;
}

export interface Budgets {
  maxBytesPerDisconnect?: number;
  maxHandlesPerDisconnect?: number;
}

export type RunEvent =
  | { type: 'upstream-ready'; target: string; url: string }
  | { type: 'target-start'; target: string; scenario: string }
  | { type: 'phase'; target: string; scenario: string; phase: 'warm-up' | 'baseline' | 'cycle'; cycle: number; cycles: number }
  | { type: 'progress'; target: string; scenario: string; done: number; total: number }
  /** `result.attribution` may still be null here: snapshots are read after the target stops (see deferAttribution). */
  | { type: 'scenario-done'; target: string; result: ScenarioResult }
  | { type: 'problem'; problem: RunProblem };

/**
 * Default pause between a batch's end and its sample. The reference `new` frees a worker within ~1 ms
 * of the abort and its idle upstream sockets within 200 ms; 300 ms covers both on a loaded 2-core machine.
 */
export const DEFAULT_SETTLE_MS = 300;

/**
 * Targets measured at once when side by side. A reference server is one busy thread, and the harness
 * and the upstreams share the rest: one after another, a default run keeps 2 cores ~50% busy. A second
 * target uses what the first leaves idle; a third would only slow the others and stretch their samples.
 */
export const TARGETS_AT_ONCE = 2;

const VERDICT_SEVERITY: Record<Verdict, number> = { clean: 0, saturating: 1, inconclusive: 2, leak: 3 };

export async function runLeakcheck(options: RunOptions): Promise<LeakcheckReport> {
  const started = Date.now();
  const harnessAtStart = harnessReading();
  let harnessRssPeakBytes = harnessAtStart.rssBytes;
  const watchHarness = setInterval(() => {
    harnessRssPeakBytes = Math.max(harnessRssPeakBytes, process.memoryUsage.rss());
  }, HARNESS_RSS_POLL_MS);
  watchHarness.unref();
  const emit = options.onEvent ?? (() => {});
  const supervisor = new ProcessSupervisor();
  const problems: RunProblem[] = [];
  // Indexed by the target's place in options.targets, whichever finishes first.
  const targetReports: TargetReport[] = [];
  let interrupted = false;
  const hub = await ProbeHub.start();
  // One fatal error (a bug, not a target's failure) stops the targets still running beside it.
  const stopAll = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopAll.signal]) : stopAll.signal;
  // Stop the children the moment the run is interrupted, not when every task has noticed: a target
  // busy writing a heap snapshot would otherwise hold its task (and every child) for seconds.
  const stopChildren = () => void supervisor.stopAll(INTERRUPT_GRACE_MS);
  signal.addEventListener('abort', stopChildren, { once: true });

  const problem = (p: RunProblem) => {
    problems.push(p);
    emit({ type: 'problem', problem: p });
  };
  // Snapshot reading that goes on beside the other targets' runs (see MeasureContext.deferAttribution).
  const attributions: Promise<void>[] = [];

  /** Every scenario of one target, in order, against an upstream of its own (so its counters are its own). */
  const runTarget = async (spec: TargetSpec, t: number): Promise<void> => {
    const results: ScenarioResult[] = [];
    let upstream: RunningUpstream | null = null;
    try {
      upstream = await startUpstream(supervisor, { ...options.upstream, startTimeoutMs: options.startTimeoutMs });
      emit({ type: 'upstream-ready', target: spec.name, url: upstream.baseUrl });
      for (const scenario of options.scenarios) {
        if (signal.aborted) throw new InterruptedError('interrupted');
        emit({ type: 'target-start', target: spec.name, scenario: scenario.name });
        try {
          const result = await measureScenario(spec, scenario, {
            ...options,
            signal,
            supervisor,
            hub,
            upstreamServer: upstream!,
            instance: `${t}.${results.length}`,
            emit,
            deferAttribution: (work) => {
              // Handled from the start: a failure surfaces where the run awaits them all, not as unhandled.
              work.catch(() => {});
              attributions.push(work);
            },
            attributionsSettled: async () => {
              await Promise.allSettled(attributions);
            },
          });
          results.push(result);
          emit({ type: 'scenario-done', target: spec.name, result });
        } catch (error) {
          if (error instanceof InterruptedError || signal.aborted) throw new InterruptedError('interrupted');
          if (!(error instanceof LeakcheckError)) throw error;
          problem({
            code: error.code,
            target: spec.name,
            scenario: scenario.name,
            message: error.message,
            stderrTail: 'stderrTail' in error ? (error.stderrTail as string[]) : undefined,
          });
          // A target that cannot start will not start for the next scenario either.
          if (error.code === 'LEAKCHECK_TARGET_START') break;
        }
      }
    } finally {
      // Whatever ended this target's run, the scenarios it finished are reported; its upstream goes
      // (an idle process next to the other targets' measurements is a neighbour for nothing).
      targetReports[t] = summariseTarget(spec, results, options.budgets ?? {});
      await upstream?.stop();
    }
  };

  // Side by side, TARGETS_AT_ONCE at a time (see RunOptions.parallel); one after another on request.
  // Each target has its own processes and upstream, and one target's sample pauses are the other's load time.
  const runAll = async (): Promise<void> => {
    const atOnce = options.parallel ? TARGETS_AT_ONCE : 1;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < options.targets.length) {
        if (signal.aborted) throw new InterruptedError('interrupted');
        const t = next++;
        await runTarget(options.targets[t]!, t).catch((error: unknown) => {
          if (!(error instanceof InterruptedError)) stopAll.abort();
          throw error;
        });
      }
    };
    const lanes = Array.from({ length: Math.min(atOnce, options.targets.length) }, lane);
    const outcomes = await Promise.allSettled(lanes);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    // The first failure that is not an interruption caused the others: report that one.
    const cause = failures.find((e) => !(e instanceof InterruptedError)) ?? failures[0];
    if (cause !== undefined) throw cause;
  };

  try {
    await runAll();
    await Promise.all(attributions);
  } catch (error) {
    if (error instanceof InterruptedError || options.signal?.aborted) {
      interrupted = true;
      problem({ code: 'LEAKCHECK_INTERRUPTED', message: 'the run was interrupted; figures so far are kept' });
    } else if (error instanceof LeakcheckError) {
      problem({ code: error.code, message: error.message, stderrTail: 'stderrTail' in error ? (error.stderrTail as string[]) : undefined });
    } else {
      throw error;
    }
  } finally {
    signal.removeEventListener('abort', stopChildren);
    clearInterval(watchHarness);
    await supervisor.stopAll();
    await hub.close();
    // An interrupted run has aborted them; wait for their workers to end and their files to go.
    await Promise.allSettled(attributions);
  }

  // The checker must not leak either: every socket and pipe it opened is closed by now.
  const harness = await harnessAtEnd(harnessAtStart, harnessRssPeakBytes);
  if (harness.leftOpen.length > 0) {
    problem({
      code: 'LEAKCHECK_HARNESS_LEAK',
      message: `streamer-leakcheck itself left ${harness.leftOpen.join(', ')} open after the run (a bug in the tool: please report it)`,
    });
  }

  const reported = targetReports.filter((r): r is TargetReport => r !== undefined);
  const complete = !interrupted && problems.length === 0 && reported.length === options.targets.length;
  const finished = Date.now();
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'streamer-leakcheck', version: toolVersion() },
    ok: complete && reported.every((t) => t.expectationMet && t.budgetExceeded.length === 0),
    budgets: options.budgets ?? {},
    complete,
    startedAt: new Date(started).toISOString(),
    finishedAt: new Date(finished).toISOString(),
    durationMs: finished - started,
    seed: options.seed,
    node: process.version,
    upstream: options.upstream,
    scenarios: options.scenarios.map((s) => ({
      name: s.name,
      description: s.description,
      file: s.file,
      control: s.control,
      warmupClients: s.warmupClients,
      cycles: s.cycles,
      clients: s.clients,
      concurrency: s.concurrency,
    })),
    targets: reported,
    harness,
    problems,
  };
}

/**
 * SIGTERM-to-SIGKILL grace for an interrupted run. Shorter than the supervisor's default: the user asked
 * to stop, and a target inside a heap snapshot cannot run its SIGTERM handler until the snapshot ends.
 */
const INTERRUPT_GRACE_MS = 1000;

/** How often the harness's own RSS is read for its peak (cheap: one syscall). */
const HARNESS_RSS_POLL_MS = 250;
/** Closes are asynchronous: give the harness's own sockets this long to finish closing. */
const HARNESS_CLOSE_WAIT_MS = 1000;
/** Resource types the harness opens per run and must have closed again at its end. */
const HARNESS_TRACKED_TYPES = ['TCPSocketWrap', 'TCPWRAP', 'PipeWrap', 'PipeConnectWrap', 'ProcessWrap', 'TCPServerWrap', 'PipeServerWrap'];

function harnessReading(): { rssBytes: number; resources: Record<string, number> } {
  const resources: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
  return { rssBytes: process.memoryUsage.rss(), resources };
}

async function harnessAtEnd(
  start: ReturnType<typeof harnessReading>,
  rssPeakBytes: number,
): Promise<LeakcheckReport['harness']> {
  const deadline = Date.now() + HARNESS_CLOSE_WAIT_MS;
  let leftOpen: string[] = [];
  for (;;) {
    const now = harnessReading();
    leftOpen = HARNESS_TRACKED_TYPES.flatMap((type) => {
      const extra = (now.resources[type] ?? 0) - (start.resources[type] ?? 0);
      return extra > 0 ? [`${extra} ${type}`] : [];
    });
    if (leftOpen.length === 0 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const rssEndBytes = process.memoryUsage.rss();
  return { rssStartBytes: start.rssBytes, rssPeakBytes: Math.max(rssPeakBytes, rssEndBytes), rssEndBytes, leftOpen };
}

interface MeasureContext extends RunOptions {
  supervisor: ProcessSupervisor;
  hub: ProbeHub;
  upstreamServer: RunningUpstream;
  instance: string;
  emit: (event: RunEvent) => void;
  /**
   * Takes the reading of a leaking target's heap snapshots, which fills in its result's attribution
   * later. The run waits for it before reporting; meanwhile the target stops and the others go on.
   * Measured on the default run: old's two snapshots (10 + 64 MB) take ~0.7 s to read, beside new's cycles.
   */
  deferAttribution: (work: Promise<void>) => void;
  /**
   * Resolves once no snapshot reading is running: no baseline is taken beside one. (Side by side, a
   * neighbour's reading may still start during the cycles, as its load does: noise the cycles absorb.)
   */
  attributionsSettled: () => Promise<void>;
}

async function measureScenario(spec: TargetSpec, scenario: Scenario, ctx: MeasureContext): Promise<ScenarioResult> {
  const started = Date.now();
  const target = await startTarget(spec, {
    supervisor: ctx.supervisor,
    hub: ctx.hub,
    upstreamUrl: ctx.upstreamServer.baseUrl,
    startTimeoutMs: ctx.startTimeoutMs,
    instance: ctx.instance,
    signal: ctx.signal,
  });
  const steadyController = new AbortController();
  let steady: Promise<SteadyLoadFigures | null> = Promise.resolve(null);
  /** Snapshots written and not (yet) handed to an attribution: removed when the scenario ends. */
  const snapshotsWritten: SnapshotWritten[] = [];
  try {
    const endpoint = { origin: target.origin, request: spec.request };
    const guarded = <T>(work: Promise<T>) => Promise.race([work, target.died]);
    const batch = (label: string, count: number): Promise<BatchOutcome> => {
      // The same script for every target: the seed depends on scenario and phase, never on the target.
      const planned = planBehaviours(scenario.mix, count, createRng(deriveSeed(ctx.seed, `${scenario.name}/${label}`)));
      // Full-length streams first: started last, one of them would hold the whole batch open for a
      // stream's length (~1 s); started first, they run beside the disconnects. Same order for every target.
      const behaviours = [...planned.filter((b) => b.kind === 'complete'), ...planned.filter((b) => b.kind !== 'complete')];
      return guarded(
        runBatch(endpoint, behaviours, {
          concurrency: scenario.concurrency,
          arrivalRate: scenario.arrivalRate,
          signal: ctx.signal,
          idPrefix: `${ctx.instance}-${label}`,
          onProgress: (done, total) => ctx.emit({ type: 'progress', target: spec.name, scenario: scenario.name, done, total }),
        }),
      );
    };
    const settleAndSample = async (): Promise<TargetSample> => {
      await guarded(sleep(ctx.settleMs, ctx.signal));
      return guarded(target.sample());
    };

    const phase = (name: 'warm-up' | 'baseline' | 'cycle', cycle: number) =>
      ctx.emit({ type: 'phase', target: spec.name, scenario: scenario.name, phase: name, cycle, cycles: scenario.cycles });

    // Warm-up in chunks of one cycle's size: a target whose first chunks already show an unmistakable
    // leak is decided on them (its later cycles would only cost time); any other target gets the rest
    // of the warm-up in one batch, unsampled (a sample costs ~0.7 s and its figures are dropped anyway;
    // a leak that shows only later is caught by the cycles). Not smaller chunks: a bounded store that
    // is still filling over both looks exactly like a leak, so the chunks set the largest store the
    // early stop can tell from one (tried, chunks of 300: a 1000-entry cache was called a leak; see
    // test/any-server.test.ts). The last chunk is never sampled (the baseline follows), so the early
    // stop needs a warm-up longer than two chunks: `mixed` warms up with 1400, not 1200 (measured: 1200
    // left old to run its cycles too, 22 s a run instead of ~16).
    const totals = { disconnects: 0, completed: 0, endedEarly: 0, loadMs: 0 };
    const errors = { total: 0, byKind: {} as Record<string, number>, examples: [] as string[] };
    let disconnectsSinceStart = 0;
    let framing: Framing | null = null;
    const count = (outcome: BatchOutcome) => {
      framing ??= outcome.framing;
      disconnectsSinceStart += outcome.disconnects;
      totals.disconnects += outcome.disconnects;
      totals.completed += outcome.completed;
      totals.endedEarly += outcome.endedEarly;
      totals.loadMs += outcome.durationMs;
      errors.total += outcome.errors.total;
      for (const [kind, n] of Object.entries(outcome.errors.byKind)) errors.byKind[kind] = (errors.byKind[kind] ?? 0) + n;
      for (const example of outcome.errors.examples) if (errors.examples.length < 5) errors.examples.push(example);
    };
    const xOf = () => (scenario.control ? totals.completed : totals.disconnects);
    let upstreamBefore = await ctx.upstreamServer.stats();
    let baseline: TargetSample | null = null;
    let rows: SampleRow[] = [];
    let decidedInWarmUp = false;
    let firstSample: TargetSample | null = null;
    const snapshotting = Boolean(ctx.snapshotDir) && target.probe === 'node';
    const snapshot = (name: string) =>
      guarded(
        ctx.hub.snapshot(target.label, ctx.snapshotDir!, `${spec.name}-${scenario.name}-${name}`).then((written) => {
          snapshotsWritten.push(...written);
          return written;
        }),
      );
    let startSnapshots: SnapshotWritten[] = [];
    // Go: a goroutine dump with whichever sample becomes the first of the judged series, one after the last.
    // They only say what leaked: a dump that cannot be read leaves that out, never the verdict.
    const dumping = target.probe === 'go';
    const dump = () => guarded(target.goroutineDump().catch(() => null));
    let startDump: GoroutineDumpRead | null = null;
    if (scenario.warmupClients > 0) {
      const beforeWarmUp = await guarded(target.sample());
      // After the first sample, never before one: a snapshot's deeper collection makes samples read low.
      if (snapshotting) startSnapshots = await snapshot('start');
      if (dumping) startDump = await dump();
      const warmupRows: SampleRow[] = [toRow(beforeWarmUp, 0)];
      const chunk = Math.max(1, Math.min(scenario.clients, scenario.warmupClients));
      for (let done = 0, part = 1; done < scenario.warmupClients; done += chunk, part++) {
        phase('warm-up', part);
        count(await batch(`warm-up-${part}`, Math.min(chunk, scenario.warmupClients - done)));
        if (done + chunk >= scenario.warmupClients) break;
        const sample = await settleAndSample();
        warmupRows.push(toRow(sample, xOf()));
        if (part < EARLY_STOP_MIN_CYCLES) continue;
        if (unmistakableLeak(warmupRows)) {
          rows = warmupRows;
          firstSample = beforeWarmUp;
          baseline = sample;
          decidedInWarmUp = true;
        } else {
          phase('warm-up', part + 1);
          count(await batch(`warm-up-${part + 1}`, scenario.warmupClients - done - chunk));
        }
        break;
      }
    }
    if (!decidedInWarmUp) {
      Object.assign(totals, { disconnects: 0, completed: 0, endedEarly: 0, loadMs: 0 });
      Object.assign(errors, { total: 0, byKind: {}, examples: [] });
      // A short warm-up may end before another target's snapshots are read: not beside the series.
      await guarded(ctx.attributionsSettled());
      phase('baseline', 0);
      baseline = await settleAndSample();
      upstreamBefore = await ctx.upstreamServer.stats();
      rows = [toRow(baseline, 0)];
      if (snapshotting && startSnapshots.length === 0) startSnapshots = await snapshot('start');
      if (dumping) startDump = await dump();
    }
    if (scenario.steadyLoad && !decidedInWarmUp) {
      steady = runSteadyLoad(endpoint, { connections: scenario.steadyLoad.connections, signal: steadyController.signal })
        .then((r): SteadyLoadFigures => ({
          connections: scenario.steadyLoad!.connections,
          requests: r.requests,
          completedStreams: r.completedStreams,
          errors: r.errors,
          throughputStreamsPerSec: r.throughputStreamsPerSec,
        }))
        .catch(() => null);
    }

    let stoppedEarlyAfter: number | null = null;
    let last: TargetSample = baseline!;
    let extendedBy = 0;
    for (let cycle = 1; cycle <= scenario.cycles + extendedBy && !decidedInWarmUp; cycle++) {
      phase('cycle', cycle);
      count(await batch(`cycle-${cycle}`, scenario.clients));
      last = await settleAndSample();
      rows.push(toRow(last, xOf()));
      if (cycle >= EARLY_STOP_MIN_CYCLES && cycle < scenario.cycles && unmistakableLeak(rows)) {
        stoppedEarlyAfter = cycle;
        break;
      }
      // "Inconclusive" asks for more data: give it, once, as many cycles again as the scenario has.
      if (cycle === scenario.cycles && extendedBy === 0 && verdictOf(rows) === 'inconclusive') {
        extendedBy = Math.max(EXTRA_CYCLES_MIN, Math.round(scenario.cycles * EXTRA_CYCLES_SHARE));
      }
    }
    steadyController.abort();
    const steadyFigures = await steady;
    const upstreamAfter = await ctx.upstreamServer.stats();
    const judgement = judgeTarget(seriesOf(rows), specsFor(metricKeys(rows)));
    // Attribution is for leaks only, so only a leak needs the end snapshot (it blocks the target ~1 s per
    // 20 MB of heap, and the series is complete: no later sample can read low because of it).
    const endSnapshots = snapshotting && judgement.verdict === 'leak' && startSnapshots.length > 0 ? await snapshot('end') : [];
    const endDump = dumping ? await dump() : null;

    const expect = scenario.control ? 'clean' : spec.expect;
    const handleGrowthByType: Record<string, number> = {};
    const first = firstSample ?? baseline!;
    const kinds = (sample: TargetSample): Record<string, number> => ({
      ...sample.handlesByType,
      ...Object.fromEntries(Object.entries(sample.goroutineGroups ?? {}).map(([frame, n]) => [`${GOROUTINE_KIND_PREFIX}${frame}`, n])),
    });
    const before = kinds(first);
    const after = kinds(last);
    for (const kind of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const growth = (after[kind] ?? 0) - (before[kind] ?? 0);
      if (growth !== 0) handleGrowthByType[kind] = growth;
    }
    const result: ScenarioResult = {
      scenario: scenario.name,
      control: scenario.control,
      probe: target.probe,
      framing,
      attribution: null,
      expect,
      verdict: judgement.verdict,
      expectationMet: meetsExpectation(judgement.verdict, expect),
      reason: extendedBy > 0
        ? `${judgement.reason}; ${rows.length - 1} cycles: extended by ${extendedBy} after an inconclusive first ${scenario.cycles}`
        : decidedInWarmUp
        ? `${judgement.reason}; decided during warm-up: the leak was unmistakable after ${rows.length - 1} chunks`
        : stoppedEarlyAfter === null
          ? judgement.reason
          : `${judgement.reason}; stopped after ${stoppedEarlyAfter} of ${scenario.cycles} cycles: the leak was unmistakable`,
      cyclesRun: rows.length - 1,
      per: scenario.control ? 'stream' : 'disconnect',
      disconnects: totals.disconnects,
      completed: totals.completed,
      endedEarly: totals.endedEarly,
      errors,
      metrics: judgement.metrics,
      handleGrowthByType,
      goroutineGrowth: startDump && endDump ? goroutineGrowth(startDump, endDump, rows.at(-1)!.x - rows[0]!.x) : null,
      samples: rows,
      upstream: upstreamDelta(upstreamBefore, upstreamAfter, totals.disconnects, totals.completed),
      steadyLoad: steadyFigures,
      disconnectsPerSec: totals.loadMs > 0 ? (totals.disconnects * 1000) / totals.loadMs : 0,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
    };
    if (endSnapshots.length > 0) {
      const handedOver = [...snapshotsWritten];
      snapshotsWritten.length = 0;
      // Keep only the snapshots the report refers to: the others hold server memory for no reader.
      const keepOnly = async (kept: readonly string[]) => {
        for (const written of handedOver) if (!kept.includes(path.basename(written.path))) await rm(written.path, { force: true });
      };
      const request = { start: startSnapshots, end: endSnapshots, disconnects: disconnectsSinceStart };
      ctx.deferAttribution(
        attributeInWorker(request, ctx.signal).then(
          async (attribution) => {
            result.attribution = attribution;
            await keepOnly(attribution?.snapshots ?? []);
          },
          async (error: unknown) => {
            await keepOnly([]);
            // The verdict stands without "what leaked": say why it is missing rather than lose the run.
            if (error instanceof InterruptedError || ctx.signal?.aborted) {
              result.attributionProblem = 'the run stopped before the heap snapshots were read';
              throw error;
            }
            result.attributionProblem = error instanceof Error ? error.message : String(error);
          },
        ),
      );
    }
    return result;
  } finally {
    steadyController.abort();
    await steady;
    await target.stop();
    // Whatever ended the scenario, no snapshot stays that no attribution will read (they hold server
    // memory, secrets included, and the report folder would keep them).
    for (const written of snapshotsWritten) await rm(written.path, { force: true });
  }
}

/**
 * A leak this steep does not turn clean in later cycles, and each later cycle of a leaking target costs
 * more (a bigger heap to collect, more zombie streams upstream): measured on the reference `old`, cycles
 * 3 and 4 of the default run took 11 s of its 32 s. After EARLY_STOP_MIN_CYCLES cycles, stop when a
 * decisive metric is a leak whose CI's lower bound is EARLY_STOP_THRESHOLD_MULTIPLE times its threshold
 * (old: handles 1.00 vs 0.02, heap ~45 KB vs 128 B per disconnect).
 */
export const EARLY_STOP_MIN_CYCLES = 2;
export const EARLY_STOP_THRESHOLD_MULTIPLE = 10;

/**
 * An inconclusive verdict after the scenario's cycles earns this many more (a share of the planned
 * cycles, at least EXTRA_CYCLES_MIN). Measured on the reference `new`: its heap swung ±400 KB in some
 * early cycles while V8 compiled and optimised, which left ~1 run in 20 inconclusive on a busy machine;
 * more points bring the slope back under the threshold. (With compiled code left out of the heap, 20 of
 * 20 were clean, though 3 of 22 runs looked at were still extended once.)
 */
export const EXTRA_CYCLES_SHARE = 1;
export const EXTRA_CYCLES_MIN = 2;

function verdictOf(rows: SampleRow[]): Verdict {
  return judgeTarget(seriesOf(rows), specsFor(metricKeys(rows))).verdict;
}

function unmistakableLeak(rows: SampleRow[]): boolean {
  const specs = specsFor(metricKeys(rows));
  const judgement = judgeTarget(seriesOf(rows), specs);
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

function toRow(sample: TargetSample, x: number): SampleRow {
  const row: SampleRow = { x, atMs: sample.atMs, rssBytes: sample.rssBytes, processes: sample.processes.length };
  for (const key of SERIES_KEYS) {
    const value = sample[key];
    if (value !== undefined) row[key] = value;
  }
  return row;
}

const SERIES_KEYS = [
  'heapUsedBytes',
  'compiledCodeBytes',
  'externalBytes',
  'arrayBuffersBytes',
  'rssBytes',
  'handles',
  'liveWorkers',
  'fds',
  'threads',
  'goroutines',
  'heapAllocBytes',
] as const;

type SeriesKey = (typeof SERIES_KEYS)[number];

function metricKeys(rows: SampleRow[]): SeriesKey[] {
  return SERIES_KEYS.filter((key) => rows.every((row) => typeof row[key] === 'number'));
}

function seriesOf(rows: SampleRow[]): Record<string, SeriesPoint[]> {
  const series: Record<string, SeriesPoint[]> = {};
  for (const key of metricKeys(rows)) {
    series[key] = rows.map((row) => ({ disconnects: row.x, value: row[key] as number }));
  }
  return series;
}

/** `disconnects`: the x-axis between the dumps (completed streams on a control scenario), as the verdict counts. */
function goroutineGrowth(start: GoroutineDumpRead, end: GoroutineDumpRead, disconnects: number): GoroutineGrowth {
  return {
    disconnects,
    totalAtStart: start.total,
    totalAtEnd: end.total,
    dumpMs: start.ms + end.ms,
    dumpBytes: end.bytes,
    groups: diffGoroutineGroups(start.groups, end.groups, disconnects),
  };
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
  return { ...counters, summary: describeUpstream(counters, disconnects, completedClients) };
}

function summariseTarget(spec: TargetSpec, results: ScenarioResult[], budgets: Budgets): TargetReport {
  const deciding = results.reduce<ScenarioResult | null>((worst, r) => {
    if (!worst) return r;
    const a = VERDICT_SEVERITY[r.verdict];
    const b = VERDICT_SEVERITY[worst.verdict];
    // Among equal verdicts prefer a disconnect scenario over a control one: that is what the figures are about.
    return a > b || (a === b && worst.control && !r.control) ? r : worst;
  }, null);
  const metric = (key: string) => deciding?.metrics.find((m) => m.key === key) ?? null;
  // Go targets have no V8 heap but HeapAlloc; /proc targets have no handles but file descriptors.
  const heap = metric('heapUsedBytes') ?? metric('heapAllocBytes');
  const handles = metric('handles') ?? metric('fds');
  const workers = metric('liveWorkers');
  const lastRow = deciding?.samples.at(-1);
  const expectationMet = results.length > 0 && results.every((r) => r.expectationMet);
  // Budgets bind targets expected clean (a positive control is supposed to blow them).
  const budgetExceeded: string[] = [];
  if (spec.expect === 'clean') {
    for (const r of results) {
      const bytes = (r.metrics.find((m) => m.key === 'heapUsedBytes') ?? r.metrics.find((m) => m.key === 'heapAllocBytes'))?.perDisconnect;
      const count = (r.metrics.find((m) => m.key === 'handles') ?? r.metrics.find((m) => m.key === 'fds'))?.perDisconnect;
      if (budgets.maxBytesPerDisconnect !== undefined && bytes !== undefined && bytes > budgets.maxBytesPerDisconnect) {
        budgetExceeded.push(`${r.scenario}: ${bytes.toFixed(0)} bytes per disconnect > --max-bytes-per-disconnect ${budgets.maxBytesPerDisconnect}`);
      }
      if (budgets.maxHandlesPerDisconnect !== undefined && count !== undefined && count > budgets.maxHandlesPerDisconnect) {
        budgetExceeded.push(`${r.scenario}: ${count.toFixed(3)} handles per disconnect > --max-handles-per-disconnect ${budgets.maxHandlesPerDisconnect}`);
      }
    }
  }
  return {
    name: spec.name,
    origin: spec.origin,
    probe: results[0]?.probe ?? spec.probe,
    expect: spec.expect,
    verdict: deciding?.verdict ?? 'inconclusive',
    expectationMet,
    budgetExceeded,
    reason: deciding ? `${deciding.scenario}: ${deciding.reason}` : 'no scenario finished',
    disconnects: results.reduce((n, r) => n + r.disconnects, 0),
    heap: { bytesPerDisconnect: heap?.perDisconnect ?? null, ci95: heap?.ci95 ?? null },
    handles: { perDisconnect: handles?.perDisconnect ?? null, ci95: handles?.ci95 ?? null },
    liveWorkers: workers ? { perDisconnect: workers.perDisconnect, atEnd: lastRow?.liveWorkers ?? null } : null,
    decidingScenario: deciding?.scenario ?? null,
    request: summarizeRequest(spec.request, results.find((r) => r.framing)?.framing ?? null),
    scenarios: results,
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError('interrupted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError('interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

let cachedVersion: string | null = null;
export function toolVersion(): string {
  cachedVersion ??= packageVersion();
  return cachedVersion;
}
