import { describe, expect, it } from 'vitest';
import { parseScenario } from '../load/scenario.js';
import { NODE_DESCRIPTION } from '../probe/node.js';
import type { MetricJudgement, Verdict } from '../analysis/index.js';
import type { ScenarioResult } from '../report/types.js';
import { ARM_CLIENTS, armsOf, breakDown } from './breakdown.js';

const mixed = parseScenario(
  JSON.stringify({
    name: 'mixed',
    warmupClients: 1400,
    cycles: 4,
    clients: 600,
    concurrency: 50,
    mix: [
      { behaviour: 'leave-before-first-byte', weight: 2 },
      { behaviour: 'stall-then-leave', afterEvents: 2, stallMs: 100, weight: 1 },
      { behaviour: 'complete', weight: 0.25 },
    ],
    steadyLoad: { connections: 2 },
  }),
  'mixed.json',
);

const metric = (key: string, perDisconnect: number, verdict: Verdict): MetricJudgement => ({
  key, label: key, unit: key === 'handles' ? 'count' : 'bytes', decisive: true, verdict, perDisconnect,
  ci95: [perDisconnect, perDisconnect], cycleRates: [], totalGrowth: 0, disconnects: 400, reason: 'r',
});

function result(verdict: Verdict, bytes: number, handles = 0): ScenarioResult {
  return {
    scenario: 'mixed', control: false, probe: 'node', probeDescription: NODE_DESCRIPTION, attribution: null,
    expect: 'leak', verdict, expectationMet: verdict === 'leak', reason: `mix ${verdict}`, cyclesRun: 4,
    per: 'disconnect', disconnects: 400, completed: 0, endedEarly: 0, errors: { total: 0, byKind: {}, examples: [] },
    metrics: [metric('heapUsedBytes', bytes, verdict), metric('handles', handles, 'clean')], handleGrowthByType: {},
    goroutineGrowth: null, breakdown: null, samples: [], upstream: null, steadyLoad: null, disconnectsPerSec: 1,
    startedAt: '2026-12-02T00:00:00.000Z', durationMs: 1000, decidedAfter: { disconnects: 1200, ms: 900 },
  };
}

describe('breaking a mixed scenario down by way of hanging up', () => {
  it('makes one small arm per leaving behaviour, with a short warm-up and no steady load', () => {
    const arms = armsOf(mixed);
    expect(arms.map((a) => a.name)).toEqual(['mixed.leave-before-first-byte', 'mixed.stall-then-leave']);
    expect(arms.map((a) => a.description)).toEqual(['leave-before-first-byte', 'stall-then-leave (after 2 events, 100 ms)']);
    expect(arms[1]).toMatchObject({ clients: ARM_CLIENTS, warmupClients: 400, steadyLoad: null, mix: [{ weight: 1 }] });
  });

  it('turns an inconclusive mix into a leak named after the arm that leaks', async () => {
    const mix = result('inconclusive', 143);
    const measured: string[] = [];
    await breakDown(mixed, mix, 'auto', async (arm) => {
      measured.push(arm.name);
      return arm.name.endsWith('stall-then-leave') ? result('leak', 2200, 0.02) : result('clean', 3);
    });
    expect(measured).toHaveLength(2);
    expect(mix.verdict).toBe('leak');
    // Decided by the arms: their disconnects and time count toward the verdict.
    expect(mix.decidedAfter).toEqual({ disconnects: 3 * 1200, ms: 900 + 2 * 1000 });
    expect(mix.expectationMet).toBe(true);
    expect(mix.reason).toBe('leaks when: stall-then-leave +2.2 KB, +0.02 handles per disconnect; leave-before-first-byte clean (the mix alone was inconclusive: mix inconclusive)');
    expect(mix.breakdown?.map((a) => [a.kind, a.verdict, a.bytesPerDisconnect])).toEqual([
      ['leave-before-first-byte', 'clean', 3],
      ['stall-then-leave', 'leak', 2200],
    ]);
    expect(mix.durationMs).toBe(3000);
  });

  it('keeps an inconclusive mix inconclusive when no arm leaks on its own, and says so', async () => {
    const mix = result('inconclusive', 100);
    await breakDown(mixed, mix, 'auto', async () => result('clean', 1));
    expect(mix.verdict).toBe('inconclusive');
    expect(mix.reason).toMatch(/no single way of leaving leaks on its own: leave-before-first-byte clean; stall-then-leave clean$/);
  });

  it("breaks down an unmistakable early leak only when asked ('always'); never a clean result, a control, or with 'never'", async () => {
    let arms = 0;
    const count = async () => (arms++, result('leak', 40_000, 1));
    // Decided after 2 of 4 cycles (or in the warm-up): 'auto' leaves it.
    await breakDown(mixed, { ...result('leak', 40_000, 1), cyclesRun: 2 }, 'auto', count);
    await breakDown(mixed, result('clean', 1), 'always', count);
    await breakDown(mixed, { ...result('inconclusive', 1), control: true }, 'always', count);
    await breakDown(mixed, result('inconclusive', 1), 'never', count);
    expect(arms).toBe(0);
    const leak = result('leak', 40_000, 1);
    await breakDown(mixed, leak, 'always', count);
    expect(arms).toBe(2);
    expect(leak.reason).toMatch(/^leaks when: leave-before-first-byte \+40 KB, \+1\.00 handles per disconnect; stall-then-leave .*\(the mix: mix leak\)$/);
  });

  it("breaks down a leak that needed every planned cycle: one way of leaving may cause it, diluted by the rest", async () => {
    const mix = result('leak', 180, 0.09);
    await breakDown(mixed, mix, 'auto', async (arm) => (arm.name.endsWith('stall-then-leave') ? result('leak', 2200, 1) : result('clean', 3)));
    expect(mix.breakdown).toHaveLength(2);
    expect(mix.reason).toMatch(/^leaks when: stall-then-leave \+2\.2 KB, \+1\.00 handles per disconnect; leave-before-first-byte clean \(the mix: mix leak\)$/);
  });

  it('breaks down a leak of held resources that only some disconnects leave, however early it was decided', async () => {
    let arms = 0;
    const count = async () => (arms++, result('clean', 3));
    const tasks = (perDisconnect: number): ScenarioResult => ({
      ...result('leak', 600, 0),
      cyclesRun: 2,
      metrics: [metric('heapUsedBytes', 600, 'leak'), metric('handles', perDisconnect, 'leak')],
    });
    // One socket per disconnect, as the reference old: every way of leaving leaks, nothing to break down.
    await breakDown(mixed, tasks(1), 'auto', count);
    expect(arms).toBe(0);
    // 0.26 per disconnect, decided after 2 of 4 cycles: a quarter of the clients leave one.
    const partial = tasks(0.26);
    await breakDown(mixed, partial, 'auto', count);
    expect(arms).toBe(2);
    expect(partial.breakdown).toHaveLength(2);
  });

  it('a single-behaviour scenario has nothing to break down', () => {
    const single = parseScenario(JSON.stringify({ name: 'one', warmupClients: 0, cycles: 2, clients: 10, concurrency: 2, mix: [{ behaviour: 'leave-after-events', events: 2, weight: 1 }] }), 'one.json');
    expect(armsOf(single)).toHaveLength(1);
  });
});
