/**
 * Ctrl-C and SIGTERM in the middle of a run: every process the run started is gone within 2 s, the
 * report so far is written and marked incomplete, and the exit code says "interrupted".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LeakcheckReport } from '../src/report/types.js';
import { isAlive, processesMentioning, runCli, tempDir } from './helpers.js';

async function childrenOf(pid: number): Promise<number[]> {
  const { readFile: read } = await import('node:fs/promises');
  const { readdir } = await import('node:fs/promises');
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await read(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

describe.each(['SIGINT', 'SIGTERM'] as const)('run interrupted by %s', (signal) => {
  it('stops every child within 2 s, writes the partial report marked incomplete, exits 130', async () => {
    const out = await tempDir(`interrupt-${signal}`);
    const json = path.join(out, 'partial.json');
    const run = runCli(['run', '--seed', '5', '--out', out, '--json', json, '--no-progress'], { timeoutMs: 60_000 });

    // Wait until the run has its children (upstream and a target) up and busy.
    let children: number[] = [];
    for (let i = 0; i < 100 && children.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      children = await childrenOf(run.pid);
    }
    expect(children.length).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 1500));

    const sentAt = Date.now();
    process.kill(run.pid, signal);
    let childrenGoneAfterMs = Infinity;
    for (let i = 0; i < 100; i++) {
      if (children.every((pid) => !isAlive(pid))) {
        childrenGoneAfterMs = Date.now() - sentAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const result = await run;

    expect(childrenGoneAfterMs).toBeLessThan(2000);
    expect(result.code).toBe(130);
    expect(await processesMentioning(out)).toEqual([]);

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
});
