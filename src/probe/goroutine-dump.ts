/**
 * Reading Go's goroutine dump: `/debug/pprof/goroutine?debug=2`, the text runtime.Stack(buf, true) and an
 * unrecovered panic print. Pure: text in, goroutines and groups out.
 *
 * The format, from the runtime (traceback.go: goroutineheader, traceback, printcreatedby) and goleak's
 * parser (internal/stack): goroutines separated by blank lines, each
 *
 *   goroutine 18 [chan send, 5 minutes]:              header; newer Go's crash dumps at GOTRACEBACK=system
 *   main.(*ResponseStreamer).sendEvent(0xc0…, …)      also ` gp=0x… m=… mp=0x…` before the `[`
 *   	/src/main.go:100 +0xac                          file:line, then ` +0x…` (none on an inlined frame)
 *   …
 *   created by main.(*app).handleStreamRequest in goroutine 7     (` in goroutine N` since Go 1.21)
 *   	/src/main.go:195 +0x52c
 *
 * The bracket holds the state (a wait reason such as `chan receive (nil chan)`, `select`, `IO wait`,
 * `sync.Mutex.Lock`, or `running`, `runnable`, `syscall`), then optionally ` (scan)`, `, N minutes`,
 * `, locked to thread` and newer suffixes after commas; no wait reason contains a comma. Deep stacks
 * carry `...N frames elided...` lines; GODEBUG=tracebackancestors adds `[originating from goroutine N]:`
 * blocks after `created by`, which are other goroutines' frames.
 */
import { goroutineGroupKey, type GoroutineGroup } from '../analysis/goroutines.js';

export interface GoFrame {
  function: string;
  /** As printed: the full path of the source file. */
  file: string;
  line: number;
}

export interface GoroutineStack {
  id: number;
  state: string;
  /** Innermost first. */
  frames: GoFrame[];
  createdBy: GoFrame | null;
}

export interface GoroutineDump {
  total: number;
  groups: GoroutineGroup[];
}

/**
 * Frames from these packages say where Go parked the goroutine, not which code of the program did: the
 * runtime, the standard library's I/O, networking, HTTP, locks and formatting, and golang.org/x/net
 * (HTTP/2). A package named like one of these in the program's own module would be skipped too.
 */
const LIBRARY_FRAME =
  /^(?:(?:runtime|sync|syscall|net|bufio|io|os|time|context|reflect|fmt|log|bytes|strings)(?:[./(]|$)|(?:internal|crypto|encoding|compress|vendor|golang\.org\/x\/net)\/)/;

export function isProgramFrame(functionName: string): boolean {
  return functionName !== '' && !LIBRARY_FRAME.test(functionName);
}

/**
 * The frame that says which code of the program a goroutine waits in (innermost first). When no frame is
 * the program's, the outermost one, the function the goroutine was started in: `net/http.(*conn).serve`
 * says more than the `internal/poll.runtime_pollWait` every network wait ends in.
 */
export function firstProgramFrame<F extends { function: string }>(frames: readonly F[]): F | undefined {
  return (
    frames.find((frame) => isProgramFrame(frame.function)) ??
    frames.filter((frame) => frame.function !== 'runtime.goexit').at(-1) ??
    frames[0]
  );
}

/** '5 minutes', 'locked to thread', ' (scan)': how long and how, not why; stripped so a group keeps one name over time. */
export function stateOf(bracket: string): string {
  return bracket.split(',')[0]!.replace(/ \(scan\)$/, '').trim();
}

const HEADER = /^goroutine (\d+)(?: [^[]*)? \[([^\]]*)\]:?\s*$/;
/** `\t/path/file.go:123 +0x1d` (or ` fp=… sp=… pc=…` at GOTRACEBACK=system); no offset when inlined. */
const FILE_LINE = /^\t(.*):(\d+)(?:\s.*)?$/;
const CREATED_BY = /^created by (.+?)(?: in goroutine \d+)?$/;

/** Function name of a frame line: what precedes its argument list `(…)`. */
function functionOf(line: string): string {
  const open = line.lastIndexOf('(');
  return open > 0 ? line.slice(0, open) : line;
}

export function parseGoroutineStacks(text: string): GoroutineStack[] {
  const stacks: GoroutineStack[] = [];
  let current: GoroutineStack | null = null;
  /** After `created by` or an ancestor header, the rest of the block is not this goroutine's stack. */
  let closed = false;
  let pending: { function: string; creator: boolean } | null = null;
  for (const line of text.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      current = { id: Number(header[1]), state: stateOf(header[2]!), frames: [], createdBy: null };
      stacks.push(current);
      closed = false;
      pending = null;
      continue;
    }
    if (!current || closed || line.trim() === '') continue;
    if (line.startsWith('\t')) {
      const where = FILE_LINE.exec(line);
      if (pending && where) {
        const frame = { function: pending.function, file: where[1]!, line: Number(where[2]) };
        if (pending.creator) {
          current.createdBy = frame;
          closed = true;
        } else {
          current.frames.push(frame);
        }
      }
      pending = null;
      continue;
    }
    if (line.startsWith('...')) continue; // "...N frames elided..." / "...additional frames elided..."
    if (line.startsWith('[originating from goroutine ')) {
      closed = true;
      continue;
    }
    const creator = CREATED_BY.exec(line);
    pending = creator ? { function: creator[1]!, creator: true } : { function: functionOf(line), creator: false };
  }
  return stacks;
}

/** Frames kept per group as an example stack: enough to see the program's calls around the wait. */
const STACK_FRAMES_KEPT = 8;

const place = (frame: GoFrame) => `${frame.file.split('/').pop() ?? frame.file}:${frame.line}`;
const describe = (frame: GoFrame) => `${frame.function} at ${place(frame)}`;

/** Goroutines grouped by state and the first frame of the program (see GoroutineGroup). */
export function groupGoroutines(stacks: readonly GoroutineStack[]): GoroutineGroup[] {
  const groups = new Map<string, GoroutineGroup>();
  for (const stack of stacks) {
    const own = firstProgramFrame(stack.frames);
    const group: GoroutineGroup = {
      state: stack.state,
      function: own?.function ?? '(no frames)',
      location: own ? place(own) : '',
      inProgram: own !== undefined && isProgramFrame(own.function),
      count: 1,
      stack: stack.frames.slice(0, STACK_FRAMES_KEPT).map(describe),
      createdBy: stack.createdBy ? describe(stack.createdBy) : null,
    };
    const key = goroutineGroupKey(group);
    const known = groups.get(key);
    if (known) known.count++;
    else groups.set(key, group);
  }
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

export function parseGoroutineDump(text: string): GoroutineDump {
  const stacks = parseGoroutineStacks(text);
  if (stacks.length === 0) {
    // A dump always holds at least the goroutine that wrote it.
    throw new Error('not a goroutine dump (no "goroutine N [state]:" line)');
  }
  return { total: stacks.length, groups: groupGoroutines(stacks) };
}
