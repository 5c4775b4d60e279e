/**
 * Finding every process a run started, including those that left its process groups (`setsid`,
 * a double fork, a daemonizing server): each child gets a marker in its environment, which every
 * descendant inherits unless it deliberately clears its environment, and /proc/PID/environ shows it.
 * A process that escaped that too is looked for by the port it was given (/proc/net/tcp → socket inode
 * → the process holding it).
 *
 * Linux only (/proc); elsewhere nothing is found and process groups remain the only net.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { commandOf, pidsListeningOn } from './sockets.js';

/** `STREAMER_LEAKCHECK_RUN=<supervisor id>:<child number>`: a supervisor sweeps its id, a child its exact value. */
export const RUN_MARKER_ENV = 'STREAMER_LEAKCHECK_RUN';

function pids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number)
      .filter((pid) => pid !== process.pid);
  } catch {
    return [];
  }
}

/** The marker value in a process's environment, or null (gone, not ours to read, or unmarked). */
function markerOf(pid: number): string | null {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return null;
  }
  const key = `${RUN_MARKER_ENV}=`;
  const at = environ.startsWith(key) ? 0 : environ.indexOf(`\0${key}`);
  if (at < 0) return null;
  const start = at === 0 ? key.length : at + 1 + key.length;
  const end = environ.indexOf('\0', start);
  return environ.slice(start, end < 0 ? environ.length : end);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/**
 * Live processes whose marker is `marker` exactly, or starts with `marker:` when `prefix` (a whole
 * supervisor's children). Zombies are left out: they hold nothing and only their parent can reap them.
 */
export function findMarked(marker: string, prefix = false): number[] {
  return pids().filter((pid) => {
    const found = markerOf(pid);
    return found !== null && (found === marker || (prefix && found.startsWith(`${marker}:`))) && !isZombie(pid);
  });
}

function signal(pidList: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pidList) {
    try {
      process.kill(pid, sig);
    } catch {
      // ESRCH: gone already.
    }
  }
}

/** SIGTERM every marked process, SIGKILL what is left after `graceMs`; resolves with the pids found. */
export async function stopMarked(marker: string, prefix: boolean, graceMs: number): Promise<number[]> {
  const found = findMarked(marker, prefix);
  if (found.length === 0) return [];
  signal(found, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = found;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    left = findMarked(marker, prefix);
  }
  signal(left, 'SIGKILL');
  return found;
}

/** Synchronous last resort for an exit hook: SIGKILL every marked process at once. */
export function killMarkedNow(marker: string, prefix: boolean): void {
  signal(findMarked(marker, prefix), 'SIGKILL');
}

/** A process holding a listening TCP socket on `port`, as far as /proc tells. */
export interface PortHolder {
  pid: number;
  command: string;
}

/** Who listens on `port` (IPv4 or IPv6), from /proc/net/tcp{,6} and /proc/PID/fd; empty when nobody or unknown. */
export function listenersOf(port: number): PortHolder[] {
  return pidsListeningOn(port).map((pid) => ({ pid, command: commandOf(pid) }));
}
