/** Shared helpers for end-to-end tests: run the real CLI as a real process, bounded in time. */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const BIN = path.join(ROOT, 'bin', 'streamer-leakcheck.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `streamer-leakcheck …args` in its own process group; kills the group if it outlives `timeoutMs`. */
export function runCli(
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; cwd?: string; uid?: number; gid?: number; onStdout?: (text: string) => void } = {},
): Promise<CliResult> & { pid: number } {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    ...(options.uid !== undefined ? { uid: options.uid } : {}),
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
    env: { ...process.env, NO_COLOR: '1', ...options.env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
    options.onStdout?.(text);
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  // Out of time: SIGTERM first, so the CLI stops the targets it started (their process groups are their
  // own, out of reach of a kill of the CLI's group), then SIGKILL what is left of the CLI's group.
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  let forced: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    kill('SIGTERM');
    forced = setTimeout(() => kill('SIGKILL'), 3000);
  }, options.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearTimeout(forced);
      resolve({ code, signal, stdout, stderr });
    });
  }) as Promise<CliResult> & { pid: number };
  result.pid = child.pid!;
  return result;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `leakcheck-${prefix}-`));
}

export async function listTree(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { recursive: true })).map(String).sort();
  } catch {
    return [];
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose environment or command line mentions `marker` (to find what a run left behind). */
export async function processesMentioning(marker: string): Promise<number[]> {
  const { readdir: rd, readFile } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await rd('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
      if (cmdline.includes(marker) || environ.includes(marker)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/** Polls `check` every 20 ms until it holds or `timeoutMs` passes; the last answer is returned. */
export async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}
