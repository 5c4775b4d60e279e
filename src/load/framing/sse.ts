/**
 * SSE framing: an incremental Server-Sent Events counter: it is fed raw body bytes as they arrive and counts
 * events (blocks ended by a blank line) and recognises `event: done`, without building strings.
 * Per-byte work only, no allocation per event: the disconnect driver feeds every chunk of every
 * client through it, and its speed bounds how many disconnects per second we can drive.
 *
 * What counts as an event: a block with at least one field line (`data:`, `event:`, `id:` …).
 * Comment-only blocks (`: keep-alive`) are not events. Unlike a browser's EventSource, a block with
 * no `data:` still counts (servers do send a bare `event: done`). Lines may end in LF, CRLF or CR.
 */

import type { EventCounter } from './counter.js';

const LF = 0x0a;
const CR = 0x0d;
const COLON = 0x3a;
const SPACE = 0x20;
const EVENT_NAME = Buffer.from('event', 'latin1');
const DONE_VALUE = Buffer.from('done', 'latin1');

/** Where the parser is within the current line. */
const enum LineState {
  /** Reading the field name (or nothing yet). */
  name,
  /** Just after `event:`; one leading space is skipped. */
  eventValueStart,
  /** Reading the value of an `event` field. */
  eventValue,
  /** Rest of a line we do not care about (other field values, comments). */
  skip,
}

export class SseCounter implements EventCounter {
  /** Events dispatched so far, the final `done` included. */
  events = 0;
  /** Whether an event named `done` has been dispatched. */
  sawDone = false;

  #state = LineState.name;
  #lineLength = 0;
  /** Bytes of `event` (in the name) or `done` (in the value) matched so far; -1 once it cannot match. */
  #match = 0;
  #blockHasField = false;
  #blockIsDone = false;
  #afterCR = false;

  /**
   * Consumes `chunk[start..end)`, stopping right after the event that brings `events` to `limit`
   * (so a client that leaves after N events has counted exactly N). Returns the index just past the
   * last byte consumed: `end` unless the limit was reached.
   */
  feed(chunk: Uint8Array, limit = Number.POSITIVE_INFINITY, start = 0, end = chunk.length): number {
    for (let i = start; i < end; i++) {
      const byte = chunk[i]!;
      if (byte === LF || byte === CR) {
        if (byte === LF && this.#afterCR) {
          this.#afterCR = false;
          continue;
        }
        this.#afterCR = byte === CR;
        if (this.#endLine() && this.events >= limit) return i + 1;
        continue;
      }
      this.#afterCR = false;
      const position = this.#lineLength++;
      switch (this.#state) {
        case LineState.name:
          if (byte === COLON) {
            if (position === 0) {
              this.#state = LineState.skip; // a comment line
            } else {
              this.#state = this.#match === EVENT_NAME.length ? LineState.eventValueStart : LineState.skip;
              this.#match = 0;
            }
          } else {
            this.#blockHasField = true;
            if (this.#match >= 0) this.#match = EVENT_NAME[this.#match] === byte ? this.#match + 1 : -1;
          }
          break;
        case LineState.eventValueStart:
          this.#state = LineState.eventValue;
          if (byte !== SPACE) this.#match = DONE_VALUE[0] === byte ? 1 : -1;
          break;
        case LineState.eventValue:
          if (this.#match >= 0) this.#match = DONE_VALUE[this.#match] === byte ? this.#match + 1 : -1;
          break;
        case LineState.skip:
          break;
      }
    }
    return end;
  }

  /** An event the body ended in the middle of is dropped, as an EventSource drops it. */
  end(): void {}

  /** Ends the current line; returns true when that dispatched an event. */
  #endLine(): boolean {
    if (this.#lineLength === 0) {
      if (!this.#blockHasField) return false;
      this.events++;
      if (this.#blockIsDone) this.sawDone = true;
      this.#blockHasField = false;
      this.#blockIsDone = false;
      return true;
    }
    if (this.#state === LineState.eventValue || this.#state === LineState.eventValueStart) {
      this.#blockIsDone = this.#match === DONE_VALUE.length;
    } else if (this.#state === LineState.name && this.#match === EVENT_NAME.length) {
      this.#blockIsDone = false; // a bare `event` line: the name is empty
    }
    this.#state = LineState.name;
    this.#lineLength = 0;
    this.#match = 0;
    return false;
  }
}
