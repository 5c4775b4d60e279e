/**
 * The seed's own Go streamers, built with the local Go toolchain (.ci/run installs Debian's golang-go)
 * and checked through pprof and expvar: old keeps a goroutine (three, with its HTTP connection's) per
 * disconnect, parked on the unguarded send; new keeps none.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { runCli, tempDir } from './helpers.js';

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
    expect(top[1]).toBeGreaterThan(500);

    expect(fixed).toMatchObject({ name: 'go-new', probe: 'go', expectationMet: true });
    expect(fixed!.verdict).not.toBe('leak');
    expect(Math.abs(fixed!.scenarios[0]!.metrics.find((m) => m.key === 'goroutines')!.perDisconnect)).toBeLessThan(0.02);
    expect(fixed!.liveWorkers?.atEnd).toBe(0);
  }, 420_000);
});
