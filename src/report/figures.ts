/** Shared wording of figures for the terminal and Markdown reports: one place, so both say the same. */
import { formatBytes } from '../analysis/format.js';
import { armFigures } from '../analysis/policy.js';
import type { Verdict } from '../analysis/index.js';
import type { UpstreamCheck } from '../analysis/upstream.js';
import { GOROUTINE_KIND_PREFIX, TASK_KIND_PREFIX, type ScenarioResult, type TargetReport } from './types.js';

export function signedBytes(bytes: number): string {
  const sign = bytes > 0 ? '+' : bytes < 0 ? '−' : '';
  return `${sign}${formatBytes(Math.abs(bytes))}`;
}

/** '+1.00', '−0.25'; a figure that rounds to zero has no sign ('0.00', not '−0.00'). */
export function signedCount(count: number, digits = 2): string {
  return countText(count, digits, '+');
}

/** A count with `positive` before a positive figure, '−' before a negative one, nothing before zero. */
function countText(count: number, digits: number, positive: '+' | ''): string {
  const text = Math.abs(count).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${count > 0 ? positive : '−'}${text}`;
}

export function heapCell(result: ScenarioResult | TargetReport): string {
  const metric = 'metrics' in result ? result.metrics.find((m) => m.key === 'heapUsedBytes') : null;
  const perDisconnect = 'metrics' in result ? metric?.perDisconnect : result.heap.bytesPerDisconnect;
  const ci = 'metrics' in result ? metric?.ci95 : result.heap.ci95;
  if (perDisconnect === undefined || perDisconnect === null) return 'n/a';
  const range = ci ? ` (${signedBytes(ci[0])} … ${signedBytes(ci[1])})` : '';
  return `${signedBytes(perDisconnect)}${range}`;
}

/** A target's handles per disconnect over its deciding scenario, as every report shows it ('1.00', '−0.50'). */
export function handlesCell(target: TargetReport): string {
  return target.handles.perDisconnect === null ? 'n/a' : countText(target.handles.perDisconnect, 2, '');
}

/** Live workers per disconnect, and how many were alive at the end of the deciding scenario. */
export function liveWorkersCell(target: TargetReport): string {
  const workers = target.liveWorkers;
  if (!workers || workers.perDisconnect === null) return 'n/a';
  return `${signedCount(workers.perDisconnect)}${workers.atEnd === null ? '' : ` (${workers.atEnd} at end)`}`;
}

export function metricCell(result: ScenarioResult, key: string): string {
  const metric = result.metrics.find((m) => m.key === key);
  if (!metric) return 'n/a';
  return metric.unit === 'bytes' ? signedBytes(metric.perDisconnect) : signedCount(metric.perDisconnect);
}

/** A scenario-table column: one metric, with the short name tables give it. */
export interface MetricColumn {
  key: string;
  label: string;
  cell: (result: ScenarioResult) => string;
}

/** Short names, in the order tables show them; a probe's other metrics follow under their own labels. */
const COLUMN_LABELS: ReadonlyArray<[key: string, label: string]> = [
  ['heapUsedBytes', 'heap'],
  ['externalBytes', 'external'],
  ['handles', 'handles'],
  ['goroutines', 'goroutines'],
  ['heapAllocBytes', 'Go heap'],
  ['pendingTasks', 'tasks'],
  ['allocatedBlocks', 'blocks'],
  ['gcObjects', 'objects'],
  ['tracedBytes', 'traced'],
  ['rssBytes', 'rss'],
  ['fds', 'fds'],
  ['threads', 'threads'],
];

export function columnLabel(key: string, results: readonly ScenarioResult[] = []): string {
  return COLUMN_LABELS.find(([k]) => k === key)?.[1] ?? results.flatMap((r) => r.metrics).find((m) => m.key === key)?.label ?? key;
}

/**
 * The metric columns of a scenario table: every metric some result's probe shows (its description's
 * tableMetrics), each cell 'n/a' for a result whose probe does not show it.
 */
export function metricColumns(results: readonly (ScenarioResult | undefined)[]): MetricColumn[] {
  const present = results.filter((r): r is ScenarioResult => r !== undefined);
  const wanted = new Set(present.flatMap((r) => r.probeDescription.tableMetrics));
  const keys = [...COLUMN_LABELS.map(([key]) => key).filter((key) => wanted.has(key)), ...[...wanted].filter((key) => !COLUMN_LABELS.some(([k]) => k === key))];
  return keys.map((key) => ({
    key,
    label: columnLabel(key, present),
    cell: (r: ScenarioResult) => (!r.probeDescription.tableMetrics.includes(key) ? 'n/a' : key === 'heapUsedBytes' ? heapCell(r) : metricCell(r, key)),
  }));
}

/** " (sampled through pprof and expvar)", " (Node v22.12.0)" for the Node agent, '' when neither is known. */
export function viaText(result: ScenarioResult | undefined): string {
  const via = result?.probeDescription.via;
  const parts = [via ? `sampled through ${via}` : null, result?.probeDescription.runtime ?? null].filter((p): p is string => p !== null);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function verdictWord(verdict: Verdict): string {
  return verdict === 'leak' ? 'LEAK' : verdict;
}

/** What `--expect-upstream` saw, in words: "not cancelled", "cancelled in some scenarios only", "unknown". */
export function upstreamSeenWord(check: UpstreamCheck): string {
  return check.seen === 'both' ? 'cancelled in some scenarios only' : check.seen === 'not-cancelled' ? 'not cancelled' : check.seen;
}

/** One line for a missed `--expect-upstream`: "upstream not cancelled, expected cancelled (…why)". */
export function upstreamMissText(check: UpstreamCheck): string {
  return `upstream ${upstreamSeenWord(check)}, expected ${check.expect}${check.reason ? ` (${check.reason})` : ''}`;
}

/**
 * The "grew:" figures of a scenario. A Go target's goroutines by first frame are left out when its
 * goroutine dumps say the same by state, with stacks (goroutineLines); a Python target's tasks by place
 * when its agent's reads say the same with stacks (taskLines).
 */
export function growthText(result: ScenarioResult): string {
  const told = [...(result.goroutineGrowth ? [GOROUTINE_KIND_PREFIX] : []), ...(result.taskGrowth ? [TASK_KIND_PREFIX] : [])];
  const growth = Object.fromEntries(Object.entries(result.handleGrowthByType).filter(([kind]) => !told.some((prefix) => kind.startsWith(prefix))));
  return handleGrowthText(growth);
}

export function handleGrowthText(growth: Record<string, number>): string {
  const entries = Object.entries(growth)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? 'none' : entries.map(([type, n]) => `+${n} ${type}`).join(', ');
}

export function errorsText(errors: ScenarioResult['errors']): string {
  if (errors.total === 0) return '0';
  const kinds = Object.entries(errors.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  return `${errors.total} (${kinds})`;
}

export function durationText(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** A run of at least this many identical steps is written once with its count. */
const REPEATED_STEPS_MIN = 3;

/**
 * A retainer path in words, a run of identical steps written once: a timer list 97 timers long is
 * `{_idleNext → Timeout} ×97`, not 97 repeats that bury the steps that say who holds it.
 */
export function retainerPathText(steps: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < steps.length; ) {
    let run = 1;
    while (i + run < steps.length && steps[i + run] === steps[i]) run++;
    if (run >= REPEATED_STEPS_MIN) parts.push(`{${steps[i]}} ×${run}`);
    else parts.push(...steps.slice(i, i + run));
    i += run;
  }
  return parts.join(' ');
}

/** "What leaked" lines for a scenario's attribution, shared by the terminal and Markdown reports. */
export function attributionLines(result: ScenarioResult): { title: string; groups: string[]; paths: string[] } | null {
  const a = result.attribution;
  if (!a && result.attributionProblem) return { title: `what leaked: not known (${result.attributionProblem})`, groups: [], paths: [] };
  if (!a || a.retained.length === 0) return null;
  return {
    title: `what leaked, per disconnect (heap snapshots of pid ${a.pid}, ${a.snapshots.join(', ')})`,
    groups: a.retained.map(
      (g) => `${signedCount(g.countPerDisconnect)} ${g.group} (${signedBytes(g.bytesPerDisconnect)}; ${g.count} in all)`,
    ),
    paths: a.retained
      .filter((g) => g.retainerPath)
      .map((g) => `${g.group} held by: ${retainerPathText(g.retainerPath!)}`),
  };
}

/** Groups whose stack and creator are shown under the counts: the top of the list, where the leak is. */
const GOROUTINE_STACKS_SHOWN = 2;

/**
 * "What leaked" lines for a Go scenario's goroutine dumps, shared by the terminal and Markdown reports:
 * `+600 goroutines [chan send] main.(*ResponseStreamer).sendEvent at main.go:100 (1.00 per disconnect)`.
 */
export function goroutineLines(result: ScenarioResult): { title: string; groups: string[]; paths: string[] } | null {
  const growth = result.goroutineGrowth;
  if (!growth || growth.groups.length === 0) return null;
  return {
    title: `goroutines left behind, by state and where they wait (goroutine dumps: ${growth.totalAtStart} → ${growth.totalAtEnd} goroutines over ${growth.disconnects} ${result.per}s)`,
    groups: growth.groups.map(
      (g) => `+${g.count} goroutines [${g.state}] ${g.function} at ${g.location} (${g.countPerDisconnect.toFixed(2)} per ${result.per})`,
    ),
    paths: growth.groups
      .filter((g) => g.inProgram)
      .slice(0, GOROUTINE_STACKS_SHOWN)
      .map((g) => [...g.stack, ...(g.createdBy ? [`started by ${g.createdBy}`] : [])].join(' ← ')),
  };
}

/**
 * The breakdown of one scenario as a matrix, behaviours × targets: each cell the arm's verdict with its
 * figures per disconnect when it leaked; '' for a target whose scenario was not broken down. Null when
 * no target's was.
 */
export function breakdownMatrix(targets: readonly TargetReport[], scenario: string): { behaviours: string[]; cells: string[][] } | null {
  const results = targets.map((t) => t.scenarios.find((s) => s.scenario === scenario));
  if (!results.some((r) => r?.breakdown)) return null;
  const behaviours = [...new Set(results.flatMap((r) => r?.breakdown?.map((arm) => arm.behaviour) ?? []))];
  const cells = behaviours.map((behaviour) =>
    results.map((r) => {
      const arm = r?.breakdown?.find((a) => a.behaviour === behaviour);
      if (!arm) return '';
      return arm.verdict === 'leak' ? `${verdictWord(arm.verdict)} ${armFigures(arm)}` : verdictWord(arm.verdict);
    }),
  );
  return { behaviours, cells };
}

/** How many redacted headers a request line names before it only counts the rest. */
const REQUEST_LINE_HEADERS = 4;

/**
 * A user target's request on one line: `POST /v1/chat/completions (sse) · authorization: *** ·
 * body: JSON {model, messages, stream}, 120 B`. Only redacted headers (credentials, whatever their
 * name) and the content-type are named: they are what a reader checks; values stay `***`.
 */
export function requestLine(request: NonNullable<TargetReport['request']>): string {
  const framing = request.framingFound ?? (request.framing === 'auto' ? 'framing not seen' : request.framing);
  const parts = [`${request.method} ${request.pathTemplate} (${framing})`];
  const named = Object.entries(request.headers).filter(([name, value]) => value === '***' || name === 'content-type');
  for (const [name, value] of named.slice(0, REQUEST_LINE_HEADERS)) parts.push(`${name}: ${value}`);
  if (named.length > REQUEST_LINE_HEADERS) parts.push(`+${named.length - REQUEST_LINE_HEADERS} more headers`);
  const body = request.body;
  if (body) {
    const shape = body.json === 'object' ? `JSON {${(body.keys ?? []).join(', ')}}` : body.json ? `JSON ${body.json}` : 'text';
    parts.push(`body: ${shape}, ${formatBytes(body.bytes)}`);
  }
  return parts.join(' · ');
}

/**
 * "What leaked" lines for a Python scenario's agent reads, shared by the terminal and Markdown reports:
 * `+1.00 pending task per disconnect [Queue.put], waiting at `await queue.put(chunk)` app.py:40 in produce
 * (created at `producer = asyncio.create_task(produce(queue))` app.py:47 in stream); 600 in all`, then the
 * object types and tracemalloc's allocation sites that grew, and the await chain of the top groups.
 */
export function taskLines(result: ScenarioResult): { title: string; groups: string[]; paths: string[] } | null {
  const growth = result.taskGrowth;
  if (!growth) return null;
  const per = result.per;
  const groups = growth.groups.map((g) => {
    const rate = signedCount(g.countPerDisconnect);
    const tasks = Math.abs(g.countPerDisconnect) > 1.005 ? 'tasks' : 'task';
    const created = g.createdBy ? ` (created at ${placeText(g.createdBy, g.createdByCode)})` : '';
    return `${rate} pending ${tasks} per ${per} [${g.state}], waiting at ${placeText(`${g.function} at ${g.location}`, g.code)}${created}; ${g.count} in all`;
  });
  if (growth.objectTypes.length > 0) {
    groups.push(`objects grown: ${growth.objectTypes.map((t) => `${signedCount(t.countPerDisconnect)} ${t.type}`).join(', ')} (per ${per})`);
  }
  if (growth.tracemalloc && growth.tracemalloc.length > 0) {
    groups.push(`allocated and kept (tracemalloc): ${growth.tracemalloc.map((l) => `${signedBytes(l.bytesPerDisconnect)} at ${l.location}`).join(', ')} (per ${per})`);
  }
  if (growth.blockedLoops > 0) groups.push(`${growth.blockedLoops} event loop(s) did not answer within a second: blocked or busy`);
  if (groups.length === 0) return null;
  const processes = growth.processes > 1 ? `, ${growth.processes} processes` : '';
  return {
    title: `tasks left behind, by where they wait (agent reads: ${growth.totalAtStart} → ${growth.totalAtEnd} pending tasks over ${growth.disconnects} ${per}s${processes})`,
    groups,
    paths: growth.groups
      .filter((g) => g.inProgram)
      .slice(0, GOROUTINE_STACKS_SHOWN)
      .map((g) => [...g.stack, ...(g.createdBy ? [`created by ${g.createdBy}`] : [])].join(' ← ')),
  };
}

/**
 * What a report says of an attached target, one line each: which process, its inspector, why its
 * scenarios are not independent, and the upstream check. Empty for a target the run started.
 */
export function attachedLines(target: TargetReport): string[] {
  const a = target.attached;
  if (!a) return [];
  const how = a.pidFrom === 'flag' ? 'given with --pid' : `found as the owner of ${a.url}'s listening socket`;
  const lines = [
    a.pid === null
      ? `attached to ${a.url}: no process of this user holds its listening socket, so it was read through its URL only`
      : `attached to ${a.url}: pid ${a.pid}${a.command ? ` (${a.command})` : ''}, ${how}; left running`,
  ];
  const i = a.inspector;
  if (i) {
    lines.push(
      !i.openedByRun
        ? `inspector: open before the run on port ${i.port}, left open`
        : i.closed
          ? `inspector: opened with SIGUSR1 (on port ${i.port}) and closed again after the run`
          : `inspector: opened with SIGUSR1 (on port ${i.port}) and NOT seen closed after the run: the target's watchdog closes it once the run's heartbeats stop`,
    );
  }
  lines.push('one process for every scenario (no fresh start between them): scenarios are not independent, and there is no per-hang-up breakdown');
  lines.push(
    a.upstream
      ? `upstream: counters read from ${a.upstream}`
      : 'upstream cancellation: unknown (point the server at `streamer-leakcheck upstream` and name it with --upstream NAME=URL)',
  );
  return lines;
}

/**
 * A place of the program as a reader finds it in the source: `` `await queue.put(chunk)` app.py:40 in
 * produce `` from 'produce at app.py:40' and its line's text; as it was given when the text is unknown.
 */
function placeText(functionAtLocation: string, code: string | null | undefined): string {
  const at = functionAtLocation.lastIndexOf(' at ');
  if (!code || at < 0) return functionAtLocation;
  return `\`${code}\` ${functionAtLocation.slice(at + 4)} in ${functionAtLocation.slice(0, at)}`;
}
