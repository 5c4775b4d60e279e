/**
 * The mock LLM upstream: an OpenAI-style streaming chat-completions endpoint, deterministic and
 * well-behaved, that counts what happens to its streams so a run can tell whether a server under test
 * forwarded its client's disconnect.
 *
 *   POST /v1/chat/completions  {model, messages, stream: true, max_tokens?}
 *     -> text/event-stream: `data: {chunk}\n\n` per token, then `data: [DONE]\n\n`
 *   GET  /debug/vars           -> UpstreamStats as JSON
 *
 * Tokens are a pure function of the prompt (same messages, same tokens), so two servers that relay the
 * same request id produce the same bytes. The producer respects backpressure (waits for 'drain') and
 * stops the moment its client goes away, so `tokensAfterClientLeft` stays ~0 here; a real upstream that
 * kept generating would show in that counter.
 */
import http from 'node:http';

export interface UpstreamOptions {
  /** Tokens per stream unless the request's `max_tokens` asks for fewer. */
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
/** Request bodies above this are refused (413): prompts here are a few KB. */
const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

export interface UpstreamStats {
  streamsStarted: number;
  /** Streams still producing tokens. */
  streamsInFlight: number;
  streamsCompleted: number;
  /** Streams whose client closed the connection before `[DONE]`. */
  streamsCancelled: number;
  /** Tokens produced after the stream's client had gone away. */
  tokensAfterClientLeft: number;
  /** TCP connections open now. */
  openConnections: number;
}

export interface UpstreamServer {
  server: http.Server;
  stats(): UpstreamStats;
}

interface ChatCompletionRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  stream?: boolean;
  max_tokens?: number;
}

export function createUpstreamServer(options: UpstreamOptions = {}): UpstreamServer {
  const tokensPerStream = options.tokens ?? DEFAULT_UPSTREAM_TOKENS;
  const intervalMs = options.intervalMs ?? DEFAULT_UPSTREAM_INTERVAL_MS;
  const counters = {
    streamsStarted: 0,
    streamsCompleted: 0,
    streamsCancelled: 0,
    tokensAfterClientLeft: 0,
    openConnections: 0,
  };
  const stats = (): UpstreamStats => ({
    streamsStarted: counters.streamsStarted,
    streamsInFlight: counters.streamsStarted - counters.streamsCompleted - counters.streamsCancelled,
    streamsCompleted: counters.streamsCompleted,
    streamsCancelled: counters.streamsCancelled,
    tokensAfterClientLeft: counters.tokensAfterClientLeft,
    openConnections: counters.openConnections,
  });

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/debug/vars' && req.method === 'GET') {
      sendJson(res, 200, stats());
      return;
    }
    if (path !== COMPLETIONS_PATH) {
      sendJson(res, 404, { error: { message: `no route for ${req.method} ${path}` } });
      return;
    }
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: { message: 'use POST' } });
      return;
    }
    void readJsonBody(req).then(
      (body) => {
        const problem = validate(body);
        if (problem) {
          sendJson(res, 400, { error: { message: problem } });
          return;
        }
        const request = body as ChatCompletionRequest;
        const maxTokens = request.max_tokens ?? Infinity;
        streamCompletion(res, request, Math.min(tokensPerStream, maxTokens));
      },
      (error: Error & { statusCode?: number }) => {
        sendJson(res, error.statusCode ?? 400, { error: { message: error.message } });
      },
    );
  });
  if (options.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = options.keepAliveTimeoutMs;

  server.on('connection', (socket) => {
    counters.openConnections++;
    socket.once('close', () => counters.openConnections--);
  });

  function streamCompletion(res: http.ServerResponse, request: ChatCompletionRequest, tokenCount: number): void {
    counters.streamsStarted++;
    const prompt = request.messages.map((m) => `${m.role}\n${m.content}`).join('\n\n');
    const seed = fnv1a(prompt);
    const id = `chatcmpl-${seed.toString(16).padStart(8, '0')}`;
    const nextToken = tokenGenerator(seed);

    let produced = 0;
    let clientLeft = false;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
    });
    res.flushHeaders();

    res.once('close', () => {
      if (finished) return;
      // The client hung up before [DONE]: stop producing at once.
      clientLeft = true;
      finished = true;
      clearTimeout(timer);
      counters.streamsCancelled++;
    });

    const produce = (): void => {
      timer = undefined;
      if (finished) return;
      if (produced === tokenCount) {
        finished = true;
        counters.streamsCompleted++;
        res.end('data: [DONE]\n\n');
        return;
      }
      // Counted honestly: the socket may be gone a moment before 'close' is emitted.
      if (clientLeft || res.destroyed) counters.tokensAfterClientLeft++;
      const chunk = {
        id,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta: { content: nextToken(produced) } }],
      };
      produced++;
      const flushed = res.write(`data: ${JSON.stringify(chunk)}\n\n`);
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

function validate(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return 'body must be a JSON object';
  const b = body as Partial<ChatCompletionRequest>;
  if (!Array.isArray(b.messages) || b.messages.length === 0) return 'messages must be a non-empty array';
  for (const m of b.messages) {
    if (typeof m?.role !== 'string' || typeof m?.content !== 'string') {
      return 'each message needs a string role and content';
    }
  }
  if (b.stream !== true) return 'this mock only streams: set "stream": true';
  if (b.max_tokens !== undefined && (!Number.isInteger(b.max_tokens) || b.max_tokens < 0)) {
    return 'max_tokens must be a non-negative integer';
  }
  return null;
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
