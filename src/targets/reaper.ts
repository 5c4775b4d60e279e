/**
 * The reaper: a small process the supervisor starts beside the first child it spawns, so that a harness
 * killed with SIGKILL (no handler, no exit hook) still takes every process group it started with it,
 * user targets included, which cannot be asked to watch their parent the way the reference servers do.
 *
 * It reads its stdin, one line per change: `+PGID` a group to stop should the harness go, `-PGID` a
 * group already gone. Its stdin is a pipe from the harness, and a pipe ends when its writer exits,
 * however it died: at end of input every group still listed gets SIGTERM, then SIGKILL after the grace,
 * and the reaper exits. A harness that stopped its children itself has listed none by then.
 *
 * `=ID` names a supervisor whose marked processes (descendants.ts: those that left their groups) it
 * stops the same way.
 *
 * Plain Node, importing only descendants.ts (node:fs alone): it must start fast and rely on little.
 */
import { findMarked } from './descendants.js';

const GRACE_MS = 1000;

const markers = new Set<string>();

function marked(): number[] {
  return [...markers].flatMap((id) => findMarked(id, true));
}

function signalMarked(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // ESRCH: already gone.
    }
  }
}

const groups = new Set<number>();
let buffered = '';
let reaping = false;

function signalGroups(signal: NodeJS.Signals | 0): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, signal);
    } catch {
      // ESRCH: already gone.
      groups.delete(pgid);
    }
  }
}

function reap(): void {
  if (reaping) return;
  reaping = true;
  // Signal 0 only asks whether a group still exists: a harness's last "-PGID" lines may not have made it.
  signalGroups(0);
  const escaped = marked();
  if (groups.size === 0 && escaped.length === 0) process.exit(0);
  signalGroups('SIGTERM');
  signalMarked(escaped, 'SIGTERM');
  setTimeout(() => {
    signalGroups('SIGKILL');
    signalMarked(marked(), 'SIGKILL');
    process.exit(0);
  }, GRACE_MS);
}

function take(line: string): void {
  const id = /^=([\w.]+)$/.exec(line.trim());
  if (id) {
    markers.add(id[1]!);
    return;
  }
  const match = /^([+-])(\d+)$/.exec(line.trim());
  if (!match) return;
  const pgid = Number(match[2]);
  // Never a group we were not given: 0 and 1 would mean our own group and init's.
  if (!(pgid > 1)) return;
  if (match[1] === '+') groups.add(pgid);
  else groups.delete(pgid);
}

// The terminal's Ctrl-C goes to the harness, which stops its children itself; the reaper waits for the
// end of its input either way.
process.on('SIGINT', () => {});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let newline: number;
  while ((newline = buffered.indexOf('\n')) >= 0) {
    take(buffered.slice(0, newline));
    buffered = buffered.slice(newline + 1);
  }
});
process.stdin.on('end', reap);
process.stdin.on('error', reap);
