/**
 * The default metric specs: what counts as a leak per disconnect and what counts as noise between two
 * post-GC samples, per metric. Each constant says what it bounds and the figure it was set from.
 * "Measured" figures come from /work/shared/FIELD-NOTES.md; "unmeasured" ones are reasoned starting
 * points to re-measure before anyone relies on them.
 *
 * Units: bytes are decimal (1 KB = 1000 B) to match format.ts.
 */
import type { MetricSpec } from './types.js';

// ---------------------------------------------------------------------------------------------------
// Node targets (sampled by the injected probe after forced GC)

/**
 * V8 heap used, with compiled code left out (see TargetSample.heapUsedBytes: V8 compiling and
 * optimising was most of the reference `new`'s early drift). Measured on a clean Node SSE server with
 * code included (FIELD-NOTES: 2×gc per sample, 50 clients leaving after 3 events): after warm-up the
 * heap still drifts ~86 B/disconnect over the first 2 000 disconnects and ~4 B/disconnect after 5 000,
 * with ±20 KB between samples. Without the code the drift is lower; the thresholds keep their margin.
 * - leak 128 B/disconnect: 1.5× the steepest clean drift (86 B), so a run whose cycles all sit in the
 *   early-drift regime (4 × 500 disconnects) is not called leaky; 2× below the smallest planted leak we
 *   must catch (256 B/disconnect, which measures ~256–340 B with the drift on top).
 * - noise 50 KB: two samples each ±20 KB apart can differ by up to ~40 KB; 50 KB clears that. A cycle
 *   must then carry > 50 KB to count as growth: > 195 disconnects at 256 B, > 390 at the threshold.
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
 * stream not destroyed on abort kept ~256 KiB each in Next.js (#94919) while the JS heap stayed flat.
 * Unmeasured on a clean server: the leak threshold follows heap used (retained bytes are retained
 * bytes); the noise floor allows for pooled Buffer slabs (8 KiB each) and a few socket read buffers
 * (16–64 KiB high-water marks) alive at sample time.
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
 * Resident set of a Node process: advisory only. It moves with V8 growing and shrinking its young
 * generation (MBs of semi-space), allocator caching and fragmentation, none of which is a leak; a real
 * leak shows in heap/external first. Unmeasured: the noise floor is set at a few semi-space pages'
 * worth (2 MB); the threshold at 1 KB/disconnect, below the reference leaky server's ≥ 2 KB.
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
 * noiseless: the reference leaky server leaks ≥ 1 per disconnect, a clean one moves 0 ± a few (the
 * probe's own socket or timer, a client socket still closing at sample time).
 * - leak 0.02/disconnect (1 per 50): catches a leak that hits only a fraction of aborts (a close race)
 *   while adding 10–30 handles per 500–1 500-disconnect cycle, far above the jitter.
 * - noise 2: ±1 on each of two samples.
 * Blind spot: an `unref()`'d timer leaks its closure without showing here (heap catches that).
 */
export const NODE_HANDLES: MetricSpec = {
  key: 'handles',
  label: 'active handles',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 2,
  decisive: true,
};

/**
 * Worker threads alive. A worker per stream that is never terminated leaks ~1 per disconnect; a pool
 * that grows to its size once shows as a small bounded step (saturating or clean). Noise 1: a pool
 * resizing by one thread between samples.
 */
export const NODE_LIVE_WORKERS: MetricSpec = {
  key: 'liveWorkers',
  label: 'live workers',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 1,
  decisive: true,
};

// ---------------------------------------------------------------------------------------------------
// Go targets (net/http/pprof and expvar)

/**
 * `goroutine profile: total N`. The seed's bug (a gin Stream blocked on an unbuffered send after the
 * client left, ollama #17135) leaks ≥ 1 per disconnect. Noise 3: each open HTTP connection holds 1–2
 * goroutines and goleak needs up to ~0.4 s of re-reads for exiting ones to settle, so one straggling
 * connection can still show at sample time. Leak 0.02/disconnect: as for Node handles.
 */
export const GO_GOROUTINES: MetricSpec = {
  key: 'goroutines',
  label: 'goroutines',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 3,
  decisive: true,
};

/**
 * memstats.HeapAlloc after two forced GCs (`/debug/pprof/heap?gc=1`, see sampleGo). Set as for the V8
 * heap (128 B/disconnect, 50 KB noise); measured on go-new since: cycles of ~590 disconnects move
 * −9…+95 KB. A leaked goroutine's 8 KB stack is not in HeapAlloc, but what it captured is, and the
 * goroutine count catches the rest.
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
 * noise 1 MB, threshold 1 KB/disconnect as for the other RSS specs.
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
 * ~1 KB cannot be told from allocator behaviour: leak 1 KB/disconnect (the reference leaky server
 * retains ≥ 2 KB), noise 1 MB (a cycle needs > 1 000 disconnects at the threshold to show).
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
 * disconnect. Noise 2: a client socket or two still closing at sample time.
 */
export const PROC_FDS: MetricSpec = {
  key: 'fds',
  label: 'open file descriptors',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 2,
  decisive: true,
};

/**
 * OS threads. A thread per stream is a leak; pools (libuv's 4, Go's Ms for blocking syscalls) grow in
 * bursts under load and stay, which reads as a bounded step. Noise 4: one libuv pool's worth.
 */
export const PROC_THREADS: MetricSpec = {
  key: 'threads',
  label: 'threads',
  unit: 'count',
  leakPerDisconnect: 0.02,
  noiseFloor: 4,
  decisive: true,
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
