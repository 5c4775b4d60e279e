import { describe, expect, it } from 'vitest';
import { goroutineLines, growthText, retainerPathText } from './figures.js';
import type { ScenarioResult } from './types.js';

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
