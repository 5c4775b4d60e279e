/**
 * NDJSON framing (Ollama's `application/x-ndjson`, JSON Lines): one event per non-empty line. A line
 * ends at LF; CR, spaces and tabs alone do not make a line non-empty, so CRLF and blank keep-alive
 * lines count nothing. The JSON itself is not parsed: a server's stream is counted, not validated.
 */
import type { EventCounter } from './counter.js';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;

export class NdjsonCounter implements EventCounter {
  events = 0;
  #lineHasContent = false;

  feed(chunk: Uint8Array, limit = Number.POSITIVE_INFINITY, start = 0, end = chunk.length): number {
    let content = this.#lineHasContent;
    for (let i = start; i < end; i++) {
      const byte = chunk[i]!;
      if (byte === LF) {
        if (!content) continue;
        content = false;
        if (++this.events >= limit) {
          this.#lineHasContent = false;
          return i + 1;
        }
      } else if (!content && byte !== CR && byte !== SPACE && byte !== TAB) {
        content = true;
      }
    }
    this.#lineHasContent = content;
    return end;
  }

  /** A last line without its LF is still a line. */
  end(): void {
    if (this.#lineHasContent) this.events++;
    this.#lineHasContent = false;
  }
}
