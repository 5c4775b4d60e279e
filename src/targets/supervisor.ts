/**
 * The one owner of child processes. Every server the tool starts (upstream, reference streamers, user
 * targets) is spawned here, in a process group of its own, so stopping it also stops whatever it forked
 * (an `npm start` wrapper's node, cluster workers, a shell's children). Tests use the same module.
 *
 * Groups are killed on `stop()`, on `stopAll()`, and — as a last resort — synchronously with SIGKILL when
 * this process exits for any reason, so a crash of the harness leaves nothing running. A SIGKILL runs no
 * exit hook: for that, the reaper (reaper.ts), a process of its own, stops every group still listed once
 * this process is gone.
 *
 * A process that left its group (`setsid`, a daemonizing server) is still found at each of those moments
 * by the marker every child carries in its environment (descendants.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { compiled } from '../core/paths.js';
import { SUPERVISOR_PID_ENV } from '../core/supervisor-env.js';
import { killMarkedNow, RUN_MARKER_ENV, stopMarked } from './descendants.js';

export interface ChildSpec {
  /** Name used in messages: 'old', 'upstream', 'my-server'. */
  name: string;
  command: string;
  args?: string[];
  /** Run `command` through `/bin/sh -c` (user-supplied command lines). */
  shell?: boolean;
  /** Added to (not replacing) the harness's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How many lines of each stream a child keeps for error messages. */
const TAIL_LINES = 40;
/**
 * A line is kept up to this many characters: a child that floods a stream without newlines (tens of
 * MB) costs the harness no more than a short line.
 */
const MAX_LINE_CHARS = 2000;
/** Time a group gets between SIGTERM and SIGKILL. Node servers exit in well under 100 ms on SIGTERM. */
export const DEFAULT_GRACE_MS = 1500;

type LineListener = (line: string, stream: 'stdout' | 'stderr') => void;

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Settles when the direct child exits (its group may still be stopping). */
  readonly exited: Promise<ExitInfo>;
  private exitInfo: ExitInfo | null = null;
  private readonly tails = { stdout: [] as string[], stderr: [] as string[] };
  private readonly listeners = new Set<LineListener>();
  private stopping: Promise<ExitInfo> | null = null;

  constructor(
    private readonly child: ChildProcess,
    name: string,
    /** This child's value of RUN_MARKER_ENV, inherited by everything it starts. */
    readonly marker: string,
    private readonly onGone: (p: ManagedProcess) => void,
  ) {
    this.name = name;
    // No pid means the spawn failed (ENOENT, EACCES): the 'error' handler below reports it as an exit.
    this.pid = child.pid ?? -1;
    for (const stream of ['stdout', 'stderr'] as const) {
      let partial = '';
      // Inside a line longer than MAX_LINE_CHARS: its start was kept, the rest is dropped up to its end.
      let cutting = false;
      child[stream]?.setEncoding('utf8');
      child[stream]?.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (!cutting) this.takeLine(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line, stream);
          cutting = false;
        }
        if (partial.length > MAX_LINE_CHARS) {
          if (!cutting) this.takeLine(`${partial.slice(0, MAX_LINE_CHARS)}…`, stream);
          cutting = true;
          partial = '';
        }
      });
      child[stream]?.on('end', () => {
        if (partial && !cutting) this.takeLine(partial, stream);
        partial = '';
      });
    }
    this.exited = new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      });
      // A failed spawn (ENOENT for a non-shell command) emits 'error' and no 'exit'.
      child.once('error', (err) => {
        this.takeLine(`spawn failed: ${err.message}`, 'stderr');
        if (!this.exitInfo) {
          this.exitInfo = { code: 127, signal: null };
          resolve(this.exitInfo);
        }
      });
    });
    void this.exited.then(() => {
      // The leader is gone; anything it left in its group goes too.
      killGroup(this.pid, 'SIGKILL');
      this.onGone(this);
    });
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  get exit(): ExitInfo | null {
    return this.exitInfo;
  }

  /** The last lines the child wrote to stderr (or stdout), for error messages. */
  tail(stream: 'stdout' | 'stderr' = 'stderr', lines = 10): string[] {
    return this.tails[stream].slice(-lines);
  }

  onLine(listener: LineListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * SIGTERM to the whole group, SIGKILL after `graceMs`; then the same to any process carrying this
   * child's marker that left the group. Idempotent.
   */
  stop(graceMs = DEFAULT_GRACE_MS): Promise<ExitInfo> {
    if (this.stopping) return this.stopping;
    this.stopping = (async () => {
      if (this.running) {
        killGroup(this.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), graceMs);
        });
        const first = await Promise.race([this.exited, timedOut]);
        clearTimeout(timer);
        if (first === 'timeout') killGroup(this.pid, 'SIGKILL');
      }
      const info = await this.exited;
      killGroup(this.pid, 'SIGKILL');
      await stopMarked(this.marker, false, graceMs);
      return info;
    })();
    return this.stopping;
  }

  /** Synchronous last resort, for process 'exit' handlers. */
  killNow(): void {
    killGroup(this.pid, 'SIGKILL');
  }

  private takeLine(line: string, stream: 'stdout' | 'stderr'): void {
    const tail = this.tails[stream];
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    for (const listener of this.listeners) listener(line, stream);
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  // Never signal a group we did not create: pid -1 (failed spawn) would mean "every process".
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** This process's reaper (see reaper.ts), started with its first child. */
let reaper: ChildProcess | null = null;

/**
 * Tell the reaper a group to stop should this process die unannounced (`+PGID`), one that is gone
 * (`-PGID`), or a supervisor's marker whose processes it stops too (`=ID`).
 */
function tellReaper(line: string): void {
  if (!reaper) {
    reaper = spawn(process.execPath, [compiled('targets/reaper.js')], {
      // A group of its own, so a Ctrl-C meant for the harness is not the reaper's; and none of the
      // harness's environment (a NODE_OPTIONS preload, say): it needs nothing from it.
      detached: true,
      env: {},
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // A reaper that failed to start or died is started again with the next change it must hear of, and
    // told every group still alive.
    const started = reaper;
    reaper.on('error', () => {});
    reaper.on('exit', () => {
      if (reaper === started) reaper = null;
    });
    reaper.stdin?.on('error', () => {});
    // Neither keeps this process alive nor counts among its open handles.
    reaper.unref();
    (reaper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    for (const child of everyLiveChild) if (child.running && child.pid > 1) reaper.stdin?.write(`+${child.pid}\n`);
    for (const id of everySupervisorId) reaper.stdin?.write(`=${id}\n`);
  }
  if (reaper.stdin?.writable) reaper.stdin.write(`${line}\n`);
}

/** Every live child of every supervisor in this process, and every supervisor that spawned one, for the exit hook. */
const everyLiveChild = new Set<ManagedProcess>();
const everySupervisorId = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of everyLiveChild) child.killNow();
    for (const id of everySupervisorId) killMarkedNow(id, true);
  });
}

export class ProcessSupervisor {
  private readonly children = new Set<ManagedProcess>();
  /** Unique to this supervisor: its children's markers are `<id>:<n>`. */
  readonly id = `${process.pid}.${randomBytes(6).toString('hex')}`;
  private spawned = 0;

  spawn(spec: ChildSpec): ManagedProcess {
    installExitHook();
    if (!everySupervisorId.has(this.id)) {
      everySupervisorId.add(this.id);
      tellReaper(`=${this.id}`);
    }
    const marker = `${this.id}:${++this.spawned}`;
    const child = spawn(spec.command, spec.args ?? [], {
      cwd: spec.cwd,
      // The harness's pid, for children of our own (the reference servers) to notice it is gone even
      // when it was SIGKILLed and its exit hook never ran. User targets ignore it.
      env: { ...process.env, ...spec.env, [SUPERVISOR_PID_ENV]: String(process.pid), [RUN_MARKER_ENV]: marker },
      shell: spec.shell ? '/bin/sh' : false,
      // A process group of its own: Ctrl-C reaches only the harness, which stops the group itself,
      // and stopping the group reaches every process the child forked.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const managed = new ManagedProcess(child, spec.name, marker, (gone) => {
      this.children.delete(gone);
      everyLiveChild.delete(gone);
      tellReaper(`-${gone.pid}`);
    });
    if (managed.pid > 1) tellReaper(`+${managed.pid}`);
    this.children.add(managed);
    everyLiveChild.add(managed);
    return managed;
  }

  get live(): ManagedProcess[] {
    return [...this.children];
  }

  /** Stop every child this supervisor started, in parallel, and every process that carries one's marker. */
  async stopAll(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    await Promise.all([...this.children].map((child) => child.stop(graceMs)));
    await stopMarked(this.id, true, graceMs);
  }
}
