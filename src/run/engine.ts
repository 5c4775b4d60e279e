/**
 * The orchestration of one run: start the upstream, then for each target and scenario start the target
 * fresh (or, for a server that runs already, attach to it once for every scenario), warm it up, take a
 * settled baseline, run the measured cycles (load, settle, sample), judge the series, stop the target
 * (detach). Measure here, decide in analysis/, print in report/.
 *
 * Problems with targets (would not start, died) never throw out of here: they are recorded in the report,
 * the other targets still run, and the report is marked incomplete. Only an interruption ends the run
 * early, and then too the report so far is returned.
 */
import { summariseTarget } from '../analysis/policy.js';
import { InterruptedError, LeakcheckError } from '../core/errors.js';
import { packageVersion } from '../core/paths.js';
import { runBatch } from '../load/clients.js';
import { summarizeRequest } from '../load/request.js';
import { createRng, deriveSeed, planBehaviours } from '../load/plan.js';
import type { Scenario } from '../load/scenario.js';
import { runSteadyLoad } from '../load/steady.js';
import { ProbeHub } from '../probe/hub.js';
import { createAttachProbes, createProbes, type Probes } from '../probe/registry.js';
import type { Budgets, LeakcheckReport, RunProblem, ScenarioResult, TargetReport } from '../report/types.js';
import { REPORT_SCHEMA_VERSION } from '../report/types.js';
import { RUN_MARKER_ENV } from '../targets/descendants.js';
import { startTarget } from '../targets/spawned.js';
import { ProcessSupervisor } from '../targets/supervisor.js';
import type { Target, TargetSpec } from '../targets/target.js';
import { startUpstream, upstreamAt, type RunningUpstream, type UpstreamCounters } from '../targets/upstream.js';
import { attachTarget, type AttachedTarget } from '../targets/attached.js';
import { breakDown, type BreakdownMode } from './breakdown.js';
import { measureScenario, type MeasureDeps } from './measure.js';

export type { Budgets } from '../report/types.js';

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
   * here; the CLI, the config file and leakcheck() default to it: on 2 cores the default run takes
   * ~15 s side by side against ~25 s one after another (docs/measurements.md#targets-at-once).
   */
  parallel?: boolean;
  /**
   * Measure a mixed scenario again one way of hanging up at a time, each on a fresh start of the target
   * (breakdown.ts): 'auto' (the default) when its verdict is inconclusive, 'always' when it is leak or
   * inconclusive, 'never'. Not 'always' by default: the reference old's five arms add ~20 s to the
   * default run (docs/measurements.md#breakdown).
   */
  breakdown?: BreakdownMode;
  onEvent?: (event: RunEvent) => void;
}

export type RunEvent =
  | { type: 'upstream-ready'; target: string; url: string }
  /** `attached`: the target runs already and is being attached to (or was, for an earlier scenario). */
  | { type: 'target-start'; target: string; scenario: string; attached: boolean }
  | { type: 'phase'; target: string; scenario: string; phase: 'warm-up' | 'baseline' | 'cycle'; cycle: number; cycles: number }
  | { type: 'progress'; target: string; scenario: string; done: number; total: number }
  /** `result.attribution` may still be null here: snapshots are read after the target stops (see deferAttribution). */
  | { type: 'scenario-done'; target: string; result: ScenarioResult }
  | { type: 'problem'; problem: RunProblem };

/** Default pause between a batch's end and its sample (docs/measurements.md#settle). */
export { DEFAULT_SETTLE_MS } from '../defaults.js';

/**
 * Targets measured at once when side by side. A reference server is one busy thread, and the harness
 * and the upstreams share the rest: one after another, a default run keeps 2 cores ~50% busy. A second
 * target uses what the first leaves idle; a third would only slow the others and stretch their samples.
 */
export const TARGETS_AT_ONCE = 2;

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
  const probes = createProbes(hub);
  const attachProbes = createAttachProbes();
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

  /**
   * Every scenario of one target, in order: a started target against an upstream of its own (so its
   * counters are its own) and fresh for each scenario; an attached one attached to once for them all.
   */
  const runTarget = async (spec: TargetSpec, t: number): Promise<void> => {
    const results: ScenarioResult[] = [];
    const lifecycle = spec.origin === 'attached' ? attachedLifecycle(spec) : startedLifecycle(spec);
    try {
      for (const scenario of options.scenarios) {
        if (signal.aborted) throw new InterruptedError('interrupted');
        try {
          const upstreamServer = await lifecycle.upstream();
          emit({ type: 'target-start', target: spec.name, scenario: scenario.name, attached: spec.origin === 'attached' });
          const result = await lifecycle.measure(scenario, {
            ...options,
            signal,
            supervisor,
            probes,
            upstreamServer,
            instance: `${t}.${results.length}`,
            emit,
            problem,
            deferAttribution: (work) => {
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
          // A target that cannot start will not start for the next scenario either; an attached one that
          // died is gone for the next too.
          if (error.code === 'LEAKCHECK_TARGET_START' || (spec.origin === 'attached' && error.code === 'LEAKCHECK_TARGET_DIED')) break;
        }
      }
    } finally {
      // Whatever ended this target's run, the scenarios it finished are reported; its upstream goes
      // (an idle process next to the other targets' measurements is a neighbour for nothing), and an
      // attached target is detached from.
      const extra = await lifecycle.end();
      targetReports[t] = {
        ...summariseTarget(spec, results, options.budgets ?? {}),
        request: summarizeRequest(spec.request, results.find((r) => r.framing)?.framing ?? null),
        ...extra,
      };
    }
  };

  /** A target we start: its own upstream, a fresh start per scenario (and per breakdown arm). */
  const startedLifecycle = (spec: TargetSpec): Lifecycle => {
    let upstream: RunningUpstream | null = null;
    return {
      upstream: async () => {
        if (!upstream) {
          upstream = await startUpstream(supervisor, { ...options.upstream, startTimeoutMs: options.startTimeoutMs });
          emit({ type: 'upstream-ready', target: spec.name, url: upstream.baseUrl });
        }
        return upstream;
      },
      measure: (scenario, ctx) => runScenario(spec, scenario, ctx),
      end: async () => {
        await upstream?.stop();
        return {};
      },
    };
  };

  /**
   * A target that runs already: attached to once, with the first scenario, for every scenario (so they
   * are not independent, and there is no fresh start for a breakdown), read through the upstream it was
   * pointed at when named (else that check is unknown), and detached from at the end, left running.
   */
  const attachedLifecycle = (spec: TargetSpec): Lifecycle => {
    const upstream: UpstreamCounters = spec.attach?.upstream ? upstreamAt(spec.attach.upstream) : { baseUrl: '', stats: async () => null };
    let target: AttachedTarget | null = null;
    return {
      upstream: async () => upstream,
      measure: async (scenario, ctx) => {
        target ??= await attachTarget(spec, { probes: attachProbes, startTimeoutMs: options.startTimeoutMs, signal });
        return measureOn(target, scenario, ctx, true);
      },
      end: async () => {
        await target?.stop();
        return {
          attached: target?.report() ?? { url: spec.attach?.url ?? '', pid: null, pidFrom: null, command: null, inspector: null, upstream: spec.attach?.upstream ?? null },
        };
      },
    };
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
    ok: complete && reported.every((t) => t.expectationMet && t.budgetExceeded.length === 0 && (t.upstreamCheck?.met ?? true)),
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

/** How a target comes to run for its scenarios and what is left of it after them. */
interface Lifecycle {
  /** The upstream whose counters this target's results read. */
  upstream(): Promise<UpstreamCounters>;
  measure(scenario: Scenario, ctx: MeasureContext): Promise<ScenarioResult>;
  /** Stops what this target's run started (never an attached server); what its report adds. */
  end(): Promise<Partial<TargetReport>>;
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

export interface MeasureContext extends RunOptions {
  supervisor: ProcessSupervisor;
  probes: Probes;
  /** Counters of the upstream the target was pointed at (a started target's own, or `--upstream`'s). */
  upstreamServer: UpstreamCounters;
  instance: string;
  emit: (event: RunEvent) => void;
  problem: (problem: RunProblem) => void;
  /**
   * Takes the reading of a leaking target's evidence (heap snapshots), which fills in its result's
   * attribution later. The run waits for it before reporting; meanwhile the target stops and the others
   * go on (old's two snapshots take ~0.7 s to read: docs/measurements.md#snapshot-reading).
   */
  deferAttribution: (work: Promise<void>) => void;
  /**
   * Resolves once no snapshot reading is running: no baseline is taken beside one. (Side by side, a
   * neighbour's reading may still start during the cycles, as its load does: noise the cycles absorb.)
   */
  attributionsSettled: () => Promise<void>;
}

/** Starts the target fresh, measures one scenario on it, stops it. */
async function runScenario(spec: TargetSpec, scenario: Scenario, ctx: MeasureContext): Promise<ScenarioResult> {
  const result = await measureFresh(spec, scenario, ctx, true);
  // Each arm on a fresh start: a leaking target after its mix is no longer the same server (old's
  // zombies hold every upstream connection, and a new stream's first event never comes).
  await breakDown(scenario, result, ctx.breakdown ?? 'auto', (arm) => measureFresh(spec, arm, { ...ctx, instance: `${ctx.instance}.${arm.name}` }, false));
  return result;
}

/** Starts the target fresh, measures one scenario on it (with evidence or without), stops it. */
async function measureFresh(spec: TargetSpec, scenario: Scenario, ctx: MeasureContext, withEvidence: boolean): Promise<ScenarioResult> {
  const target = await startTarget(spec, {
    supervisor: ctx.supervisor,
    probes: ctx.probes,
    upstreamUrl: ctx.upstreamServer.baseUrl,
    startTimeoutMs: ctx.startTimeoutMs,
    instance: ctx.instance,
    signal: ctx.signal,
  });
  try {
    return await measureOn(target, scenario, ctx, withEvidence);
  } finally {
    const { stillListening } = await target.stop();
    for (const holder of stillListening) {
      ctx.problem({
        code: 'LEAKCHECK_ESCAPED',
        target: spec.name,
        scenario: scenario.name,
        message:
          `pid ${holder.pid} (${holder.command}) still listens on port ${holder.port} after the target stopped: it left the ` +
          `target's process group and cleared the run's marker (${RUN_MARKER_ENV}) from its environment, so it was not stopped; stop it by hand`,
      });
    }
  }
}

/** Measures one scenario on a running target (with evidence or without); starting and stopping it are the caller's. */
export async function measureOn(target: Target, scenario: Scenario, ctx: MeasureContext, withEvidence: boolean): Promise<ScenarioResult> {
  const spec = target.spec;
  const endpoint = { origin: target.origin, request: spec.request };
  const depsFor = (scenario: Scenario): MeasureDeps => ({
    batch: (label, count) => {
      // The same script for every target: the seed depends on scenario and phase, never on the target.
      const planned = planBehaviours(scenario.mix, count, createRng(deriveSeed(ctx.seed, `${scenario.name}/${label}`)));
      // Full-length streams first: started last, one of them would hold the whole batch open for a
      // stream's length (~1 s); started first, they run beside the disconnects. Same order for every target.
      const behaviours = [...planned.filter((b) => b.kind === 'complete'), ...planned.filter((b) => b.kind !== 'complete')];
      return runBatch(endpoint, behaviours, {
        concurrency: scenario.concurrency,
        arrivalRate: scenario.arrivalRate,
        signal: ctx.signal,
        idPrefix: `${ctx.instance}-${label}`,
        onProgress: (done, total) => ctx.emit({ type: 'progress', target: spec.name, scenario: scenario.name, done, total }),
      });
    },
    settle: () => sleep(ctx.settleMs, ctx.signal),
    upstreamStats: () => ctx.upstreamServer.stats(),
    steadyLoad: (connections, signal) =>
      runSteadyLoad(endpoint, { connections, signal }).then((r) => ({
        connections,
        requests: r.requests,
        completedStreams: r.completedStreams,
        errors: r.errors,
        throughputStreamsPerSec: r.throughputStreamsPerSec,
      })),
    evidence: { directory: ctx.snapshotDir ?? null, name: `${spec.name}-${scenario.name}`, signal: ctx.signal },
    quiet: ctx.attributionsSettled,
    defer: ctx.deferAttribution,
    phase: (name, cycle, cycles) => ctx.emit({ type: 'phase', target: spec.name, scenario: scenario.name, phase: name, cycle, cycles }),
  });
  const deps = depsFor(scenario);
  return measureScenario(target, scenario, withEvidence ? deps : { ...deps, evidence: null, steadyLoad: async () => null });
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
