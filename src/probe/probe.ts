/**
 * The Probe contract: how the inside of a target is read. A probe is detected on (or named for) a
 * target, adds what it needs to the target's environment, takes settled samples (values to judge and a
 * breakdown by kind), declares the metric specs those values are judged by, which of them stand for
 * "heap" and "handles" in tables and charts, and may collect evidence of what leaked.
 *
 * run/ and report/ hold a Probe (or the description it wrote into a result) and never ask which one it
 * is. A new probe is one module that implements this, one entry in PROBES and its specs in analysis/.
 */
import type { MetricSpec, Verdict } from '../analysis/index.js';
import type { InspectorReport, ProbeDescription, ScenarioResult } from '../report/types.js';

/** What a probe can see of a target. `pid` is null for a target whose process we do not know. */
export interface ProbeSubject {
  /** The target's name, for messages. */
  name: string;
  /** `http://127.0.0.1:PORT`: where pprof, expvar and the target's own routes are. */
  origin: string;
  pid: number | null;
  /** This start of this target (the Node agent's hello names it). */
  label: string;
  /** False once the target's process has exited: detection stops waiting. */
  isAlive: () => boolean;
}

/** One settled reading of a whole target (all its processes summed), in the probe's own metric keys. */
export interface ProbeSample {
  /** Figures by metric key (`heapUsedBytes`, `goroutines`, `fds`, …): what the verdict may judge. */
  values: Record<string, number>;
  /**
   * What the figures are made of, by kind: Node handle types (`TCPSocketWrap`: 12), Go goroutines by
   * first frame (`goroutines in main.worker main.go:97`: 600). Its growth is the report's "grew:".
   */
  breakdown: Record<string, number>;
  processes: Array<{ pid: number; rssBytes: number; heapUsedBytes?: number; handles?: number }>;
}

export interface DetectOptions {
  /** The probe was named (`--probe NAME=go`): waiting may take longer, and a miss is the target's failure. */
  required: boolean;
  /** The caller's bound on the whole start (the probe waits within it). */
  startTimeoutMs: number;
}

/**
 * Evidence of what leaked, collected around the judged series: heap snapshots, goroutine dumps. Every
 * call may fail without touching the verdict; `discard` always runs.
 */
export interface Evidence {
  /**
   * With the first sample of the judged series, never before a sample (a heap snapshot's deeper
   * collection makes every later sample read low). Called again at the baseline when the warm-up did
   * not decide: a collector may keep what it took at the warm-up's start.
   */
  start(): Promise<void>;
  /** After the last sample, knowing the verdict (a collector may take nothing for a clean one). */
  end(verdict: Verdict): Promise<void>;
  /**
   * Writes what the evidence says into the result: at once, or later through the returned promise,
   * which the run awaits before it reports (the target may stop meanwhile).
   * `disconnectsSinceStart` counts from the first start(); `seriesSpan` is the judged series' x span.
   */
  conclude(result: ScenarioResult, figures: { disconnectsSinceStart: number; seriesSpan: number }): Promise<void> | null;
  /** Removes whatever no conclusion took over (snapshots hold what the server held, secrets included). */
  discard(): Promise<void>;
}

export interface EvidenceOptions {
  /** A 0700 folder for files (heap snapshots); null: take no file evidence. */
  directory: string | null;
  /** A file-name stem unique to this target and scenario. */
  name: string;
  signal?: AbortSignal;
}

/** A probe attached to one running target. */
export interface ProbeSession {
  /** The runtime its agent said hello from ('Node v22.12.0', 'CPython 3.11.2'); said in the report. */
  readonly runtime?: string;
  /** A target's inspector this session reached (a running Node we attached to): said in the report. */
  readonly inspector?: InspectorReport;
  sample(): Promise<ProbeSample>;
  /** Null when this probe collects no evidence (or none with these options). */
  evidence(options: EvidenceOptions): Evidence | null;
  close(): Promise<void>;
}

export interface Probe {
  readonly name: ProbeName;
  /** What a report needs to show this probe's results without asking which probe it was. */
  readonly description: ProbeDescription;
  /** The specs this probe's values are judged by, in the order they are reported. */
  readonly metrics: readonly MetricSpec[];
  /** Environment a target we start needs for this probe to reach inside it (the Node agent's preload). */
  envFor(label: string): Record<string, string>;
  /** Attaches to a target that listens; null when this probe cannot read it. */
  detect(subject: ProbeSubject, options: DetectOptions): Promise<ProbeSession | null>;
  /** One line for a target named for this probe that it cannot read: what to change. */
  missing(subject: ProbeSubject): string;
  /**
   * After detect() found nothing for 'auto': why, when the target runs this probe's runtime but could not
   * be read (Python started with -I). The probe that reads it instead says so in the report.
   */
  declined?(subject: ProbeSubject): string | null;
}

export type ProbeName = 'node' | 'python' | 'go' | 'proc';
/** How a target is to be sampled: a probe by name, or 'auto' (the first of AUTO_ORDER that can). */
export type ProbeChoice = ProbeName | 'auto';

export const PROBE_NAMES: readonly ProbeName[] = ['node', 'python', 'go', 'proc'];

export function isProbeChoice(value: string): value is ProbeChoice {
  return value === 'auto' || (PROBE_NAMES as readonly string[]).includes(value);
}
