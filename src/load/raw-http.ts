/**
 * Just enough HTTP/1.1 response parsing for the one client arm that talks to the socket itself
 * (reset-after-events: a RST needs the raw socket, which undici does not hand out): the response
 * head, and the chunked transfer coding SSE responses almost always use.
 */

const CR = 0x0d;
const LF = 0x0a;

/** A response head larger than this is not an SSE server's. */
const MAX_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  statusCode: number;
  /** Lower-cased header names; repeated headers joined with ', '. */
  headers: Record<string, string>;
}

/** Collects bytes until the blank line that ends a response head, then parses it. */
export class ResponseHeadReader {
  #parts: Buffer[] = [];
  #bytes = 0;
  /** LF bytes seen in a row (CR ignored), across chunk boundaries. */
  #newlines = 0;

  /**
   * Feeds bytes. Returns the offset in `chunk` where the body starts once the head is complete,
   * -1 while more bytes are needed. Throws on a malformed or oversized head.
   */
  feed(chunk: Buffer): number {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte === LF) {
        if (++this.#newlines === 2) {
          this.#parts.push(chunk.subarray(0, i + 1));
          return i + 1;
        }
      } else if (byte !== CR) {
        this.#newlines = 0;
      }
    }
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_HEAD_BYTES) throw new Error(`response head larger than ${MAX_HEAD_BYTES} bytes`);
    this.#parts.push(chunk);
    return -1;
  }

  /** Parses the head collected so far (after `feed` returned an offset). */
  parse(): ResponseHead {
    const lines = Buffer.concat(this.#parts).toString('latin1').split(/\r?\n/);
    const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0] ?? '');
    if (!status) throw new Error(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
    const headers: Record<string, string> = {};
    for (let n = 1; n < lines.length; n++) {
      const line = lines[n]!;
      if (line === '') continue;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line.slice(0, 60))}`);
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    return { statusCode: Number(status[1]), headers };
  }
}

const enum ChunkState {
  size,
  extension,
  sizeLineEnd,
  data,
  dataEnd,
  trailer,
  done,
}

/**
 * Decodes `Transfer-Encoding: chunked` incrementally, handing each run of payload bytes to a sink
 * without copying. `done` turns true at the terminating zero-size chunk and its trailer.
 */
export class ChunkedDecoder {
  done = false;
  #state = ChunkState.size;
  #size = 0;
  #sizeDigits = 0;
  #remaining = 0;
  #trailerLineLength = 0;

  /**
   * Feeds `chunk[start..]`; `sink(chunk, from, to)` gets each payload run and returns true to stop
   * early. Returns the offset just past the last byte consumed. Throws on malformed framing.
   */
  feed(chunk: Buffer, start: number, sink: (chunk: Buffer, from: number, to: number) => boolean): number {
    let i = start;
    while (i < chunk.length) {
      switch (this.#state) {
        case ChunkState.size: {
          const byte = chunk[i]!;
          const digit = hexValue(byte);
          if (digit >= 0) {
            this.#size = this.#size * 16 + digit;
            if (++this.#sizeDigits > 12) throw new Error('chunk size too large');
          } else if (this.#sizeDigits > 0 && (byte === 0x3b || byte === 0x20 || byte === 0x09)) {
            this.#state = ChunkState.extension;
          } else if (this.#sizeDigits > 0 && (byte === CR || byte === LF)) {
            this.#state = ChunkState.sizeLineEnd;
            continue; // let sizeLineEnd see the byte
          } else {
            throw new Error(`bad chunk size byte 0x${byte.toString(16)}`);
          }
          i++;
          break;
        }
        case ChunkState.extension:
          if (chunk[i] === CR || chunk[i] === LF) this.#state = ChunkState.sizeLineEnd;
          else i++;
          break;
        case ChunkState.sizeLineEnd: {
          const byte = chunk[i++]!;
          if (byte !== LF) break; // the CR before it
          this.#remaining = this.#size;
          this.#size = 0;
          this.#sizeDigits = 0;
          this.#state = this.#remaining === 0 ? ChunkState.trailer : ChunkState.data;
          this.#trailerLineLength = 0;
          break;
        }
        case ChunkState.data: {
          const to = Math.min(chunk.length, i + this.#remaining);
          this.#remaining -= to - i;
          const from = i;
          i = to;
          if (this.#remaining === 0) this.#state = ChunkState.dataEnd;
          if (sink(chunk, from, to)) return i;
          break;
        }
        case ChunkState.dataEnd: {
          const byte = chunk[i++]!;
          if (byte === LF) this.#state = ChunkState.size;
          else if (byte !== CR) throw new Error('missing CRLF after chunk data');
          break;
        }
        case ChunkState.trailer: {
          const byte = chunk[i++]!;
          if (byte === LF) {
            if (this.#trailerLineLength === 0) {
              this.#state = ChunkState.done;
              this.done = true;
              return i;
            }
            this.#trailerLineLength = 0;
          } else if (byte !== CR) {
            this.#trailerLineLength++;
          }
          break;
        }
        case ChunkState.done:
          return i;
      }
    }
    return i;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}
