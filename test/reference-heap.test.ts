/**
 * The reference pair measured the way a run measures it: the probe injected at start, a settled forced
 * GC inside each server, 200 clients leaving mid-stream. Old must keep >= 2 KB of heap, one handle and
 * one live worker per disconnect; new must keep none of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBatch } from '../src/load/clients.js';
import { defaultRequest } from '../src/load/request.js';
import { ProbeHub } from '../src/probe/hub.js';
import { createProbes } from '../src/probe/registry.js';
import { startTarget } from '../src/targets/spawned.js';
import { ProcessSupervisor } from '../src/targets/supervisor.js';
import { builtinTarget } from '../src/targets/target.js';
import { startUpstream, type RunningUpstream } from '../src/targets/upstream.js';

const DISCONNECTS = 200;
const WARM_UP = 600;
const supervisor = new ProcessSupervisor();
let hub: ProbeHub;
let upstream: RunningUpstream;

beforeAll(async () => {
  hub = await ProbeHub.start();
  upstream = await startUpstream(supervisor, { tokens: 200, intervalMs: 5, startTimeoutMs: 10_000 });
});
afterAll(async () => {
  await supervisor.stopAll();
  await hub.close();
});

async function measure(which: 'old' | 'new') {
  const target = await startTarget(builtinTarget(which), {
    supervisor,
    probes: createProbes(hub),
    upstreamUrl: upstream.baseUrl,
    startTimeoutMs: 10_000,
    instance: `heap-${which}`,
  });
  try {
    const endpoint = { origin: target.origin, request: defaultRequest('/chat/stream/{id}') };
    const leave = (n: number) => Array.from({ length: n }, () => ({ kind: 'leave-after-events' as const, events: 3 }));
    await runBatch(endpoint, leave(WARM_UP), { concurrency: 50, arrivalRate: 0, idPrefix: `${which}-warm` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = (await target.sample()).values;
    const outcome = await runBatch(endpoint, leave(DISCONNECTS), { concurrency: 50, arrivalRate: 0, idPrefix: `${which}-measured` });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const after = (await target.sample()).values;
    return { before, after, outcome };
  } finally {
    await target.stop();
  }
}

describe('reference pair, heap after a forced GC (through the probe)', () => {
  it('old retains >= 2 KB of heap, one handle and one live worker per disconnect', async () => {
    const { before, after, outcome } = await measure('old');
    expect(outcome.disconnects).toBe(DISCONNECTS);
    const heapPerDisconnect = (after.heapUsedBytes! - before.heapUsedBytes!) / DISCONNECTS;
    console.info(`old: ${heapPerDisconnect.toFixed(0)} B of heap and ${(after.handles! - before.handles!) / DISCONNECTS} handles per disconnect`);
    expect(heapPerDisconnect).toBeGreaterThanOrEqual(2048);
    expect(after.handles! - before.handles!).toBeGreaterThanOrEqual(DISCONNECTS);
    expect(after.liveWorkers! - before.liveWorkers!).toBe(DISCONNECTS);
  });

  it('new retains nothing per disconnect: workers 0, handles back to baseline, heap within noise', async () => {
    const { before, after, outcome } = await measure('new');
    expect(outcome.disconnects).toBe(DISCONNECTS);
    const heapPerDisconnect = (after.heapUsedBytes! - before.heapUsedBytes!) / DISCONNECTS;
    console.info(`new: ${heapPerDisconnect.toFixed(0)} B of heap per disconnect`);
    expect(after.liveWorkers).toBe(0);
    expect(Math.abs(after.handles! - before.handles!)).toBeLessThanOrEqual(2);
    // A young clean server still drifts (V8 compiling code: up to ~550 B per disconnect over 600, and
    // ±100 KB of noise, ±500 B over these 200; docs/measurements.md#compiled-code); old keeps ~42 KB.
    // 2 KB separates them with room.
    expect(heapPerDisconnect).toBeLessThan(2048);
  });
});
