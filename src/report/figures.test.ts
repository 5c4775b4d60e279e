import { describe, expect, it } from 'vitest';
import { retainerPathText } from './figures.js';

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
