/**
 * The probe for Go servers, with no change to their code beyond what Go servers commonly serve already:
 * net/http/pprof at /debug/pprof/ and expvar at /debug/vars. Requests go one at a time (two profiles at
 * once are not safe: golang/go#79452). Heap: memstats.HeapAlloc right after /debug/pprof/heap?gc=1 ran a
 * GC. Goroutines: the goroutine profile, re-read until the total stops moving (as goleak settles).
 */
import { request, type Dispatcher } from 'undici';

export interface GoroutineProfile {
  total: number;
  /** Goroutine count by the first frame in the program (runtime and standard-library frames skipped). */
  groups: Record<string, number>;
}

/** Frames from these packages say where Go parked the goroutine, not which code of the program did. */
const RUNTIME_FRAME = /^(runtime|internal\/|sync|syscall|net|net\/http|bufio|io|os|time|crypto\/|context|reflect)[./(]/;

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
      .map((parts) => ({ func: (parts[2] ?? '').replace(/\+0x[0-9a-f]+$/, ''), where: parts[3] ?? '' }));
    const own = frames.find((frame) => frame.func && !RUNTIME_FRAME.test(frame.func)) ?? frames[0];
    if (!own) continue;
    const file = own.where.split('/').pop() ?? own.where;
    const key = `${own.func} ${file}`.trim();
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

/** Re-reads of the goroutine profile until two agree (goleak: up to 20 reads, ~0.4 s in all). */
const GOROUTINE_SETTLE_READS = 8;
const GOROUTINE_SETTLE_FIRST_SLEEP_MS = 10;

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

export async function sampleGo(origin: string, dispatcher: Dispatcher): Promise<GoSample> {
  await get(origin, '/debug/pprof/heap?gc=1', dispatcher);
  const vars = JSON.parse(await get(origin, '/debug/vars', dispatcher)) as {
    memstats?: { HeapAlloc?: number };
    liveWorkers?: number;
  };
  let profile = parseGoroutineProfile(await get(origin, '/debug/pprof/goroutine?debug=1', dispatcher));
  let sleepMs = GOROUTINE_SETTLE_FIRST_SLEEP_MS;
  for (let read = 1; read < GOROUTINE_SETTLE_READS; read++) {
    await new Promise((resolve) => setTimeout(resolve, sleepMs));
    sleepMs *= 2;
    const next = parseGoroutineProfile(await get(origin, '/debug/pprof/goroutine?debug=1', dispatcher));
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
