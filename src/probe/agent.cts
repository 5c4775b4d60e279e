/**
 * The agent injected into every Node process of a target with `NODE_OPTIONS=--require …/agent.cjs`.
 * It changes nothing in the target's code: it connects back to the harness over a Unix socket (unref'd,
 * so it never keeps the target alive and never shows among its active resources) and answers sample
 * requests with settled post-GC memory figures and active resources by type.
 *
 * It must never break the target: every failure is swallowed and the agent goes quiet.
 * CommonJS on purpose: `--require` loads it before the target's own code, ESM or not.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import fs = require('node:fs');
import net = require('node:net');
import v8 = require('node:v8');
import vm = require('node:vm');
import workerThreads = require('node:worker_threads');

const SOCKET_ENV = 'STREAMER_LEAKCHECK_PROBE_SOCKET';
const TOKEN_ENV = 'STREAMER_LEAKCHECK_PROBE_TOKEN';
const LABEL_ENV = 'STREAMER_LEAKCHECK_PROBE_LABEL';

/**
 * A settled heap needs several full collections: one gc() leaves objects whose finalizers or weak
 * callbacks free more on the next pass (one gc() does not settle: docs/measurements.md#gc-settling). Stop when a pass frees
 * less than this.
 */
const SETTLED_WHEN_FREED_BELOW_BYTES = 4 * 1024;
const MIN_GC_PASSES = 2;

type GcFunction = (options?: unknown) => void;

function obtainGc(): GcFunction | null {
  const existing = (globalThis as { gc?: GcFunction }).gc;
  if (typeof existing === 'function') return existing;
  try {
    // Exposes gc in contexts created from now on, without a restart or a change of the target's flags.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as GcFunction;
    return typeof gc === 'function' ? gc : null;
  } catch {
    return null;
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function collectAndRead(gc: GcFunction | null, maxGcPasses: number) {
  let passes = 0;
  if (gc) {
    let previous = process.memoryUsage().heapUsed;
    while (passes < maxGcPasses) {
      gc();
      passes++;
      // Let weak callbacks and FinalizationRegistry cleanups that the collection queued run.
      await nextTurn();
      const now = process.memoryUsage().heapUsed;
      const freed = previous - now;
      previous = now;
      if (passes >= MIN_GC_PASSES && freed < SETTLED_WHEN_FREED_BELOW_BYTES) break;
    }
  }
  return { passes, memory: process.memoryUsage() };
}

interface SettleOptions {
  maxGcPasses: number;
  toleranceBytes: number;
  gapMs: number;
  maxMs: number;
}

/**
 * Collect, read, wait, collect, read… until two readings a gap apart agree within the tolerance: the
 * first reading after a batch sits up to ~370 KB above where the heap comes to rest (timers and socket
 * closes still in flight), so judging it would call noise a leak (docs/measurements.md#gc-settling).
 */
async function settledSample(gc: GcFunction | null, options: SettleOptions) {
  const started = process.hrtime.bigint();
  const deadline = Date.now() + options.maxMs;
  let reading = await collectAndRead(gc, options.maxGcPasses);
  let passes = reading.passes;
  let rounds = 1;
  let settled = false;
  while (gc && Date.now() + options.gapMs < deadline) {
    await pause(options.gapMs);
    const next = await collectAndRead(gc, options.maxGcPasses);
    passes += next.passes;
    rounds++;
    const moved = Math.abs(next.memory.heapUsed - reading.memory.heapUsed);
    reading = next;
    if (moved <= options.toleranceBytes) {
      settled = true;
      break;
    }
  }
  const memory = reading.memory;
  const code = v8.getHeapCodeStatistics();
  return {
    pid: process.pid,
    heapUsedBytes: memory.heapUsed,
    compiledCodeBytes: code.code_and_metadata_size + code.bytecode_and_metadata_size,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    rssBytes: memory.rss,
    resources: countResources(),
    gcPasses: passes,
    rounds,
    settled,
    sampleMs: Number(process.hrtime.bigint() - started) / 1e6,
  };
}

function clamp(value: unknown, min: number, max: number, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? Math.max(min, Math.min(max, value)) : fallback;
}

function start(): void {
  const socketPath = process.env[SOCKET_ENV];
  const token = process.env[TOKEN_ENV];
  if (!socketPath || !token || !workerThreads.isMainThread) return;
  const gc = obtainGc();
  const socket = net.connect(socketPath);
  socket.unref();
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => {
    socket.write(
      JSON.stringify({
        type: 'hello',
        token,
        label: process.env[LABEL_ENV] ?? '',
        pid: process.pid,
        ppid: process.ppid,
        argv: process.argv,
        nodeVersion: process.version,
        gc: gc !== null,
      }) + '\n',
    );
  });
  let buffered = '';
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      void answer(line);
    }
  });

  async function answer(line: string): Promise<void> {
    let id = -1;
    try {
      const request = JSON.parse(line) as { id: number; cmd: string; path?: string } & Partial<SettleOptions>;
      id = request.id;
      if (request.cmd === 'snapshot' && typeof request.path === 'string') {
        // Blocks this process while it writes (about 1 s per 20 MB of heap here). The folder is 0700;
        // the file is owner-only too: a snapshot holds whatever the server held, secrets included.
        const started = Date.now();
        const file = v8.writeHeapSnapshot(request.path);
        fs.chmodSync(file, 0o600);
        const snapshot = { pid: process.pid, path: file, ms: Date.now() - started, bytes: fs.statSync(file).size };
        if (!socket.destroyed) socket.write(JSON.stringify({ id, ok: true, snapshot }) + '\n');
        return;
      }
      if (request.cmd !== 'sample') throw new Error(`unknown command ${request.cmd}`);
      const sample = await settledSample(gc, {
        maxGcPasses: clamp(request.maxGcPasses, 1, 20, 6),
        toleranceBytes: clamp(request.toleranceBytes, 0, 1e9, 16 * 1024),
        gapMs: clamp(request.gapMs, 0, 5000, 100),
        maxMs: clamp(request.maxMs, 0, 60_000, 2000),
      });
      if (!socket.destroyed) socket.write(JSON.stringify({ id, ok: true, sample }) + '\n');
    } catch (error) {
      if (!socket.destroyed) {
        socket.write(JSON.stringify({ id, ok: false, error: String((error as Error)?.message ?? error) }) + '\n');
      }
    }
  }
}

try {
  start();
} catch {
  // Never break the target.
}
