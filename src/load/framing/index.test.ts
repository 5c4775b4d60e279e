import { describe, expect, it } from 'vitest';

import { ChunkCounter, chooseFraming, createCounter, framingOf, NdjsonCounter, SseCounter } from './index.js';

describe('framingOf', () => {
  it.each([
    ['text/event-stream', 'sse'],
    ['Text/Event-Stream; charset=utf-8', 'sse'],
    ['application/x-ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    ['application/json; charset=utf-8', 'ndjson'],
    ['application/jsonx', 'chunks'],
    ['text/plain', 'chunks'],
    ['text/event-streamer', 'chunks'],
    [undefined, 'chunks'],
  ] as const)('%s -> %s', (type, framing) => {
    expect(framingOf(type)).toBe(framing);
  });

  it('an explicit framing overrides the Content-Type', () => {
    expect(chooseFraming('sse', 'text/plain')).toBe('sse');
    expect(chooseFraming('chunks', 'text/event-stream')).toBe('chunks');
    expect(chooseFraming('auto', ['application/x-ndjson'])).toBe('ndjson');
  });

  it('creates the counter of each framing', () => {
    expect(createCounter('sse')).toBeInstanceOf(SseCounter);
    expect(createCounter('ndjson')).toBeInstanceOf(NdjsonCounter);
    expect(createCounter('chunks')).toBeInstanceOf(ChunkCounter);
  });
});

describe('ChunkCounter', () => {
  it('counts each non-empty run of body bytes once', () => {
    const counter = new ChunkCounter();
    const bytes = Buffer.from('abcdef');
    expect(counter.feed(bytes, 10)).toBe(6);
    counter.feed(bytes, 10, 3, 3);
    counter.feed(bytes, 10, 2, 4);
    expect(counter.events).toBe(2);
  });
});
