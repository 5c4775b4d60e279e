import { describe, expect, it } from 'vitest';
import { diffGroups, isNamedGroup } from './attribution.js';

const map = (entries: Record<string, [number, number]>) =>
  new Map(Object.entries(entries).map(([group, [count, bytes]]) => [group, { count, bytes }]));

describe('diffGroups', () => {
  it('ranks what grew per disconnect, whole objects first by bytes, and drops the scatter', () => {
    const before = map({ ResponseStreamer: [0, 0], Socket: [5, 1000], '(compiled code)': [100, 500_000], Foo: [3, 90] });
    const after = map({
      ResponseStreamer: [200, 12_800],
      Socket: [205, 41_000],
      '(compiled code)': [101, 500_400],
      Foo: [4, 120],
      Gone: [1, 10],
    });
    const retained = diffGroups(before, after, 200);
    expect(retained.map((g) => g.group)).toEqual(['Socket', 'ResponseStreamer']);
    expect(retained[0]).toMatchObject({ count: 200, bytes: 40_000, countPerDisconnect: 1, bytesPerDisconnect: 200 });
  });

  it('puts the program\'s own constructors before buffers and V8 internals, whatever their bytes', () => {
    const before = map({});
    const after = map({ Buffer: [200, 2_000_000], '(string)': [400, 90_000], ResponseStreamer: [200, 9_600], Channel: [200, 6_400] });
    expect(diffGroups(before, after, 200).map((g) => g.group)).toEqual(['ResponseStreamer', 'Channel', 'Buffer', '(string)']);
  });

  it('reports nothing when nothing grew', () => {
    const same = map({ A: [10, 100] });
    expect(diffGroups(same, same, 100)).toEqual([]);
  });

  it('tells named groups from V8 internals', () => {
    expect(isNamedGroup('ChatManager')).toBe(true);
    expect(isNamedGroup('(closure send)')).toBe(false);
    expect(isNamedGroup('system / Context')).toBe(false);
  });
});
