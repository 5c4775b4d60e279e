/**
 * Did cancellation reach the upstream? Pure: reads the mock upstream's counters over one scenario and
 * says so in words. A server that forwards its client's disconnect cancels the upstream request, so the
 * upstream sees about one cancelled stream per disconnect; a server that does not lets the upstream
 * stream run to its end (or keeps its connection open, unread, forever).
 */
export interface UpstreamCounters {
  streamsStarted: number;
  streamsCompleted: number;
  streamsCancelled: number;
  tokensAfterClientLeft: number;
  streamsInFlightAtEnd: number;
  openConnectionsAtEnd: number;
}

/**
 * Share of disconnects that must show up as cancelled upstream streams to say cancellation reached it.
 * Some clients leave before the server even calls the upstream, or after its stream ended; half is far
 * from both a fixed server (~1.0 measured on the reference `new`) and a leaky one (0).
 */
const CANCELLED_SHARE_FOR_REACHED = 0.5;

/**
 * Whether a server cancels its upstream call when its client leaves: `--expect-upstream`. Not cancelling
 * can be meant (the AI SDK's `consumeStream()` finishes an answer to save it), so nothing expects either
 * unless told.
 */
export type UpstreamCancellation = 'cancelled' | 'not-cancelled';

/** What one scenario's counters say; null when they cannot say (no upstream calls, no disconnects). */
export function cancellationOf(counters: UpstreamCounters, disconnects: number): UpstreamCancellation | null {
  if (counters.streamsStarted === 0 || disconnects === 0) return null;
  return counters.streamsCancelled >= CANCELLED_SHARE_FOR_REACHED * disconnects ? 'cancelled' : 'not-cancelled';
}

export interface UpstreamCheck {
  expect: UpstreamCancellation;
  /** What the scenarios that could say showed; 'unknown' when none could, 'both' when they disagree. */
  seen: UpstreamCancellation | 'both' | 'unknown';
  met: boolean;
  /** Why, in words, when not met. */
  reason: string | null;
}

/**
 * A target's upstream expectation judged on its disconnect scenarios (a control scenario has no
 * disconnects): met when every one that could tell shows it, and at least one could.
 */
export function checkUpstream(
  expect: UpstreamCancellation,
  scenarios: ReadonlyArray<{ scenario: string; control: boolean; upstream: { cancellation: UpstreamCancellation | null } | null }>,
): UpstreamCheck {
  const told = scenarios.filter((s) => !s.control && s.upstream?.cancellation);
  if (told.length === 0) {
    const reason = scenarios.some((s) => s.upstream)
      ? 'no scenario could tell whether cancellation reached the upstream (the target made no upstream requests)'
      : "no upstream counters to read: the target is not pointed at the tool's upstream (give an attached target --upstream)";
    return { expect, seen: 'unknown', met: false, reason };
  }
  const seen = new Set(told.map((s) => s.upstream!.cancellation!));
  const shown: UpstreamCheck['seen'] = seen.size > 1 ? 'both' : [...seen][0]!;
  if (shown === expect) return { expect, seen: shown, met: true, reason: null };
  const against = told.filter((s) => s.upstream!.cancellation !== expect).map((s) => s.scenario);
  return { expect, seen: shown, met: false, reason: `upstream ${expect === 'cancelled' ? 'not cancelled' : 'cancelled'} in ${against.join(', ')}` };
}

export function describeUpstream(counters: UpstreamCounters, disconnects: number, completedClients: number): string {
  if (counters.streamsStarted === 0) return 'the target made no upstream requests';
  if (disconnects === 0) {
    return `${counters.streamsCompleted} of ${counters.streamsStarted} upstream streams completed`;
  }
  const ranOnAfterClientLeft = Math.max(0, counters.streamsCompleted - completedClients);
  if (cancellationOf(counters, disconnects) === 'cancelled') {
    return `cancellation reached the upstream: ${counters.streamsCancelled} upstream streams cancelled for ${disconnects} disconnects`;
  }
  const held = counters.openConnectionsAtEnd;
  const parts = [`cancellation never reached the upstream: ${counters.streamsCancelled} cancelled for ${disconnects} disconnects`];
  if (ranOnAfterClientLeft > 0) parts.push(`${ranOnAfterClientLeft} streams ran to the end after their client left`);
  if (counters.streamsInFlightAtEnd > 0) parts.push(`${counters.streamsInFlightAtEnd} still streaming`);
  if (held > 0) parts.push(`${held} upstream connections still open`);
  return parts.join(', ');
}
