/**
 * Targets that fail: never listen, answer 404/500 on the stream path, or die mid-run. Each is reported by
 * name with a clear message (and the target's last stderr lines), the run exits 3, and the other targets
 * are still measured and reported.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeOf } from '../src/cli.js';
import { defaultRequest } from '../src/load/request.js';
import { parseScenario } from '../src/load/scenario.js';
import { renderMarkdown } from '../src/report/markdown.js';
import { renderTerminal } from '../src/report/terminal.js';
import { runLeakcheck } from '../src/run/engine.js';
import type { TargetSpec } from '../src/targets/target.js';
import { tempDir } from './helpers.js';

const FIXTURE = path.resolve(__dirname, 'fixtures/planted-leak-server.mjs');

const small = parseScenario(
  JSON.stringify({
    name: 'small',
    warmupClients: 0,
    cycles: 2,
    clients: 40,
    concurrency: 10,
    mix: [{ behaviour: 'leave-after-events', events: 2, weight: 1 }],
  }),
  '/virtual/small.json',
);

function fixture(name: string, env: Record<string, string>, overrides: Partial<TargetSpec> = {}): TargetSpec {
  return {
    name,
    origin: 'user',
    expect: 'clean',
    probe: 'node',
    command: process.execPath,
    args: [FIXTURE],
    shell: false,
    request: defaultRequest('/chat/stream/{id}'),
    workersGauge: false,
    env,
    ...overrides,
  };
}

function run(targets: TargetSpec[], startTimeoutMs = 5000, snapshotDir: string | null = null) {
  return runLeakcheck({
    targets,
    scenarios: [small],
    seed: 1,
    upstream: { tokens: 20, intervalMs: 5 },
    startTimeoutMs,
    settleMs: 50,
    snapshotDir,
  });
}

describe('targets that fail', () => {
  it('a target that dies mid-run is named with its exit code and stderr; the others are still reported; exit 3', async () => {
    const report = await run([fixture('dies', { DIE_AFTER: '30' }), fixture('fine', {})]);
    const died = report.problems.find((p) => p.target === 'dies');
    expect(died?.code).toBe('LEAKCHECK_TARGET_DIED');
    expect(died?.message).toMatch(/target dies died during the run \(exit code 9\)/);
    expect(died?.stderrTail?.join('\n')).toMatch(/dying after 30 requests/);
    const fine = report.targets.find((t) => t.name === 'fine');
    expect(fine?.scenarios).toHaveLength(1);
    expect(fine?.scenarios[0]?.disconnects).toBeGreaterThan(0);
    expect(report.complete).toBe(false);
    expect(exitCodeOf(report)).toBe(3);
  });

  it('a target that never listens fails within the start timeout with a clear message; exit 3', async () => {
    const started = Date.now();
    const report = await run([fixture('deaf', {}, { args: ['-e', 'setInterval(() => {}, 1000)'] })], 1500);
    expect(Date.now() - started).toBeLessThan(10_000);
    const problem = report.problems.find((p) => p.target === 'deaf');
    expect(problem?.code).toBe('LEAKCHECK_TARGET_START');
    expect(problem?.message).toMatch(/did not accept connections on 127\.0\.0\.1:\d+ within 1500 ms/);
    expect(exitCodeOf(report)).toBe(3);
  });

  it('a target answering 404 or 500 on the stream path is refused before any load; exit 3', async () => {
    const report = await run([
      fixture('wrong-path', {}, { request: defaultRequest('/v2/stream/{id}') }),
      fixture('broken', { FAIL_STATUS: '500' }),
    ]);
    const wrong = report.problems.find((p) => p.target === 'wrong-path');
    const broken = report.problems.find((p) => p.target === 'broken');
    expect(wrong?.message).toMatch(/answers 404 to GET \/v2\/stream\/preflight-\d+: no such route \(set the stream route with --path/);
    expect(broken?.message).toMatch(/answers 500 to GET \/chat\/stream\/preflight-\d+; it said: planted failure$/);
    expect(exitCodeOf(report)).toBe(3);
  });

  it('a target that exits at once is reported with its exit code', async () => {
    const report = await run([fixture('quitter', {}, { args: ['-e', "console.error('config missing'); process.exit(4)"] })]);
    const problem = report.problems.find((p) => p.target === 'quitter');
    expect(problem?.message).toMatch(/exited before listening \(exit code 4\)/);
    expect(problem?.stderrTail).toContain('config missing');
  });

  it('a leak whose heap snapshots cannot be read keeps its verdict and says why "what leaked" is missing', async () => {
    const dir = await tempDir('truncated-snapshots');
    try {
      const report = await run([fixture('cut', { LEAK_BYTES: '8192', TRUNCATE_SNAPSHOTS: '1' }, { expect: 'leak' })], 5000, dir);
      expect(report.problems).toEqual([]);
      expect(exitCodeOf(report)).toBe(0);
      const [cut] = report.targets;
      expect(cut?.verdict).toBe('leak');
      const result = cut!.scenarios[0]!;
      expect(result.attribution).toBeNull();
      expect(result.attributionProblem).toMatch(/reading the heap snapshots failed/);
      expect(renderTerminal(report, { color: false })).toMatch(/small: what leaked: not known \(reading the heap snapshots failed: /);
      expect(renderMarkdown(report)).toMatch(/what leaked: not known/);
      // Snapshots no report refers to are removed.
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
