/**
 * Ctrl-C and SIGTERM in the middle of a run: every process the run started is gone within 2 s, the
 * report so far is written and marked incomplete, and the exit code says "interrupted".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { isAlive, processesMentioning, runCli, tempDir } from './helpers.js';

/** The processes `pid` started, the reaper among them only when asked for (it is checked on its own). */
async function childrenOf(pid: number, withReaper = false): Promise<number[]> {
  const { readFile: read } = await import('node:fs/promises');
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await read(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      if (!withReaper && (await read(`/proc/${entry}/cmdline`, 'utf8')).includes('reaper.js')) continue;
      found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/**
 * Still running: exists and is not a zombie. The reaper outlives the harness by a moment and is then
 * nobody's child but init's, which in a container may never wait for it.
 */
async function isRunning(pid: number): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

describe.each(['SIGINT', 'SIGTERM'] as const)('run interrupted by %s', (signal) => {
  it('stops every child within 2 s, writes the partial report marked incomplete, exits 130', async () => {
    const out = await tempDir(`interrupt-${signal}`);
    const json = path.join(out, 'partial.json');
    const run = runCli(['run', '--seed', '5', '--out', out, '--json', json, '--no-progress'], { timeoutMs: 60_000 });

    // Wait until the run has its children (old and new side by side, each with its upstream) up and busy.
    let children: number[] = [];
    for (let i = 0; i < 100 && children.length < 4; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      children = await childrenOf(run.pid);
    }
    expect(children.length).toBeGreaterThanOrEqual(4);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    children = [...new Set([...children, ...(await childrenOf(run.pid))])];
    const reapers = (await childrenOf(run.pid, true)).filter((pid) => !children.includes(pid));
    expect(reapers.length).toBe(1);

    const sentAt = Date.now();
    process.kill(run.pid, signal);
    let childrenGoneAfterMs = Infinity;
    for (let i = 0; i < 100; i++) {
      if ((await Promise.all(children.map(isRunning))).every((running) => !running)) {
        childrenGoneAfterMs = Date.now() - sentAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = await run;

    expect(childrenGoneAfterMs).toBeLessThan(2000);
    expect(result.code).toBe(130);
    expect(await processesMentioning(out)).toEqual([]);
    // The reaper ends with the harness (its groups already stopped, it has nothing to do).
    let reaperRunning = await isRunning(reapers[0]!);
    for (let i = 0; i < 20 && reaperRunning; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      reaperRunning = await isRunning(reapers[0]!);
    }
    expect(reaperRunning).toBe(false);

    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    expect(report.complete).toBe(false);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.code)).toContain('LEAKCHECK_INTERRUPTED');
    expect(result.stdout).toMatch(/INCOMPLETE/);
  });
});

describe('run killed with SIGKILL (no handler, no exit hook runs)', () => {
  it('leaves no reference server or upstream behind: each notices its harness is gone within ~1 s', async () => {
    const out = await tempDir('sigkill');
    const run = runCli(['run', '--seed', '6', '--out', out, '--no-progress'], { timeoutMs: 60_000, env: { RUN_MARK: out } });
    let children: number[] = [];
    for (let i = 0; i < 100 && children.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      children = await childrenOf(run.pid);
    }
    expect(children.length).toBeGreaterThanOrEqual(2);

    // The reaper would stop them too: without it, what is tested is the servers' own watch on their parent.
    for (const pid of await childrenOf(run.pid, true)) {
      if ((await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).includes('reaper.js')) process.kill(pid, 'SIGKILL');
    }
    process.kill(run.pid, 'SIGKILL');
    await run;
    let left = await processesMentioning(out);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMentioning(out);
    }
    // Clean up before asserting, so a failure does not leave them running either.
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
  });

  it('leaves no user target behind either: the reaper stops its group, then exits itself', async () => {
    const out = await tempDir('sigkill-user');
    // A server that knows nothing of the harness (no agent either: /proc probe), in a long scenario.
    const server = path.join(__dirname, 'fixtures', 'planted-leak-server.mjs');
    const run = runCli(
      ['run', '--target', `mine=node ${JSON.stringify(server)}`, '--probe', 'mine=proc', '--seed', '6', '--out', out, '--no-progress'],
      { timeoutMs: 60_000, env: { RUN_MARK: out } },
    );
    const commandOf = (pid: number) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    let target: number | undefined;
    let reaper: number | undefined;
    for (let i = 0; i < 100 && (target === undefined || reaper === undefined); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const pid of await childrenOf(run.pid, true)) {
        const command = await commandOf(pid);
        if (command.includes('reaper.js')) reaper = pid;
        else if (command.includes('planted-leak-server')) target = pid;
      }
    }
    expect(target).toBeDefined();
    expect(reaper).toBeDefined();
    // Killed mid-scenario, with the target still up: what is left after this is the reaper's to stop.
    expect(await isRunning(target!)).toBe(true);

    process.kill(run.pid, 'SIGKILL');
    await run;
    // A process that has exited but not been waited for (its new parent may not reap) has no command line.
    const reaperRunning = async () => (await commandOf(reaper!)).includes('reaper.js');
    let left = await processesMentioning(out);
    let reaperLeft = await reaperRunning();
    for (let i = 0; i < 50 && (left.length > 0 || reaperLeft); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMentioning(out);
      reaperLeft = await reaperRunning();
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    if (reaperLeft) process.kill(reaper!, 'SIGKILL');
    expect(left).toEqual([]);
    expect(reaperLeft).toBe(false);
  });

  it('and none that daemonized out of its group: the reaper finds it by the run marker', async () => {
    const out = await tempDir('sigkill-daemon');
    const server = path.join(__dirname, 'fixtures', 'planted-leak-server.mjs');
    const run = runCli(
      ['run', '--target', `mine=setsid node ${JSON.stringify(server)} & wait`, '--probe', 'mine=proc', '--seed', '6', '--out', out, '--no-progress'],
      { timeoutMs: 60_000, env: { RUN_MARK: out } },
    );
    const commandOf = (pid: number) => readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    let daemon: number | undefined;
    for (let i = 0; i < 100 && daemon === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The shell's child, not the harness's: found by the mark every descendant inherits.
      for (const pid of await processesMentioning(out)) {
        const command = await commandOf(pid);
        if (command.startsWith('node\0') && command.includes('planted-leak-server')) daemon = pid;
      }
    }
    expect(daemon).toBeDefined();
    // In a session of its own: a kill of the shell's group would not reach it.
    const stat = await readFile(`/proc/${daemon}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])).toBe(daemon);

    process.kill(run.pid, 'SIGKILL');
    await run;
    let left = await processesMentioning(out);
    for (let i = 0; i < 50 && left.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await processesMentioning(out);
    }
    for (const pid of left) process.kill(pid, 'SIGKILL');
    expect(left).toEqual([]);
  });
});
