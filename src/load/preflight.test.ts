import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { checkStream, preflight } from './preflight.js';
import { defaultRequest, type StreamRequest } from './request.js';
import { startTestSseServer, type TestSseServer, type TestSseServerOptions } from './testing-server.js';

const servers: TestSseServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: TestSseServerOptions = {}): Promise<TestSseServer> {
  const server = await startTestSseServer(options);
  servers.push(server);
  return server;
}

/** Answers the way real servers get it wrong, one route each. */
let quirky: Server;
let origin: string;
let requestsSeen = 0;
beforeAll(async () => {
  quirky = createServer((req, res) => {
    requestsSeen++;
    const route = req.url!.split('?')[0]!;
    req.resume();
    switch (route) {
      case '/auth':
        if (req.headers.authorization !== 'Bearer right') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad key Bearer wrong-token-1"}');
        break;
      case '/post-only':
        if (req.method !== 'POST') return void res.writeHead(405, { allow: 'OPTIONS, POST' }).end();
        break;
      case '/json-only':
        if (req.headers['content-type'] !== 'application/json') return void res.writeHead(415).end();
        break;
      case '/validate':
        return void res.writeHead(422, { 'content-type': 'application/json' }).end('{"detail":"field required: messages"}');
      case '/not-streaming':
        return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[{"message":{"content":"hi"}}]}');
      case '/content-length':
        return void res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}');
      case '/spa':
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<!doctype html><title>app</title>');
      case '/empty':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(': hello\n\n');
        return void res.end();
      case '/gzip':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
        return void res.end();
      case '/silent':
        // Headers, then nothing, ever (until the test closes the server).
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.flushHeaders();
      case '/slow-first':
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        return void setTimeout(() => res.end('data: late\n\n'), 300);
      case '/ndjson':
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        res.write('{"a":1}\n');
        return void setTimeout(() => res.end('{"done":true}\n'), 20);
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: 1\n\n');
    setTimeout(() => res.end('data: [DONE]\n\n'), 20);
  });
  await new Promise<void>((resolve) => quirky.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(quirky.address() as AddressInfo).port}`;
});
afterAll(async () => {
  quirky.closeAllConnections();
  await new Promise((resolve) => quirky.close(resolve));
});

const post = (path: string, more: Partial<StreamRequest> = {}): StreamRequest => ({
  ...defaultRequest(path),
  method: 'POST',
  headers: { accept: 'text/event-stream', 'content-type': 'application/json' },
  body: '{"stream":true}',
  ...more,
});

describe('preflight', () => {
  it('passes a route that answers an event stream, and says it is SSE', async () => {
    const server = await serve({ events: 3 });
    expect(await preflight(server.origin, defaultRequest('/chat/stream/{id}'))).toBeNull();
    expect(server.stats.ids[0]).toMatch(/^preflight-\d+$/);
    expect(await checkStream(origin, post('/ndjson'))).toEqual({ problem: null, framing: 'ndjson', status: 200, contentType: 'application/x-ndjson' });
  });

  it('401 without credentials: asks for them; with them: says they were refused, never quoting a secret', async () => {
    expect(await preflight(origin, post('/auth'))).toMatch(/^answers 401 to POST \/auth: the target wants credentials: add --header 'Authorization: …'; it said: \{"error"/);
    const refused = await preflight(origin, post('/auth', { headers: { authorization: 'Bearer wrong-token-1' } }));
    expect(refused).toMatch(/^answers 401 to POST \/auth: the credentials sent \(authorization\) were refused: check their value; it said: \{"error":"bad key \*\*\*"\}$/);
  });

  it('404, 405, 415 and 422 name the method and path tried and what to change', async () => {
    const server = await serve();
    expect(await preflight(server.origin, defaultRequest('/nope/{id}'))).toMatch(/^answers 404 to GET \/nope\/preflight-\d+: no such route \(set the stream route with --path/);
    expect(await preflight(origin, defaultRequest('/post-only'))).toBe(
      'answers 405 to GET /post-only: the route does not take GET (it allows OPTIONS, POST): set the method with --method POST',
    );
    expect(await preflight(origin, post('/json-only', { headers: {} }))).toMatch(/^answers 415 to POST \/json-only: it does not take a body without a content-type: set it with --header 'Content-Type: …'$/);
    expect(await preflight(origin, post('/validate'))).toMatch(/^answers 422 to POST \/validate: it refused the request or its body \(set it with --body\); it said: \{"detail":"field required: messages"\}$/);
  });

  it('a 200 that is not a stream says so', async () => {
    expect(await preflight(origin, post('/not-streaming'))).toMatch(
      /^answers POST \/not-streaming with one application\/json body of \d+ bytes that ended with its first line, not a stream \(an OpenAI-style API streams with "stream": true/,
    );
    expect(await preflight(origin, post('/content-length'))).toMatch(/^answers POST \/content-length with one application\/json body of 2 bytes \(content-length\), not a stream/);
    expect(await preflight(origin, defaultRequest('/spa'))).toMatch(/with an HTML page \(text\/html\), not a stream/);
    expect(await preflight(origin, defaultRequest('/empty'))).toMatch(/^answers GET \/empty with a text\/event-stream body of 9 bytes that ended without one sse event/);
    expect(await preflight(origin, defaultRequest('/gzip'))).toMatch(/compressed \(content-encoding: gzip\)/);
  });

  it('a missing ${NAME} is a problem line, and nothing is sent', async () => {
    const before = requestsSeen;
    const problem = await preflight(origin, post('/auth', { headers: { authorization: 'Bearer ${LEAKCHECK_NOT_SET_ANYWHERE}' } }));
    expect(problem).toBe('${LEAKCHECK_NOT_SET_ANYWHERE} (in the authorization header) is not set in the environment');
    expect(requestsSeen).toBe(before);
  });

  it('headers and then no event within the bound is a problem line naming the bound; a slow first event within it is not', async () => {
    const started = Date.now();
    const problem = await preflight(origin, defaultRequest('/silent'), { firstEventTimeoutMs: 400 });
    expect(problem).toMatch(/^sent response headers to GET \/silent and then no sse event within 400 ms: is it waiting on an upstream/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(await preflight(origin, defaultRequest('/slow-first'), { firstEventTimeoutMs: 2000 })).toBeNull();
    expect(await preflight(origin, defaultRequest('/slow-first'), { firstEventTimeoutMs: 100 })).toMatch(/and then no sse event within 100 ms/);
  });
});
