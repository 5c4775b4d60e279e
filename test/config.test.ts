/** The CI one-liner: `npx streamer-leakcheck run` with everything in leakcheck.config.json. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { runCli, tempDir } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');
const LEAKY = `LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`;

/** A config with two leaky targets on the small scenario, "parallel": false, and `extra` keys. */
async function twoTargetConfig(prefix: string, extra: Record<string, unknown> = {}): Promise<string> {
  const dir = await tempDir(prefix);
  await writeFile(
    path.join(dir, 'leakcheck.config.json'),
    JSON.stringify({
      targets: { mine: { command: LEAKY, expect: 'leak' }, theirs: { command: LEAKY, expect: 'leak' } },
      scenarios: [path.join(FIXTURES, 'small.json')],
      parallel: false,
      ...extra,
    }),
  );
  return dir;
}

/** The two targets' scenarios from report.json in `dir`: [mine, theirs]. */
async function twoScenarios(dir: string) {
  const report = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as LeakcheckReport;
  return { report, mine: report.targets[0]!.scenarios[0]!, theirs: report.targets[1]!.scenarios[0]! };
}

describe('leakcheck.config.json', () => {
  it('runs the targets, expectations and scenarios it names, with no flags', async () => {
    const dir = await twoTargetConfig('config', { seed: 3, out: 'leak-reports' });
    const result = await runCli(['run', '--no-progress', '--no-snapshots', '--json', 'report.json'], { cwd: dir, timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const { report, mine, theirs } = await twoScenarios(dir);
    expect(report.seed).toBe(3);
    expect(report.targets.map((t) => [t.name, t.expect, t.verdict])).toEqual([
      ['mine', 'leak', 'leak'],
      ['theirs', 'leak', 'leak'],
    ]);
    // "parallel": false: one after another, the second started once the first had finished.
    expect(Date.parse(theirs.startedAt)).toBeGreaterThanOrEqual(Date.parse(mine.startedAt) + mine.durationMs);
    expect(result.stdout).toContain(path.join(dir, 'leak-reports'));
  }, 150_000);

  it('a flag overrides it: --parallel runs side by side what "parallel": false would run one after another', async () => {
    const dir = await twoTargetConfig('config-flag');
    const result = await runCli(['run', '--parallel', '--no-report', '--no-progress', '--no-snapshots', '--json', 'report.json'], { cwd: dir, timeoutMs: 120_000 });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const { mine, theirs } = await twoScenarios(dir);
    expect(Date.parse(theirs.startedAt)).toBeLessThan(Date.parse(mine.startedAt) + mine.durationMs);
  }, 150_000);

  it('--no-parallel on its own runs the targets one after another', async () => {
    const dir = await tempDir('no-parallel');
    const result = await runCli(
      ['run', '--no-parallel', '--target', `mine=${LEAKY}`, '--target', `theirs=${LEAKY}`, '--expect', 'mine=leak', '--expect', 'theirs=leak',
        '-s', path.join(FIXTURES, 'small.json'), '--no-report', '--no-progress', '--no-snapshots', '--json', 'report.json'],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const { mine, theirs } = await twoScenarios(dir);
    expect(Date.parse(theirs.startedAt)).toBeGreaterThanOrEqual(Date.parse(mine.startedAt) + mine.durationMs);
  }, 150_000);

  it('a mistake in it is one line naming the key, exit 2', async () => {
    const dir = await tempDir('config-bad');
    await writeFile(path.join(dir, 'leakcheck.config.json'), JSON.stringify({ targets: { api: { command: 'x', expect: 'sometimes' } } }));
    const result = await runCli(['run'], { cwd: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe('streamer-leakcheck: leakcheck.config.json: targets.api.expect: must be "leak" or "clean"');
  });
});
