import { describe, expect, it } from 'vitest';

import { ChunkedDecoder, ResponseHeadReader } from './raw-http.js';

function chunked(parts: string[]): Buffer {
  return Buffer.from(parts.map((p) => `${Buffer.byteLength(p).toString(16)};ext=1\r\n${p}\r\n`).join('') + '0\r\nx-trailer: 1\r\n\r\n');
}

describe('ChunkedDecoder', () => {
  it('decodes at every split point and ends at the zero chunk', () => {
    const body = chunked(['data: a\n\n', 'data: bb\n', '\n']);
    for (let split = 1; split <= body.length; split++) {
      const decoder = new ChunkedDecoder();
      let out = '';
      for (let i = 0; i < body.length; i += split) {
        decoder.feed(body.subarray(i, i + split), 0, (chunk, from, to) => {
          out += chunk.toString('latin1', from, to);
          return false;
        });
      }
      expect(out, `split ${split}`).toBe('data: a\n\ndata: bb\n\n');
      expect(decoder.done, `split ${split}`).toBe(true);
    }
  });

  it('stops where the sink asks it to', () => {
    const body = chunked(['abc', 'def']);
    const decoder = new ChunkedDecoder();
    const stop = decoder.feed(body, 0, () => true);
    expect(body.subarray(0, stop).toString()).toBe('3;ext=1\r\nabc');
  });

  it('rejects malformed framing', () => {
    expect(() => new ChunkedDecoder().feed(Buffer.from('zz\r\n'), 0, () => false)).toThrow(/chunk size/);
    expect(() => new ChunkedDecoder().feed(Buffer.from('1\r\nabc'), 0, () => false)).toThrow(/CRLF/);
  });
});

describe('ResponseHeadReader', () => {
  it('finds the body start across chunks and parses status and headers', () => {
    const reader = new ResponseHeadReader();
    expect(reader.feed(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r'))).toBe(-1);
    expect(reader.feed(Buffer.from('\nTransfer-Encoding: chunked\r\n\r\n5\r\n'))).toBe(31);
    expect(reader.parse()).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' },
    });
  });

  it('rejects something that is not HTTP', () => {
    const reader = new ResponseHeadReader();
    reader.feed(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'));
    expect(() => reader.parse()).toThrow(/status line/);
  });
});
