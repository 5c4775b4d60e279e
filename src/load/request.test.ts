import { describe, expect, it } from 'vitest';

import { defaultRequest, envReferences, MissingVariableError, redactHeaders, RequestRenderer, summarizeRequest, type StreamRequest } from './request.js';

const post: StreamRequest = {
  method: 'POST',
  pathTemplate: '/v1/chat/{id}?trace={id}',
  headers: { 'content-type': 'application/json', 'x-request-id': 'req-{id}' },
  body: '{"id":"{id}","text":"héllo"}',
  framing: 'auto',
};

describe('RequestRenderer', () => {
  it('replaces every {id} in the path, header values and body', () => {
    const renderer = new RequestRenderer(post);
    expect(renderer.path('a-1')).toBe('/v1/chat/a-1?trace=a-1');
    expect(renderer.headers('a-1')).toEqual({ 'content-type': 'application/json', 'x-request-id': 'req-a-1' });
    expect(renderer.body('a-1')).toBe('{"id":"a-1","text":"héllo"}');
  });

  it('shares what has no {id}: one headers object for every request', () => {
    const renderer = new RequestRenderer(defaultRequest('/chat/stream/{id}'));
    expect(renderer.headers('1')).toBe(renderer.headers('2'));
    expect(renderer.body('1')).toBeNull();
    expect(renderer.method).toBe('GET');
    expect(renderer.framing).toBe('auto');
  });

  it('renders a raw HTTP/1.1 request with the body length in bytes', () => {
    const raw = new RequestRenderer(post).raw('7', '/v1/chat/7?trace=7', '127.0.0.1:9');
    const text = raw.toString('utf8');
    const [head, body] = text.split('\r\n\r\n');
    expect(head!.split('\r\n')).toEqual([
      'POST /v1/chat/7?trace=7 HTTP/1.1',
      'Host: 127.0.0.1:9',
      'content-type: application/json',
      'x-request-id: req-7',
      `Content-Length: ${Buffer.byteLength(body!)}`,
      'Connection: close',
    ]);
    expect(body).toBe('{"id":"7","text":"héllo"}');
    expect(Buffer.byteLength(body!)).toBe(body!.length + 1);
  });

  it('a GET has no Content-Length; a POST without a body says 0; a Host header of the request is kept', () => {
    expect(new RequestRenderer(defaultRequest('/s/{id}')).raw('1', '/s/1', 'h:1').toString()).toBe(
      'GET /s/1 HTTP/1.1\r\nHost: h:1\r\naccept: text/event-stream\r\nConnection: close\r\n\r\n',
    );
    const bare = new RequestRenderer({ ...defaultRequest('/s'), method: 'POST', headers: { host: 'api.local' } });
    expect(bare.raw('1', '/s', 'h:1').toString()).toBe('POST /s HTTP/1.1\r\nhost: api.local\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  it('refuses a path that does not start with /', () => {
    expect(() => new RequestRenderer(defaultRequest('chat/{id}'))).toThrow(RangeError);
  });
});

describe('${NAME} from the environment', () => {
  const env = { TOKEN: 'sk-live-123456', ORG: 'acme' };

  it('is read when the renderer is made; $${NAME} stays as text; the path is never substituted', () => {
    const renderer = new RequestRenderer(
      {
        ...post,
        pathTemplate: '/v1/${TOKEN}/{id}',
        headers: { authorization: 'Bearer ${TOKEN}', 'x-org': '${ORG}-{id}', 'x-lit': '$${TOKEN}' },
        body: '{"org":"${ORG}","id":"{id}"}',
      },
      env,
    );
    expect(renderer.path('1')).toBe('/v1/${TOKEN}/1');
    expect(renderer.headers('1')).toEqual({ authorization: 'Bearer sk-live-123456', 'x-org': 'acme-1', 'x-lit': '${TOKEN}' });
    expect(renderer.body('1')).toBe('{"org":"acme","id":"1"}');
    expect(envReferences('a ${A} $${B} ${C} ${A}')).toEqual(['A', 'C']);
  });

  it('a missing variable names itself and where it was used', () => {
    expect(() => new RequestRenderer({ ...post, headers: { 'x-api-key': '${NOPE}' } }, env)).toThrow(MissingVariableError);
    expect(() => new RequestRenderer({ ...post, body: '${NOPE}' }, env)).toThrow('${NOPE} (in the body) is not set in the environment');
  });

  it('scrub hides redacted header values and every value read from the environment', () => {
    const renderer = new RequestRenderer(
      { ...post, headers: { authorization: 'Bearer literal-token', accept: 'text/event-stream', 'x-org': '${ORG}' }, body: '{"k":"${TOKEN}"}' },
      env,
    );
    expect(renderer.scrub('got Bearer literal-token and sk-live-123456 and acme, text/event-stream')).toBe('got *** and *** and ***, text/event-stream');
  });
});

describe('summarizeRequest', () => {
  it('shows content-type and accept, redacts every other value and any ${NAME}; the body by shape', () => {
    const summary = summarizeRequest(
      {
        method: 'POST',
        pathTemplate: '/v1/chat/completions',
        headers: {
          authorization: 'Bearer sk-abc',
          cookie: 'session=1',
          'x-custom-key': 'k',
          'content-type': 'application/json',
          accept: '${ACCEPT}',
          'anthropic-version': '2023-06-01',
        },
        body: '{"model":"m","messages":[{"content":"{id}"}],"stream":true,"n":{id}}',
        framing: 'auto',
      },
      'sse',
    );
    expect(summary).toEqual({
      method: 'POST',
      pathTemplate: '/v1/chat/completions',
      headers: {
        authorization: '***',
        cookie: '***',
        'x-custom-key': '***',
        'content-type': 'application/json',
        accept: '***',
        'anthropic-version': '2023-06-01',
      },
      body: { bytes: 68, json: 'object', keys: ['model', 'messages', 'stream', 'n'] },
      framing: 'auto',
      framingFound: 'sse',
    });
    expect(JSON.stringify(summary)).not.toContain('sk-abc');
    expect(summarizeRequest({ ...post, body: 'a=1&b=2' }, null).body).toEqual({ bytes: 7, json: null });
    expect(redactHeaders({ 'User-Agent': 'x' })).toEqual({ 'User-Agent': '***' });
  });
});
