/**
 * The request every client sends: the disconnect driver's three client kinds, the preflight and the
 * steady load all take one `StreamRequest` and render it per request through a `RequestRenderer`.
 * Rendering is on the hot path (the driver makes ~1.5k requests a second and is benchmarked against a
 * bare undici loop), so each template is split around `{id}` once and a request is a join.
 *
 * `${NAME}` in a header value or the body is read from the environment when a renderer is made, never
 * before: a `StreamRequest` (and so a target, a report, a log line) holds `${TOKEN}`, not the token.
 */
import type { Framing, FramingChoice } from './framing/index.js';

export interface StreamRequest {
  /** 'GET' by default. */
  method: string;
  /** e.g. `/chat/stream/{id}`: `{id}` is replaced by the request's unique id. */
  pathTemplate: string;
  /** Lower-case names, sent as given; `{id}` and `${NAME}` replaced in values. */
  headers: Record<string, string>;
  /** `{id}` and `${NAME}` replaced; null for none. */
  body: string | null;
  /** How to read the response: `auto` chooses from its Content-Type. */
  framing: FramingChoice;
}

/** What the reference servers take, and what every request was before requests had a shape. */
export function defaultRequest(pathTemplate: string): StreamRequest {
  return { method: 'GET', pathTemplate, headers: { accept: 'text/event-stream' }, body: null, framing: 'auto' };
}

const ID = '{id}';

/** `${NAME}`, or `$${NAME}` for the text `${NAME}` itself. */
const ENV_REFERENCE = /\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The environment variables `text` refers to, in order of first use. */
export function envReferences(text: string): string[] {
  const names = new Set<string>();
  for (const match of text.matchAll(ENV_REFERENCE)) if (match[1] === '') names.add(match[2]!);
  return [...names];
}

/** `text` with each `${NAME}` replaced from `env`; `resolved` collects the values used. Throws on a missing one. */
export function substituteEnv(text: string, env: NodeJS.ProcessEnv, where: string, resolved?: string[]): string {
  if (!text.includes('${')) return text;
  return text.replace(ENV_REFERENCE, (_match, escaped: string, name: string) => {
    if (escaped) return `\${${name}}`;
    const value = env[name];
    if (value === undefined) throw new MissingVariableError(name, where);
    resolved?.push(value);
    return value;
  });
}

export class MissingVariableError extends Error {
  constructor(
    readonly variable: string,
    readonly where: string,
  ) {
    super(`\${${variable}} (in ${where}) is not set in the environment`);
  }
}

/** A string split around its `{id}` slots, once, with `${NAME}` resolved in each part when `env` is given. */
class Template {
  readonly parts: readonly string[];
  readonly #fixed: string | null;

  constructor(text: string, env: NodeJS.ProcessEnv | null, where = '', resolved?: string[]) {
    const parts = text.split(ID);
    this.parts = env ? parts.map((part) => substituteEnv(part, env, where, resolved)) : parts;
    this.#fixed = this.parts.length === 1 ? this.parts[0]! : null;
  }

  get hasId(): boolean {
    return this.#fixed === null;
  }

  render(id: string): string {
    return this.#fixed ?? this.parts.join(id);
  }
}

/** Methods that carry a body by definition: sent with `Content-Length: 0` when there is none (as undici does). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A `StreamRequest` made ready to send many times. What has no `{id}` is built once and shared (the
 * headers object too: undici reads it, never changes it; autocannon is handed a copy).
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
  /** Values that must not reach a report: redacted header values and every `${NAME}` value used. */
  readonly #secrets: readonly string[];

  /** Throws MissingVariableError when a `${NAME}` is not in `env`. */
  constructor(request: StreamRequest, env: NodeJS.ProcessEnv = process.env) {
    if (!request.pathTemplate.startsWith('/')) {
      throw new RangeError(`request: the path must start with '/', got ${request.pathTemplate}`);
    }
    const secrets: string[] = [];
    this.method = request.method;
    this.framing = request.framing;
    this.#path = new Template(request.pathTemplate, null);
    this.#headerTemplates = Object.entries(request.headers).map(([name, value]) => {
      const template = new Template(value, env, `the ${name} header`, secrets);
      if (isRedacted(name, value)) secrets.push(...template.parts);
      return [name, template] as const;
    });
    const fixed = this.#headerTemplates.every(([, value]) => !value.hasId);
    this.#fixedHeaders = fixed ? Object.fromEntries(this.#headerTemplates.map(([name, value]) => [name, value.render(ID)])) : null;
    this.#body = request.body === null ? null : new Template(request.body, env, 'the body', secrets);
    this.#hasHost = 'host' in request.headers;
    this.#fixedHeadLines = this.#fixedHeaders ? headLines(this.#fixedHeaders) : null;
    // Longest first, so a token inside a longer header value goes with the value.
    this.#secrets = [...new Set(secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH))].sort((a, b) => b.length - a.length);
  }

  /** `text` with every secret of this request replaced by `***`: for error lines that may quote a server. */
  scrub(text: string): string {
    let out = text;
    for (const secret of this.#secrets) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED);
    return out;
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

/** Shorter values are left in scrubbed text: `***` for every "ok" or "1" in a message would hide more than it keeps. */
const MIN_SECRET_LENGTH = 4;

export const REDACTED = '***';

/**
 * Header values reports may show. Every other value is `***`: a credential can sit under any name
 * (authorization, x-api-key, cookie, a vendor's own), and these few are the ones a reader needs to
 * recognise a request by. A value built from `${NAME}` is redacted whatever its header.
 */
const SHOWN_HEADER_VALUES = new Set(['accept', 'content-type', 'accept-language', 'cache-control', 'user-agent', 'anthropic-version']);

function isRedacted(name: string, value: string): boolean {
  return !SHOWN_HEADER_VALUES.has(name) || envReferences(value).length > 0;
}

/** The headers as a report may show them. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, isRedacted(name, value) ? REDACTED : value]));
}

/** A request as reports show it: no header value but the few in SHOWN_HEADER_VALUES, no body but its shape. */
export interface RequestSummary {
  method: string;
  pathTemplate: string;
  /** Names as sent; values `***` except content-type, accept and a few like them. */
  headers: Record<string, string>;
  /** Bytes of the body as written (before `{id}` and `${NAME}` are replaced); its JSON type and top-level keys. */
  body: { bytes: number; json: 'object' | 'array' | 'string' | 'number' | 'boolean' | 'null' | null; keys?: string[] } | null;
  /** What the request asked for. */
  framing: FramingChoice;
  /** What the clients read the responses as; null when no response was read. */
  framingFound: Framing | null;
}

const MAX_SUMMARY_KEYS = 20;

export function summarizeRequest(request: StreamRequest, framingFound: Framing | null): RequestSummary {
  let body: RequestSummary['body'] = null;
  if (request.body !== null) {
    const parsed = parseJsonTemplate(request.body);
    const json = parsed === undefined ? null : parsed === null ? 'null' : Array.isArray(parsed) ? 'array' : (typeof parsed as 'object');
    body = { bytes: Buffer.byteLength(request.body), json };
    if (json === 'object') body.keys = Object.keys(parsed as object).slice(0, MAX_SUMMARY_KEYS);
  }
  return {
    method: request.method,
    pathTemplate: request.pathTemplate,
    headers: redactHeaders(request.headers),
    body,
    framing: request.framing,
    framingFound,
  };
}

/**
 * The JSON value of a body template, or undefined when it is not JSON. `{id}` and `${NAME}` stand in
 * as `0`, so both `"{id}"` and a bare `{id}` number parse.
 */
export function parseJsonTemplate(body: string): unknown {
  try {
    return JSON.parse(body.replaceAll(ID, '0').replace(ENV_REFERENCE, '0'));
  } catch {
    return undefined;
  }
}
