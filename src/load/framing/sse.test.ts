import { describe, expect, it } from 'vitest';

import { SseCounter } from './sse.js';

function countAll(text: string, splitEvery = 0): SseCounter {
  const counter = new SseCounter();
  const bytes = Buffer.from(text, 'latin1');
  if (splitEvery <= 0) counter.feed(bytes);
  else for (let i = 0; i < bytes.length; i += splitEvery) counter.feed(bytes.subarray(i, i + splitEvery));
  return counter;
}

const STREAM = 'id: 1\nevent: token\ndata: a\n\nid: 2\ndata: b\n\n: keep-alive\n\nevent: done\ndata: {}\n\ndata: [DONE]\n\n';

describe('SseCounter', () => {
  it('counts events at every chunk split; event: done and data: [DONE] are events like any other', () => {
    for (let split = 0; split <= 8; split++) expect(countAll(STREAM, split).events, `split ${split}`).toBe(4);
  });

  it('accepts CRLF and CR line endings, also split between CR and LF', () => {
    expect(countAll(STREAM.replace(/\n/g, '\r\n'), 1).events).toBe(4);
    expect(countAll(STREAM.replace(/\n/g, '\r\n'), 2).events).toBe(4);
    expect(countAll(STREAM.replace(/\n/g, '\r'), 3).events).toBe(4);
  });

  it('does not count comment-only blocks or stray blank lines', () => {
    expect(countAll('\n\n: ping\n\n\n\r\n').events).toBe(0);
    expect(countAll(': ping\ndata: x\n\n').events).toBe(1);
  });

  it('Anthropic-style named events: one per block, whatever the name', () => {
    const text = ['message_start', 'content_block_delta', 'ping', 'message_stop'].map((name) => `event: ${name}\ndata: {}\n\n`).join('');
    expect(countAll(text, 5).events).toBe(4);
  });

  it('a block the body ended in the middle of is not an event', () => {
    const counter = countAll('data: 1\n\ndata: 2\n');
    counter.end();
    expect(counter.events).toBe(1);
  });

  it('stops right after the event that reaches the limit', () => {
    const counter = new SseCounter();
    const bytes = Buffer.from('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    const stop = counter.feed(bytes, 2);
    expect(counter.events).toBe(2);
    expect(bytes.subarray(stop).toString()).toBe('data: 3\n\n');
  });
});
