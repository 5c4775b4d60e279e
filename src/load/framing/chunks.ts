/**
 * Chunk framing, for a stream of any other type: one event per run of body bytes as it arrives. That
 * is one network read's worth of a response (undici hands each read on, and so does the raw client's
 * chunked decoder), so a server's writes may be joined or split on the way: `leave-after-events`
 * counts reads here, the closest a client can get to "writes" without knowing the format.
 */
import type { EventCounter } from './counter.js';

export class ChunkCounter implements EventCounter {
  events = 0;

  feed(chunk: Uint8Array, _limit = Number.POSITIVE_INFINITY, start = 0, end = chunk.length): number {
    if (end > start) this.events++;
    return end;
  }

  end(): void {}
}
