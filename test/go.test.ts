/**
 * The seed's own Go streamers, built with the local Go toolchain (.ci/run installs Debian's golang-go)
 * and checked through pprof and expvar: old keeps a goroutine (three, with its HTTP connection's) per
 * disconnect, parked on the unguarded send, and its goroutine dumps say so by state and line; new keeps none.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { ROOT, runCli, tempDir } from './helpers.js';

/** The line of go/streamer/main.go with old's unguarded send (the guarded one is a `case` of a select). */
function unguardedSendLine(): number {
  const lines = readFileSync(path.join(ROOT, 'go', 'streamer', 'main.go'), 'utf8').split('\n');
  const found = lines.flatMap((line, i) => (/^\s*streamChan <- event\s*$/.test(line) ? [i + 1] : []));
  expect(found, 'exactly one unguarded `streamChan <- event` in main.go').toHaveLength(1);
  return found[0]!;
}

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

// In CI Go is installed by .ci/run and must be there; on a developer's machine without Go the suite
// says so instead of failing.
const GO = hasGo();
if (!GO && !process.env.CI) console.warn('go is not installed: skipping the Go reference pair tests (apt-get install golang-go)');

describe.runIf(GO || process.env.CI)('run --builtin go', () => {
  it('sees go-old leak goroutines at the unguarded send, and go-new stay clean', async () => {
    const out = await tempDir('go');
    const json = path.join(out, 'go.json');
    const result = await runCli(['run', '--builtin', 'go', '--seed', '8', '--no-report', '--no-progress', '--json', json], {
      timeoutMs: 400_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    const [old, fixed] = report.targets;
    expect(old).toMatchObject({ name: 'go-old', probe: 'go', verdict: 'leak' });
    const goroutines = old!.scenarios[0]!.metrics.find((m) => m.key === 'goroutines')!;
    expect(goroutines.perDisconnect).toBeGreaterThan(0.9);
    expect(goroutines.perDisconnect).toBeLessThan(3.5);
    const growth = old!.scenarios[0]!.handleGrowthByType;
    const top = Object.entries(growth).sort((a, b) => b[1] - a[1])[0]!;
    expect(Object.keys(growth).some((kind) => /goroutines in main\.\(\*ResponseStreamer\)\.sendEvent main\.go:\d+/.test(kind))).toBe(true);
    // (The warm-up decides an unmistakable leak after ~600 disconnects: hundreds, not thousands.)
    expect(top[1]).toBeGreaterThan(250);

    // The goroutine dumps: the top group is the worker blocked on the unguarded send, one per disconnect.
    const line = unguardedSendLine();
    const dumps = old!.scenarios[0]!.goroutineGrowth!;
    expect(dumps.groups[0]).toMatchObject({
      state: 'chan send',
      function: 'main.(*ResponseStreamer).sendEvent',
      location: `main.go:${line}`,
      inProgram: true,
    });
    expect(dumps.groups[0]!.count).toBeGreaterThan(250);
    expect(dumps.groups[0]!.countPerDisconnect).toBeGreaterThan(0.9);
    expect(dumps.groups[0]!.countPerDisconnect).toBeLessThanOrEqual(1.05);
    const shown = new RegExp(
      `\\+\\d+ goroutines \\[chan send\\] main\\.\\(\\*ResponseStreamer\\)\\.sendEvent at main\\.go:${line} \\((?:0\\.9\\d|1\\.0\\d) per disconnect\\)`,
    );
    expect(result.stdout).toMatch(shown);

    // Dumps were read (the probe is go) and no group grew: checked first, so a leaking new says where.
    expect(fixed!.scenarios[0]!.goroutineGrowth!.totalAtEnd).toBeGreaterThan(0);
    expect(fixed!.scenarios[0]!.goroutineGrowth!.groups).toEqual([]);
    expect(fixed).toMatchObject({ name: 'go-new', probe: 'go', expectationMet: true });
    expect(fixed!.verdict).not.toBe('leak');
    expect(Math.abs(fixed!.scenarios[0]!.metrics.find((m) => m.key === 'goroutines')!.perDisconnect)).toBeLessThan(0.02);
    expect(fixed!.liveWorkers?.atEnd).toBe(0);
  }, 420_000);
});
