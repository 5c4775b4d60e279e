/**
 * The mock LLM upstream: the streaming endpoints of the APIs chat servers call, deterministic and
 * well-behaved, counting what happens to its streams so a run can tell whether a server under test
 * forwarded its client's disconnect.
 *
 *   POST /v1/chat/completions  OpenAI chat completions   SSE `data:` chunks, then `data: [DONE]`
 *   POST /v1/responses         OpenAI Responses          SSE `event: response.output_text.delta` … `response.completed`
 *   POST /v1/messages          Anthropic Messages        SSE `event: message_start` … `message_stop`
 *   POST /api/chat             Ollama chat               NDJSON, last line `"done": true`
 *   POST /api/generate         Ollama generate           NDJSON, last line `"done": true`
 *   GET  /v1/models, /api/tags the one model, for clients that list models first
 *   GET  /debug/vars           UpstreamStats as JSON: totals, and the same per API in `byApi`
 *
 * Request and stream shapes are in upstream-dialects.ts. Tokens are a pure function of the prompt (same
 * messages, same tokens, in every dialect), so two servers that relay the same request produce the same
 * bytes. The producer respects backpressure (waits for 'drain') and stops the moment its client goes
 * away, so `tokensAfterClientLeft` stays ~0 here; a real upstream that kept generating would show there.
 */
import http from 'node:http';
import { DIALECTS, dialectFor, UPSTREAM_APIS, type Dialect, type FinishReason, type ParsedRequest, type UpstreamApi } from './upstream-dialects.js';

export type { UpstreamApi } from './upstream-dialects.js';
export { UPSTREAM_APIS } from './upstream-dialects.js';

export interface UpstreamOptions {
  /** Tokens per stream unless the request asks for fewer (max_tokens, max_output_tokens, num_predict). */
  tokens?: number;
  /** Pause between two tokens. */
  intervalMs?: number;
  /**
   * How long an idle kept-alive connection stays open after a response (Node's default is 5000 ms).
   * Lowering it lets a test see the upstream hang up on a connection its client never finished reading.
   */
  keepAliveTimeoutMs?: number;
}

export const DEFAULT_UPSTREAM_TOKENS = 200;
export const DEFAULT_UPSTREAM_INTERVAL_MS = 5;
export const COMPLETIONS_PATH = '/v1/chat/completions';
/** The model every listing names; requests may name any model. */
export const MOCK_MODEL = 'mock-llm';
/** Request bodies above this are refused (413): prompts here are a few KB. */
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

/** What happened to the streams of one API (or of all of them). */
export interface UpstreamApiStats {
  streamsStarted: number;
  /** Streams still producing tokens. */
  streamsInFlight: number;
  streamsCompleted: number;
  /** Streams whose client closed the connection before the stream's end. */
  streamsCancelled: number;
  /** Tokens produced after the stream's client had gone away. */
  tokensAfterClientLeft: number;
  /** Requests answered with an error (bad body, missing header, not streaming) instead of a stream. */
  requestsRefused: number;
}

export interface UpstreamStats extends UpstreamApiStats {
  /** TCP connections open now. */
  openConnections: number;
  /** The same counters per API; the totals above are their sums. */
  byApi: Record<UpstreamApi, UpstreamApiStats>;
}

export interface UpstreamServer {
  server: http.Server;
  stats(): UpstreamStats;
}

interface ApiCounters {
  streamsStarted: number;
  streamsCompleted: number;
  streamsCancelled: number;
  tokensAfterClientLeft: number;
  requestsRefused: number;
}

function zeroCounters(): ApiCounters {
  return { streamsStarted: 0, streamsCompleted: 0, streamsCancelled: 0, tokensAfterClientLeft: 0, requestsRefused: 0 };
}

function apiStats(c: ApiCounters): UpstreamApiStats {
  return {
    streamsStarted: c.streamsStarted,
    streamsInFlight: c.streamsStarted - c.streamsCompleted - c.streamsCancelled,
    streamsCompleted: c.streamsCompleted,
    streamsCancelled: c.streamsCancelled,
    tokensAfterClientLeft: c.tokensAfterClientLeft,
    requestsRefused: c.requestsRefused,
  };
}

const ROUTES_TEXT = DIALECTS.map((d) => `POST ${d.path}`).join(', ');

export function createUpstreamServer(options: UpstreamOptions = {}): UpstreamServer {
  const tokensPerStream = options.tokens ?? DEFAULT_UPSTREAM_TOKENS;
  const intervalMs = options.intervalMs ?? DEFAULT_UPSTREAM_INTERVAL_MS;
  const counters = Object.fromEntries(UPSTREAM_APIS.map((api) => [api, zeroCounters()])) as Record<UpstreamApi, ApiCounters>;
  let openConnections = 0;

  const stats = (): UpstreamStats => {
    const total = zeroCounters();
    for (const api of UPSTREAM_APIS) {
      for (const key of Object.keys(total) as (keyof ApiCounters)[]) total[key] += counters[api][key];
    }
    const byApi = Object.fromEntries(UPSTREAM_APIS.map((api) => [api, apiStats(counters[api])])) as Record<UpstreamApi, UpstreamApiStats>;
    return { ...apiStats(total), openConnections, byApi };
  };

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (req.method === 'GET' && serveListing(res, path, stats)) return;
    const dialect = dialectFor(path);
    if (!dialect) {
      sendJson(res, 404, { error: { message: `no route for ${req.method} ${path}; this mock serves ${ROUTES_TEXT}, GET /debug/vars` } });
      return;
    }
    const refuse = (status: number, message: string) => {
      counters[dialect.api].requestsRefused++;
      sendJson(res, status, dialect.errorBody(status, message));
    };
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST');
      refuse(405, `use POST ${dialect.path}`);
      return;
    }
    void readJsonBody(req).then(
      (body) => {
        const parsed = dialect.parse(body, req.headers);
        if (!parsed.ok) refuse(parsed.status, parsed.message);
        else stream(res, dialect, parsed.request);
      },
      (error: Error & { statusCode?: number }) => refuse(error.statusCode ?? 400, error.message),
    );
  });
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;

  server.on('connection', (socket) => {
    openConnections++;
    socket.once('close', () => openConnections--);
  });

  function stream(res: http.ServerResponse, dialect: Dialect, request: ParsedRequest): void {
    const counter = counters[dialect.api];
    counter.streamsStarted++;
    const seed = fnv1a(request.prompt);
    const nextToken = tokenGenerator(seed);
    const tokenCount = Math.min(tokensPerStream, request.maxTokens ?? Infinity);
    const finishReason: FinishReason = tokenCount < tokensPerStream ? 'length' : 'stop';
    const writer = dialect.open({ request, seed, intervalMs });

    let produced = 0;
    let clientLeft = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;

    res.writeHead(200, { 'content-type': dialect.contentType, 'cache-control': 'no-cache' });
    const head = writer.head();
    if (head !== '') res.write(head);
    else res.flushHeaders();

    res.once('close', () => {
      if (finished) return;
      // The client hung up before the stream's end: stop producing at once.
      clientLeft = true;
      finished = true;
      clearTimeout(timer);
      counter.streamsCancelled++;
    });

    const produce = (): void => {
      timer = undefined;
      if (finished) return;
      if (produced === tokenCount) {
        finished = true;
        counter.streamsCompleted++;
        res.end(writer.tail(finishReason));
        return;
      }
      // Counted honestly: the socket may be gone a moment before 'close' is emitted.
      if (clientLeft || res.destroyed) counter.tokensAfterClientLeft++;
      const flushed = res.write(writer.token(nextToken(produced)));
      produced++;
      if (flushed) {
        timer = setTimeout(produce, intervalMs);
      } else {
        // Backpressure: the client is not reading. A well-behaved producer waits instead of buffering.
        res.once('drain', () => {
          if (!finished) timer = setTimeout(produce, intervalMs);
        });
      }
    };
    timer = setTimeout(produce, intervalMs);
  }

  return { server, stats };
}

/** GET routes: the counters, and model listings for clients that check them before streaming. */
function serveListing(res: http.ServerResponse, path: string, stats: () => UpstreamStats): boolean {
  switch (path) {
    case '/debug/vars':
      sendJson(res, 200, stats());
      return true;
    case '/v1/models':
      sendJson(res, 200, { object: 'list', data: [{ id: MOCK_MODEL, object: 'model', created: 0, owned_by: 'streamer-leakcheck' }] });
      return true;
    case '/api/tags':
      sendJson(res, 200, { models: [{ name: MOCK_MODEL, model: MOCK_MODEL, size: 0, details: { format: 'mock', family: 'mock' } }] });
      return true;
    default:
      return false;
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(Object.assign(new Error('request body too large'), { statusCode: 413 }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new Error('request body is not JSON'));
      }
    });
    req.once('error', reject);
  });
}

/** FNV-1a, 32 bits: a stable seed from the prompt. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const VOCABULARY = (
  'the a stream token server client channel worker request response context cancel close leak memory ' +
  'socket upstream handler goroutine select signal heap event model prompt answer quickly slowly never ' +
  'always every reader writer blocked waiting done returns keeps holds frees'
).split(' ');

/** Token i of the stream seeded by `seed`: words from a small vocabulary, mulberry32-chosen. */
function tokenGenerator(seed: number): (index: number) => string {
  let state = seed;
  const random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (index) => {
    const word = VOCABULARY[Math.floor(random() * VOCABULARY.length)] ?? 'token';
    return index === 0 ? word : ` ${word}`;
  };
}
