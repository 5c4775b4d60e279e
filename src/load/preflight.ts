/**
 * One request to the stream route before any load, the same request the clients will send: a wrong
 * route, a missing credential or a handler that answers JSON instead of a stream is a start failure
 * with one line saying what to change, not thousands of counted errors. It reads the response up to
 * its first event, so it also says which framing the clients will find.
 */
import { request as undiciRequest, type Dispatcher } from 'undici';

import { chooseFraming, createCounter, type Framing } from './framing/index.js';
import { MissingVariableError, RequestRenderer, type StreamRequest } from './request.js';

/** How long the route may take to send its response headers. */
const HEADERS_TIMEOUT_MS = 5000;
/**
 * How long it may take from its headers to its first event, unless the caller says (the start timeout):
 * a mock upstream answers its first token at once, so a server that sends headers and then nothing for
 * this long would leave every client waiting for events that never come.
 */
export const DEFAULT_FIRST_EVENT_TIMEOUT_MS = 10_000;
/** Bytes of an error response quoted in the problem line (a server's own words are the best hint). */
const QUOTED_BYTES = 160;
/** Headers that carry credentials under their usual names: with one present, a 401 means a wrong value. */
const CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'api-key', 'cookie', 'proxy-authorization'];

export interface PreflightResult {
  /** null when the route answers a stream; otherwise one line saying what is wrong and what to change. */
  problem: string | null;
  /** The framing the response is read in (found from its Content-Type, or the request's own). */
  framing: Framing | null;
  status: number | null;
  contentType: string | null;
}

/** null when the route answers a stream; otherwise one line saying what is wrong and what to change. */
export interface PreflightOptions {
  signal?: AbortSignal;
  firstEventTimeoutMs?: number;
}

/** null when the route answers a stream; otherwise one line saying what is wrong and what to change. */
export async function preflight(origin: string, request: StreamRequest, options: PreflightOptions = {}): Promise<string | null> {
  return (await checkStream(origin, request, options)).problem;
}

export async function checkStream(origin: string, request: StreamRequest, options: PreflightOptions = {}): Promise<PreflightResult> {
  const { signal } = options;
  const firstEventTimeoutMs = options.firstEventTimeoutMs ?? DEFAULT_FIRST_EVENT_TIMEOUT_MS;
  const result: PreflightResult = { problem: null, framing: null, status: null, contentType: null };
  let renderer: RequestRenderer;
  try {
    renderer = new RequestRenderer(request);
  } catch (error) {
    if (error instanceof MissingVariableError) return { ...result, problem: error.message };
    throw error;
  }
  const id = `preflight-${Date.now()}`;
  const path = renderer.path(id);
  const tried = `${renderer.method} ${path}`;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, HEADERS_TIMEOUT_MS);
  let body: Dispatcher.ResponseData['body'] | null = null;
  try {
    const response = await undiciRequest(`${origin}${path}`, {
      method: renderer.method as Dispatcher.HttpMethod,
      headers: renderer.headers(id),
      body: renderer.body(id),
      signal: controller.signal,
    });
    body = response.body;
    const status = response.statusCode;
    const contentType = header(response.headers, 'content-type');
    result.status = status;
    result.contentType = contentType;
    if (status !== 200) {
      const quoted = await quote(response.body);
      result.problem = renderer.scrub(statusProblem(status, tried, request, response.headers, quoted));
      return result;
    }
    const framing = chooseFraming(request.framing, contentType ?? undefined);
    result.framing = framing;
    const encoding = header(response.headers, 'content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity') {
      result.problem = `answers ${tried} compressed (content-encoding: ${encoding}) though no accept-encoding was sent: the clients read streams uncompressed`;
      return result;
    }
    const type = contentType ?? 'no content-type';
    if (request.framing === 'auto' && /^\s*text\/html\b/i.test(type)) {
      result.problem = `answers ${tried} with an HTML page (${type}), not a stream: is the route right? (set it with --path)`;
      return result;
    }
    const oneBody = (how: string) =>
      `answers ${tried} with one ${type} body of ${how}, not a stream` +
      (/json/i.test(type) ? ' (an OpenAI-style API streams with "stream": true in the body)' : '');
    const length = header(response.headers, 'content-length');
    if (length !== null) {
      result.problem = oneBody(`${length} bytes (content-length)`);
      return result;
    }
    // Up to the first event: a body that ends without one is not a stream of events.
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, firstEventTimeoutMs);
    const counter = createCounter(framing);
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      counter.feed(chunk, 1);
      if (counter.events > 0) return result;
    }
    counter.end();
    // A JSON document with no line end, and then the end: res.json() sent chunked, not a stream of lines.
    if (counter.events === 1) result.problem = oneBody(`${bytes} bytes that ended with its first line`);
    if (counter.events === 0) {
      result.problem = `answers ${tried} with a ${type} body of ${bytes} bytes that ended without one ${framing} event, not a stream`;
    }
    return result;
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (timedOut && result.status === 200) {
      return {
        ...result,
        problem:
          `sent response headers to ${tried} and then no ${result.framing ?? ''} event within ${firstEventTimeoutMs} ms: ` +
          'is it waiting on an upstream it cannot reach? (targets get the mock LLM in OPENAI_BASE_URL and the like; a slower first event: raise --start-timeout)',
      };
    }
    if (timedOut) return { ...result, problem: `sent no response headers to ${tried} within ${HEADERS_TIMEOUT_MS} ms` };
    return { ...result, problem: renderer.scrub(`the preflight request ${tried} failed: ${(error as Error).message}`) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    controller.abort();
    await body?.dump().catch(() => {});
  }
}

function statusProblem(status: number, tried: string, request: StreamRequest, headers: Dispatcher.ResponseData['headers'], quoted: string): string {
  const said = quoted ? `; it said: ${quoted}` : '';
  switch (status) {
    case 401:
    case 403: {
      const sent = CREDENTIAL_HEADERS.filter((name) => name in request.headers);
      if (sent.length > 0) {
        return `answers ${status} to ${tried}: the credentials sent (${sent.join(', ')}) were refused: check their value${said}`;
      }
      return `answers ${status} to ${tried}: the target wants credentials: add --header 'Authorization: …'${said}`;
    }
    case 404:
      return `answers 404 to ${tried}: no such route (set the stream route with --path, or take the whole request from the browser with --curl)`;
    case 405: {
      const allow = header(headers, 'allow');
      const other = allow
        ?.split(',')
        .map((m) => m.trim().toUpperCase())
        .find((m) => m && m !== request.method && m !== 'OPTIONS' && m !== 'HEAD');
      const suggest = other ?? (request.method === 'GET' ? 'POST' : 'GET');
      return `answers 405 to ${tried}: the route does not take ${request.method}${allow ? ` (it allows ${allow})` : ''}: set the method with --method ${suggest}`;
    }
    case 415: {
      const sent = request.headers['content-type'];
      return `answers 415 to ${tried}: it does not take ${sent ? `content-type ${sent}` : 'a body without a content-type'}: set it with --header 'Content-Type: …'${said}`;
    }
    case 400:
    case 422:
      return request.body === null
        ? `answers ${status} to ${tried}, which has no body: give the one it expects with --body${said}`
        : `answers ${status} to ${tried}: it refused the request or its body (set it with --body)${said}`;
    default:
      if (status >= 300 && status < 400) {
        const location = header(headers, 'location');
        return `answers ${status} to ${tried}${location ? ` (location ${location.slice(0, 80)})` : ''}: give the final route with --path`;
      }
      return `answers ${status} to ${tried}${said}`;
  }
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | null {
  const value = headers[name];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : String(value);
}

/** The start of an error response, on one line. */
async function quote(body: Dispatcher.ResponseData['body']): Promise<string> {
  let text = '';
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      text += chunk.toString('utf8');
      if (text.length >= QUOTED_BYTES) break;
    }
  } catch {
    // What arrived is enough.
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTED_BYTES ? `${flat.slice(0, QUOTED_BYTES - 1)}…` : flat;
}
