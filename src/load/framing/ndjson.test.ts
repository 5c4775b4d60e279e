import { describe, expect, it } from 'vitest';

import { NdjsonCounter } from './ndjson.js';

function countAll(text: string, splitEvery = 0): NdjsonCounter {
  const counter = new NdjsonCounter();
  const bytes = Buffer.from(text, 'utf8');
  if (splitEvery <= 0) counter.feed(bytes);
  else for (let i = 0; i < bytes.length; i += splitEvery) counter.feed(bytes.subarray(i, i + splitEvery));
  return counter;
}

const STREAM = '{"response":"a","done":false}\n{"response":"b","done":false}\n\n{"done":true}\n';

describe('NdjsonCounter', () => {
  it('counts one event per non-empty line, at every chunk split', () => {
    for (let split = 0; split <= 9; split++) expect(countAll(STREAM, split).events, `split ${split}`).toBe(3);
  });

  it('CRLF line ends and whitespace-only lines count nothing extra', () => {
    expect(countAll(STREAM.replace(/\n/g, '\r\n'), 1).events).toBe(3);
    expect(countAll('\r\n \t\r\n\n').events).toBe(0);
  });

  it('a last line without its LF counts once the body ends', () => {
    const counter = countAll('{"a":1}\n{"done":true}', 4);
    expect(counter.events).toBe(1);
    counter.end();
    expect(counter.events).toBe(2);
    counter.end();
    expect(counter.events).toBe(2);
  });

  it('stops right after the line that reaches the limit, and goes on from there', () => {
    const counter = new NdjsonCounter();
    const bytes = Buffer.from('{"n":1}\n{"n":2}\n{"n":3}\n');
    const stop = counter.feed(bytes, 2);
    expect(counter.events).toBe(2);
    expect(bytes.subarray(stop).toString()).toBe('{"n":3}\n');
    counter.feed(bytes, Number.POSITIVE_INFINITY, stop);
    expect(counter.events).toBe(3);
  });
});
