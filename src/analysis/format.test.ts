import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, formatPerDisconnect, formatQuantity, formatRateRange, plural } from './format.js';

describe('formatBytes (decimal: 1 KB = 1000 B)', () => {
  it.each([
    [0, '0 B'],
    [4.2, '4.2 B'],
    [86, '86 B'],
    [999, '999 B'],
    [1000, '1 KB'],
    [1234, '1.2 KB'],
    [4700, '4.7 KB'],
    [50_000, '50 KB'],
    [123_456, '123 KB'],
    [999_960, '1 MB'],
    [2_500_000, '2.5 MB'],
    [-2_500_000, '-2.5 MB'],
    [-30_000, '-30 KB'],
    [3e9, '3 GB'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('formatCount', () => {
  it.each([
    [12, '12'],
    [-3, '-3'],
    [1.5, '1.50'],
    [0.25, '0.25'],
    [0.004, '0.0040'],
  ])('%d -> %s', (count, text) => {
    expect(formatCount(count)).toBe(text);
  });
});

describe('rates and ranges', () => {
  it('puts a rate per disconnect, counts always with decimals', () => {
    expect(formatPerDisconnect(4700, 'bytes')).toBe('4.7 KB per disconnect');
    expect(formatPerDisconnect(1, 'count')).toBe('1.00 per disconnect');
    expect(formatPerDisconnect(0.02, 'count')).toBe('0.020 per disconnect');
    expect(formatPerDisconnect(0, 'count')).toBe('0.00 per disconnect');
  });

  it('writes an interval in one shared unit', () => {
    expect(formatRateRange(4500, 4900, 'bytes')).toBe('4.5–4.9 KB');
    expect(formatRateRange(-300, 4900, 'bytes')).toBe('-0.3–4.9 KB');
    expect(formatRateRange(42, 208, 'bytes')).toBe('42–208 B');
    expect(formatRateRange(0.98, 1.02, 'count')).toBe('0.98–1.02');
  });

  it('formats quantities by unit, and plurals', () => {
    expect(formatQuantity(550_000, 'bytes')).toBe('550 KB');
    expect(formatQuantity(4000, 'count')).toBe('4000');
    expect(plural(1, 'cycle')).toBe('1 cycle');
    expect(plural(4, 'cycle')).toBe('4 cycles');
  });
});
