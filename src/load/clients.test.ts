import { createServer } from 'node:net';

import { afterEach, describe, expect, it } from 'vitest';

import { runBatch, type BatchOutcome, type StreamEndpoint } from './clients.js';
import { defaultRequest, type StreamRequest } from './request.js';
import type { Behaviour } from './scenario.js';
import { startTestSseServer, type TestSseServer, type TestSseServerOptions } from './testing-server.js';

const servers: TestSseServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: TestSseServerOptions = {}): Promise<{ server: TestSseServer; endpoint: StreamEndpoint }> {
  const server = await startTestSseServer(options);
  servers.push(server);
  return { server, endpoint: { origin: server.origin, request: defaultRequest('/chat/stream/{id}') } };
}

function times(count: number, behaviour: Behaviour): Behaviour[] {
  return Array.from({ length: count }, () => behaviour);
}

/** Every client is accounted for exactly once. */
function expectAccounted(outcome: BatchOutcome): void {
  const tallied = outcome.disconnects + outcome.completed + outcome.endedEarly + outcome.errors.total;
  expect(tallied).toBe(outcome.clients);
  for (const line of outcome.errors.examples) expect(line).not.toMatch(/[\r\n]/);
  expect(outcome.errors.examples.length).toBeLessThanOrEqual(5);
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('runBatch: leaving clients', () => {
  it('100 leave-after-events clients: 100 left, 100 server-side closes, the right events each', async () => {
    // Streams far longer than the clients stay, so a slow (loaded) client still leaves mid-stream.
    const { server, endpoint } = await serve({ events: 200, intervalMs: 2 });
    const outcome = await runBatch(endpoint, times(100, { kind: 'leave-after-events', events: 3 }), {
      concurrency: 20,
      arrivalRate: 0,
      idPrefix: 'run1',
    });
    await server.waitForFinished(100);
    expectAccounted(outcome);
    expect(outcome.disconnects).toBe(100);
    expect(outcome.eventsReceived).toBe(300);
    expect(outcome.byBehaviour['leave-after-events']).toEqual({ planned: 100, left: 100, completed: 0, endedEarly: 0, errors: 0 });
    expect(server.stats.requests).toBe(100);
    expect(server.stats.closedEarly).toBe(100);
    expect(server.stats.completed).toBe(0);
    expect(new Set(server.stats.ids).size).toBe(100);
    expect(server.stats.ids.every((id) => id.startsWith('run1-'))).toBe(true);
  });

  it('reset-after-events resets the connection: the server sees ECONNRESET, not a clean end', async () => {
    const { server, endpoint } = await serve({ events: 200, intervalMs: 2 });
    const outcome = await runBatch(endpoint, times(20, { kind: 'reset-after-events', events: 2 }), { concurrency: 10, arrivalRate: 0 });
    await server.waitForFinished(20);
    expectAccounted(outcome);
    expect(outcome.disconnects).toBe(20);
    expect(outcome.eventsReceived).toBe(40);
    expect(server.stats.closedEarly).toBe(20);
    expect(server.stats.resets).toBe(20);
  });

  it('leave-before-first-byte: the server got every request, the client read no byte', async () => {
    const { server, endpoint } = await serve({ firstByteDelayMs: 1000 });
    const outcome = await runBatch(endpoint, times(30, { kind: 'leave-before-first-byte' }), { concurrency: 10, arrivalRate: 0 });
    await server.waitForFinished(30);
    expectAccounted(outcome);
    expect(outcome.disconnects).toBe(30);
    expect(outcome.eventsReceived).toBe(0);
    expect(server.stats.requests).toBe(30);
    expect(server.stats.closedBeforeHeaders).toBe(30);
    // The batch does not wait for the server's first byte.
    expect(outcome.durationMs).toBeLessThan(1000);
  });

  it('leave-before-first-byte against a server that answers at once still reaches the handler', async () => {
    const { server, endpoint } = await serve();
    const outcome = await runBatch(endpoint, times(30, { kind: 'leave-before-first-byte' }), { concurrency: 10, arrivalRate: 0 });
    await server.waitForFinished(30);
    expect(outcome.disconnects).toBe(30);
    expect(server.stats.requests).toBe(30);
    expect(server.stats.closedEarly).toBe(30);
  });

  it('stall-then-leave stops reading (the server backs up), then leaves after the stall', async () => {
    const { server, endpoint } = await serve({ events: 200, intervalMs: 0, eventBytes: 32 * 1024 });
    const started = performance.now();
    const outcome = await runBatch(endpoint, times(5, { kind: 'stall-then-leave', afterEvents: 2, stallMs: 150 }), {
      concurrency: 5,
      arrivalRate: 0,
    });
    await server.waitForFinished(5);
    expectAccounted(outcome);
    expect(outcome.disconnects).toBe(5);
    expect(outcome.eventsReceived).toBe(10);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(server.stats.closedEarly).toBe(5);
    expect(server.stats.backpressured).toBeGreaterThan(0);
  });

  it('leave-after-ms leaves mid-stream; a stream shorter than the plan ends early', async () => {
    const { server, endpoint } = await serve({ events: 100, intervalMs: 5 });
    const outcome = await runBatch(endpoint, times(20, { kind: 'leave-after-ms', ms: 30 }), { concurrency: 20, arrivalRate: 0 });
    await server.waitForFinished(20);
    expect(outcome.disconnects).toBe(20);
    expect(outcome.eventsReceived).toBeGreaterThanOrEqual(20);
    expect(outcome.eventsReceived).toBeLessThan(20 * 60);

    const shortStreams = await serve({ events: 5, intervalMs: 1 });
    const short = await runBatch(shortStreams.endpoint, times(10, { kind: 'leave-after-events', events: 50 }), { concurrency: 10, arrivalRate: 0 });
    expectAccounted(short);
    expect(short.endedEarly).toBe(10);
    expect(short.disconnects).toBe(0);
    expect(short.errors.total).toBe(0);
  });
});

describe('runBatch: complete and mixed', () => {
  it('complete reads until the server ends the response, whatever the last event is', async () => {
    const { server, endpoint } = await serve({ events: 10, intervalMs: 1 });
    const outcome = await runBatch(endpoint, times(20, { kind: 'complete' }), { concurrency: 10, arrivalRate: 0 });
    expectAccounted(outcome);
    expect(outcome.completed).toBe(20);
    expect(outcome.eventsReceived).toBe(20 * 11);
    expect(outcome.framing).toBe('sse');
    expect(server.stats.completed).toBe(20);
    expect(server.stats.closedEarly).toBe(0);

    const bare = await serve({ events: 4, intervalMs: 1, endWithoutDone: true });
    const ended = await runBatch(bare.endpoint, times(5, { kind: 'complete' }), { concurrency: 5, arrivalRate: 0 });
    expect(ended.completed).toBe(5);
    expect(ended.eventsReceived).toBe(20);
  });

  it('a mixed plan accounts for every client by behaviour', async () => {
    const { server, endpoint } = await serve({ events: 10, intervalMs: 1 });
    const kinds: Behaviour[] = [
      { kind: 'leave-before-first-byte' },
      { kind: 'leave-after-events', events: 2 },
      { kind: 'leave-after-ms', ms: 3 },
      { kind: 'stall-then-leave', afterEvents: 1, stallMs: 10 },
      { kind: 'reset-after-events', events: 2 },
      { kind: 'complete' },
    ];
    const plan = Array.from({ length: 60 }, (_, i) => kinds[i % kinds.length]!);
    const outcome = await runBatch(endpoint, plan, { concurrency: 15, arrivalRate: 0 });
    await server.waitForFinished(60);
    expectAccounted(outcome);
    expect(outcome.errors.total).toBe(0);
    for (const kind of kinds) expect(outcome.byBehaviour[kind.kind]?.planned).toBe(10);
    expect(outcome.byBehaviour.complete?.completed).toBe(10);
    expect(outcome.disconnects + outcome.endedEarly).toBe(50);
  });
});

describe('runBatch: errors are counted, never thrown', () => {
  const shapes: Behaviour[] = [
    { kind: 'leave-after-events', events: 1 },
    { kind: 'leave-before-first-byte' },
    { kind: 'reset-after-events', events: 1 },
  ];

  it('refused', async () => {
    const endpoint = { origin: `http://127.0.0.1:${await freePort()}`, request: defaultRequest('/chat/stream/{id}') };
    const outcome = await runBatch(endpoint, shapes, { concurrency: 3, arrivalRate: 0 });
    expectAccounted(outcome);
    expect(outcome.errors.byKind).toEqual({ refused: 3 });
    expect(outcome.errors.examples[0]).toMatch(/^\S+ GET \/chat\/stream\/\S+: refused: .*ECONNREFUSED/);
  });

  it('http-404, with the method and path in the example line', async () => {
    const { endpoint } = await serve();
    const missing = await runBatch({ ...endpoint, request: defaultRequest('/nope/{id}') }, [shapes[0]!, shapes[2]!], { concurrency: 2, arrivalRate: 0 });
    expect(missing.errors.byKind).toEqual({ 'http-404': 2 });
    expect(missing.errors.examples[0]).toMatch(/^\S+ GET \/nope\/\S+: http-404: status 404$/);
    expect(missing.framing).toBeNull();
  });

  it('timeout and server-closed', async () => {
    const slow = await serve({ firstByteDelayMs: 2000 });
    const timedOut = await runBatch(slow.endpoint, [{ kind: 'complete' }, shapes[2]!], {
      concurrency: 2,
      arrivalRate: 0,
      requestTimeoutMs: 100,
    });
    expect(timedOut.errors.byKind).toEqual({ timeout: 2 });
    expect(timedOut.durationMs).toBeLessThan(1000);

    const rude = await serve({ events: 10, cutAfterEvents: 2 });
    const cut = await runBatch(rude.endpoint, times(3, { kind: 'complete' }), { concurrency: 3, arrivalRate: 0 });
    expect(cut.errors.byKind).toEqual({ 'server-closed': 3 });
    expect(cut.errors.examples[0]).toContain('after 2 events');
  });
});

describe('runBatch: pacing and stopping', () => {
  it('arrivalRate spaces request starts (loosely)', async () => {
    const { server, endpoint } = await serve({ events: 1, intervalMs: 1 });
    const outcome = await runBatch(endpoint, times(21, { kind: 'complete' }), { concurrency: 50, arrivalRate: 100 });
    expect(outcome.completed).toBe(21);
    const arrivals = server.stats.arrivalsMs;
    const span = arrivals[arrivals.length - 1]! - arrivals[0]!;
    // 20 gaps of 10 ms: ~200 ms; generous bounds so a loaded machine does not fail it.
    expect(span).toBeGreaterThanOrEqual(170);
    expect(span).toBeLessThan(1000);
  });

  it('reports progress and finishes with done === total', async () => {
    const { endpoint } = await serve({ events: 1 });
    const calls: [number, number][] = [];
    await runBatch(endpoint, times(10, { kind: 'complete' }), { concurrency: 5, arrivalRate: 0, onProgress: (d, t) => calls.push([d, t]) });
    expect(calls.at(-1)).toEqual([10, 10]);
  });

  it('the batch signal cuts every client and rejects with its reason', async () => {
    const { server, endpoint } = await serve({ events: 1000, intervalMs: 5 });
    const controller = new AbortController();
    const reason = new Error('stop now');
    const plan = [...times(10, { kind: 'complete' }), ...times(10, { kind: 'reset-after-events', events: 999 }), ...times(50, { kind: 'complete' })];
    const batch = runBatch(endpoint, plan, { concurrency: 20, arrivalRate: 0, signal: controller.signal });
    setTimeout(() => controller.abort(reason), 100);
    await expect(batch).rejects.toBe(reason);
    await server.waitForFinished(20);
    expect(server.stats.open).toBe(0);
    expect(server.stats.requests).toBe(20);
  });

  it('works over IPv6 when the host has it', async (context) => {
    let server: TestSseServer;
    try {
      server = await startTestSseServer({ host: '::1', events: 3 });
    } catch {
      context.skip();
      return;
    }
    servers.push(server);
    expect(server.origin).toMatch(/^http:\/\/\[::1\]:\d+$/);
    const outcome = await runBatch({ origin: server.origin, request: defaultRequest('/chat/stream/{id}') }, [
      { kind: 'complete' },
      { kind: 'reset-after-events', events: 1 },
      { kind: 'leave-before-first-byte' },
    ], { concurrency: 3, arrivalRate: 0 });
    expect(outcome.errors.total).toBe(0);
    expect(outcome.completed + outcome.disconnects).toBe(3);
  });
});

describe('runBatch: any request, any framing', () => {
  const post: StreamRequest = {
    method: 'POST',
    pathTemplate: '/chat/stream/{id}',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ${LEAKCHECK_TEST_TOKEN}', 'x-id': '{id}' },
    body: '{"id":"{id}","stream":true}',
    framing: 'auto',
  };

  it('every client kind sends the method, headers and body, {id} and ${NAME} replaced', async () => {
    process.env.LEAKCHECK_TEST_TOKEN = 'sekrit-token';
    try {
      for (const behaviour of [{ kind: 'complete' }, { kind: 'leave-before-first-byte' }, { kind: 'reset-after-events', events: 1 }] as Behaviour[]) {
        const { server, endpoint } = await serve({ events: 3, intervalMs: 1 });
        const outcome = await runBatch({ ...endpoint, request: post }, [behaviour], { concurrency: 1, arrivalRate: 0, idPrefix: 'p' });
        await server.waitForFinished(1);
        expect(outcome.errors.total, behaviour.kind).toBe(0);
        expect(server.stats.last?.method, behaviour.kind).toBe('POST');
        expect(server.stats.last?.headers.authorization, behaviour.kind).toBe('Bearer sekrit-token');
        expect(server.stats.last?.headers['x-id'], behaviour.kind).toBe('p-0');
        expect(server.stats.last?.headers['content-length'], behaviour.kind).toBe('26');
        expect(server.stats.last?.body, behaviour.kind).toBe('{"id":"p-0","stream":true}');
      }
    } finally {
      delete process.env.LEAKCHECK_TEST_TOKEN;
    }
  });

  it('NDJSON: leave-after-events counts lines, not writes (the server writes two lines at a time)', async () => {
    const { server, endpoint } = await serve({ events: 40, intervalMs: 2, format: 'ndjson' });
    const outcome = await runBatch(endpoint, [...times(20, { kind: 'leave-after-events', events: 3 }), ...times(10, { kind: 'reset-after-events', events: 3 })], {
      concurrency: 10,
      arrivalRate: 0,
    });
    await server.waitForFinished(30);
    expectAccounted(outcome);
    expect(outcome.framing).toBe('ndjson');
    expect(outcome.disconnects).toBe(30);
    expect(outcome.eventsReceived).toBe(90);
    const complete = await runBatch(endpoint, times(3, { kind: 'complete' }), { concurrency: 3, arrivalRate: 0 });
    expect(complete.completed).toBe(3);
    expect(complete.eventsReceived).toBe(3 * 41);
  });

  it('any other type is read in chunks; a framing named in the request overrides the Content-Type', async () => {
    const { endpoint } = await serve({ events: 30, intervalMs: 3, contentType: 'text/plain' });
    const chunks = await runBatch(endpoint, times(10, { kind: 'leave-after-events', events: 2 }), { concurrency: 10, arrivalRate: 0 });
    expect(chunks.framing).toBe('chunks');
    expect(chunks.disconnects).toBe(10);
    const sse = await runBatch({ ...endpoint, request: { ...endpoint.request, framing: 'sse' } }, times(5, { kind: 'complete' }), { concurrency: 5, arrivalRate: 0 });
    expect(sse.framing).toBe('sse');
    expect(sse.eventsReceived).toBe(5 * 31);
  });

  it('a secret never reaches an error line, even when the server quotes it back', async () => {
    process.env.LEAKCHECK_TEST_TOKEN = 'sekrit-token';
    try {
      const origin = `http://127.0.0.1:${await freePort()}`;
      const outcome = await runBatch({ origin, request: { ...post, pathTemplate: '/x/sekrit-token/{id}' } }, [{ kind: 'complete' }], { concurrency: 1, arrivalRate: 0 });
      expect(outcome.errors.examples[0]).toMatch(/^complete POST \/x\/\*\*\*\/\S+: refused/);
    } finally {
      delete process.env.LEAKCHECK_TEST_TOKEN;
    }
  });
});
