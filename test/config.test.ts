/** The CI one-liner: `npx streamer-leakcheck run` with everything in leakcheck.config.json. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { runCli, tempDir } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');

describe('leakcheck.config.json', () => {
  it('runs the targets, expectations and scenarios it names, with no flags', async () => {
    const dir = await tempDir('config');
    const leaky = `LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`;
    await writeFile(
      path.join(dir, 'leakcheck.config.json'),
      JSON.stringify({
        targets: { mine: { command: leaky, expect: 'leak' }, theirs: { command: leaky, expect: 'leak' } },
        scenarios: [path.join(FIXTURES, 'small.json')],
        seed: 3,
        out: 'leak-reports',
        parallel: false,
      }),
    );
    const result = await runCli(['run', '--no-progress', '--no-snapshots', '--json', 'report.json'], { cwd: dir, timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as LeakcheckReport;
    expect(report.seed).toBe(3);
    expect(report.targets.map((t) => [t.name, t.expect, t.verdict])).toEqual([
      ['mine', 'leak', 'leak'],
      ['theirs', 'leak', 'leak'],
    ]);
    // "parallel": false: one after another, the second started once the first had finished.
    const [mine, theirs] = report.targets.map((t) => t.scenarios[0]!);
    expect(Date.parse(theirs!.startedAt)).toBeGreaterThanOrEqual(Date.parse(mine!.startedAt) + mine!.durationMs);
    expect(result.stdout).toContain(path.join(dir, 'leak-reports'));
  }, 150_000);

  it('a flag overrides it: --parallel runs side by side what "parallel": false would run one after another', async () => {
    const dir = await tempDir('config-flag');
    const leaky = `LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`;
    await writeFile(
      path.join(dir, 'leakcheck.config.json'),
      JSON.stringify({
        targets: { mine: { command: leaky, expect: 'leak' }, theirs: { command: leaky, expect: 'leak' } },
        scenarios: [path.join(FIXTURES, 'small.json')],
        parallel: false,
      }),
    );
    const result = await runCli(['run', '--parallel', '--no-report', '--no-progress', '--no-snapshots', '--json', 'report.json'], { cwd: dir, timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as LeakcheckReport;
    const [mine, theirs] = report.targets.map((t) => t.scenarios[0]!);
    expect(Date.parse(theirs!.startedAt)).toBeLessThan(Date.parse(mine!.startedAt) + mine!.durationMs);
  }, 150_000);

  it('--no-parallel on its own runs the targets one after another', async () => {
    const dir = await tempDir('no-parallel');
    const leaky = `mine=LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`;
    const result = await runCli(
      ['run', '--no-parallel', '--target', leaky, '--target', leaky.replace('mine=', 'theirs='), '--expect', 'mine=leak', '--expect', 'theirs=leak',
        '-s', path.join(FIXTURES, 'small.json'), '--no-report', '--no-progress', '--no-snapshots', '--json', 'report.json'],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as LeakcheckReport;
    const [mine, theirs] = report.targets.map((t) => t.scenarios[0]!);
    expect(Date.parse(theirs!.startedAt)).toBeGreaterThanOrEqual(Date.parse(mine!.startedAt) + mine!.durationMs);
  }, 150_000);

  it('a mistake in it is one line naming the key, exit 2', async () => {
    const dir = await tempDir('config-bad');
    await writeFile(path.join(dir, 'leakcheck.config.json'), JSON.stringify({ targets: { api: { command: 'x', expect: 'sometimes' } } }));
    const result = await runCli(['run'], { cwd: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('streamer-leakcheck: leakcheck.config.json: targets.api.expect: must be "leak" or "clean"');
  });
});
