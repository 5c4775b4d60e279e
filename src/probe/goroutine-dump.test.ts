import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffGoroutineGroups, goroutineGroupKey } from '../analysis/goroutines.js';
import { isProgramFrame, parseGoroutineDump, parseGoroutineStacks, stateOf } from './goroutine-dump.js';

// Recorded from go/streamer -variant old (Go 1.19): at start, and after 5 clients left mid-stream and a
// minute passed (two forced GCs, so the runtime prints how long each goroutine has waited).
const FIXTURES = path.resolve(__dirname, '../../test/fixtures/goroutine-dumps');
const START = readFileSync(path.join(FIXTURES, 'go-old-start.txt'), 'utf8');
const AFTER_5 = readFileSync(path.join(FIXTURES, 'go-old-after-5-disconnects.txt'), 'utf8');

const counts = (text: string) =>
  Object.fromEntries(parseGoroutineDump(text).groups.map((group) => [goroutineGroupKey(group), group.count]));

describe('parseGoroutineDump on recorded dumps', () => {
  it('groups the leaked workers by state and the unguarded send, minus the time they have waited', () => {
    const dump = parseGoroutineDump(AFTER_5);
    expect(dump.total).toBe(20);
    expect(AFTER_5).toContain('[chan send, 1 minutes]:');
    const send = dump.groups.find((group) => group.state === 'chan send')!;
    expect(send).toMatchObject({
      function: 'main.(*ResponseStreamer).sendEvent',
      location: 'main.go:100',
      inProgram: true,
      count: 5,
      createdBy: 'main.(*app).handleStreamRequest at main.go:195',
    });
    expect(send.stack).toEqual([
      'main.(*ResponseStreamer).sendEvent at main.go:100',
      'main.(*ResponseStreamer).Stream at main.go:159',
    ]);
    expect(counts(AFTER_5)).toEqual({
      '[chan send] main.(*ResponseStreamer).sendEvent at main.go:100': 5,
      // No frame of the program: the function the goroutine runs names the group.
      '[select] net/http.(*persistConn).readLoop at transport.go:2213': 5,
      '[select] net/http.(*persistConn).writeLoop at transport.go:2392': 5,
      '[IO wait] main.main at main.go:262': 1,
      '[IO wait] net/http.(*connReader).backgroundRead at server.go:678': 1,
      '[chan receive] main.main.func1 at main.go:259': 1,
      '[syscall] os/signal.loop at signal_unix.go:23': 1,
      '[running] net/http.(*conn).serve at server.go:1991': 1,
    });
  });

  it('reads the start of the same server: no worker waits yet', () => {
    expect(counts(START)).toEqual({
      '[IO wait] main.main at main.go:262': 1,
      '[IO wait] net/http.(*connReader).backgroundRead at server.go:678': 1,
      '[chan receive] main.main.func1 at main.go:259': 1,
      '[syscall] os/signal.loop at signal_unix.go:23': 1,
      '[running] net/http.(*conn).serve at server.go:1991': 1,
    });
  });

  it('keeps inlined frames (no +0x offset) and the creator apart from the stack', () => {
    const [accept] = parseGoroutineStacks(START).filter((stack) => stack.id === 1);
    expect(accept!.frames.map((frame) => frame.function)).toContain('internal/poll.(*pollDesc).waitRead');
    expect(accept!.frames.at(-1)).toEqual({ function: 'main.main', file: '/home/dev/streamer-leakcheck/go/streamer/main.go', line: 262 });
    expect(accept!.createdBy).toBeNull();
  });

  it('refuses text that is not a goroutine dump', () => {
    expect(() => parseGoroutineDump('<html>404</html>')).toThrow(/not a goroutine dump/);
    expect(() => parseGoroutineDump('goroutine profile: total 3\n')).toThrow(/not a goroutine dump/);
  });
});

// The formats of newer Go and of GOTRACEBACK/GODEBUG settings, written from runtime/traceback.go.
const NEWER = `goroutine 7 gp=0xc000007a40 m=nil [chan send, 12 minutes, locked to thread]:
example.com/app/stream.(*Hub).publish[...](0xc000120000, {0x7f, 0x1})
\t/src/app/stream/hub.go:41 +0x4a fp=0xc00005df48 sp=0xc00005df28 pc=0x4a1b2a
...12 frames elided...
example.com/app/stream.Run()
\t/src/app/stream/run.go:9 +0x1d
created by example.com/app.main in goroutine 1
\t/src/app/main.go:30 +0x85
[originating from goroutine 1]:
example.com/app.main()
\t/src/app/main.go:30 +0x85

goroutine 9 [sync.Mutex.Lock (scan)]:
sync.runtime_SemacquireMutex(0xc0000b0004?, 0x0?, 0x1?)
\t/usr/lib/go/src/runtime/sema.go:77 +0x25
sync.(*Mutex).lockSlow(0xc0000b0000)
\t/usr/lib/go/src/sync/mutex.go:171 +0x165
example.com/app.(*Store).Put(...)
\t/src/app/store.go:18
created by example.com/app.main in goroutine 1
\t/src/app/main.go:31 +0x9f

goroutine 10 [chan receive (nil chan)]:
example.com/app.wait()
\t/src/app/main.go:50 +0x1d
`;

describe('parseGoroutineStacks on newer formats', () => {
  const stacks = parseGoroutineStacks(NEWER);

  it('reads the state past gp=/m= fields, durations, "locked to thread" and "(scan)"', () => {
    expect(stacks.map((stack) => [stack.id, stack.state])).toEqual([
      [7, 'chan send'],
      [9, 'sync.Mutex.Lock'],
      [10, 'chan receive (nil chan)'],
    ]);
  });

  it('skips elided frames and the ancestors after "created by … in goroutine N"', () => {
    expect(stacks[0]!.frames).toEqual([
      { function: 'example.com/app/stream.(*Hub).publish[...]', file: '/src/app/stream/hub.go', line: 41 },
      { function: 'example.com/app/stream.Run', file: '/src/app/stream/run.go', line: 9 },
    ]);
    expect(stacks[0]!.createdBy).toEqual({ function: 'example.com/app.main', file: '/src/app/main.go', line: 30 });
  });

  it('groups by the first frame of the program, past the runtime and sync', () => {
    const groups = parseGoroutineDump(NEWER).groups.map(goroutineGroupKey);
    expect(groups).toContain('[sync.Mutex.Lock] example.com/app.(*Store).Put at store.go:18');
  });
});

describe('stateOf and isProgramFrame', () => {
  it('keeps what the goroutine waits for and drops how long', () => {
    expect(stateOf('select, 5 minutes')).toBe('select');
    expect(stateOf('IO wait')).toBe('IO wait');
    expect(stateOf('GC worker (idle)')).toBe('GC worker (idle)');
    expect(stateOf('semacquire (scan), 2 minutes, locked to thread')).toBe('semacquire');
  });

  it('tells the program from the runtime and the standard library', () => {
    for (const library of [
      'runtime.gopark',
      'internal/poll.runtime_pollWait',
      'sync.(*WaitGroup).Wait',
      'net/http.(*persistConn).readLoop',
      'crypto/tls.(*Conn).Read',
      'encoding/json.(*Encoder).Encode',
      'golang.org/x/net/http2.(*serverConn).serve',
      'os/signal.signal_recv',
    ]) {
      expect(isProgramFrame(library), library).toBe(false);
    }
    for (const own of ['main.(*ResponseStreamer).sendEvent', 'github.com/acme/netx.Dial', 'timeline.Run', 'iox.Copy']) {
      expect(isProgramFrame(own), own).toBe(true);
    }
  });
});

describe('the recorded dumps, diffed', () => {
  it('names the unguarded send first, then the upstream connections it holds', () => {
    const grown = diffGoroutineGroups(parseGoroutineDump(START).groups, parseGoroutineDump(AFTER_5).groups, 5);
    expect(grown.map((group) => `+${group.count} ${goroutineGroupKey(group)} (${group.countPerDisconnect.toFixed(2)})`)).toEqual([
      '+5 [chan send] main.(*ResponseStreamer).sendEvent at main.go:100 (1.00)',
      '+5 [select] net/http.(*persistConn).readLoop at transport.go:2213 (1.00)',
      '+5 [select] net/http.(*persistConn).writeLoop at transport.go:2392 (1.00)',
    ]);
  });
});
