import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NODE_DESCRIPTION } from '../probe/node.js';
import { GO_DESCRIPTION } from '../probe/go.js';
import type { MetricJudgement, Verdict } from './types.js';
import type { SampleRow, ScenarioResult } from '../report/types.js';
import { NODE_METRICS } from './thresholds.js';
import {
  afterCycle,
  budgetsExceeded,
  decidingScenario,
  EXTRA_CYCLES_MIN,
  extraCycles,
  growthByKind,
  judgeRows,
  reasonWithEnding,
  seriesOf,
  summariseTarget,
  unmistakableLeak,
  unmistakablyClean,
} from './policy.js';

/** The reference pair's series from one real default run (see the file's `recorded`). */
const recorded = JSON.parse(readFileSync(new URL('../../test/fixtures/series/default-run.json', import.meta.url), 'utf8')) as {
  targets: Record<'old' | 'new', { verdict: Verdict; reason: string; samples: SampleRow[] }>;
};
const oldRows = recorded.targets.old.samples;
const newRows = recorded.targets.new.samples;

describe('judging recorded rows', () => {
  it('gives the recorded verdicts and reasons again', () => {
    expect(judgeRows(oldRows, NODE_METRICS).verdict).toBe('leak');
    expect(recorded.targets.old.reason.startsWith(judgeRows(oldRows, NODE_METRICS).reason)).toBe(true);
    expect(judgeRows(newRows, NODE_METRICS)).toMatchObject({ verdict: 'clean', reason: recorded.targets.new.reason });
  });

  it('judges only keys every row holds and a spec names (compiled code is recorded, never judged)', () => {
    const series = seriesOf(newRows, NODE_METRICS);
    expect(Object.keys(series)).toEqual(['heapUsedBytes', 'externalBytes', 'arrayBuffersBytes', 'rssBytes', 'handles', 'liveWorkers']);
    const gappy = newRows.map((row, i) => (i === 2 ? { ...row, externalBytes: undefined } : row));
    expect(Object.keys(seriesOf(gappy, NODE_METRICS))).not.toContain('externalBytes');
  });
});

describe('early stop', () => {
  it("calls old's two warm-up chunks an unmistakable leak and new's series not", () => {
    expect(unmistakableLeak(oldRows, NODE_METRICS)).toBe(true);
    expect(unmistakableLeak(newRows.slice(0, 3), NODE_METRICS)).toBe(false);
  });

  it('does not stop on a leak only a little above its threshold', () => {
    // 300 B per disconnect: a leak (128 B threshold), but its CI's lower bound is far below 10 × 128 B.
    const rows = [0, 600, 1200, 1800].map((x, i) => ({ ...newRows[0]!, x, heapUsedBytes: newRows[0]!.heapUsedBytes! + x * 300 + (i % 2) * 3000 }));
    expect(judgeRows(rows, NODE_METRICS).verdict).toBe('leak');
    expect(unmistakableLeak(rows, NODE_METRICS)).toBe(false);
  });

  it('stops only after the minimum cycles and before the planned last one; extends an inconclusive series once', () => {
    expect(afterCycle(oldRows.slice(0, 2), NODE_METRICS, 1, 4, 0)).toEqual({ next: 'continue' });
    expect(afterCycle(oldRows, NODE_METRICS, 2, 4, 0)).toEqual({ next: 'stop', because: 'leak' });
    expect(afterCycle(oldRows, NODE_METRICS, 4, 4, 0)).toEqual({ next: 'continue' });
    expect(afterCycle(newRows, NODE_METRICS, 4, 4, 0)).toEqual({ next: 'continue' });
    // new's series with ~180 B per disconnect on top, swinging ±200 KB between cycles: cannot tell at 4 cycles.
    const swinging = newRows.map((row, i) => ({ ...row, heapUsedBytes: row.heapUsedBytes! + [0, 300_000, 100_000, 400_000, 470_000][i]! }));
    expect(judgeRows(swinging, NODE_METRICS).verdict).toBe('inconclusive');
    expect(afterCycle(swinging, NODE_METRICS, 4, 4, 0)).toEqual({ next: 'extend', by: 4 });
    expect(afterCycle(swinging, NODE_METRICS, 4, 4, 4)).toEqual({ next: 'continue' });
    expect(extraCycles(1)).toBe(EXTRA_CYCLES_MIN);
  });

  it("stops new's recorded series clean after two cycles, and never a leak at twice the threshold", () => {
    const twoCycles = newRows.slice(0, 3);
    expect(unmistakablyClean(twoCycles, NODE_METRICS)).toBe(true);
    expect(afterCycle(twoCycles, NODE_METRICS, 2, 4, 0)).toEqual({ next: 'stop', because: 'clean' });
    // Not after one cycle, and not on the planned last one (that is the verdict's own business).
    expect(afterCycle(newRows.slice(0, 2), NODE_METRICS, 1, 4, 0)).toEqual({ next: 'continue' });
    expect(afterCycle(newRows.slice(0, 3), NODE_METRICS, 2, 2, 0)).toEqual({ next: 'continue' });
    // 256 B per disconnect on top of new's own swings, however the noise falls: never stopped clean.
    for (const swing of [-60_000, -30_000, 0, 30_000, 60_000]) {
      const leaking = twoCycles.map((row, i) => ({ ...row, heapUsedBytes: row.heapUsedBytes! + row.x * 256 + (i === 2 ? swing : 0) }));
      expect(unmistakablyClean(leaking, NODE_METRICS)).toBe(false);
    }
  });

  it('does not stop clean when the last cycle grew at leak pace, or on cycles too short for a leak to clear the noise', () => {
    const base = newRows[0]!;
    const at = (x: number, heap: number) => ({ ...base, x, heapUsedBytes: base.heapUsedBytes! + heap });
    // Fell 150 KB, then grew 90 KB (150 B per disconnect): clean overall, but growth resumed at the end.
    const resumed = [at(0, 0), at(600, -150_000), at(1200, -60_000)];
    expect(judgeRows(resumed, NODE_METRICS).verdict).toBe('clean');
    expect(unmistakablyClean(resumed, NODE_METRICS)).toBe(false);
    // Cycles of 200: 128 B per disconnect adds 26 KB, within the 50 KB floor: flat is no evidence yet.
    const short = [at(0, 0), at(200, 10_000), at(400, 5_000)];
    expect(judgeRows(short, NODE_METRICS).verdict).toBe('clean');
    expect(unmistakablyClean(short, NODE_METRICS)).toBe(false);
    // A slope between half the threshold and the threshold is clean at the end, not early.
    const drifting = [at(0, 0), at(600, 45_000), at(1200, 90_000)];
    expect(unmistakablyClean(drifting, NODE_METRICS)).toBe(false);
  });

  it('says how the verdict came about', () => {
    expect(reasonWithEnding('r', { how: 'planned' })).toBe('r');
    expect(reasonWithEnding('r', { how: 'stopped-early', after: 2, planned: 4 })).toBe('r; stopped after 2 of 4 cycles: the leak was unmistakable');
    expect(reasonWithEnding('r', { how: 'stopped-clean', after: 2, planned: 4 })).toMatch(/^r; stopped after 2 of 4 cycles: every decisive metric under half/);
    expect(reasonWithEnding('r', { how: 'extended', by: 4, cycles: 8, planned: 4 })).toBe('r; 8 cycles: extended by 4 after an inconclusive first 4');
    expect(reasonWithEnding('r', { how: 'decided-in-warm-up', chunks: 2, disconnects: 400 })).toBe('r; decided during warm-up: the leak was unmistakable after 2 chunks (400 disconnects)');
  });
});

describe('growth by kind', () => {
  it('keeps what changed, both ways, and drops what did not', () => {
    expect(growthByKind({ TCPSocketWrap: 5, Timeout: 2 }, { TCPSocketWrap: 1188, Timeout: 2, FSReqCallback: 1 })).toEqual({
      TCPSocketWrap: 1183,
      FSReqCallback: 1,
    });
    expect(growthByKind({ Timeout: 3 }, {})).toEqual({ Timeout: -3 });
  });
});

const metric = (key: string, perDisconnect: number, verdict: Verdict): MetricJudgement => ({
  key,
  label: key,
  unit: key.endsWith('Bytes') ? 'bytes' : 'count',
  decisive: true,
  verdict,
  perDisconnect,
  ci95: [perDisconnect - 1, perDisconnect + 1],
  cycleRates: [],
  totalGrowth: 0,
  disconnects: 1000,
  reason: 'r',
});

function result(scenario: string, verdict: Verdict, overrides: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    scenario,
    control: false,
    probe: 'node',
    probeDescription: NODE_DESCRIPTION,
    attribution: null,
    expect: 'clean',
    verdict,
    expectationMet: verdict === 'clean' || verdict === 'saturating',
    reason: `${verdict} because`,
    cyclesRun: 4,
    per: 'disconnect',
    disconnects: 1000,
    completed: 0,
    endedEarly: 0,
    errors: { total: 0, byKind: {}, examples: [] },
    metrics: [metric('heapUsedBytes', verdict === 'leak' ? 4000 : 10, verdict), metric('handles', 0.001, 'clean')],
    handleGrowthByType: {},
    goroutineGrowth: null,
    breakdown: null,
    samples: newRows,
    upstream: null,
    steadyLoad: null,
    disconnectsPerSec: 100,
    startedAt: '2026-12-02T00:00:00.000Z',
    durationMs: 1,
    decidedAfter: { disconnects: 1000, ms: 1 },
    ...overrides,
  };
}

describe('a target summed up', () => {
  const identity = { name: 'api', origin: 'user' as const, probe: 'auto', expect: 'clean' as const };

  it('takes the worst scenario, and among equals a disconnect scenario over a control', () => {
    const control = result('control', 'clean', { control: true, per: 'stream' });
    const mixed = result('mixed', 'clean');
    expect(decidingScenario([control, mixed])?.scenario).toBe('mixed');
    expect(decidingScenario([mixed, result('after-ms', 'leak'), result('reset', 'inconclusive')])?.scenario).toBe('after-ms');
    expect(decidingScenario([])).toBeNull();
  });

  it("reports the deciding scenario's figures through the probe's description", () => {
    const summary = summariseTarget(identity, [result('control', 'clean', { control: true }), result('mixed', 'leak')], {});
    expect(summary).toMatchObject({
      verdict: 'leak',
      expectationMet: false,
      decidingScenario: 'mixed',
      reason: 'mixed: leak because',
      probe: 'node',
      disconnects: 2000,
      heap: { bytesPerDisconnect: 4000, ci95: [3999, 4001] },
      handles: { perDisconnect: 0.001 },
    });
    // A Go result's heap is HeapAlloc and it has no handle figure.
    const go = result('mixed', 'clean', { probe: 'go', probeDescription: GO_DESCRIPTION, metrics: [metric('heapAllocBytes', 12, 'clean'), metric('goroutines', 0, 'clean')] });
    expect(summariseTarget(identity, [go], {})).toMatchObject({ heap: { bytesPerDisconnect: 12 }, handles: { perDisconnect: null } });
    expect(summariseTarget(identity, [], {})).toMatchObject({ verdict: 'inconclusive', expectationMet: false, reason: 'no scenario finished', probe: 'auto' });
  });

  it("judges a target's expectation on its verdict: a leak expected is met though another scenario was inconclusive", () => {
    const stalled = result('stalled-reader', 'leak', { expect: 'leak', expectationMet: true });
    const mixed = result('mixed', 'inconclusive', { expect: 'leak', expectationMet: false });
    expect(summariseTarget({ ...identity, expect: 'leak' }, [stalled, mixed], {})).toMatchObject({ verdict: 'leak', expectationMet: true });
    expect(summariseTarget(identity, [result('mixed', 'clean'), result('after-ms', 'inconclusive')], {})).toMatchObject({
      verdict: 'inconclusive',
      expectationMet: false,
    });
  });

  it('holds targets expected clean to their budgets, and a positive control to none', () => {
    const results = [result('mixed', 'clean', { metrics: [metric('heapUsedBytes', 300, 'clean'), metric('handles', 0.05, 'clean')] })];
    expect(budgetsExceeded('clean', results, { maxBytesPerDisconnect: 256, maxHandlesPerDisconnect: 0.01 })).toEqual([
      'mixed: 300 bytes per disconnect > --max-bytes-per-disconnect 256',
      'mixed: 0.050 handles per disconnect > --max-handles-per-disconnect 0.01',
    ]);
    expect(budgetsExceeded('clean', results, { maxBytesPerDisconnect: 300 })).toEqual([]);
    expect(budgetsExceeded('leak', results, { maxBytesPerDisconnect: 1 })).toEqual([]);
  });
});
