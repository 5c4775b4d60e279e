/**
 * The probe for Go servers, with no change to their code beyond what Go servers commonly serve already:
 * net/http/pprof at /debug/pprof/ and expvar at /debug/vars. Requests go one at a time (two profiles at
 * once are not safe: golang/go#79452). Heap: memstats.HeapAlloc right after /debug/pprof/heap?gc=1 ran
 * two GCs (see sampleGo). Goroutines: the goroutine profile, re-read until the total stops moving (as
 * goleak settles); for what leaked, the goroutine dump (debug=2) read when asked, grouped by state
 * (goroutine-dump.ts).
 */
import { Agent, request, type Dispatcher } from 'undici';
import { GO_GOROUTINES, GO_HEAP_ALLOC, GO_RSS, NODE_LIVE_WORKERS, type Verdict } from '../analysis/index.js';
import { diffGoroutineGroups } from '../analysis/goroutines.js';
import type { GoroutineGrowth, ProbeDescription } from '../report/types.js';
import { GOROUTINE_KIND_PREFIX } from '../report/types.js';
import { firstProgramFrame, parseGoroutineDump, type GoroutineDump } from './goroutine-dump.js';
import type { Evidence, Probe, ProbeSample, ProbeSession, ProbeSubject } from './probe.js';
import { sampleProcTree } from './proc.js';

export interface GoroutineProfile {
  total: number;
  /** Goroutine count by the first frame in the program (runtime and standard-library frames skipped). */
  groups: Record<string, number>;
}

/**
 * Parses `/debug/pprof/goroutine?debug=1`: `goroutine profile: total N`, then groups of
 * `N @ 0x… 0x…` followed by `#\t0x…\tpkg.func+0x…\tfile.go:line` frames, a blank line between groups.
 */
export function parseGoroutineProfile(text: string): GoroutineProfile {
  const header = /^goroutine profile: total (\d+)/m.exec(text);
  if (!header) throw new Error('not a goroutine profile (no "goroutine profile: total N" line)');
  const groups: Record<string, number> = {};
  for (const block of text.split(/\n\s*\n/)) {
    const lines = block.split('\n');
    const countLine = lines.find((line) => /^\d+ @/.test(line));
    if (!countLine) continue;
    const count = Number(countLine.split(' ')[0]);
    const frames = lines
      .filter((line) => line.startsWith('#'))
      .map((line) => line.split(/\t+/).filter(Boolean))
      .map((parts) => ({ function: (parts[2] ?? '').replace(/\+0x[0-9a-f]+$/, ''), where: parts[3] ?? '' }));
    const own = firstProgramFrame(frames);
    if (!own) continue;
    const file = own.where.split('/').pop() ?? own.where;
    const key = `${own.function} ${file}`.trim();
    groups[key] = (groups[key] ?? 0) + count;
  }
  return { total: Number(header[1]), groups };
}

export interface GoSample {
  goroutines: number;
  goroutineGroups: Record<string, number>;
  heapAllocBytes: number;
  liveWorkers?: number;
}

/** Re-reads of the goroutine profile until two agree, as goleak settles (docs/measurements.md#goleak-settle). */
const GOROUTINE_SETTLE_READS = 8;
const GOROUTINE_SETTLE_FIRST_SLEEP_MS = 10;

/**
 * Reads of the goroutine dump until its count agrees with the profile's total read right after it. The
 * profile (debug=1) stays the per-sample count: a dump stops the world while it writes every stack
 * (runtime.Stack(buf, true)), so it is read twice per scenario only, and the cheap profile checks it.
 * With ~2000 goroutines a dump is ~640 KB and holds other requests up ~130–200 ms
 * (docs/measurements.md#goroutine-dump). Few reads: under steady churn, or past the 64 MB at which Go
 * truncates a dump (~200 000 goroutines), the two never agree.
 */
const DUMP_SETTLE_READS = 3;

const PROFILE_PATH = '/debug/pprof/goroutine?debug=1';
const DUMP_PATH = '/debug/pprof/goroutine?debug=2';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(origin: string, path: string, dispatcher: Dispatcher): Promise<string> {
  const response = await request(`${origin}${path}`, { dispatcher, headersTimeout: 10_000, bodyTimeout: 30_000 });
  const text = await response.body.text();
  if (response.statusCode !== 200) throw new Error(`GET ${path} answered ${response.statusCode}`);
  return text;
}

export async function isGoServer(origin: string, dispatcher: Dispatcher): Promise<boolean> {
  try {
    return (await get(origin, '/debug/pprof/', dispatcher)).includes('goroutine');
  } catch {
    return false;
  }
}

/**
 * Two GCs, not one: sync.Pool keeps a victim cache that survives one GC (Go 1.13+), so after a single GC
 * the pooled bufio buffers of the last few hundred connections are still live: go-new's cycles swung
 * ±400 KB after one GC, 2…95 KB after two (docs/measurements.md#go-heap).
 */
export async function sampleGo(origin: string, dispatcher: Dispatcher): Promise<GoSample> {
  await get(origin, '/debug/pprof/heap?gc=1', dispatcher);
  await get(origin, '/debug/pprof/heap?gc=1', dispatcher);
  const vars = JSON.parse(await get(origin, '/debug/vars', dispatcher)) as {
    memstats?: { HeapAlloc?: number };
    liveWorkers?: number;
  };
  let profile = parseGoroutineProfile(await get(origin, PROFILE_PATH, dispatcher));
  let sleepMs = GOROUTINE_SETTLE_FIRST_SLEEP_MS;
  for (let read = 1; read < GOROUTINE_SETTLE_READS; read++) {
    await sleep(sleepMs);
    sleepMs *= 2;
    const next = parseGoroutineProfile(await get(origin, PROFILE_PATH, dispatcher));
    const stable = next.total === profile.total;
    profile = next;
    if (stable) break;
  }
  const sample: GoSample = {
    goroutines: profile.total,
    goroutineGroups: profile.groups,
    heapAllocBytes: vars.memstats?.HeapAlloc ?? 0,
  };
  if (typeof vars.liveWorkers === 'number') sample.liveWorkers = vars.liveWorkers;
  return sample;
}

export interface GoroutineDumpRead extends GoroutineDump {
  /** Size of the dump's text and the time spent reading (all reads) and parsing it. */
  bytes: number;
  ms: number;
}

/** The goroutine dump grouped by state and place (goroutine-dump.ts), settled against the profile's total. */
export async function readGoroutineDump(origin: string, dispatcher: Dispatcher): Promise<GoroutineDumpRead> {
  const started = Date.now();
  let text = await get(origin, DUMP_PATH, dispatcher);
  let dump = parseGoroutineDump(text);
  let sleepMs = GOROUTINE_SETTLE_FIRST_SLEEP_MS;
  for (let read = 1; read < DUMP_SETTLE_READS; read++) {
    const { total } = parseGoroutineProfile(await get(origin, PROFILE_PATH, dispatcher));
    if (total === dump.total) break;
    await sleep(sleepMs);
    sleepMs *= 2;
    text = await get(origin, DUMP_PATH, dispatcher);
    dump = parseGoroutineDump(text);
  }
  return { ...dump, bytes: Buffer.byteLength(text), ms: Date.now() - started };
}

export const GO_DESCRIPTION: ProbeDescription = {
  via: 'pprof and expvar',
  heap: GO_HEAP_ALLOC,
  handles: GO_GOROUTINES,
  overall: { bytes: GO_HEAP_ALLOC.key, handles: null },
  tableMetrics: ['goroutines', 'heapAllocBytes', 'rssBytes'],
  heapNote: 'heap is Go HeapAlloc',
};

/** Short-lived connections for the one /debug/pprof/ look that tells a Go server. */
const goDetectAgent = new Agent({ keepAliveTimeout: 10, connections: 1 });

export function goProbe(): Probe {
  return {
    name: 'go',
    description: GO_DESCRIPTION,
    // In the order they are reported: the first decisive leak names the reason.
    metrics: [GO_RSS, NODE_LIVE_WORKERS, GO_GOROUTINES, GO_HEAP_ALLOC],
    envFor: () => ({}),
    detect: async (subject) => ((await isGoServer(subject.origin, goDetectAgent)) ? new GoSession(subject) : null),
    missing: () => 'was named a Go target (--probe go) but does not serve /debug/pprof/ (import _ "net/http/pprof")',
  };
}

class GoSession implements ProbeSession {
  /** One kept-alive connection, so reading does not add churn to what is read. */
  private readonly agent = new Agent({ connections: 1, keepAliveTimeout: 60_000 });

  constructor(private readonly subject: ProbeSubject) {}

  async sample(): Promise<ProbeSample> {
    const go = await sampleGo(this.subject.origin, this.agent);
    const tree = this.subject.pid === null ? null : await sampleProcTree(this.subject.pid);
    const values: Record<string, number> = { goroutines: go.goroutines, heapAllocBytes: go.heapAllocBytes };
    if (tree) values.rssBytes = tree.rssBytes;
    if (go.liveWorkers !== undefined) values.liveWorkers = go.liveWorkers;
    const breakdown = Object.fromEntries(Object.entries(go.goroutineGroups).map(([frame, n]) => [`${GOROUTINE_KIND_PREFIX}${frame}`, n]));
    return { values, breakdown, processes: (tree?.pids ?? []).map((pid) => ({ pid, rssBytes: 0 })) };
  }

  /** Goroutine dumps: every goroutine's state and stack, at the start and the end of the judged series. */
  evidence(): Evidence {
    return new GoroutineDumps(() => readGoroutineDump(this.subject.origin, this.agent));
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }
}

/**
 * Two dumps, one with whichever sample becomes the first of the judged series (taken again at the
 * baseline), one after the last. They only say what leaked: a dump that cannot be read leaves that out,
 * never the verdict.
 */
class GoroutineDumps implements Evidence {
  private first: GoroutineDumpRead | null = null;
  private last: GoroutineDumpRead | null = null;

  constructor(private readonly read: () => Promise<GoroutineDumpRead>) {}

  async start(): Promise<void> {
    this.first = await this.read().catch(() => null);
  }

  async end(_verdict: Verdict): Promise<void> {
    this.last = await this.read().catch(() => null);
  }

  conclude(result: { goroutineGrowth: GoroutineGrowth | null }, figures: { seriesSpan: number }): null {
    if (this.first && this.last) result.goroutineGrowth = goroutineGrowth(this.first, this.last, figures.seriesSpan);
    return null;
  }

  async discard(): Promise<void> {}
}

/** `disconnects`: the x-axis between the dumps (completed streams on a control scenario), as the verdict counts. */
export function goroutineGrowth(start: GoroutineDumpRead, end: GoroutineDumpRead, disconnects: number): GoroutineGrowth {
  return {
    disconnects,
    totalAtStart: start.total,
    totalAtEnd: end.total,
    dumpMs: start.ms + end.ms,
    dumpBytes: end.bytes,
    groups: diffGoroutineGroups(start.groups, end.groups, disconnects),
  };
}
