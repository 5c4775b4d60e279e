/**
 * The run's phases and rules with the target and the batch driver injected: no process, no socket. A
 * fake target's figures are a pure function of the disconnects it was sent (plus recorded-size noise),
 * so each test says exactly what the series is and checks what the run does with it: stop during the
 * warm-up, run the planned cycles, extend, collect evidence in order, and give up cleanly when the
 * target dies.
 */
import { describe, expect, it } from 'vitest';
import { EARLY_PROBE_CLIENTS, EARLY_STOP_MIN_CYCLES, EXTRA_CYCLES_MIN } from '../analysis/policy.js';
import { TargetDiedError } from '../core/errors.js';
import type { BatchOutcome } from '../load/clients.js';
import { defaultRequest } from '../load/request.js';
import { parseScenario, type Scenario } from '../load/scenario.js';
import { NODE_DESCRIPTION } from '../probe/node.js';
import type { Evidence, Probe } from '../probe/probe.js';
import { NODE_METRICS, type Verdict } from '../analysis/index.js';
import type { ScenarioResult } from '../report/types.js';
import type { Target, TargetSample } from '../targets/target.js';
import { DEATH_AFTER_FAILURE_MS, guardedBy, measureScenario, type MeasureDeps } from './measure.js';

function scenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario(
    JSON.stringify({
      name: 'mixed',
      description: 'test',
      warmupClients: 1400,
      cycles: 4,
      clients: 600,
      concurrency: 50,
      arrivalRate: 0,
      control: false,
      mix: [{ behaviour: 'leave-after-events', events: 5, weight: 1 }],
      steadyLoad: null,
      ...overrides,
    }),
    'test.json',
  );
}

const probe: Probe = {
  name: 'node',
  description: NODE_DESCRIPTION,
  metrics: NODE_METRICS,
  envFor: () => ({}),
  detect: async () => null,
  missing: () => '',
};

interface FakeServer {
  /** Heap and handles kept per disconnect, and the heap's wobble per sample (alternating ±). */
  bytesPerDisconnect: number;
  handlesPerDisconnect: number;
  noiseBytes?: number;
  /** Rejects `died` once this many disconnects have been sent. */
  diesAfter?: number;
  /** Once dead, samples fail at once with a plain error and `died` rejects this much later. */
  deathSeenAfterMs?: number;
}

/** A target and batch driver whose figures follow `server`, recording every call in `calls`. */
function fake(server: FakeServer, options: { evidence?: boolean } = {}) {
  const calls: string[] = [];
  let disconnects = 0;
  let samples = 0;
  let dead = false;
  let kill: (error: Error) => void = () => {};
  const died = new Promise<never>((_, reject) => (kill = reject));
  died.catch(() => {});
  const evidence: Evidence = {
    start: async () => void calls.push('evidence:start'),
    end: async (verdict: Verdict) => void calls.push(`evidence:end:${verdict}`),
    conclude: (result: ScenarioResult) => {
      calls.push('evidence:conclude');
      result.attribution = { pid: 1, snapshots: [], snapshotMs: 0, analysisMs: 0, retained: [] };
      return null;
    },
    discard: async () => void calls.push('evidence:discard'),
  };
  const target: Target = {
    spec: { name: 'fake', origin: 'user', expect: 'clean', probe: 'node', command: '', args: [], shell: false, request: defaultRequest('/'), workersGauge: false },
    origin: 'http://127.0.0.1:9',
    probe,
    died,
    sample: async (): Promise<TargetSample> => {
      calls.push('sample');
      if (dead) throw new Error('the inspector session closed');
      const wobble = (samples++ % 2 === 0 ? 1 : -1) * (server.noiseBytes ?? 0);
      return {
        atMs: samples,
        values: {
          heapUsedBytes: 40e6 + disconnects * server.bytesPerDisconnect + wobble,
          handles: 10 + Math.round(disconnects * server.handlesPerDisconnect),
          rssBytes: 90e6,
        },
        breakdown: { TCPSocketWrap: 5 + Math.round(disconnects * server.handlesPerDisconnect) },
        processes: [{ pid: 1, rssBytes: 90e6 }],
      };
    },
    evidence: () => (options.evidence === false ? null : evidence),
    stop: async () => ({ stillListening: [] }),
  };
  const batch = async (label: string, count: number): Promise<BatchOutcome> => {
    calls.push(`batch:${label}:${count}`);
    disconnects += count;
    if (server.diesAfter !== undefined && disconnects >= server.diesAfter) {
      const death = new TargetDiedError('fake', { code: 1, signal: null }, []);
      if (server.deathSeenAfterMs === undefined) {
        kill(death);
        return new Promise<never>(() => {});
      }
      dead = true;
      setTimeout(() => kill(death), server.deathSeenAfterMs);
    }
    return {
      clients: count,
      disconnects: count,
      completed: 0,
      endedEarly: 0,
      eventsReceived: count * 5,
      byBehaviour: {},
      errors: { total: 0, byKind: {}, examples: [] },
      durationMs: count,
      framing: 'sse',
    };
  };
  const deferred: Promise<void>[] = [];
  const deps: MeasureDeps = {
    batch,
    settle: async () => {},
    upstreamStats: async () => null,
    steadyLoad: async (connections, signal) => {
      calls.push(`steady:${connections}`);
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      calls.push('steady:stopped');
      return { connections, requests: 10, completedStreams: 10, errors: 0, throughputStreamsPerSec: 1 };
    },
    evidence: { directory: null, name: 'fake-mixed' },
    quiet: async () => void calls.push('quiet'),
    defer: (work) => void deferred.push(work),
    phase: (name, cycle) => calls.push(`phase:${name}:${cycle}`),
  };
  return { target, deps, calls };
}

describe('measureScenario with an injected target', () => {
  it('decides an unmistakable leak of held resources in the warm-up\'s first two small chunks: no baseline, no cycles', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 42_000, handlesPerDisconnect: 1 });
    const result = await measureScenario(target, scenario(), deps);
    expect(result.verdict).toBe('leak');
    expect(result.reason).toContain(`decided during warm-up: the leak was unmistakable after ${EARLY_STOP_MIN_CYCLES} chunks (${2 * EARLY_PROBE_CLIENTS} disconnects)`);
    expect(result.cyclesRun).toBe(EARLY_STOP_MIN_CYCLES);
    expect(calls.filter((c) => c.startsWith('batch:'))).toEqual([`batch:warm-up-1.1:${EARLY_PROBE_CLIENTS}`, `batch:warm-up-1.2:${EARLY_PROBE_CLIENTS}`]);
    expect(calls).not.toContain('phase:baseline:0');
    // Growth by kind is read from the warm-up's first sample to its last.
    expect(result.handleGrowthByType).toEqual({ TCPSocketWrap: 400 });
    expect(result.disconnects).toBe(400);
    expect(result.decidedAfter.disconnects).toBe(400);
    expect(result.metrics.find((m) => m.key === 'handles')?.perDisconnect).toBeCloseTo(1, 5);
    // Memory is judged too, on the same three samples: the reference old's heap leak shows with its sockets.
    expect(result.metrics.find((m) => m.key === 'heapUsedBytes')?.verdict).toBe('leak');
  });

  it('calls a memory-only leak no sooner than after two chunks of a whole cycle (the bounded-store guard)', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 42_000, handlesPerDisconnect: 0 });
    const result = await measureScenario(target, scenario(), deps);
    expect(result.verdict).toBe('leak');
    expect(calls.filter((c) => c.startsWith('batch:'))).toEqual([
      `batch:warm-up-1.1:${EARLY_PROBE_CLIENTS}`,
      `batch:warm-up-1.2:${EARLY_PROBE_CLIENTS}`,
      `batch:warm-up-1:${600 - 2 * EARLY_PROBE_CLIENTS}`,
      'batch:warm-up-2:600',
    ]);
    expect(result.decidedAfter.disconnects).toBe(1200);
    // Judged on the chunk-sized samples only: 0, 600, 1200.
    expect(result.samples.map((row) => row.x)).toEqual([0, 600, 1200]);
  });

  it('runs a clean server through the rest of the warm-up, the baseline and two cycles, and stops there clean', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 2, handlesPerDisconnect: 0, noiseBytes: 8000 });
    const result = await measureScenario(target, scenario(), deps);
    expect(result.verdict).toBe('clean');
    expect(calls.filter((c) => c.startsWith('batch:'))).toEqual([
      `batch:warm-up-1.1:${EARLY_PROBE_CLIENTS}`,
      `batch:warm-up-1.2:${EARLY_PROBE_CLIENTS}`,
      'batch:warm-up-1:200',
      'batch:warm-up-2:600',
      'batch:warm-up-3:200',
      'batch:cycle-1:600',
      'batch:cycle-2:600',
    ]);
    // Counts restart at the baseline: the warm-up is not judged, but it counts toward the decision.
    expect(result.disconnects).toBe(1200);
    expect(result.decidedAfter.disconnects).toBe(1400 + 1200);
    expect(result.decidedAfter.ms).toBeLessThanOrEqual(result.durationMs);
    expect(result.samples.map((row) => row.x)).toEqual([0, 600, 1200]);
    expect(result.reason).toContain(`stopped after ${EARLY_STOP_MIN_CYCLES} of 4 cycles: every decisive metric under half its leak threshold`);
    // The baseline waits for other targets' snapshot reading, and comes after the whole warm-up.
    expect(calls.indexOf('quiet')).toBeGreaterThan(calls.indexOf('batch:warm-up-3:200'));
    expect(calls.indexOf('quiet')).toBeLessThan(calls.indexOf('phase:baseline:0'));
  });

  it('runs the planned cycles of a server clean only at the end (a slope over half the leak threshold)', async () => {
    // 80 B per disconnect: 48 KB a cycle, within the 50 KB floor, and a CI wholly under 128 B: clean, not early.
    const { target, deps, calls } = fake({ bytesPerDisconnect: 80, handlesPerDisconnect: 0 });
    const result = await measureScenario(target, scenario(), deps);
    expect(result.verdict).toBe('clean');
    expect(calls.filter((c) => c.startsWith('batch:cycle-'))).toEqual(['batch:cycle-1:600', 'batch:cycle-2:600', 'batch:cycle-3:600', 'batch:cycle-4:600']);
    expect(result.decidedAfter.disconnects).toBe(1400 + 2400);
    expect(result.reason).not.toContain('stopped');
    expect(result.reason).not.toContain('extended');
  });

  it('extends an inconclusive series once, by as many cycles as planned', async () => {
    // 100 B per disconnect with ±30 KB: growth per cycle sits at the noise floor, so 4 cycles cannot tell.
    const { target, deps, calls } = fake({ bytesPerDisconnect: 100, handlesPerDisconnect: 0, noiseBytes: 30_000 });
    const result = await measureScenario(target, scenario({ cycles: 2 }), deps);
    const cyclesRun = calls.filter((c) => c.startsWith('batch:cycle-')).length;
    expect(cyclesRun).toBe(2 + EXTRA_CYCLES_MIN);
    expect(result.cyclesRun).toBe(cyclesRun);
    expect(result.reason).toContain(`extended by ${EXTRA_CYCLES_MIN} after an inconclusive first 2`);
  });

  it('stops the cycles early on an unmistakable leak that the warm-up could not see', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 42_000, handlesPerDisconnect: 1 });
    const result = await measureScenario(target, scenario({ warmupClients: 0 }), deps);
    expect(result.verdict).toBe('leak');
    expect(result.reason).toContain(`stopped after ${EARLY_STOP_MIN_CYCLES} of 4 cycles`);
    expect(calls.filter((c) => c.startsWith('batch:cycle-'))).toHaveLength(EARLY_STOP_MIN_CYCLES);
  });

  it('collects evidence around the judged series: start after a sample, end knowing the verdict, then conclude and discard', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 2, handlesPerDisconnect: 0, noiseBytes: 1000 });
    const result = await measureScenario(target, scenario(), deps);
    const evidenceCalls = calls.filter((c) => c.startsWith('evidence:'));
    // Once at the warm-up's first sample, again at the baseline, then the end and the conclusion.
    expect(evidenceCalls).toEqual(['evidence:start', 'evidence:start', 'evidence:end:clean', 'evidence:conclude', 'evidence:discard']);
    expect(calls.indexOf('evidence:start')).toBeGreaterThan(calls.indexOf('sample'));
    expect(result.attribution).not.toBeNull();
  });

  it('runs the steady load beside the cycles only, and stops it before the verdict', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 2, handlesPerDisconnect: 0 });
    const result = await measureScenario(target, scenario({ steadyLoad: { connections: 3 } }), deps);
    expect(calls.indexOf('steady:3')).toBeGreaterThan(calls.indexOf('phase:baseline:0'));
    expect(calls.indexOf('steady:3')).toBeLessThan(calls.indexOf('batch:cycle-1:600'));
    expect(calls.indexOf('steady:stopped')).toBeGreaterThan(calls.indexOf('batch:cycle-4:600'));
    expect(result.steadyLoad).toMatchObject({ connections: 3, completedStreams: 10 });
  });

  it('rejects with the target\'s death mid-cycle and still discards its evidence', async () => {
    const { target, deps, calls } = fake({ bytesPerDisconnect: 2, handlesPerDisconnect: 0, diesAfter: 2000 });
    await expect(measureScenario(target, scenario(), deps)).rejects.toBeInstanceOf(TargetDiedError);
    expect(calls.at(-1)).toBe('evidence:discard');
  });

  it('reports a death seen only after a probe call failed as the death, not as the failure', async () => {
    const { target, deps } = fake({ bytesPerDisconnect: 2, handlesPerDisconnect: 0, diesAfter: 2000, deathSeenAfterMs: 300 });
    await expect(measureScenario(target, scenario(), deps)).rejects.toBeInstanceOf(TargetDiedError);
  });

  it('passes on a probe failure when the target does not die soon after it', async () => {
    const died = new Promise<never>(() => {});
    const started = Date.now();
    await expect(guardedBy(died, Promise.reject(new Error('the inspector session closed')))).rejects.toThrow('the inspector session closed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(DEATH_AFTER_FAILURE_MS - 50);
  });

  it('judges a control scenario per completed stream and expects it clean whatever the target expects', async () => {
    const { target, deps } = fake({ bytesPerDisconnect: 0, handlesPerDisconnect: 0 });
    const batch = deps.batch;
    deps.batch = async (label, count) => ({ ...(await batch(label, count)), disconnects: 0, completed: count });
    const result = await measureScenario({ ...target, spec: { ...target.spec, expect: 'leak' } }, scenario({ control: true, warmupClients: 0, mix: [{ behaviour: 'complete', weight: 1 }] }), deps);
    expect(result).toMatchObject({ per: 'stream', expect: 'clean', completed: 1200, disconnects: 0 });
    // Flat: stopped clean after two cycles, per completed stream as per disconnect.
    expect(result.samples.map((row) => row.x)).toEqual([0, 600, 1200]);
  });
});
