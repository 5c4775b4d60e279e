/**
 * Servers the tool did not write, started the way their owners start them, with no change to their
 * code: a Node server behind `npm start`, a clustered Node server, and a threaded (not asyncio) Python
 * server, read by the Python agent with its descriptors from /proc. Plus --self-check, the positive
 * control that a run on one's own servers can add.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { processesMentioning, runCli, tempDir } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');

async function runJson(args: string[], env: Record<string, string> = {}, outDir?: string) {
  const out = outDir ?? (await tempDir('any'));
  const json = path.join(out, 'report.json');
  const result = await runCli(['run', '-s', path.join(FIXTURES, 'small.json'), '--seed', '3', '--no-report', '--no-progress', '--json', json, ...args], {
    cwd: FIXTURES,
    timeoutMs: 120_000,
    // Every process of this run inherits the mark, so the cleanup check below finds this run's
    // leftovers and not another checkout's servers with the same file name.
    env: { RUN_MARK: out, ...env },
  });
  const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
  return { result, report, out };
}

describe('checking servers the tool did not write', () => {
  it('npm start wrapper, cluster workers and a Python server: each sampled, summed and judged', async () => {
    const { result, report, out } = await runJson([
      '--target', 'npm-leaky=cd npm-app && LEAK_BYTES=4096 npm start',
      '--expect', 'npm-leaky=leak',
      '--target', 'cluster-leaky=WORKERS=2 LEAK_BYTES=8192 node cluster-server.mjs',
      '--expect', 'cluster-leaky=leak',
      '--target', 'py-fd-leak=LEAK_FDS=1 python3 fd-leak-server.py',
      '--expect', 'py-fd-leak=leak',
      '--target', 'py-clean=python3 fd-leak-server.py',
    ]);
    expect(result.stderr).toBe('');
    // Small cycles leave a clean server's verdict to chance between clean and inconclusive (that is
    // what the default scenario's size is for); the leaks here are decisive, the clean one only must
    // never be called a leak. The exit code follows report.ok either way.
    expect(result.code, result.stdout).toBe(report.ok ? 0 : 1);
    const byName = Object.fromEntries(report.targets.map((t) => [t.name, t]));

    // npm (a Node process too) and the server both carry the agent; the planted 4 KB shows up.
    const npm = byName['npm-leaky']!;
    expect(npm.probe).toBe('node');
    expect(npm.verdict).toBe('leak');
    expect(npm.scenarios[0]!.samples[0]!.processes).toBeGreaterThanOrEqual(2);
    expect(npm.heap.bytesPerDisconnect!).toBeGreaterThan(3000);
    expect(npm.heap.bytesPerDisconnect!).toBeLessThan(6000);

    // The primary and both workers are sampled and summed: each worker's planted 8 KB shows up (8 KB,
    // not 2 KB: three processes' summed noise can leave a 2 KB leak inconclusive on tiny cycles).
    const clustered = byName['cluster-leaky']!;
    expect(clustered.probe).toBe('node');
    expect(clustered.scenarios[0]!.samples[0]!.processes).toBe(3);
    expect(clustered.verdict).toBe('leak');
    expect(clustered.heap.bytesPerDisconnect!).toBeGreaterThan(6000);
    expect(clustered.heap.bytesPerDisconnect!).toBeLessThan(12000);

    // Python without asyncio: the agent reads it (no loop, no tasks), one descriptor per disconnect.
    const pyLeak = byName['py-fd-leak']!;
    expect(pyLeak.probe).toBe('python');
    expect(pyLeak.verdict).toBe('leak');
    const fds = pyLeak.scenarios[0]!.metrics.find((m) => m.key === 'fds')!;
    expect(fds.perDisconnect).toBeGreaterThan(0.9);
    expect(fds.perDisconnect).toBeLessThan(1.1);
    expect(byName['py-clean']!.probe).toBe('python');
    expect(byName['py-clean']!.verdict).not.toBe('leak');

    expect(await processesMentioning(out)).toEqual([]);
  }, 150_000);

  it('--self-check runs the built-in leaky server first and requires its leak to be seen', async () => {
    const { result, report } = await runJson([
      '--self-check',
      '--target', 'mine=LEAK_BYTES=4096 node planted-leak-server.mjs',
      '--expect', 'mine=leak',
    ]);
    expect(result.code, result.stdout).toBe(0);
    expect(report.targets.map((t) => [t.name, t.expect, t.verdict, t.origin])).toEqual([
      ['self-check', 'leak', 'leak', 'builtin'],
      ['mine', 'leak', 'leak', 'user'],
    ]);
  }, 150_000);

  it('a bounded cache that fills during the warm-up of the default scenario is not called a leak', async () => {
    // 1000 entries of ~8 KB, the newest kept: still filling over the warm-up's two sampled chunks, full
    // before the baseline. Chunks smaller than the default scenario's 600 clients would show it growing
    // at 8 KB per disconnect in both and stop early on a "leak".
    const out = await tempDir('bounded');
    const json = path.join(out, 'report.json');
    const result = await runCli(
      ['run', '-s', 'mixed', '--seed', '4', '--no-report', '--no-progress', '--json', json, '--target', 'cache=LEAK_BYTES=8192 LEAK_MAX=1000 node planted-leak-server.mjs'],
      { cwd: FIXTURES, timeoutMs: 120_000, env: { RUN_MARK: out } },
    );
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    const [cache] = report.targets;
    expect(cache!.verdict, cache!.reason).not.toBe('leak');
    // Judged on its cycles, not stopped in the warm-up (it may stop clean after two of them).
    expect(cache!.scenarios[0]!.reason).not.toContain('decided during warm-up');
    expect(cache!.scenarios[0]!.cyclesRun).toBeGreaterThanOrEqual(2);
    expect(result.code, result.stdout).toBe(0);
    expect(await processesMentioning(out)).toEqual([]);
  }, 150_000);

  it('a user target expected clean that leaks fails the run (exit 1) in the terminal, JUnit, the step summary and budgets', async () => {
    const out = await tempDir('ci');
    const junit = path.join(out, 'leakcheck.xml');
    const summary = path.join(out, 'step-summary.md');
    const { result, report } = await runJson(
      ['--target', 'mine=LEAK_BYTES=2048 node planted-leak-server.mjs', '--junit', junit, '--max-bytes-per-disconnect', '512'],
      { GITHUB_STEP_SUMMARY: summary },
      out,
    );
    expect(result.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(report.targets[0]).toMatchObject({ name: 'mine', verdict: 'leak', expectationMet: false });
    expect(report.targets[0]!.budgetExceeded[0]).toMatch(/^small: \d+ bytes per disconnect > --max-bytes-per-disconnect 512$/);
    expect(result.stdout).toMatch(/FAIL: mine was LEAK, expected clean; mine small: \d+ bytes per disconnect > --max-bytes-per-disconnect 512/);

    const xml = await readFile(junit, 'utf8');
    expect(xml).toMatch(/<testsuites name="streamer-leakcheck" tests="1" failures="1" errors="0"/);
    expect(xml).toMatch(/<testcase classname="streamer-leakcheck\.mine" name="small: expected clean" time="[\d.]+"><failure message="was LEAK, expected clean">/);
    const md = await readFile(summary, 'utf8');
    expect(md).toMatch(/^### streamer-leakcheck: ❌ fail/);
    expect(md).toMatch(/over budget/);
  }, 150_000);
});
