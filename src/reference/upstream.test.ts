/**
 * The mock upstream over real sockets, one dialect at a time: a stream that is read to its end
 * completes with the dialect's own last frame; a client that leaves is counted as a cancelled stream
 * of its API and no token is produced after it left; bad requests are refused in the API's error shape.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamServer, UPSTREAM_APIS, type UpstreamApi, type UpstreamServer, type UpstreamStats } from './upstream.js';

const TOKENS = 20;
const INTERVAL_MS = 2;
/** Long enough that a client leaving after a few frames always leaves mid-stream (~1 s of tokens). */
const SLOW_TOKENS = 500;
/** A request must end within this, or the test fails instead of hanging. */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long to wait for the server to see a client's close. */
const SETTLE_TIMEOUT_MS = 3000;

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Why do zombie workers leak?' },
];
const ANTHROPIC_HEADERS = { 'x-api-key': 'sk-ant-test', 'anthropic-version': '2023-06-01' };

interface Case {
  api: UpstreamApi;
  path: string;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
  contentType: string;
  /** The text of one frame's tokens, '' for frames that carry none. */
  tokenOf(frame: Frame): string;
  /** The frame that ends a complete stream. */
  isLast(frame: Frame): boolean;
}

interface Frame {
  event?: string;
  data: string;
}

const sseCases: Case[] = [
  {
    api: 'openai-chat',
    path: '/v1/chat/completions',
    body: { model: 'gpt-test', messages, stream: true },
    contentType: 'text/event-stream',
    tokenOf: (f) => (f.data === '[DONE]' ? '' : (JSON.parse(f.data).choices?.[0]?.delta?.content ?? '')),
    isLast: (f) => f.data === '[DONE]',
  },
  {
    api: 'openai-responses',
    path: '/v1/responses',
    body: { model: 'gpt-test', input: messages, stream: true },
    contentType: 'text/event-stream',
    tokenOf: (f) => (f.event === 'response.output_text.delta' ? JSON.parse(f.data).delta : ''),
    isLast: (f) => f.event === 'response.completed',
  },
  {
    api: 'anthropic-messages',
    path: '/v1/messages',
    // Anthropic takes the system prompt apart from the messages; the prompt text is the same.
    body: { model: 'claude-test', max_tokens: 1024, system: 'You are terse.', messages: messages.slice(1), stream: true },
    headers: ANTHROPIC_HEADERS,
    contentType: 'text/event-stream',
    tokenOf: (f) => (f.event === 'content_block_delta' ? JSON.parse(f.data).delta.text : ''),
    isLast: (f) => f.event === 'message_stop',
  },
  {
    api: 'ollama-chat',
    path: '/api/chat',
    // No "stream": Ollama streams by default.
    body: { model: 'llama-test', messages },
    contentType: 'application/x-ndjson',
    tokenOf: (f) => JSON.parse(f.data).message.content,
    isLast: (f) => JSON.parse(f.data).done === true,
  },
  {
    api: 'ollama-generate',
    path: '/api/generate',
    body: { model: 'llama-test', system: 'You are terse.', prompt: 'Why do zombie workers leak?' },
    contentType: 'application/x-ndjson',
    tokenOf: (f) => JSON.parse(f.data).response,
    isLast: (f) => JSON.parse(f.data).done === true,
  },
];

/** Splits a body into frames: SSE events (blank-line separated) or NDJSON lines. */
function frames(text: string, contentType: string): { complete: Frame[]; rest: string } {
  const separator = contentType === 'text/event-stream' ? '\n\n' : '\n';
  const parts = text.split(separator);
  const rest = parts.pop() ?? '';
  const complete = parts.map((part) => {
    if (separator === '\n') return { data: part };
    const frame: Frame = { data: '' };
    for (const line of part.split('\n')) {
      if (line.startsWith('event: ')) frame.event = line.slice(7);
      else if (line.startsWith('data: ')) frame.data = line.slice(6);
    }
    return frame;
  });
  return { complete, rest };
}

interface Reading {
  status: number;
  contentType: string;
  frames: Frame[];
  body: string;
}

/**
 * POSTs `body` and reads frames; with `leaveAfterFrames`, destroys the socket once that many frames
 * have come (a client hanging up mid-stream), otherwise reads to the end.
 */
function post(url: string, c: Pick<Case, 'path' | 'body' | 'headers'>, leaveAfterFrames?: number): Promise<Reading> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(c.body);
    const req = http.request(`${url}${c.path}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...c.headers },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${c.path}: no end within ${REQUEST_TIMEOUT_MS} ms`));
    }, REQUEST_TIMEOUT_MS);
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.on('response', (res) => {
      const contentType = String(res.headers['content-type'] ?? '');
      let body = '';
      let seen: Frame[] = [];
      res.setEncoding('utf8');
      res.on('data', (text: string) => {
        body += text;
        seen = frames(body, contentType).complete;
        if (leaveAfterFrames !== undefined && seen.length >= leaveAfterFrames) {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, contentType, frames: seen, body });
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, contentType, frames: frames(body, contentType).complete, body });
      });
    });
    req.end(payload);
  });
}

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function waitFor(stats: () => UpstreamStats, check: (s: UpstreamStats) => boolean): Promise<UpstreamStats> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  while (!check(stats()) && Date.now() < deadline) await sleep(10);
  return stats();
}

describe('mock upstream, each dialect over a real socket', () => {
  let fast: UpstreamServer;
  let slow: UpstreamServer;
  let fastUrl: string;
  let slowUrl: string;

  beforeAll(async () => {
    fast = createUpstreamServer({ tokens: TOKENS, intervalMs: INTERVAL_MS });
    slow = createUpstreamServer({ tokens: SLOW_TOKENS, intervalMs: INTERVAL_MS });
    fastUrl = await listen(fast.server);
    slowUrl = await listen(slow.server);
  });

  afterAll(async () => {
    for (const s of [fast, slow]) {
      s.server.closeAllConnections();
      await new Promise((resolve) => s.server.close(resolve));
    }
  });

  const tokensOf: Partial<Record<UpstreamApi, string[]>> = {};

  it.each(sseCases)('$api: a stream read to its end completes, with its own last frame', async (c) => {
    const before = fast.stats().byApi[c.api];
    const reading = await post(fastUrl, c);
    expect(reading.status).toBe(200);
    expect(reading.contentType).toBe(c.contentType);
    const tokens = reading.frames.map((f) => c.tokenOf(f)).filter((t) => t !== '');
    expect(tokens).toHaveLength(TOKENS);
    expect(c.isLast(reading.frames.at(-1)!)).toBe(true);
    expect(reading.frames.filter((f) => c.isLast(f))).toHaveLength(1);
    tokensOf[c.api] = tokens;

    const after = await waitFor(fast.stats, (s) => s.byApi[c.api].streamsInFlight === 0);
    expect(after.byApi[c.api].streamsStarted - before.streamsStarted).toBe(1);
    expect(after.byApi[c.api].streamsCompleted - before.streamsCompleted).toBe(1);
    expect(after.byApi[c.api].streamsCancelled - before.streamsCancelled).toBe(0);
  });

  it('gives the same tokens for the same prompt, in every dialect and on every request', async () => {
    for (const c of sseCases) {
      const again = (await post(fastUrl, c)).frames.map((f) => c.tokenOf(f)).filter((t) => t !== '');
      expect(again).toEqual(tokensOf[c.api]);
    }
    // Same messages, same canonical prompt: chat completions, Responses, Anthropic and Ollama agree.
    for (const api of UPSTREAM_APIS) expect(tokensOf[api]).toEqual(tokensOf['openai-chat']);
    const other = await post(fastUrl, { path: '/api/chat', body: { messages: [{ role: 'user', content: 'something else' }] } });
    expect(other.frames.map((f) => JSON.parse(f.data).message.content).join('')).not.toBe(tokensOf['ollama-chat']!.join(''));
  });

  it.each(sseCases)('$api: a client that leaves mid-stream is a cancelled stream, and tokens stop', async (c) => {
    const before = slow.stats().byApi[c.api];
    const reading = await post(slowUrl, c, 8);
    expect(reading.frames.length).toBeGreaterThanOrEqual(8);
    const after = await waitFor(slow.stats, (s) => s.byApi[c.api].streamsCancelled > before.streamsCancelled);
    const api = after.byApi[c.api];
    expect(api.streamsCancelled - before.streamsCancelled).toBe(1);
    expect(api.streamsCompleted - before.streamsCompleted).toBe(0);
    expect(api.streamsInFlight).toBe(0);
    expect(api.tokensAfterClientLeft).toBe(0);
    // Totals are the sums over the APIs, and the connection is gone.
    const settled = await waitFor(slow.stats, (s) => s.openConnections === 0);
    expect(settled.openConnections).toBe(0);
    expect(settled.streamsCancelled).toBe(UPSTREAM_APIS.reduce((sum, a) => sum + settled.byApi[a].streamsCancelled, 0));
  });

  it('openai-responses: events in order, sequence numbers counting up, the whole text at the end', async () => {
    const reading = await post(fastUrl, sseCases[1]!);
    const types = reading.frames.map((f) => f.event);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.slice(-4)).toEqual(['response.output_text.done', 'response.content_part.done', 'response.output_item.done', 'response.completed']);
    const data = reading.frames.map((f) => JSON.parse(f.data));
    expect(data.map((d) => d.sequence_number)).toEqual(data.map((_, i) => i));
    expect(data.every((d, i) => d.type === types[i])).toBe(true);
    const completed = data.at(-1).response;
    expect(completed.status).toBe('completed');
    expect(completed.output[0].content[0].text).toBe(tokensOf['openai-responses']!.join(''));
    expect(completed.usage.output_tokens).toBe(TOKENS);
  });

  it('anthropic-messages: the event names of the Messages API, in order', async () => {
    const reading = await post(fastUrl, sseCases[2]!);
    const names = reading.frames.map((f) => f.event);
    expect(names.slice(0, 3)).toEqual(['message_start', 'content_block_start', 'ping']);
    expect(names.slice(3, 3 + TOKENS).every((n) => n === 'content_block_delta')).toBe(true);
    expect(names.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(reading.frames.every((f) => JSON.parse(f.data).type === f.event)).toBe(true);
    expect(JSON.parse(reading.frames.at(-2)!.data).delta.stop_reason).toBe('end_turn');
    expect(reading.body).not.toContain('[DONE]');
  });

  it('a token cap in the request ends the stream early, as each API says it', async () => {
    const capped = async (c: Case, body: Record<string, unknown>) => {
      const reading = await post(fastUrl, { ...c, body: { ...c.body, ...body } });
      return { tokens: reading.frames.map((f) => c.tokenOf(f)).filter((t) => t !== '').length, last: reading.frames.at(-1)! };
    };
    const chat = await capped(sseCases[0]!, { max_tokens: 3 });
    expect(chat.tokens).toBe(3);
    const responses = await capped(sseCases[1]!, { max_output_tokens: 4 });
    expect(responses.tokens).toBe(4);
    expect(responses.last.event).toBe('response.incomplete');
    const anthropic = await capped(sseCases[2]!, { max_tokens: 5 });
    expect(anthropic.tokens).toBe(5);
    const ollama = await capped(sseCases[3]!, { options: { num_predict: 6 } });
    expect(ollama.tokens).toBe(6);
    expect(JSON.parse(ollama.last.data)).toMatchObject({ done: true, done_reason: 'length', eval_count: 6 });
  });

  it('refuses bad requests in each API’s own error shape, and counts them', async () => {
    const before = fast.stats();
    const noKey = await post(fastUrl, { ...sseCases[2]!, headers: { 'anthropic-version': '2023-06-01' } });
    expect(noKey.status).toBe(401);
    expect(JSON.parse(noKey.body)).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const noVersion = await post(fastUrl, { ...sseCases[2]!, headers: { 'x-api-key': 'k' } });
    expect(noVersion.status).toBe(400);
    expect(JSON.parse(noVersion.body).error.message).toMatch(/anthropic-version/);

    const notStreaming = await post(fastUrl, { path: '/api/chat', body: { messages, stream: false } });
    expect(notStreaming.status).toBe(400);
    expect(JSON.parse(notStreaming.body).error).toMatch(/only streams/);
    const chatNoStream = await post(fastUrl, { path: '/v1/chat/completions', body: { messages } });
    expect(JSON.parse(chatNoStream.body).error.message).toMatch(/"stream": true/);
    const noInput = await post(fastUrl, { path: '/v1/responses', body: { stream: true } });
    expect(noInput.status).toBe(400);

    const unknown = await post(fastUrl, { path: '/v2/complete', body: {} });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.message).toContain('POST /v1/messages');

    const after = fast.stats();
    expect(after.byApi['anthropic-messages'].requestsRefused - before.byApi['anthropic-messages'].requestsRefused).toBe(2);
    expect(after.byApi['ollama-chat'].requestsRefused - before.byApi['ollama-chat'].requestsRefused).toBe(1);
    expect(after.requestsRefused - before.requestsRefused).toBe(5);
    expect(after.streamsStarted).toBe(before.streamsStarted);
  });

  it('serves its counters and a model listing over GET', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; json: unknown }>((resolve, reject) => {
        http.get(`${fastUrl}${path}`, { agent: false }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (t: string) => (text += t));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
        }).on('error', reject);
      });
    const vars = (await get('/debug/vars')).json as UpstreamStats;
    expect(Object.keys(vars.byApi).sort()).toEqual([...UPSTREAM_APIS].sort());
    expect(vars.streamsCompleted).toBe(UPSTREAM_APIS.reduce((sum, a) => sum + vars.byApi[a].streamsCompleted, 0));
    expect((await get('/v1/models')).json).toMatchObject({ object: 'list', data: [{ id: 'mock-llm' }] });
    expect((await get('/api/tags')).json).toMatchObject({ models: [{ name: 'mock-llm' }] });
  });
});
