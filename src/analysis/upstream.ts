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

export function describeUpstream(counters: UpstreamCounters, disconnects: number, completedClients: number): string {
  if (counters.streamsStarted === 0) return 'the target made no upstream requests';
  if (disconnects === 0) {
    return `${counters.streamsCompleted} of ${counters.streamsStarted} upstream streams completed`;
  }
  const ranOnAfterClientLeft = Math.max(0, counters.streamsCompleted - completedClients);
  if (counters.streamsCancelled >= CANCELLED_SHARE_FOR_REACHED * disconnects) {
    return `cancellation reached the upstream: ${counters.streamsCancelled} upstream streams cancelled for ${disconnects} disconnects`;
  }
  const held = counters.openConnectionsAtEnd;
  const parts = [`cancellation never reached the upstream: ${counters.streamsCancelled} cancelled for ${disconnects} disconnects`];
  if (ranOnAfterClientLeft > 0) parts.push(`${ranOnAfterClientLeft} streams ran to the end after their client left`);
  if (counters.streamsInFlightAtEnd > 0) parts.push(`${counters.streamsInFlightAtEnd} still streaming`);
  if (held > 0) parts.push(`${held} upstream connections still open`);
  return parts.join(', ');
}
