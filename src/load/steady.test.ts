import { afterEach, describe, expect, it } from 'vitest';

import { defaultRequest } from './request.js';
import { runSteadyLoad } from './steady.js';
import { startTestSseServer, type TestSseServer } from './testing-server.js';

const servers: TestSseServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(events: number, intervalMs: number): Promise<{ server: TestSseServer; origin: string }> {
  const server = await startTestSseServer({ events, intervalMs });
  servers.push(server);
  return { server, origin: server.origin };
}

describe('runSteadyLoad', () => {
  it('runs full streams with a unique id each, for a given amount', async () => {
    const { server, origin } = await serve(10, 1);
    const result = await runSteadyLoad({ origin, request: defaultRequest('/chat/stream/{id}') }, { connections: 4, amount: 40, idPrefix: 'steady' });
    expect(result.completedStreams).toBe(40);
    expect(result.errors).toBe(0);
    expect(result.bytesPerSec).toBeGreaterThan(0);
    expect(server.stats.completed).toBe(40);
    expect(server.stats.closedEarly).toBe(0);
    const ids = server.stats.ids.filter((id) => id.startsWith('steady-'));
    expect(new Set(ids).size).toBe(server.stats.ids.length);
    expect(ids.length).toBe(server.stats.ids.length);
  });

  it('runs until the signal, then stops within a sample tick and reports what it measured', async () => {
    // 300 ms streams: longer than a stop tick, so the signal cuts streams mid-way.
    const { server, origin } = await serve(60, 5);
    const controller = new AbortController();
    const started = performance.now();
    const load = runSteadyLoad({ origin, request: defaultRequest('/chat/stream/{id}') }, { connections: 3, signal: controller.signal });
    setTimeout(() => controller.abort(), 800);
    const result = await load;
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(790);
    expect(elapsed).toBeLessThan(2500);
    expect(result.completedStreams).toBeGreaterThanOrEqual(3);
    expect(result.errors).toBe(0);
    expect(result.requests).toBeGreaterThanOrEqual(result.completedStreams);
    expect(result.throughputStreamsPerSec).toBeGreaterThan(0);
    expect(result.durationMs).toBeGreaterThan(700);
    await server.waitForFinished(server.stats.requests, 2000);
    expect(server.stats.open).toBe(0);
  });

  it('sends the same method, headers and body as the disconnect clients, {id} replaced', async () => {
    const { server, origin } = await serve(3, 1);
    const request = {
      method: 'POST',
      pathTemplate: '/chat/stream/{id}',
      headers: { 'content-type': 'application/json', 'x-id': '{id}' },
      body: '{"id":"{id}"}',
      framing: 'auto' as const,
    };
    const result = await runSteadyLoad({ origin, request }, { connections: 2, amount: 6, idPrefix: 's' });
    expect(result.completedStreams).toBe(6);
    const last = server.stats.last!;
    expect(last.method).toBe('POST');
    expect(last.headers['x-id']).toMatch(/^s-\d$/);
    expect(last.body).toBe(`{"id":"${last.headers['x-id']}"}`);
    expect(last.headers['content-length']).toBe(String(last.body.length));
  });

  it('requires a way to stop', async () => {
    await expect(runSteadyLoad({ origin: 'http://127.0.0.1:1', request: defaultRequest('/') }, { connections: 1 })).rejects.toThrow(RangeError);
  });
});
