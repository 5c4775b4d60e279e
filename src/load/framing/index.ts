/**
 * Framings: what an event is in a response body, chosen from its Content-Type unless the request
 * names one. `text/event-stream` is SSE; the JSON-lines types (and `application/json` streamed) are
 * one event a line; anything else is one event a chunk.
 */
import { ChunkCounter } from './chunks.js';
import type { EventCounter } from './counter.js';
import { NdjsonCounter } from './ndjson.js';
import { SseCounter } from './sse.js';

export type { EventCounter } from './counter.js';
export { ChunkCounter, NdjsonCounter, SseCounter };

export type Framing = 'sse' | 'ndjson' | 'chunks';
/** What a request asks for: a framing, or `auto` (chosen from each response's Content-Type). */
export type FramingChoice = Framing | 'auto';

export const FRAMINGS: readonly Framing[] = ['sse', 'ndjson', 'chunks'];

const SSE_TYPE = /^\s*text\/event-stream\s*(?:;|$)/i;
const LINES_TYPE = /^\s*application\/(?:x-ndjson|ndjson|jsonl|x-jsonl|jsonlines|x-jsonlines|json)\s*(?:;|$)/i;

/** The framing a Content-Type stands for. */
export function framingOf(contentType: string | string[] | undefined): Framing {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  if (value === undefined) return 'chunks';
  if (SSE_TYPE.test(value)) return 'sse';
  if (LINES_TYPE.test(value)) return 'ndjson';
  return 'chunks';
}

/** The framing to read a response with: the request's own, or the one its Content-Type stands for. */
export function chooseFraming(choice: FramingChoice, contentType: string | string[] | undefined): Framing {
  return choice === 'auto' ? framingOf(contentType) : choice;
}

export function createCounter(framing: Framing): EventCounter {
  switch (framing) {
    case 'sse':
      return new SseCounter();
    case 'ndjson':
      return new NdjsonCounter();
    case 'chunks':
      return new ChunkCounter();
  }
}

export function isEventStream(contentType: string | string[] | undefined): boolean {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  return value !== undefined && SSE_TYPE.test(value);
}
