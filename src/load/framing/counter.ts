/**
 * What a framing is to the disconnect driver: a counter fed raw body bytes as they arrive, which says
 * how many events the stream has carried so far. Counters are per client and allocation-free per
 * event: every chunk of every client goes through one, and their speed bounds the disconnect rate.
 */
export interface EventCounter {
  /** Events counted so far. */
  readonly events: number;
  /**
   * Consumes `chunk[start..end)`, stopping right after the event that brings `events` to `limit` (so a
   * client that leaves after N events has counted exactly N). Returns the index just past the last
   * byte consumed: `end` unless the limit was reached.
   */
  feed(chunk: Uint8Array, limit?: number, start?: number, end?: number): number;
  /** The body has ended: counts what the framing takes as a last, unterminated event. */
  end(): void;
}
