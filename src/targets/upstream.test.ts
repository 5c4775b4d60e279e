/**
 * upstreamEnv(): every variable points where its SDK will look. Each SDK joins its own paths to its
 * variable (openai-node: OPENAI_BASE_URL + /chat/completions and /responses; @anthropic-ai/sdk:
 * ANTHROPIC_BASE_URL + /v1/messages; ollama-js: OLLAMA_HOST + /api/chat), so the check is a real
 * request to the joined URL on a real mock upstream: it must stream, not 404.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamServer, type UpstreamServer } from '../reference/upstream.js';
import { upstreamEnv } from './upstream.js';

const messages = [{ role: 'user', content: 'hi' }];

function status(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']) }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(payload);
  });
}

describe('upstreamEnv', () => {
  let upstream: UpstreamServer;
  let origin: string;

  beforeAll(async () => {
    upstream = createUpstreamServer({ tokens: 3, intervalMs: 0 });
    await new Promise<void>((resolve) => upstream.server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(upstream.server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => upstream.server.close(resolve)));

  it('takes the origin from any URL on the upstream', () => {
    expect(upstreamEnv(`${origin}/v1`)).toEqual(upstreamEnv(origin));
    expect(upstreamEnv('http://127.0.0.1:9/v1/')).toMatchObject({
      LLM_URL: 'http://127.0.0.1:9/v1',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
      OLLAMA_HOST: 'http://127.0.0.1:9',
    });
  });

  it('sets placeholder keys, never a key from the harness environment', () => {
    const env = upstreamEnv(origin);
    expect(env.OPENAI_API_KEY).toBe('sk-leakcheck-mock');
    expect(env.ANTHROPIC_API_KEY).toBe('sk-ant-leakcheck-mock');
  });

  it('each variable, joined as its SDK joins it, reaches a streaming route', async () => {
    const env = upstreamEnv(origin);
    const streams = [
      await status(`${env.OPENAI_BASE_URL}/chat/completions`, { model: 'm', messages, stream: true }),
      await status(`${env.OPENAI_BASE_URL}/responses`, { model: 'm', input: 'hi', stream: true }),
      await status(`${env.LLM_URL}/chat/completions`, { model: 'm', messages, stream: true }),
      await status(
        `${env.ANTHROPIC_BASE_URL}/v1/messages`,
        { model: 'm', max_tokens: 8, messages, stream: true },
        { 'x-api-key': env.ANTHROPIC_API_KEY!, 'anthropic-version': '2023-06-01' },
      ),
      await status(`${env.OLLAMA_HOST}/api/chat`, { model: 'm', messages }),
      await status(`${env.OLLAMA_HOST}/api/generate`, { model: 'm', prompt: 'hi' }),
    ];
    expect(streams.map((s) => s.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(streams.map((s) => s.contentType)).toEqual([
      'text/event-stream',
      'text/event-stream',
      'text/event-stream',
      'text/event-stream',
      'application/x-ndjson',
      'application/x-ndjson',
    ]);
    const stats = upstream.stats();
    expect(stats.streamsCompleted).toBe(6);
    expect(stats.byApi['openai-chat'].streamsCompleted).toBe(2);
  });
});
