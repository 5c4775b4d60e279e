import { describe, expect, it } from 'vitest';
import { diffGoroutineGroups, goroutineGroupKey, MIN_GROUP_COUNT, type GoroutineGroup } from './goroutines.js';

const group = (state: string, fn: string, location: string, count: number, inProgram = !fn.startsWith('net/')): GoroutineGroup => ({
  state,
  function: fn,
  location,
  inProgram,
  count,
  stack: [`${fn} at ${location}`],
  createdBy: null,
});

describe('diffGoroutineGroups', () => {
  const start = [group('IO wait', 'main.main', 'main.go:262', 1), group('select', 'net/http.(*persistConn).readLoop', 'transport.go:2213', 2)];

  it('ranks the program\'s own groups first, then the library\'s, each by growth per disconnect', () => {
    const end = [
      group('IO wait', 'main.main', 'main.go:262', 1),
      group('select', 'net/http.(*persistConn).readLoop', 'transport.go:2213', 602),
      group('select', 'net/http.(*persistConn).writeLoop', 'transport.go:2392', 600),
      group('chan send', 'main.(*ResponseStreamer).sendEvent', 'main.go:100', 600),
      group('chan receive', 'main.(*Hub).wait', 'hub.go:12', 30),
    ];
    const grown = diffGoroutineGroups(start, end, 600);
    expect(grown.map(goroutineGroupKey)).toEqual([
      '[chan send] main.(*ResponseStreamer).sendEvent at main.go:100',
      '[chan receive] main.(*Hub).wait at hub.go:12',
      '[select] net/http.(*persistConn).readLoop at transport.go:2213',
      '[select] net/http.(*persistConn).writeLoop at transport.go:2392',
    ]);
    expect(grown[0]).toMatchObject({ count: 600, countPerDisconnect: 1 });
    expect(grown[1]).toMatchObject({ count: 30, countPerDisconnect: 0.05 });
  });

  it('tells the same place in another state apart', () => {
    const end = [...start, group('chan send', 'main.(*ResponseStreamer).sendEvent', 'main.go:100', 50), group('select', 'main.(*ResponseStreamer).sendEvent', 'main.go:100', 0)];
    const before = [group('select', 'main.(*ResponseStreamer).sendEvent', 'main.go:100', 50)];
    expect(diffGoroutineGroups(before, end, 50).map((g) => g.state)).toEqual(['chan send']);
  });

  it('reports nothing for a clean server: an idle keep-alive pool and a few stragglers are not a leak', () => {
    const end = [
      group('IO wait', 'main.main', 'main.go:262', 1),
      group('select', 'net/http.(*persistConn).readLoop', 'transport.go:2213', 4),
      group('select', 'net/http.(*persistConn).writeLoop', 'transport.go:2392', 2),
      group('IO wait', 'net/http.(*conn).serve', 'server.go:1991', MIN_GROUP_COUNT - 1),
    ];
    expect(diffGoroutineGroups(start, end, 40)).toEqual([]);
    // Enough goroutines, but far fewer than one per 50 disconnects.
    const many = [group('chan send', 'main.send', 'main.go:9', 40)];
    expect(diffGoroutineGroups([], many, 4000)).toEqual([]);
    expect(diffGoroutineGroups([], many, 400)).toHaveLength(1);
  });
});
