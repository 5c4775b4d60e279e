/**
 * The programmatic API as a user would call it from their own test suite: this file doubles as the
 * example the README points to.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leakcheck, UsageError } from '../src/index.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');

describe('leakcheck() from a test', () => {
  it('returns the typed report: a planted leak is a leak, and report.ok says whether expectations held', async () => {
    const report = await leakcheck({
      target: [`mine=LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`],
      expect: ['mine=leak'],
      scenario: [path.join(FIXTURES, 'small.json')],
      seed: 1,
    });
    expect(report.ok).toBe(true);
    const [mine] = report.targets;
    expect(mine?.verdict).toBe('leak');
    expect(mine?.heap.bytesPerDisconnect).toBeGreaterThan(3000);
  }, 120_000);

  it('rejects bad options with the same errors as the CLI', async () => {
    await expect(leakcheck({ expect: ['nobody=leak'] })).rejects.toThrow(UsageError);
  });
});
