import { describe, expect, it } from 'vitest';
import { goroutineLines, growthText, handlesCell, retainerPathText, signedCount, taskLines } from './figures.js';
import type { ScenarioResult, TargetReport } from './types.js';

const goOld = {
  per: 'disconnect',
  verdict: 'leak',
  handleGrowthByType: { 'goroutines in main.(*ResponseStreamer).sendEvent main.go:100': 600 },
  goroutineGrowth: {
    disconnects: 600,
    totalAtStart: 8,
    totalAtEnd: 1808,
    dumpMs: 120,
    dumpBytes: 640_000,
    groups: [
      {
        state: 'chan send',
        function: 'main.(*ResponseStreamer).sendEvent',
        location: 'main.go:100',
        inProgram: true,
        count: 600,
        countPerDisconnect: 1,
        stack: ['main.(*ResponseStreamer).sendEvent at main.go:100', 'main.(*ResponseStreamer).Stream at main.go:159'],
        createdBy: 'main.(*app).handleStreamRequest at main.go:195',
      },
      {
        state: 'select',
        function: 'net/http.(*persistConn).readLoop',
        location: 'transport.go:2213',
        inProgram: false,
        count: 600,
        countPerDisconnect: 1,
        stack: ['net/http.(*persistConn).readLoop at transport.go:2213'],
        createdBy: 'net/http.(*Transport).dialConn at transport.go:1751',
      },
    ],
  },
} as unknown as ScenarioResult;

describe('goroutineLines', () => {
  it('says how many goroutines wait where, in what state, per disconnect, and the stack of the program\'s', () => {
    const lines = goroutineLines(goOld)!;
    expect(lines.title).toMatch(/8 → 1808 goroutines over 600 disconnects/);
    expect(lines.groups).toEqual([
      '+600 goroutines [chan send] main.(*ResponseStreamer).sendEvent at main.go:100 (1.00 per disconnect)',
      '+600 goroutines [select] net/http.(*persistConn).readLoop at transport.go:2213 (1.00 per disconnect)',
    ]);
    expect(lines.paths).toEqual([
      'main.(*ResponseStreamer).sendEvent at main.go:100 ← main.(*ResponseStreamer).Stream at main.go:159 ← started by main.(*app).handleStreamRequest at main.go:195',
    ]);
  });

  it('says nothing when no group grew or no dump was read', () => {
    expect(goroutineLines({ ...goOld, goroutineGrowth: { ...goOld.goroutineGrowth!, groups: [] } })).toBeNull();
    expect(goroutineLines({ ...goOld, goroutineGrowth: null })).toBeNull();
  });
});

describe('growthText', () => {
  it('leaves the goroutines by first frame out when the dumps list them by state', () => {
    expect(growthText(goOld)).toBe('none');
    expect(growthText({ ...goOld, goroutineGrowth: null })).toBe('+600 goroutines in main.(*ResponseStreamer).sendEvent main.go:100');
  });
});

describe('retainerPathText', () => {
  it('writes a run of three or more identical steps once, with its count', () => {
    const timers = Array.from({ length: 97 }, () => '_idleNext → Timeout');
    expect(retainerPathText(['(GC roots)', ...timers, '_onTimeout → anonymous()', 'res → ServerResponse'])).toBe(
      '(GC roots) {_idleNext → Timeout} ×97 _onTimeout → anonymous() res → ServerResponse',
    );
  });
  it('keeps short repeats and distinct steps as they are', () => {
    expect(retainerPathText(['(GC roots)', 'a → A', 'a → A', 'b → B'])).toBe('(GC roots) a → A a → A b → B');
    expect(retainerPathText([])).toBe('');
  });
});

const pyOld = {
  per: 'disconnect',
  verdict: 'leak',
  handleGrowthByType: { 'tasks [Queue.put] produce at app.py:40': 400, TCPSocketWrap: 0 },
  goroutineGrowth: null,
  taskGrowth: {
    disconnects: 400,
    totalAtStart: 3,
    totalAtEnd: 403,
    processes: 2,
    blockedLoops: 0,
    readMs: 900,
    groups: [
      {
        state: 'Queue.put',
        function: 'produce',
        location: 'app.py:40',
        inProgram: true,
        count: 400,
        countPerDisconnect: 1,
        stack: ['Queue.put at queues.py:120', 'produce at app.py:40'],
        createdBy: 'stream at app.py:47',
        code: 'await queue.put(chunk)',
        createdByCode: 'producer = asyncio.create_task(produce(queue, request_id))',
      },
      {
        state: 'Event.wait',
        function: 'RequestResponseCycle.message_event',
        location: 'h11_impl.py:500',
        inProgram: false,
        count: 800,
        countPerDisconnect: 2,
        stack: ['Event.wait at locks.py:213'],
        createdBy: null,
        code: null,
        createdByCode: null,
      },
    ],
    objectTypes: [{ type: '_asyncio.Task', count: 400, countPerDisconnect: 1 }],
    tracemalloc: [{ file: '/srv/app.py', line: 40, location: 'app.py:40', bytes: 235_200, blocks: 400, bytesPerDisconnect: 588 }],
  },
} as unknown as ScenarioResult;

describe('taskLines', () => {
  it('lists the groups with the line they wait at and the line that created them, the types and the allocation sites that grew, with the top group\'s await chain', () => {
    expect(taskLines(pyOld)).toEqual({
      title: 'tasks left behind, by where they wait (agent reads: 3 → 403 pending tasks over 400 disconnects, 2 processes)',
      groups: [
        '+1.00 pending task per disconnect [Queue.put], waiting at `await queue.put(chunk)` app.py:40 in produce ' +
          '(created at `producer = asyncio.create_task(produce(queue, request_id))` app.py:47 in stream); 400 in all',
        // Without the source line (code with no file on disk): the place as the frame names it.
        '+2.00 pending tasks per disconnect [Event.wait], waiting at RequestResponseCycle.message_event at h11_impl.py:500; 800 in all',
        'objects grown: +1.00 _asyncio.Task (per disconnect)',
        'allocated and kept (tracemalloc): +588 B at app.py:40 (per disconnect)',
      ],
      paths: ['Queue.put at queues.py:120 ← produce at app.py:40 ← created by stream at app.py:47'],
    });
  });

  it('says nothing when nothing grew, or when the reads failed', () => {
    const none = { ...pyOld.taskGrowth!, groups: [], objectTypes: [], tracemalloc: null };
    expect(taskLines({ ...pyOld, taskGrowth: none })).toBeNull();
    expect(taskLines({ ...pyOld, taskGrowth: undefined })).toBeNull();
  });

  it('leaves the tasks out of "grew:" when the reads list them', () => {
    expect(growthText(pyOld)).toBe('none');
    expect(growthText({ ...pyOld, taskGrowth: undefined })).toBe('+400 tasks [Queue.put] produce at app.py:40');
  });
});

describe('signed figures', () => {
  it('a rate that rounds to zero has no sign; others keep theirs', () => {
    expect([signedCount(1), signedCount(-0.25), signedCount(-0.0004), signedCount(0.004), signedCount(0)]).toEqual(['+1.00', '−0.25', '0.00', '0.00', '0.00']);
    const handles = (perDisconnect: number | null) => handlesCell({ handles: { perDisconnect } } as unknown as TargetReport);
    expect([handles(-0.0004), handles(1), handles(-0.5), handles(null)]).toEqual(['0.00', '1.00', '−0.50', 'n/a']);
  });
});
