/**
 * A leak that only one way of hanging up causes, found by the default run and named. The server
 * (fixtures/stall-leak-server.py, asyncio) leaks a task only when a client stops reading during a large
 * event and then leaves: its writer waits for the transport to resume writing, which a lost transport
 * never does. In `mixed` 1 client in ~12 stalls, so the mix shows a fraction of a task per disconnect;
 * the breakdown measures each way of leaving alone and names the stall. Its fixed twin wakes the writer
 * on connection_lost and is clean. The standard library only: the python3 on PATH runs it.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { processesMentioning, runCli, tempDir } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');
const SERVER = path.join(FIXTURES, 'stall-leak-server.py');

describe('a leak only stalled readers cause', () => {
  it('the default run calls it a leak and names stall-then-leave; the fixed twin is clean', async () => {
    const out = await tempDir('stall');
    const json = path.join(out, 'report.json');
    const result = await runCli(
      [
        'run', '--seed', '1', '--no-report', '--no-progress', '--json', json,
        '--target', `leaky=python3 ${JSON.stringify(SERVER)}`, '--expect', 'leaky=leak',
        '--target', `fixed=VARIANT=fixed python3 ${JSON.stringify(SERVER)}`,
      ],
      { cwd: out, timeoutMs: 280_000, env: { RUN_MARK: out } },
    );
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    const [leaky, fixed] = report.targets;
    expect(report.problems).toEqual([]);

    // The default scenario, with no breakdown flag: the mix's leak is a fraction of a task per disconnect.
    const mix = leaky!.scenarios[0]!;
    expect(mix.scenario).toBe('mixed');
    expect(leaky!.verdict, mix.reason).toBe('leak');
    expect(leaky!.expectationMet).toBe(true);
    const tasks = mix.metrics.find((m) => m.key === 'pendingTasks')!;
    expect(tasks.verdict).toBe('leak');
    expect(tasks.perDisconnect).toBeLessThan(0.5);

    // Each way of leaving alone: only the stall leaks, about one task per stalled client or less.
    const arms = Object.fromEntries((mix.breakdown ?? []).map((arm) => [arm.kind, arm]));
    expect(Object.keys(arms).sort()).toEqual(['leave-after-events', 'leave-after-ms', 'leave-before-first-byte', 'reset-after-events', 'stall-then-leave']);
    expect(arms['stall-then-leave']!.verdict, arms['stall-then-leave']!.reason).toBe('leak');
    expect(arms['stall-then-leave']!.handlesPerDisconnect!).toBeGreaterThan(0.1);
    expect(arms['stall-then-leave']!.handlesPerDisconnect!).toBeLessThan(1.1);
    for (const [kind, arm] of Object.entries(arms)) if (kind !== 'stall-then-leave') expect(arm.verdict, `${kind}: ${arm.reason}`).not.toBe('leak');
    expect(mix.reason).toMatch(/^leaks when: stall-then-leave \+[01]\.\d\d handles per disconnect; leave-before-first-byte /);
    expect(result.stdout).toMatch(/stall-then-leave \(after 2 events, 100 ms\)\s+LEAK \+[01]\.\d\d handles/);

    // Where the tasks wait: the writer's wait for a resumed transport, the line that has the bug.
    const line = readFileSync(SERVER, 'utf8').split('\n').findIndex((l) => l.trim() === 'await self.writable.wait()') + 1;
    expect(mix.taskGrowth?.groups[0]).toMatchObject({ state: 'Event.wait', location: `stall-leak-server.py:${line}`, code: 'await self.writable.wait()' });

    // The fixed twin: nothing left behind. A clean mix has nothing to break down.
    const fixedMix = fixed!.scenarios[0]!;
    expect(['clean', 'saturating'], fixedMix.reason).toContain(fixed!.verdict);
    expect(fixed!.expectationMet).toBe(true);
    expect(fixedMix.metrics.find((m) => m.key === 'pendingTasks')!.verdict).toBe('clean');
    expect(fixedMix.breakdown).toBeNull();

    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(await processesMentioning(out)).toEqual([]);
  }, 300_000);
});
