/**
 * SSE framing: an incremental Server-Sent Events counter, fed raw body bytes as they arrive. It counts
 * events (blocks ended by a blank line) without building strings: per-byte work only, no allocation
 * per event. No event name is special (`event: done`, `data: [DONE]`, `event: message_stop` are events
 * like any other): a stream is over when the server ends the response.
 *
 * What counts as an event: a block with at least one field line (`data:`, `event:`, `id:` …).
 * Comment-only blocks (`: keep-alive`) are not events. Unlike a browser's EventSource, a block with
 * no `data:` still counts (servers do send a bare `event: done`). Lines may end in LF, CRLF or CR.
 */
import type { EventCounter } from './counter.js';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;

export class SseCounter implements EventCounter {
  events = 0;

  #lineLength = 0;
  #blockHasField = false;
  #afterCR = false;

  feed(chunk: Uint8Array, limit = Number.POSITIVE_INFINITY, start = 0, end = chunk.length): number {
    for (let i = start; i < end; i++) {
      const byte = chunk[i]!;
      if (byte === LF || byte === CR) {
        if (byte === LF && this.#afterCR) {
          this.#afterCR = false;
          continue;
        }
        this.#afterCR = byte === CR;
        if (this.#lineLength === 0) {
          // A blank line: it dispatches the block, if the block had a field.
          if (this.#blockHasField) {
            this.#blockHasField = false;
            if (++this.events >= limit) return i + 1;
          }
        } else {
          this.#lineLength = 0;
        }
        continue;
      }
      this.#afterCR = false;
      // A line that starts with ':' is a comment; any other line is a field.
      if (this.#lineLength++ === 0 && byte !== COLON) this.#blockHasField = true;
    }
    return end;
  }

  /** An event the body ended in the middle of is dropped, as an EventSource drops it. */
  end(): void {}
}
