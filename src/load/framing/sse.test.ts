import { describe, expect, it } from 'vitest';

import { SseCounter } from './sse.js';

function countAll(text: string, splitEvery = 0): SseCounter {
  const counter = new SseCounter();
  const bytes = Buffer.from(text, 'latin1');
  if (splitEvery <= 0) counter.feed(bytes);
  else for (let i = 0; i < bytes.length; i += splitEvery) counter.feed(bytes.subarray(i, i + splitEvery));
  return counter;
}

const STREAM = 'id: 1\nevent: token\ndata: a\n\nid: 2\ndata: b\n\n: keep-alive\n\nevent: done\ndata: [DONE]\n\n';

describe('SseCounter', () => {
  it('counts events and recognises event: done, at every chunk split', () => {
    for (let split = 0; split <= 8; split++) {
      const counter = countAll(STREAM, split);
      expect(counter.events, `split ${split}`).toBe(3);
      expect(counter.sawDone, `split ${split}`).toBe(true);
    }
  });

  it('accepts CRLF and CR line endings, also split between CR and LF', () => {
    expect(countAll(STREAM.replace(/\n/g, '\r\n'), 1).events).toBe(3);
    expect(countAll(STREAM.replace(/\n/g, '\r\n'), 1).sawDone).toBe(true);
    expect(countAll(STREAM.replace(/\n/g, '\r'), 3).events).toBe(3);
  });

  it('does not count comment-only blocks or stray blank lines', () => {
    expect(countAll('\n\n: ping\n\n\n').events).toBe(0);
  });

  it('only a field named exactly "event" with value exactly "done" is done', () => {
    for (const block of ['event: doner\n\n', 'events: done\n\n', 'data: done\n\n', 'event:  done\n\n', 'event\n\n']) {
      expect(countAll(block).sawDone, block).toBe(false);
    }
    expect(countAll('event:done\n\n').sawDone).toBe(true);
    expect(countAll('event: done\nevent: token\ndata: x\n\n').sawDone).toBe(false); // the last event field wins
  });

  it('stops right after the event that reaches the limit', () => {
    const counter = new SseCounter();
    const bytes = Buffer.from('data: 1\n\ndata: 2\n\ndata: 3\n\n');
    const stop = counter.feed(bytes, 2);
    expect(counter.events).toBe(2);
    expect(bytes.subarray(stop).toString()).toBe('data: 3\n\n');
  });
});
