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
import net = require('node:net');
import v8 = require('node:v8');
import vm = require('node:vm');
import workerThreads = require('node:worker_threads');

const SOCKET_ENV = 'STREAMER_LEAKCHECK_PROBE_SOCKET';
const TOKEN_ENV = 'STREAMER_LEAKCHECK_PROBE_TOKEN';
const LABEL_ENV = 'STREAMER_LEAKCHECK_PROBE_LABEL';

/**
 * A settled heap needs several full collections: one gc() leaves objects whose finalizers or weak
 * callbacks free more on the next pass (FIELD-NOTES: one gc() does not settle). Stop when a pass frees
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

function countResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function settledSample(gc: GcFunction | null, maxGcPasses: number) {
  const started = process.hrtime.bigint();
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
  const memory = process.memoryUsage();
  return {
    pid: process.pid,
    heapUsedBytes: memory.heapUsed,
    heapTotalBytes: memory.heapTotal,
    externalBytes: memory.external,
    arrayBuffersBytes: memory.arrayBuffers,
    rssBytes: memory.rss,
    resources: countResources(),
    gcPasses: passes,
    sampleMs: Number(process.hrtime.bigint() - started) / 1e6,
  };
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
      const request = JSON.parse(line) as { id: number; cmd: string; maxGcPasses?: number };
      id = request.id;
      if (request.cmd !== 'sample') throw new Error(`unknown command ${request.cmd}`);
      const sample = await settledSample(gc, Math.max(1, Math.min(20, request.maxGcPasses ?? 6)));
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
