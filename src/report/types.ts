/**
 * The report: the one object a run produces. report.json is exactly this object; the terminal table,
 * report.md and the programmatic API all read it. Changing a field here changes the JSON contract
 * documented in docs/report.md (bump `schemaVersion` when a field changes meaning or goes away).
 */
import type { MetricJudgement, MetricSpec, Verdict } from '../analysis/index.js';
import type { UpstreamCancellation, UpstreamCheck, UpstreamCounters } from '../analysis/upstream.js';
import type { RetainedGroup } from '../analysis/attribution.js';
import type { GrownGoroutineGroup } from '../analysis/goroutines.js';
import type { Framing } from '../load/framing/index.js';
import type { RequestSummary } from '../load/request.js';
import type { GrownObjectType, GrownTaskGroup, GrownTracedLine } from '../analysis/tasks.js';
import type { Expectation } from '../targets/target.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface LeakcheckReport {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  tool: { name: 'streamer-leakcheck'; version: string };
  /** true when every verdict met its expectation (and upstream expectation), no budget was exceeded and the run completed. */
  ok: boolean;
  budgets: Budgets;
  /** false when the run was interrupted or a target failed; the figures so far are still here. */
  complete: boolean;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  seed: number;
  node: string;
  upstream: { tokens: number; intervalMs: number };
  scenarios: ScenarioInfo[];
  targets: TargetReport[];
  /** The checker checking itself: its own memory, and anything it left open (should be nothing). */
  harness: { rssStartBytes: number; rssPeakBytes: number; rssEndBytes: number; leftOpen: string[] };
  /** Failures that are not verdicts: a target that would not start or died, an interruption. */
  problems: RunProblem[];
}

/** Numbers instead of (on top of) verdicts, for targets expected clean: exceeded -> the run fails. */
export interface Budgets {
  maxBytesPerDisconnect?: number;
  maxHandlesPerDisconnect?: number;
}

export interface ScenarioInfo {
  name: string;
  description: string;
  file: string;
  control: boolean;
  warmupClients: number;
  cycles: number;
  clients: number;
  concurrency: number;
}

export interface RunProblem {
  code: string;
  target?: string;
  scenario?: string;
  message: string;
  stderrTail?: string[];
}

export interface TargetReport {
  name: string;
  /** 'attached': a server that was running before the run and still runs after it (see `attached`). */
  origin: 'builtin' | 'user' | 'attached';
  probe: string;
  expect: Expectation;
  /** Worst verdict over this target's scenarios ('inconclusive' when none finished). */
  verdict: Verdict;
  expectationMet: boolean;
  /** Budgets (--max-…-per-disconnect) this target exceeded, in words; empty when none or none set. */
  budgetExceeded: string[];
  /** `--expect-upstream`: whether cancellation was to reach the upstream, and did; null when not asked. */
  upstreamCheck: UpstreamCheck | null;
  reason: string;
  /** Intended client disconnects measured across all scenarios (warm-up excluded). */
  disconnects: number;
  /** Figures of the deciding scenario (the one that gave the verdict). */
  heap: { bytesPerDisconnect: number | null; ci95: [number, number] | null };
  handles: { perDisconnect: number | null; ci95: [number, number] | null };
  liveWorkers: { perDisconnect: number | null; atEnd: number | null } | null;
  decidingScenario: string | null;
  /** Present for an attached target: which process it was, and what attaching changed in it. */
  attached?: AttachedReport;
  /** What the clients sent, header values redacted (`***`) but for content-type, accept and a few like them. */
  request?: RequestSummary;
  scenarios: ScenarioResult[];
}

/**
 * A server we attached to rather than started: its scenarios ran one after another on this one process
 * (no fresh start between them, so they are not independent), each with its warm-up, and were not broken
 * down by way of hanging up (that needs fresh starts).
 */
export interface AttachedReport {
  /** The origin load went to (`http://127.0.0.1:3000`). */
  url: string;
  /** The process read through /proc and the inspector; null when none could be found. */
  pid: number | null;
  /** 'flag': given with --pid; 'port': found as the owner of the URL's listening socket. */
  pidFrom: 'flag' | 'port' | null;
  /** Its command line, as /proc shows it. */
  command: string | null;
  /** A Node process read over its inspector; null for other probes. */
  inspector: InspectorReport | null;
  /**
   * The mock upstream the server was pointed at (`--upstream`), whose counters say whether cancellation
   * reached it; null: that check is unknown.
   */
  upstream: string | null;
}

/** A Node target's inspector, as this run found and left it. */
export interface InspectorReport {
  port: number;
  /** Opened by this run (SIGUSR1) rather than open before (`--inspect`): only then is it closed at the end. */
  openedByRun: boolean;
  /** Seen closed after the run; null when it was open before and so left open. */
  closed: boolean | null;
}

export interface ScenarioResult {
  scenario: string;
  control: boolean;
  /** How the target was sampled: the injected Node agent ('node'), pprof/expvar ('go'), or /proc ('proc'). */
  probe: string;
  /** What the probe's figures mean to a reader: which stand for heap and handles, which the tables show. */
  probeDescription: ProbeDescription;
  /** The framing most responses were read in (sse, ndjson, chunks); null when none was read. */
  framing?: Framing | null;
  /** Node leak verdicts: what the heap snapshots say leaked, and what holds it. */
  attribution: Attribution | null;
  /**
   * Set when a leak's heap snapshots were written but could not be read (a truncated file, the reader out
   * of memory): why `attribution` is null. The verdict stands without it.
   */
  attributionProblem?: string;
  /** What this target is expected to do here: control scenarios expect clean from every target. */
  expect: Expectation;
  verdict: Verdict;
  expectationMet: boolean;
  reason: string;
  /** Measured cycles; fewer than the scenario's when the scenario stopped early (an unmistakable leak, or clean with room to spare), more when it was extended. */
  cyclesRun: number;
  /** What the x-axis counts: intended disconnects, or completed streams on a control scenario. */
  per: 'disconnect' | 'stream';
  disconnects: number;
  completed: number;
  endedEarly: number;
  errors: { total: number; byKind: Record<string, number>; examples: string[] };
  metrics: MetricJudgement[];
  /**
   * What grew from the first to the last sample, by kind: Node handle types ({ TCPSocketWrap: 2400 }),
   * Go goroutines by first frame ("goroutines in main.(*ResponseStreamer).sendEvent main.go:97": 600;
   * `goroutineGrowth` says the same by state too, with stacks).
   */
  handleGrowthByType: Record<string, number>;
  /** Go targets: goroutines added over the scenario, by blocking state and place. null for other probes. */
  goroutineGrowth: GoroutineGrowth | null;
  /**
   * Python targets: asyncio tasks added over the scenario by where they wait, object types and
   * tracemalloc sites that grew. Absent for other probes (and when the agent's reads failed).
   */
  taskGrowth?: TaskGrowth;
  samples: SampleRow[];
  upstream: UpstreamDelta | null;
  steadyLoad: SteadyLoadFigures | null;
  disconnectsPerSec: number;
  /**
   * A mixed scenario whose verdict was leak or inconclusive, measured again one way of hanging up at a
   * time on the same target (`--no-breakdown`: null): which way leaks. Null when not broken down.
   */
  breakdown: BehaviourArm[] | null;
  /**
   * What the verdict took, from the scenario's first sample to its judgement (heap snapshots and their
   * reading come after): every disconnect sent, warm-up included, and the milliseconds. A breakdown that
   * decides the verdict adds its arms' disconnects and time.
   */
  decidedAfter: { disconnects: number; ms: number };
  /** When this target's scenario started (ISO 8601) and how long it took, start to verdict and snapshots. */
  startedAt: string;
  durationMs: number;
}

/**
 * What a report needs to know of the probe that read a result, so that no renderer asks which probe it
 * was: each probe declares it (src/probe/).
 */
export interface ProbeDescription {
  /** How the figures were read, for a reader ("pprof and expvar", "/proc"); null for the injected Node agent. */
  via: string | null;
  /** The metric that stands for retained memory in charts, and the one for held handles. */
  heap: MetricSpec;
  handles: MetricSpec;
  /** The metric keys a target's overall figures and budgets read (null: this probe has none). */
  overall: { bytes: string | null; handles: string | null };
  /** The metric keys the scenario tables show for this probe, in order. */
  tableMetrics: string[];
  /** Said under the overall table when every target's probe says it ("heap is Go HeapAlloc"). */
  heapNote: string | null;
  /** The runtime its agent said hello from ('Node v22.12.0', 'CPython 3.11.2'), when an agent read it. */
  runtime?: string;
}

/** One way of hanging up from a mixed scenario, measured on its own. */
export interface BehaviourArm {
  /** The behaviour with its parameters, as scenarios write it: `stall-then-leave (after 2 events, 100 ms)`. */
  behaviour: string;
  /** Its kind alone (`stall-then-leave`), for grouping. */
  kind: string;
  verdict: Verdict;
  reason: string;
  disconnects: number;
  cyclesRun: number;
  /** The probe's overall figures (heap and handles, or what stands for them), per disconnect; null where it has none. */
  bytesPerDisconnect: number | null;
  handlesPerDisconnect: number | null;
  durationMs: number;
}

/**
 * One row of the series: the baseline (x = 0) then one per cycle. Metric keys are the probe's own
 * (the named ones below are those of today's probes).
 */
export interface SampleRow {
  [metric: string]: number | undefined;
  x: number;
  atMs: number;
  /** Node probe only. V8 heap used after a settled GC, compiled code left out (it is compiledCodeBytes). */
  heapUsedBytes?: number;
  compiledCodeBytes?: number;
  externalBytes?: number;
  arrayBuffersBytes?: number;
  handles?: number;
  rssBytes: number;
  /** /proc probe only. */
  fds?: number;
  threads?: number;
  /** Go probe only. */
  goroutines?: number;
  heapAllocBytes?: number;
  liveWorkers?: number;
  processes: number;
}

/** What the mock upstream saw while this target ran the scenario (counters read before the target stopped). */
export interface UpstreamDelta extends UpstreamCounters {
  /** Did cancellation reach the upstream (about one cancelled stream per disconnect)? null: cannot tell. */
  cancellation: UpstreamCancellation | null;
  /** Words: did cancellation reach the upstream? */
  summary: string;
}

export interface SteadyLoadFigures {
  connections: number;
  requests: number;
  completedStreams: number;
  errors: number;
  throughputStreamsPerSec: number;
}

/** What two heap snapshots of a leaking Node target say: objects added per disconnect, and what holds them. */
export interface Attribution {
  /** The process whose heap grew most (a target may have several Node processes). */
  pid: number;
  /** Snapshot file names, in the report folder's snapshots/ (owner-only: they hold what the server held). */
  snapshots: string[];
  /** Time the target spent writing its two snapshots, and the harness reading and diffing them. */
  snapshotMs: number;
  analysisMs: number;
  retained: RetainedGroup[];
}

/** Prefix of the Go entries of `handleGrowthByType` ("goroutines in main.(*T).f main.go:97"). */
export const GOROUTINE_KIND_PREFIX = 'goroutines in ';

/**
 * What two goroutine dumps of a Go target say (`/debug/pprof/goroutine?debug=2`, one with the first sample
 * of the judged series, one after the last): goroutines added, grouped by blocking state and the first
 * frame of the program, the program's own groups first.
 */
export interface GoroutineGrowth {
  /** What `countPerDisconnect` divides by: disconnects (streams, on a control scenario) between the dumps. */
  disconnects: number;
  totalAtStart: number;
  totalAtEnd: number;
  /** Time spent reading both dumps (with the reads that settle them), and the size of the end dump. */
  dumpMs: number;
  dumpBytes: number;
  /** Only groups that grew by more than noise and by at least 0.02 per disconnect; empty when none did. */
  groups: GrownGoroutineGroup[];
}

/** Prefix of the Python entries of `handleGrowthByType` ("tasks [Queue.put] produce at app.py:57"). */
export const TASK_KIND_PREFIX = 'tasks ';

/**
 * What two reads of a Python target's agent say (one with the first sample of the judged series, one after
 * the last; every Python process of the target summed): pending asyncio tasks added, grouped by where they
 * wait (the program's own groups first), the GC-tracked object types and tracemalloc's allocation sites
 * that grew.
 */
export interface TaskGrowth {
  /** What the per-disconnect figures divide by: disconnects (streams, on a control scenario) between the reads. */
  disconnects: number;
  totalAtStart: number;
  totalAtEnd: number;
  /** Python processes read at the end. */
  processes: number;
  /** Event loops that did not answer within a second at the end read (their tasks were read from outside). */
  blockedLoops: number;
  /** Time the agents spent on both reads. */
  readMs: number;
  /** Only groups that grew by more than noise and by at least 0.02 per disconnect; empty when none did. */
  groups: GrownTaskGroup[];
  /** Types that grew by at least 0.5 objects per disconnect, most first. */
  objectTypes: GrownObjectType[];
  /** Allocation sites whose live bytes grew by at least 32 B per disconnect; null when tracemalloc was off. */
  tracemalloc: GrownTracedLine[] | null;
}
