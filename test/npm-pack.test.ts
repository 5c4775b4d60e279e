/**
 * The published shape: `npm pack`, install the tarball into an unrelated folder, and run the installed
 * bin from there. Catches what a run inside the repo cannot: a file missing from package.json's
 * "files", a path resolved against the repo instead of the installed package (the reference servers,
 * the probe agent, the shipped scenarios), a dependency that is only a devDependency.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { processesMentioning, ROOT, tempDir } from './helpers.js';

/** A command as its own process group, killed whole if it outlives `timeoutMs`. */
function runBounded(
  command: string,
  args: string[],
  cwd: string,
  timeoutMs: number,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function npm(args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runBounded('npm', args, cwd, timeoutMs, { npm_config_update_notifier: 'false' });
  return { code, output: stdout + stderr };
}

function installedCli(app: string, args: string[], timeoutMs: number) {
  return runBounded(path.join(app, 'node_modules', '.bin', 'streamer-leakcheck'), args, app, timeoutMs, { NO_COLOR: '1' });
}

describe('installed from an npm pack tarball', () => {
  let work = '';
  let app = '';

  beforeAll(async () => {
    work = await tempDir('npm-pack');
    // dist/ is built by `npm test` before the tests run; --ignore-scripts packs exactly that build.
    const packed = await npm(['pack', '--ignore-scripts', '--pack-destination', work], ROOT, 120_000);
    expect(packed.code, packed.output).toBe(0);
    const tarball = (await readdir(work)).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    app = path.join(work, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'some-app', version: '1.0.0', private: true }));
    const installed = await npm(
      ['install', '--no-audit', '--no-fund', '--prefer-offline', path.join(work, tarball!)],
      app,
      240_000,
    );
    expect(installed.code, installed.output).toBe(0);
  }, 400_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('ships only what it needs: compiled JS, scenarios, the Go source, no tests or TypeScript sources', async () => {
    const root = path.join(app, 'node_modules', 'streamer-leakcheck');
    const files = (await readdir(root, { recursive: true })).map(String);
    expect(files).toContain(path.join('dist', 'src', 'cli.js'));
    expect(files).toContain(path.join('dist', 'src', 'probe', 'agent.cjs'));
    expect(files).toContain(path.join('scenarios', 'mixed.json'));
    expect(files).toContain(path.join('go', 'streamer', 'main.go'));
    expect(files.filter((f) => f.endsWith('.test.js') || f.endsWith('.test.ts'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src' + path.sep))).toEqual([]);
    const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    const version = await installedCli(app, ['--version'], 20_000);
    expect(version.stdout.trim()).toBe(manifest.version);
  });

  it('runs from the other folder: reference servers, probe agent and shipped scenarios all resolve', async () => {
    const scenarios = await installedCli(app, ['scenarios'], 20_000);
    expect(scenarios.code).toBe(0);
    expect(scenarios.stdout).toMatch(/^mixed\s/m);

    // A short run of the built-in pair from the installed package. Its 200-client warm-up is far too short
    // for new's heap: V8 is still compiling and new drifts 150–350 B per disconnect
    // (docs/measurements.md#compiled-code), which a run this short may call anything, leak included.
    // What this test needs is that every piece resolved from the other folder: old's ~40 KB per
    // disconnect, and new's workers and handles back to zero.
    const json = path.join(work, 'report.json');
    const run = await installedCli(
      app,
      ['run', '-s', path.join(ROOT, 'test', 'fixtures', 'small.json'), '--seed', '4', '--no-report', '--no-progress', '--no-snapshots', '--json', json],
      120_000,
    );
    expect([0, 1], run.stderr).toContain(run.code);
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    expect(report.problems).toEqual([]);
    expect(report.targets.map((t) => t.name)).toEqual(['old', 'new']);
    expect(report.targets[0]!.verdict).toBe('leak');
    expect(report.targets[0]!.heap.bytesPerDisconnect).toBeGreaterThan(10_000);
    expect(report.targets[0]!.liveWorkers?.perDisconnect).toBeGreaterThan(0.9);
    expect(report.targets[1]!.liveWorkers).toEqual({ perDisconnect: 0, atEnd: 0 });
    expect(report.targets[1]!.handles.perDisconnect).not.toBeNull();
    expect(Math.abs(report.targets[1]!.handles.perDisconnect!)).toBeLessThan(0.02);
    // The reaper (its script is under app/) ends with the harness: give it a moment.
    let left = await processesMentioning(app);
    for (let i = 0; i < 20 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await processesMentioning(app);
    }
    expect(left).toEqual([]);
  }, 150_000);
});
