import { describe, expect, it } from 'vitest';
import { goroutineGroupKey } from './goroutines.js';
import { diffObjectTypes, diffTaskGroups, diffTracedLines, MIN_TASK_GROUP_COUNT, type TaskGroup } from './tasks.js';

const group = (state: string, fn: string, location: string, count: number, inProgram = true): TaskGroup => ({
  state,
  function: fn,
  location,
  inProgram,
  count,
  stack: [`${fn} at ${location}`],
  createdBy: null,
  code: null,
  createdByCode: null,
});

describe('diffTaskGroups', () => {
  it('lists the program\'s groups that grew first, then the libraries\', and leaves noise out', () => {
    const start = [group('sleep', 'Server.serve', 'server.py:80', 1, false)];
    const end = [
      group('sleep', 'Server.serve', 'server.py:80', 1, false),
      group('Queue.put', 'produce', 'app.py:40', 600),
      group('Event.wait', 'RequestResponseCycle.message_event', 'h11_impl.py:500', 30, false),
      group('Future', 'watchdog', 'app.py:90', MIN_TASK_GROUP_COUNT - 1),
    ];
    expect(diffTaskGroups(start, end, 600).map(goroutineGroupKey)).toEqual([
      '[Queue.put] produce at app.py:40',
      '[Event.wait] RequestResponseCycle.message_event at h11_impl.py:500',
    ]);
    expect(diffTaskGroups(start, end, 600)[0]!.countPerDisconnect).toBe(1);
  });
});

describe('diffObjectTypes', () => {
  it('keeps types that grew by half an object per disconnect or more, most first', () => {
    const grown = diffObjectTypes({ dict: 1000, '_asyncio.Task': 3, list: 50 }, { dict: 3400, '_asyncio.Task': 603, list: 100, cell: 900 }, 600);
    expect(grown).toEqual([
      { type: 'dict', count: 2400, countPerDisconnect: 4 },
      { type: 'cell', count: 900, countPerDisconnect: 1.5 },
      { type: '_asyncio.Task', count: 600, countPerDisconnect: 1 },
    ]);
  });
});

describe('diffTracedLines', () => {
  it('keeps allocation sites whose live bytes grew by 32 B or more per disconnect', () => {
    const before = [{ file: '/srv/app.py', line: 40, bytes: 1000, blocks: 2 }];
    const after = [
      { file: '/srv/app.py', line: 40, bytes: 1000 + 600 * 588, blocks: 602 },
      { file: '/usr/lib/python3.11/re/_compiler.py', line: 750, bytes: 9000, blocks: 20 },
    ];
    expect(diffTracedLines(before, after, 600)).toEqual([
      { file: '/srv/app.py', line: 40, location: 'app.py:40', bytes: 600 * 588, blocks: 600, bytesPerDisconnect: 588 },
    ]);
  });
});
