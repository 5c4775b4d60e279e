/**
 * The programmatic API as a user would call it from their own test suite: this file doubles as the
 * example the README points to.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { leakcheck, UsageError } from '../src/index.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');

describe('leakcheck() from a test', () => {
  it('returns the typed report: a planted leak is a leak, and report.ok says whether expectations held', async () => {
    const report = await leakcheck({
      targets: [
        { name: 'mine', command: `LEAK_BYTES=4096 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`, expect: 'leak' },
      ],
      scenarios: [path.join(FIXTURES, 'small.json')],
      seed: 1,
    });
    expect(report.ok).toBe(true);
    const [mine] = report.targets;
    expect(mine?.verdict).toBe('leak');
    expect(mine?.heap.bytesPerDisconnect).toBeGreaterThan(3000);
  }, 120_000);

  it('runs targets side by side, two at a time, or one after another with parallel: false; the report keeps their order', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-api-'));
    const scenario = path.join(dir, 'tiny.json');
    await writeFile(
      scenario,
      JSON.stringify({
        name: 'tiny',
        description: 'three short cycles',
        warmupClients: 0,
        cycles: 3,
        clients: 60,
        concurrency: 10,
        mix: [{ behaviour: 'leave-after-events', events: 2, weight: 1 }],
      }),
    );
    const server = JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'));
    const order = async (parallel: boolean | undefined) => {
      const events: string[] = [];
      // The 'name=command' strings of the CLI work too.
      const report = await leakcheck({
        targets: [`a=LEAK_BYTES=4096 node ${server}`, `b=node ${server}`, `c=node ${server}`],
        scenarios: [scenario],
        seed: 2,
        ...(parallel === undefined ? {} : { parallel }),
        onEvent: (event) => {
          if (event.type === 'target-start') events.push(`start ${event.target}`);
          if (event.type === 'scenario-done') events.push(`done ${event.target}`);
        },
      });
      // The verdicts are not the point here (three tiny cycles without warm-up); that both ran is.
      expect(report.targets.map((t) => t.name)).toEqual(['a', 'b', 'c']);
      // (a's 4 KB per disconnect may stop it after 2 of its 3 cycles: an unmistakable leak.)
      for (const t of report.targets) expect(t.disconnects).toBeGreaterThanOrEqual(120);
      expect(report.problems).toEqual([]);
      return events;
    };
    expect(await order(false)).toEqual(['start a', 'done a', 'start b', 'done b', 'start c', 'done c']);
    const sideBySide = await order(undefined);
    expect(sideBySide.slice(0, 2).sort()).toEqual(['start a', 'start b']);
    // Two at a time: c waits for a free place.
    expect(sideBySide.indexOf('start c')).toBeGreaterThan(Math.min(sideBySide.indexOf('done a'), sideBySide.indexOf('done b')));
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('checks the upstream when asked: old never cancels its upstream stream, new does', async () => {
    const report = await leakcheck({
      scenarios: [path.join(FIXTURES, 'tiny.json')],
      expectUpstream: ['old=not-cancelled', 'new=not-cancelled'],
      seed: 3,
    });
    const [old, fixed] = report.targets;
    expect(old?.upstreamCheck).toEqual({ expect: 'not-cancelled', seen: 'not-cancelled', met: true, reason: null });
    expect(old?.scenarios[0]?.upstream?.cancellation).toBe('not-cancelled');
    // new cancels: the expectation given here is wrong on purpose, and the report fails on it.
    expect(fixed?.upstreamCheck).toEqual({ expect: 'not-cancelled', seen: 'cancelled', met: false, reason: 'upstream cancelled in tiny' });
    expect(fixed?.scenarios[0]?.upstream?.streamsCancelled).toBeGreaterThan(0.5 * fixed!.scenarios[0]!.disconnects);
    expect(report.ok).toBe(false);
  }, 120_000);

  it('rejects bad options with the same errors as the CLI, and a bad target object by its field', async () => {
    await expect(leakcheck({ expect: ['nobody=leak'] })).rejects.toThrow(UsageError);
    await expect(leakcheck({ targets: [{ name: 'api', command: 'node s.js', expect: 'leaky' as 'leak' }] })).rejects.toThrow(
      'leakcheck(): targets[0].expect: expected leak or clean (got "leaky")',
    );
  });
});
