/**
 * The request every client sends: the disconnect driver's three client kinds, the preflight and the
 * steady load all take one `StreamRequest` and render it per request through a `RequestRenderer`.
 * Rendering is on the hot path (the driver makes ~1.5k requests a second and is benchmarked against a
 * bare undici loop), so each template is split around `{id}` once and a request is a join.
 */
import type { FramingChoice } from './framing/index.js';

export interface StreamRequest {
  /** 'GET' by default. */
  method: string;
  /** e.g. `/chat/stream/{id}`: `{id}` is replaced by the request's unique id. */
  pathTemplate: string;
  /** Lower-case names, sent as given; `{id}` replaced in values. */
  headers: Record<string, string>;
  /** `{id}` replaced; null for none. */
  body: string | null;
  /** How to read the response: `auto` chooses from its Content-Type. */
  framing: FramingChoice;
}

/** What the reference servers take, and what every request was before requests had a shape. */
export function defaultRequest(pathTemplate: string): StreamRequest {
  return { method: 'GET', pathTemplate, headers: { accept: 'text/event-stream' }, body: null, framing: 'auto' };
}

const ID = '{id}';

/** A string split around its `{id}` slots, once. */
class Template {
  readonly #parts: readonly string[];
  readonly #fixed: string | null;

  constructor(text: string) {
    this.#parts = text.split(ID);
    this.#fixed = this.#parts.length === 1 ? text : null;
  }

  get hasId(): boolean {
    return this.#fixed === null;
  }

  render(id: string): string {
    return this.#fixed ?? this.#parts.join(id);
  }
}

/** Methods that carry a body by definition: sent with `Content-Length: 0` when there is none (as undici does). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A `StreamRequest` made ready to send many times. What has no `{id}` is built once and shared (the
 * headers object too: undici and autocannon copy it, never change it).
 */
export class RequestRenderer {
  readonly method: string;
  readonly framing: FramingChoice;
  readonly #path: Template;
  readonly #fixedHeaders: Record<string, string> | null;
  readonly #headerTemplates: ReadonlyArray<readonly [string, Template]>;
  readonly #body: Template | null;
  /** Header lines of the raw HTTP/1.1 head (each ending in CRLF), when no value has an `{id}`. */
  readonly #fixedHeadLines: string | null;
  readonly #hasHost: boolean;

  constructor(request: StreamRequest) {
    if (!request.pathTemplate.startsWith('/')) {
      throw new RangeError(`request: the path must start with '/', got ${request.pathTemplate}`);
    }
    this.method = request.method;
    this.framing = request.framing;
    this.#path = new Template(request.pathTemplate);
    this.#headerTemplates = Object.entries(request.headers).map(([name, value]) => [name, new Template(value)] as const);
    const fixed = this.#headerTemplates.every(([, value]) => !value.hasId);
    this.#fixedHeaders = fixed ? { ...request.headers } : null;
    this.#body = request.body === null ? null : new Template(request.body);
    this.#hasHost = 'host' in request.headers;
    this.#fixedHeadLines = fixed ? headLines(request.headers) : null;
  }

  path(id: string): string {
    return this.#path.render(id);
  }

  headers(id: string): Record<string, string> {
    if (this.#fixedHeaders) return this.#fixedHeaders;
    const headers: Record<string, string> = {};
    for (const [name, value] of this.#headerTemplates) headers[name] = value.render(id);
    return headers;
  }

  body(id: string): string | null {
    return this.#body === null ? null : this.#body.render(id);
  }

  /**
   * The whole request as bytes for a raw socket: head (latin1, as undici writes it) and body (UTF-8),
   * with `Connection: close` and the body's length. `path` is `this.path(id)`, already rendered.
   */
  raw(id: string, path: string, hostHeader: string): Buffer {
    const lines = this.#fixedHeadLines ?? headLines(this.headers(id));
    const body = this.body(id);
    const length = body === null ? (BODY_METHODS.has(this.method) ? 0 : -1) : Buffer.byteLength(body);
    const head =
      `${this.method} ${path} HTTP/1.1\r\n` +
      (this.#hasHost ? '' : `Host: ${hostHeader}\r\n`) +
      lines +
      (length >= 0 ? `Content-Length: ${length}\r\n` : '') +
      'Connection: close\r\n\r\n';
    if (body === null || length === 0) return Buffer.from(head, 'latin1');
    const bytes = Buffer.allocUnsafe(Buffer.byteLength(head, 'latin1') + length);
    const at = bytes.write(head, 0, 'latin1');
    bytes.write(body, at, 'utf8');
    return bytes;
  }
}

function headLines(headers: Record<string, string>): string {
  let lines = '';
  for (const name in headers) lines += `${name}: ${headers[name]}\r\n`;
  return lines;
}
