import { describe, expect, it } from 'vitest';
import { GO_METRICS, GO_RSS, NODE_HEAP_USED, NODE_METRICS, NODE_RSS, PROC_METRICS, PROC_RSS, specsFor } from './thresholds.js';

describe('default specs', () => {
  it('cover the documented keys', () => {
    expect(NODE_METRICS.map((s) => s.key)).toEqual([
      'heapUsedBytes',
      'externalBytes',
      'arrayBuffersBytes',
      'rssBytes',
      'handles',
      'liveWorkers',
    ]);
    expect(GO_METRICS.map((s) => s.key)).toEqual(['goroutines', 'heapAllocBytes', 'rssBytes']);
    expect(PROC_METRICS.map((s) => s.key)).toEqual(['rssBytes', 'fds', 'threads']);
  });

  it('keep RSS advisory next to a runtime heap and decisive alone', () => {
    expect(NODE_RSS.decisive).toBe(false);
    expect(GO_RSS.decisive).toBe(false);
    expect(PROC_RSS.decisive).toBe(true);
  });

  it('put the heap leak threshold between the clean drift (86 B) and the smallest leak to catch (256 B)', () => {
    expect(NODE_HEAP_USED.leakPerDisconnect).toBeGreaterThan(86);
    expect(NODE_HEAP_USED.leakPerDisconnect).toBeLessThan(256);
    // Two samples ±20 KB apart differ by up to 40 KB.
    expect(NODE_HEAP_USED.noiseFloor).toBeGreaterThan(40_000);
  });

  it('have positive thresholds everywhere', () => {
    for (const spec of [...NODE_METRICS, ...GO_METRICS, ...PROC_METRICS]) {
      expect(spec.leakPerDisconnect).toBeGreaterThan(0);
      expect(spec.noiseFloor).toBeGreaterThan(0);
    }
  });
});

describe('specsFor', () => {
  it('picks known keys in catalogue order, whatever the input order, and drops unknown ones', () => {
    expect(specsFor(['handles', 'nonsense', 'heapUsedBytes']).map((s) => s.key)).toEqual(['heapUsedBytes', 'handles']);
  });

  it('makes RSS advisory with Node or Go keys and decisive with /proc keys only', () => {
    expect(specsFor(['rssBytes', 'heapUsedBytes']).find((s) => s.key === 'rssBytes')).toBe(NODE_RSS);
    expect(specsFor(['goroutines', 'rssBytes']).find((s) => s.key === 'rssBytes')).toBe(GO_RSS);
    expect(specsFor(['fds', 'rssBytes', 'threads'])).toEqual([PROC_RSS, PROC_METRICS[1], PROC_METRICS[2]]);
  });

  it('lists each key once', () => {
    const keys = specsFor(['rssBytes', 'heapUsedBytes', 'fds', 'goroutines']).map((s) => s.key);
    expect(keys).toEqual(['heapUsedBytes', 'rssBytes', 'goroutines', 'fds']);
  });
});
