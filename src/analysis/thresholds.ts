/**
 * The default metric specs: what counts as a leak per disconnect and what counts as noise between two
 * post-GC samples, per metric. Each constant says what it bounds and the figure it was set from; the
 * measurements behind them are in docs/measurements.md#thresholds, under one anchor per metric.
 * "Unmeasured" ones are reasoned starting points to re-measure before anyone relies on them.
 *
 * Units: bytes are decimal (1 KB = 1000 B) to match format.ts.
 */
import type { MetricSpec } from './types.js';

// ---------------------------------------------------------------------------------------------------
// Node targets (sampled by the injected probe after forced GC)

/**
 * V8 heap used, with compiled code left out (see TargetSample.heapUsedBytes). A clean Node SSE server
 * still drifts ~86 B/disconnect over its first 2 000 disconnects, with ±20 KB between samples
 * (docs/measurements.md#node-heap).
 * - leak 128 B/disconnect: 1.5× the steepest clean drift, 2× below the smallest planted leak we must
 *   catch (256 B/disconnect).
 * - noise 50 KB: two samples ±20 KB each can differ by ~40 KB. A cycle must then carry > 50 KB to count
 *   as growth: > 390 disconnects at the threshold.
 */
export const NODE_HEAP_USED: MetricSpec = {
  key: 'heapUsedBytes',
  label: 'heap used',
  unit: 'bytes',
  leakPerDisconnect: 128,
  noiseFloor: 50_000,
  decisive: true,
};

/**
 * Memory of C++ objects bound to JS (Buffers, zlib state). `heapUsed` misses native leaks: a zlib
 * stream not destroyed on abort kept ~256 KiB each in Next.js (next.js #94919) while the JS heap stayed
 * flat. Unmeasured on a clean server: the leak rate follows heap used; the noise floor allows for
 * pooled Buffer slabs (8 KiB) and a few socket read buffers alive at sample time
 * (docs/measurements.md#node-external).
 */
export const NODE_EXTERNAL: MetricSpec = {
  key: 'externalBytes',
  label: 'external memory',
  unit: 'bytes',
  leakPerDisconnect: 128,
  noiseFloor: 64_000,
  decisive: true,
};

/** ArrayBuffers and Buffers (a part of external memory). Unmeasured; same reasoning as NODE_EXTERNAL. */
export const NODE_ARRAY_BUFFERS: MetricSpec = {
  key: 'arrayBuffersBytes',
  label: 'array buffers',
  unit: 'bytes',
  leakPerDisconnect: 128,
  noiseFloor: 64_000,
  decisive: true,
};

/**
 * Resident set of a Node process: advisory only. It moves with V8's young generation (MBs of
 * semi-space), allocator caching and fragmentation; a real leak shows in heap/external first.
 * Unmeasured: noise 2 MB, leak 1 KB/disconnect, below the reference old's ≥ 2 KB
 * (docs/measurements.md#node-rss).
 */
export const NODE_RSS: MetricSpec = {
  key: 'rssBytes',
  label: 'resident memory (RSS)',
  unit: 'bytes',
  leakPerDisconnect: 1_000,
  noiseFloor: 2_000_000,
  decisive: false,
};

/**
 * Handles keeping the event loop alive (`process.getActiveResourcesInfo()`), integers and nearly
 * noiseless: the reference old leaks 1.00 per disconnect, a clean server moves 0 ± a few.
 * - leak 0.02/disconnect (1 per 50): catches a leak that hits only a fraction of aborts (a close race)
 *   while adding 10–30 handles per 500–1 500-disconnect cycle, far above the jitter.
 * - noise 2: ±1 on each of two samples.
 * Blind spot: an `unref()`'d timer leaks its closure without showing here (heap catches that;
 * docs/measurements.md#node-handles).
 */
export const NODE_HANDLES: MetricSpec = {
  key: 'handles',
  label: 'active handles',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 2,
  decisive: true,
  heldResource: true,
};

/**
 * Worker threads alive. A worker per stream that is never terminated leaks ~1 per disconnect; a pool
 * that grows to its size once shows as a small bounded step (saturating or clean). Noise 1: a pool
 * resizing by one thread between samples (docs/measurements.md#live-workers).
 */
export const NODE_LIVE_WORKERS: MetricSpec = {
  key: 'liveWorkers',
  label: 'live workers',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 1,
  decisive: true,
  heldResource: true,
};

// ---------------------------------------------------------------------------------------------------
// Go targets (net/http/pprof and expvar)

/**
 * `goroutine profile: total N`. The seed's bug (a gin Stream blocked on an unbuffered send after the
 * client left, ollama PR #17135) leaks ≥ 1 per disconnect; go-old keeps 3. Noise 3: each open HTTP
 * connection holds 1–2 goroutines, and exiting ones take up to ~0.4 s to settle (as goleak waits), so
 * one straggling connection can still show. Leak 0.02/disconnect: as for Node handles
 * (docs/measurements.md#go-goroutines).
 */
export const GO_GOROUTINES: MetricSpec = {
  key: 'goroutines',
  label: 'goroutines',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 3,
  decisive: true,
  heldResource: true,
};

/**
 * memstats.HeapAlloc after two forced GCs (`/debug/pprof/heap?gc=1`, see sampleGo). Set as for the V8
 * heap (128 B/disconnect, 50 KB noise); go-new's cycles of ~590 disconnects move −9…+95 KB
 * (docs/measurements.md#go-heap). A leaked goroutine's 8 KB stack is not in HeapAlloc, but what it
 * captured is, and the goroutine count catches the rest.
 */
export const GO_HEAP_ALLOC: MetricSpec = {
  key: 'heapAllocBytes',
  label: 'Go heap (HeapAlloc)',
  unit: 'bytes',
  leakPerDisconnect: 128,
  noiseFloor: 50_000,
  decisive: true,
};

/**
 * Resident set of a Go process: advisory (the scavenger returns memory to the OS lazily). Unmeasured:
 * noise 1 MB, threshold 1 KB/disconnect as for the other RSS specs (docs/measurements.md#go-rss).
 */
export const GO_RSS: MetricSpec = {
  key: 'rssBytes',
  label: 'resident memory (RSS)',
  unit: 'bytes',
  leakPerDisconnect: 1_000,
  noiseFloor: 1_000_000,
  decisive: false,
};

// ---------------------------------------------------------------------------------------------------
// Any process, from /proc (no runtime probe)

/**
 * Resident set from /proc: decisive here because it is all we have for a runtime without a probe.
 * Unmeasured. RSS moves in pages (4 KiB) and allocator chunks, so per-disconnect retention below
 * ~1 KB cannot be told from allocator behaviour: leak 1 KB/disconnect (the reference old retains
 * ≥ 2 KB), noise 1 MB (a cycle needs > 1 000 disconnects at the threshold to show;
 * docs/measurements.md#proc-rss).
 */
export const PROC_RSS: MetricSpec = {
  key: 'rssBytes',
  label: 'resident memory (RSS)',
  unit: 'bytes',
  leakPerDisconnect: 1_000,
  noiseFloor: 1_000_000,
  decisive: true,
};

/**
 * Open file descriptors (/proc/<pid>/fd): a socket not closed after the client left is one per
 * disconnect. Noise 2: a client socket or two still closing at sample time
 * (docs/measurements.md#proc-fds).
 */
export const PROC_FDS: MetricSpec = {
  key: 'fds',
  label: 'open file descriptors',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 2,
  decisive: true,
  heldResource: true,
};

/**
 * OS threads. A thread per stream is a leak; pools (libuv's 4, Go's Ms for blocking syscalls) grow in
 * bursts under load and stay, which reads as a bounded step. Noise 4: one libuv pool's worth
 * (docs/measurements.md#proc-threads).
 */
export const PROC_THREADS: MetricSpec = {
  key: 'threads',
  label: 'threads',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 4,
  decisive: true,
};

// ---------------------------------------------------------------------------------------------------
// Python targets (sampled by the injected agent after gc.collect() until a pass frees nothing)

/**
 * Pending asyncio tasks over every running loop, integers and noiseless after a settle: the seed's bug
 * in Python (a producer parked on `await queue.put(…)` into a bounded queue after its client left) keeps
 * 1.00 per disconnect on py-old, FastAPI and aiohttp alike; their fixed twins moved 0 in every cycle
 * (py-new's 60 and the fixed FastAPI's 72 in the bench).
 * Leak 0.02 and noise 3 as for goroutines: a few connections' tasks may still be closing at sample time
 * (docs/measurements.md#python-tasks).
 */
export const PY_PENDING_TASKS: MetricSpec = {
  key: 'pendingTasks',
  label: 'pending asyncio tasks',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 3,
  decisive: true,
  heldResource: true,
};

/**
 * Memory blocks the interpreter holds (`sys.getallocatedblocks()`): every object of any size, a string
 * or a bytes buffer too, at no cost to the target. A leaked producer holds 54–154 per disconnect.
 * - noise 2500: the clean FastAPI on uvicorn 0.17 moved −1360…+1728 between cycles over 10 runs (the
 *   connections still closing at sample time, ~41 blocks each; 50 at the default concurrency would be
 *   ~2050); py-new ≤ 22.
 * - leak 2/disconnect: the clean FastAPI's slope over a run reached 1.05 per disconnect (a slow climb
 *   of ~2100 over 4 cycles, no cycle over the floor); 27× below the smallest leaked producer.
 * (docs/measurements.md#python-blocks)
 */
export const PY_ALLOCATED_BLOCKS: MetricSpec = {
  key: 'allocatedBlocks',
  label: 'allocated blocks',
  unit: 'count',
  leakPerDisconnect: 2,
  noiseFloor: 2500,
  decisive: true,
};

/**
 * Objects the cycle collector tracks (`len(gc.get_objects())`: containers, not ints or strings): a
 * leaked producer keeps 17–50 per disconnect. Noise 800: the clean FastAPI moved −463…+571 between
 * cycles over 10 runs (~14 per connection still closing; 50 would be ~700); py-new ≤ 1. Leak
 * 0.5/disconnect: its slope reached 0.18; the figure that still counts where pymalloc does not
 * (docs/measurements.md#python-objects).
 */
export const PY_GC_OBJECTS: MetricSpec = {
  key: 'gcObjects',
  label: 'GC-tracked objects',
  unit: 'count',
  leakPerDisconnect: 0.5,
  noiseFloor: 800,
  decisive: true,
};

/**
 * tracemalloc's traced memory, when it runs (off by default: it cost the servers 2.7-3.4x the agent's
 * CPU per disconnect; docs/measurements.md#python-tracemalloc): the Python heap in bytes, independent of
 * pymalloc's arenas. A leaked producer held 6.8 KB (FastAPI) to 46 KB (py-old, its upstream's unread
 * answer) per disconnect.
 * - noise 100 KB: the clean FastAPI swung up to 79 KB between cycles (uvicorn's keep-alive timers, as
 *   for blocks); py-new ±4.7 KB.
 * - leak 128 B/disconnect, as for the V8 heap (docs/measurements.md#python-traced).
 */
export const PY_TRACED: MetricSpec = {
  key: 'tracedBytes',
  label: 'traced Python memory (tracemalloc)',
  unit: 'bytes',
  leakPerDisconnect: 128,
  noiseFloor: 100_000,
  decisive: true,
};

/**
 * Resident set of a Python target's process tree: advisory next to the agent's figures (pymalloc keeps
 * arenas, glibc keeps freed chunks). As for the other RSS specs: leak 1 KB/disconnect, noise 2 MB
 * (docs/measurements.md#python-rss).
 */
export const PY_RSS: MetricSpec = {
  key: 'rssBytes',
  label: 'resident memory (RSS)',
  unit: 'bytes',
  leakPerDisconnect: 1_000,
  noiseFloor: 2_000_000,
  decisive: false,
};

export const NODE_METRICS: MetricSpec[] = [
  NODE_HEAP_USED,
  NODE_EXTERNAL,
  NODE_ARRAY_BUFFERS,
  NODE_RSS,
  NODE_HANDLES,
  NODE_LIVE_WORKERS,
];
export const GO_METRICS: MetricSpec[] = [GO_GOROUTINES, GO_HEAP_ALLOC, GO_RSS];
export const PROC_METRICS: MetricSpec[] = [PROC_RSS, PROC_FDS, PROC_THREADS];
/** In the order they are reported (the first decisive leak names the reason); fds and threads as /proc reads them. */
export const PYTHON_METRICS: MetricSpec[] = [PY_PENDING_TASKS, NODE_LIVE_WORKERS, PY_ALLOCATED_BLOCKS, PY_TRACED, PY_GC_OBJECTS, PROC_FDS, PROC_THREADS, PY_RSS];

const RUNTIME_KEYS = new Set(
  [...NODE_METRICS, ...GO_METRICS].filter((spec) => spec.key !== 'rssBytes').map((spec) => spec.key),
);

/**
 * The known specs for the sampled keys, in catalogue order (Node, Go, /proc), whatever the order of
 * `keys`; unknown keys are left out. `rssBytes` is ambiguous: it is advisory next to a runtime's own
 * heap metrics (Node's spec when a Node key is present, else Go's) and decisive when only /proc
 * metrics were sampled.
 */
export function specsFor(keys: readonly string[]): MetricSpec[] {
  const wanted = new Set(keys);
  const hasNodeKey = NODE_METRICS.some((spec) => spec.key !== 'rssBytes' && wanted.has(spec.key));
  const hasRuntimeKey = [...wanted].some((key) => RUNTIME_KEYS.has(key));
  const rss = hasNodeKey ? NODE_RSS : hasRuntimeKey ? GO_RSS : PROC_RSS;
  const picked: MetricSpec[] = [];
  for (const spec of [...NODE_METRICS, ...GO_METRICS, ...PROC_METRICS]) {
    if (!wanted.has(spec.key) || picked.some((p) => p.key === spec.key)) continue;
    picked.push(spec.key === 'rssBytes' ? rss : spec);
  }
  return picked;
}
