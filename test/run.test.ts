/**
 * End to end: the real CLI, the real reference servers and upstream as real processes on loopback.
 * This is the product's main promise: old is seen leaking, new is seen clean, and the exit code says so.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { listTree, processesMentioning, runCli, tempDir } from './helpers.js';

describe('streamer-leakcheck run', () => {
  it('sees old leak and new stay clean, writes report.json, report.md and report.html, exits 0', async () => {
    const out = await tempDir('run');
    const jsonFile = path.join(out, 'extra', 'leak.json');
    const result = await runCli(['run', '--seed', '11', '--out', out, '--json', jsonFile, '--no-progress'], {
      timeoutMs: 120_000,
    });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);

    const report = JSON.parse(await readFile(jsonFile, 'utf8')) as LeakcheckReport;
    expect(report.ok).toBe(true);
    expect(report.complete).toBe(true);
    expect(report.seed).toBe(11);
    const old = report.targets.find((t) => t.name === 'old')!;
    const fixed = report.targets.find((t) => t.name === 'new')!;

    expect(old.verdict).toBe('leak');
    expect(old.expectationMet).toBe(true);
    // The reference old keeps >= 2 KB of heap and one upstream socket per mid-stream disconnect.
    expect(old.heap.bytesPerDisconnect!).toBeGreaterThan(2000);
    expect(old.handles.perDisconnect!).toBeGreaterThan(0.95);
    expect(old.handles.perDisconnect!).toBeLessThan(1.05);
    expect(old.liveWorkers?.perDisconnect).toBeCloseTo(1, 1);

    // Clean, or bounded growth that levels off (its heap drifts up for the first few thousand
    // disconnects); never a leak, and nothing per disconnect in handles or workers.
    expect(['clean', 'saturating']).toContain(fixed.verdict);
    expect(fixed.expectationMet).toBe(true);
    expect(Math.abs(fixed.handles.perDisconnect!)).toBeLessThan(0.02);
    expect(fixed.heap.bytesPerDisconnect!).toBeLessThan(1000);
    expect(fixed.liveWorkers?.atEnd).toBe(0);

    const mixed = old.scenarios.find((s) => s.scenario === 'mixed')!;
    expect(mixed.errors.total).toBe(0);
    // Its sockets make the leak unmistakable after the warm-up's two small chunks (EARLY_PROBE_CLIENTS each).
    expect(mixed.disconnects).toBeGreaterThan(300);
    expect(mixed.decidedAfter.disconnects).toBeLessThanOrEqual(400);
    expect(mixed.upstream?.summary).toMatch(/never reached the upstream/);
    const fixedMixed = fixed.scenarios.find((s) => s.scenario === 'mixed')!;
    expect(fixedMixed.upstream?.summary).toMatch(/reached the upstream/);
    // Each target has an upstream of its own: new's counters hold new's streams only, none of old's.
    expect(report.targets.map((t) => t.name)).toEqual(['old', 'new']);
    expect(fixedMixed.upstream!.streamsStarted).toBeLessThanOrEqual(fixedMixed.disconnects + fixedMixed.completed);
    expect(fixedMixed.upstream!.streamsCancelled).toBeGreaterThan(0.9 * fixedMixed.disconnects);
    // The heap the verdicts read leaves V8's compiled code out; every row records that beside it.
    expect(fixedMixed.samples.length).toBeGreaterThanOrEqual(3);
    for (const row of fixedMixed.samples) expect(row.compiledCodeBytes).toBeGreaterThan(100_000);

    // What leaked (heap snapshots): one Channel per disconnect, held through the manager's map.
    const leaked = mixed.attribution!;
    expect(leaked).not.toBeNull();
    const channel = leaked.retained.find((g) => g.group === 'Channel');
    expect(channel?.countPerDisconnect).toBeGreaterThan(0.95);
    expect(channel?.countPerDisconnect).toBeLessThan(1.05);
    const paths = leaked.retained.flatMap((g) => (g.retainerPath ? [g.retainerPath.join(' ')] : []));
    expect(paths.some((p) => /ChatManager streams → Map/.test(p))).toBe(true);
    expect(fixed.scenarios.find((s) => s.scenario === 'mixed')!.attribution).toBeNull();

    // Side by side by default: new's scenario started before old's had ended.
    expect(Date.parse(fixedMixed.startedAt)).toBeLessThan(Date.parse(mixed.startedAt) + mixed.durationMs);

    // The control arm inside the mix: some clients stayed to the end and got `event: done`.
    expect(mixed.completed).toBeGreaterThan(0);

    // The terminal report shows both side by side and the verdict line.
    expect(result.stdout).toMatch(/old\s+new/);
    expect(result.stdout).toMatch(/PASS/);

    // One report folder with all three files, identical JSON.
    const tree = await listTree(out);
    const folder = tree.find((entry) => /^\d{4}-\d\d-\d\dT/.test(entry) && !entry.includes(path.sep));
    expect(folder).toBeDefined();
    expect(tree).toContain(path.join(folder!, 'report.json'));
    expect(tree).toContain(path.join(folder!, 'report.md'));
    expect(tree).toContain(path.join(folder!, 'report.html'));
    expect(await readFile(path.join(out, folder!, 'report.json'), 'utf8')).toBe(await readFile(jsonFile, 'utf8'));
    expect(await readFile(path.join(out, folder!, 'report.md'), 'utf8')).toMatch(/### streamer-leakcheck: ✅ pass/);
    // Only the snapshots the report refers to are kept, owner-only; no staging folder is left behind.
    const { stat, readdir } = await import('node:fs/promises');
    const snapshots = await readdir(path.join(out, folder!, 'snapshots'));
    expect(snapshots.sort()).toEqual([...leaked.snapshots].sort());
    for (const file of snapshots) {
      expect((await stat(path.join(out, folder!, 'snapshots', file))).mode & 0o777).toBe(0o600);
    }
    expect((await readdir(out)).filter((entry) => entry.startsWith('.'))).toEqual([]);

    // The checker checked itself: nothing of its own left open, memory within reason.
    expect(report.harness.leftOpen).toEqual([]);
    expect(report.harness.rssPeakBytes).toBeLessThan(500 * 1024 * 1024);

    // Nothing the run started is still running.
    expect(await processesMentioning(out)).toEqual([]);
  }, 150_000);

  it('rejects a bad scenario with one line naming file and field, exit 2, nothing written', async () => {
    const out = await tempDir('bad');
    const file = path.join(out, 'bad.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(file, JSON.stringify({ name: 'bad', warmupClients: 0, cycles: 3, clients: -5, concurrency: 1, mix: [{ behaviour: 'complete', weight: 1 }] }));
    const result = await runCli(['run', '--scenario', file, '--out', path.join(out, 'reports')], { timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('bad.json');
    expect(lines[0]).toContain('clients');
    expect(await listTree(path.join(out, 'reports'))).toEqual([]);
  });

  it('rejects unknown options and bad numbers with exit 2 and one line', async () => {
    const unknown = await runCli(['run', '--frobnicate'], { timeoutMs: 20_000 });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/unknown option '--frobnicate'/);

    const badSeed = await runCli(['run', '--seed', 'abc'], { timeoutMs: 20_000 });
    expect(badSeed.code).toBe(2);
    expect(badSeed.stderr).toMatch(/--seed must be a whole number/);

    const missing = await runCli(['run', '--scenario', '/nonexistent/x.json'], { timeoutMs: 20_000 });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/x\.json/);
  });

  it('prints help with examples and exit codes', async () => {
    const help = await runCli(['run', '--help'], { timeoutMs: 20_000 });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:/);
    expect(help.stdout).toMatch(/Exit codes:/);
  });
});
