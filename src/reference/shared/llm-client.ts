/**
 * The call to the LLM: the analogue of langchaingo's
 *
 *   llms.GenerateFromSinglePrompt(ctx, llm, prompt, llms.WithStreamingFunc(func(ctx, chunk) error {…}))
 *
 * It POSTs an OpenAI-style streaming request with undici and calls `streamingFunc` once per token,
 * awaiting it before it reads the next chunk of the response, just as Go's streaming callback runs
 * synchronously inside the reader loop. The response body is read one chunk at a time (a tiny
 * highWaterMark), so while `streamingFunc` has not returned, undici pauses its parser and stops reading
 * the socket: a worker that stops reading really stops the upstream connection, and holds it.
 *
 * `signal` plays the part of `ctx`: if it aborts, undici destroys the request and its socket.
 */
import { Agent, request } from 'undici';

/** The model name sent upstream (the mock ignores it). */
export const DEFAULT_MODEL = 'mock-llm';

/**
 * Bytes the response body may buffer before undici pauses the socket. 1 means "one chunk at a time",
 * as Go's client reads: its reader blocks inside the streaming callback. With undici's 64 KiB default a
 * whole 200-token answer (~20 KB) is read into the unread body, undici sees the response complete and
 * hands the socket back to its pool: old's 200 zombie workers then held no socket after 3 s. With 1 they
 * hold all 200, for good (docs/measurements.md#upstream-client).
 */
const UPSTREAM_BODY_HIGH_WATER_MARK_BYTES = 1;
/**
 * How long an idle upstream connection is kept for reuse. Go's http.Transport keeps at most 2 idle
 * connections per host (MaxIdleConnsPerHost); undici has no such cap, and after a burst of aborted
 * requests it holds dozens of idle sockets until they time out. With undici's 4 s default, those
 * sockets closing in steps swung new's settled heap by 100–250 KB between samples, enough to blur a
 * clean verdict (docs/measurements.md#upstream-client). A short idle life keeps the pool small, as
 * Go's cap does; LLM calls are long streams, so reuse buys little.
 */
const UPSTREAM_IDLE_KEEP_ALIVE_MS = 200;
/** The upstream must answer with headers within this; the body may take as long as the model does. */
const UPSTREAM_HEADERS_TIMEOUT_MS = 30_000;

/** The upstream answered with something other than a 200 event stream. */
export class UpstreamError extends Error {
  readonly code = 'UPSTREAM_ERROR';
  constructor(
    readonly statusCode: number,
    detail: string,
  ) {
    super(`upstream answered ${statusCode}: ${detail.slice(0, 200)}`);
    this.name = 'UpstreamError';
  }
}

export type StreamingFunc = (chunk: string) => Promise<void>;

export class LlmClient {
  private readonly completionsUrl: string;
  /** One connection pool per server, like a Go http.Client. */
  private readonly dispatcher = new Agent({
    headersTimeout: UPSTREAM_HEADERS_TIMEOUT_MS,
    keepAliveTimeout: UPSTREAM_IDLE_KEEP_ALIVE_MS,
  });

  constructor(
    /** Base URL of an OpenAI-compatible API, e.g. http://127.0.0.1:41234/v1 */
    baseUrl: string,
    private readonly model = DEFAULT_MODEL,
  ) {
    this.completionsUrl = `${baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  /** Streams the completion of `prompt` into `streamingFunc`; resolves with the number of tokens. */
  async generateFromSinglePrompt(signal: AbortSignal, prompt: string, streamingFunc: StreamingFunc): Promise<number> {
    const { statusCode, body } = await request(this.completionsUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ model: this.model, messages: [{ role: 'user', content: prompt }], stream: true }),
      signal,
      dispatcher: this.dispatcher,
      highWaterMark: UPSTREAM_BODY_HIGH_WATER_MARK_BYTES,
    });
    if (statusCode !== 200) throw new UpstreamError(statusCode, await body.text().catch(() => ''));

    const decoder = new TextDecoder();
    let pending = '';
    let tokens = 0;
    let done = false;
    // Leaving this loop early (an error, a rejected streamingFunc) destroys the body and its socket.
    for await (const bytes of body as AsyncIterable<Buffer>) {
      if (done) continue; // nothing follows [DONE] but the end of the body
      pending += decoder.decode(bytes, { stream: true });
      for (let end = pending.indexOf('\n\n'); end !== -1 && !done; end = pending.indexOf('\n\n')) {
        const data = sseData(pending.slice(0, end));
        pending = pending.slice(end + 2);
        if (data === null) continue;
        if (data === '[DONE]') {
          done = true;
          break;
        }
        const content = tokenContent(data);
        if (content === '') continue;
        tokens++;
        // The streaming callback: the next chunk is not read until it returns.
        await streamingFunc(content);
      }
    }
    if (!done) throw new UpstreamError(statusCode, 'the stream ended without [DONE]');
    return tokens;
  }
}

/** The `data:` payload of one SSE event, or null if it has none. */
function sseData(event: string): string | null {
  const lines = event.split('\n').filter((line) => line.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
}

function tokenContent(data: string): string {
  const chunk = JSON.parse(data) as { choices?: Array<{ delta?: { content?: string } }> };
  return chunk.choices?.[0]?.delta?.content ?? '';
}
