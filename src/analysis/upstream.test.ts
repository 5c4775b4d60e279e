import { describe, expect, it } from 'vitest';
import { cancellationOf, checkUpstream, describeUpstream, type UpstreamCounters } from './upstream.js';

const counters = (overrides: Partial<UpstreamCounters>): UpstreamCounters => ({
  streamsStarted: 0,
  streamsCompleted: 0,
  streamsCancelled: 0,
  tokensAfterClientLeft: 0,
  streamsInFlightAtEnd: 0,
  openConnectionsAtEnd: 0,
  ...overrides,
});

describe('cancellationOf', () => {
  it('is cancelled from half a cancelled stream per disconnect, not cancelled below', () => {
    expect(cancellationOf(counters({ streamsStarted: 600, streamsCancelled: 598 }), 600)).toBe('cancelled');
    expect(cancellationOf(counters({ streamsStarted: 600, streamsCancelled: 300 }), 600)).toBe('cancelled');
    expect(cancellationOf(counters({ streamsStarted: 600, streamsCancelled: 299 }), 600)).toBe('not-cancelled');
    expect(cancellationOf(counters({ streamsStarted: 600, streamsCompleted: 600 }), 600)).toBe('not-cancelled');
  });

  it('cannot tell without upstream calls or without disconnects', () => {
    expect(cancellationOf(counters({}), 600)).toBeNull();
    expect(cancellationOf(counters({ streamsStarted: 50, streamsCompleted: 50 }), 0)).toBeNull();
  });

  it('agrees with the words', () => {
    expect(describeUpstream(counters({ streamsStarted: 600, streamsCancelled: 598 }), 600, 0)).toMatch(/^cancellation reached the upstream/);
    expect(describeUpstream(counters({ streamsStarted: 600, streamsCancelled: 299, streamsCompleted: 301 }), 600, 0)).toMatch(
      /^cancellation never reached the upstream: 299 cancelled for 600 disconnects, 301 streams ran to the end/,
    );
  });
});

describe('checkUpstream', () => {
  const scenario = (name: string, cancellation: 'cancelled' | 'not-cancelled' | null, control = false) => ({
    scenario: name,
    control,
    upstream: { cancellation },
  });

  it('is met when every scenario that can tell shows the expected cancellation', () => {
    expect(checkUpstream('cancelled', [scenario('mixed', 'cancelled'), scenario('before-first-byte', null)])).toEqual({
      expect: 'cancelled',
      seen: 'cancelled',
      met: true,
      reason: null,
    });
    expect(checkUpstream('not-cancelled', [scenario('mixed', 'not-cancelled')])).toMatchObject({ seen: 'not-cancelled', met: true });
  });

  it('names the scenarios that showed the other', () => {
    expect(checkUpstream('cancelled', [scenario('mixed', 'not-cancelled')])).toEqual({
      expect: 'cancelled',
      seen: 'not-cancelled',
      met: false,
      reason: 'upstream not cancelled in mixed',
    });
    expect(checkUpstream('not-cancelled', [scenario('mixed', 'not-cancelled'), scenario('reset', 'cancelled')])).toMatchObject({
      seen: 'both',
      met: false,
      reason: 'upstream cancelled in reset',
    });
  });

  it('is not met when nothing could tell, and says why', () => {
    expect(checkUpstream('cancelled', [{ scenario: 'mixed', control: false, upstream: null }])).toMatchObject({
      seen: 'unknown',
      met: false,
      reason: expect.stringMatching(/not pointed at the tool's upstream/),
    });
    expect(checkUpstream('cancelled', [scenario('mixed', null)])).toMatchObject({ seen: 'unknown', met: false, reason: expect.stringMatching(/made no upstream requests/) });
    expect(checkUpstream('cancelled', [])).toMatchObject({ seen: 'unknown', met: false });
  });

  it('leaves control scenarios out: their clients do not hang up', () => {
    expect(checkUpstream('not-cancelled', [scenario('mixed', 'not-cancelled'), scenario('control', 'cancelled', true)])).toMatchObject({ met: true });
  });
});
