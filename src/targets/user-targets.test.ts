import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../core/errors.js';
import { buildTargets, validatePathTemplate } from './user-targets.js';

describe('buildTargets', () => {
  it('runs the built-in pair when no target is given', () => {
    const targets = buildTargets({});
    expect(targets.map((t) => [t.name, t.expect, t.origin])).toEqual([
      ['old', 'leak', 'builtin'],
      ['new', 'clean', 'builtin'],
    ]);
  });

  it('user targets run alone, through a shell, expected clean, with the path template', () => {
    const targets = buildTargets({ target: ['api=npm start', 'py=python3 server.py'], path: '/sse/{id}?x=1' });
    expect(targets.map((t) => t.name)).toEqual(['api', 'py']);
    expect(targets[0]).toMatchObject({ command: 'npm start', shell: true, expect: 'clean', probe: 'auto' });
    expect(targets[0]!.request).toEqual({ method: 'GET', pathTemplate: '/sse/{id}?x=1', headers: { accept: 'text/event-stream' }, body: null, framing: 'auto' });
  });

  it('adds the pair with --builtin node, and the positive control first with --self-check', () => {
    expect(buildTargets({ target: ['api=node s.js'], builtin: ['node'] }).map((t) => t.name)).toEqual(['old', 'new', 'api']);
    const checked = buildTargets({ target: ['api=node s.js'], selfCheck: true });
    expect(checked.map((t) => [t.name, t.expect])).toEqual([
      ['self-check', 'leak'],
      ['api', 'clean'],
    ]);
  });

  it('--builtin go adds the Go pair (and only it, without --builtin node)', () => {
    const targets = buildTargets({ builtin: ['go'] }, '/cache/streamer');
    expect(targets.map((t) => [t.name, t.expect, t.probe, t.command, t.args.join(' ')])).toEqual([
      ['go-old', 'leak', 'go', '/cache/streamer', '-variant old'],
      ['go-new', 'clean', 'go', '/cache/streamer', '-variant new'],
    ]);
    expect(buildTargets({ builtin: ['node', 'go'] }, '/x').map((t) => t.name)).toEqual(['old', 'new', 'go-old', 'go-new']);
  });

  it('--builtin python adds the asyncio pair, on python3 unless --python or STREAMER_LEAKCHECK_PYTHON names another', () => {
    const targets = buildTargets({ builtin: ['python'] }, undefined, { env: { PATH: process.env.PATH } });
    expect(targets.map((t) => [t.name, t.expect, t.probe, t.command, t.workersGauge])).toEqual([
      ['py-old', 'leak', 'python', 'python3', true],
      ['py-new', 'clean', 'python', 'python3', true],
    ]);
    expect(targets[0]!.args[0]).toMatch(/dist\/src\/reference\/python\/main\.py$/);
    expect(buildTargets({ builtin: ['python'], python: '/bin/sh' })[0]!.command).toBe('/bin/sh');
    expect(buildTargets({ builtin: ['python'] }, undefined, { env: { STREAMER_LEAKCHECK_PYTHON: 'sh', PATH: '/bin' } })[0]!.command).toBe('/bin/sh');
  });

  it('--node runs the reference servers on that Node and puts its folder first on user targets\' PATH', () => {
    const targets = buildTargets({ builtin: ['node'], target: ['api=node s.js'], node: process.execPath }, undefined, { env: { PATH: '/usr/bin' } });
    expect(targets[0]!.command).toBe(process.execPath);
    expect(targets[2]!.env).toEqual({ PATH: `${path.dirname(process.execPath)}:/usr/bin` });
    expect(buildTargets({}, undefined, { env: { STREAMER_LEAKCHECK_NODE: process.execPath } })[1]!.command).toBe(process.execPath);
    // Without --node, user targets keep the PATH they inherit.
    expect(buildTargets({ target: ['api=node s.js'] })[0]!.env).toBeUndefined();
  });

  it('applies --expect, --expect-upstream and --probe by name', () => {
    const [api] = buildTargets({ target: ['api=node s.js'], expect: ['api=leak'], expectUpstream: ['api=not-cancelled'], probe: ['api=proc'] });
    expect(api).toMatchObject({ expect: 'leak', expectUpstream: 'not-cancelled', probe: 'proc' });
    // Unless told, nothing is expected of the upstream: not cancelling can be meant.
    expect(buildTargets({ target: ['api=node s.js'] })[0]!.expectUpstream).toBeUndefined();
  });

  it.each([
    [{ expect: ['nobody=leak'] }, /--expect nobody=leak: no target named nobody \(targets: old, new\)/],
    [{ expect: ['old=maybe'] }, /--expect old=maybe: expected leak or clean/],
    [{ expectUpstream: ['new=yes'] }, /--expect-upstream new=yes: expected cancelled or not-cancelled/],
    [{ expectUpstream: ['nobody=cancelled'] }, /--expect-upstream nobody=cancelled: no target named nobody \(targets: old, new\)/],
    [{ target: ['noequals'] }, /--target "noequals": expected NAME=VALUE/],
    [{ target: ['a b=cmd'] }, /the name must be/],
    [{ target: ['api='] }, /the command is empty/],
    [{ target: ['x=a', 'x=b'] }, /two targets have that name/],
    [{ target: ['old=node s.js'], builtin: ['node'] }, /two targets have that name/],
    [{ builtin: ['rust'] }, /--builtin "rust": choose node, go or python/],
    [{ probe: ['new=ruby'] }, /expected node, python, go, proc or auto/],
    [{ node: '/no/such/node' }, /--node "\/no\/such\/node": no executable file there/],
    [{ builtin: ['python'], python: 'no-such-python-here' }, /--python "no-such-python-here": not found on PATH/],
    [{ path: 'http://example.com/chat/{id}' }, /not a URL: load only goes to the target on 127\.0\.0\.1/],
  ])('refuses %j with one clear line', (flags, message) => {
    expect(() => buildTargets(flags)).toThrow(UsageError);
    expect(() => buildTargets(flags)).toThrow(message);
  });
});

describe('validatePathTemplate', () => {
  it.each(['//evil.example/x', 'https://10.0.0.1/x', 'chat/{id}', '/a b'])('refuses %s', (path) => {
    expect(() => validatePathTemplate(path)).toThrow(UsageError);
  });
  it('accepts an absolute path with a query', () => {
    expect(validatePathTemplate('/v1/stream/{id}?model=x')).toBe('/v1/stream/{id}?model=x');
  });
});

describe('buildTargets: the request of user targets', () => {
  const env = { TOKEN: 'sk-test' };
  const one = (flags: Parameters<typeof buildTargets>[0], context: Parameters<typeof buildTargets>[2] = { env }) =>
    buildTargets({ target: ['api=npm start'], ...flags }, undefined, context)[0]!.request;

  it('--method, --header, --body, --framing; a JSON body gets content-type: application/json, and a body alone means POST', () => {
    expect(one({ path: '/v1/chat/completions', header: ['Authorization: Bearer ${TOKEN}', 'X-Trace: {id}'], body: '{"stream":true}' })).toEqual({
      method: 'POST',
      pathTemplate: '/v1/chat/completions',
      headers: { authorization: 'Bearer ${TOKEN}', 'x-trace': '{id}', accept: 'text/event-stream', 'content-type': 'application/json' },
      body: '{"stream":true}',
      framing: 'auto',
    });
    expect(one({ method: 'put', body: 'a=1', framing: 'ndjson' })).toMatchObject({ method: 'PUT', headers: { accept: 'application/x-ndjson' } });
    expect(one({ method: 'PUT', body: 'a=1' }).headers['content-type']).toBeUndefined();
  });

  it('the built-in pair keeps its GET', () => {
    const targets = buildTargets({ target: ['api=npm start'], builtin: ['node'], method: 'POST', body: '{}' }, undefined, { env });
    expect(targets.map((t) => [t.name, t.request.method])).toEqual([
      ['old', 'GET'],
      ['new', 'GET'],
      ['api', 'POST'],
    ]);
  });

  it('layers, field by field, headers merged: shared request < the target\'s own < --curl < flags', () => {
    const targets = buildTargets(
      {
        target: ['a=x', 'b=y'],
        request: { method: 'POST', path: '/shared', headers: { 'X-One': '1', 'X-Two': 'shared' }, body: { model: 'm' } },
        targetRequests: { b: { path: '/b', headers: { 'x-two': 'b' } } },
        header: ['X-Three: flag'],
      },
      undefined,
      { env },
    );
    expect(targets[0]!.request).toMatchObject({ method: 'POST', pathTemplate: '/shared', body: '{"model":"m"}', headers: { 'x-one': '1', 'x-two': 'shared', 'x-three': 'flag' } });
    expect(targets[1]!.request).toMatchObject({ pathTemplate: '/b', headers: { 'x-one': '1', 'x-two': 'b', 'x-three': 'flag' } });
    const over = buildTargets({ target: ['a=x'], request: { path: '/shared' }, curl: "curl http://api.example.com/from-curl -H 'x-c: 1'", path: '/flag' }, undefined, { env });
    expect(over[0]!.request).toMatchObject({ pathTemplate: '/flag', headers: { 'x-c': '1' } });
  });

  it('--curl: method, headers, body and path; one line says the host is replaced and what was left out', () => {
    const notes: string[] = [];
    const request = one(
      { curl: `curl 'https://api.openai.com/v1/chat/completions' -H "Authorization: Bearer $TOKEN" -H 'Connection: keep-alive' --data-raw '{"stream":true}' --compressed` },
      { env, note: (line) => notes.push(line) },
    );
    expect(request).toMatchObject({ method: 'POST', pathTemplate: '/v1/chat/completions', body: '{"stream":true}' });
    expect(request.headers).toEqual({ authorization: 'Bearer ${TOKEN}', accept: 'text/event-stream', 'content-type': 'application/json' });
    expect(notes).toEqual([
      '--curl: POST /v1/chat/completions (1 headers, a 15-byte body) goes to each user target on 127.0.0.1, not to api.openai.com; ' +
        'the stream is read uncompressed (no accept-encoding sent); left out connection (each client sets its own)',
    ]);
  });

  it.each([
    [{ header: ['Authorization Bearer x'] }, /--header "Authorization Bearer x": expected 'Name: value'/],
    [{ header: ['Connection: close'] }, /--header 'Connection: …': each client sets it itself/],
    [{ header: ['Content-Length: 3'] }, /--header 'Content-Length: …': it is set from the body/],
    [{ header: ['Accept-Encoding: gzip'] }, /read streams uncompressed/],
    [{ header: ['Bad Name: x'] }, /not a header name/],
    [{ method: 'FETCH' }, /--method "FETCH": not an HTTP method/],
    [{ method: 'HEAD' }, /a HEAD response has no body to stream/],
    [{ framing: 'json' }, /--framing "json": choose sse, ndjson, chunks \(or auto\)/],
    [{ header: ['Authorization: Bearer ${NOT_SET}'] }, /^\$\{NOT_SET\} is not set in the environment \(used in the authorization header of target api\)$/],
    [{ body: '{"key":"${ALSO_NOT_SET}"}' }, /\$\{ALSO_NOT_SET\} is not set in the environment \(used in the body of target api\)/],
    [{ request: { headers: { 'x-a': 1 } } as never }, /request\.headers\.x-a: must be a string/],
    [{ targetRequests: { nobody: { path: '/x' } } }, /targets\.nobody\.request: no user or attached target named nobody/],
    [{ curl: 'curl -F a=b http://h/' }, /--curl: -F: multipart/],
  ])('refuses %j with one clear line', (flags, message) => {
    expect(() => one(flags)).toThrow(UsageError);
    expect(() => one(flags)).toThrow(message);
  });

  it('a secret in a refused header is never quoted back', () => {
    expect(() => one({ header: ['Authorization: Bearer sk-secret\u0000'] })).toThrow(/^--header 'Authorization: …': the value must be one line$/);
  });

  it('request options without a user target are refused, not dropped', () => {
    expect(() => buildTargets({ method: 'POST' })).toThrow(/--method sets the request of user targets/);
    expect(() => buildTargets({ header: ['a: b'] })).toThrow(/--header sets the request/);
    expect(() => buildTargets({ request: { method: 'POST' } })).toThrow(/request: sets the request of user targets/);
  });
});

describe('attached targets (--attach, --pid, --upstream)', () => {
  it('attaches to a loopback URL with the same request options as a started target, and no built-in pair', () => {
    const targets = buildTargets({
      attach: ['api=http://127.0.0.1:3000', 'v6=http://[::1]:3001/'],
      pid: ['api=4242'],
      upstream: ['api=http://127.0.0.1:8090'],
      path: '/v1/chat/{id}',
      expect: ['api=leak'],
      probe: ['v6=proc'],
    });
    expect(targets.map((t) => t.name)).toEqual(['api', 'v6']);
    expect(targets[0]).toMatchObject({
      origin: 'attached',
      expect: 'leak',
      probe: 'auto',
      attach: { url: 'http://127.0.0.1:3000', port: 3000, pid: 4242, upstream: 'http://127.0.0.1:8090' },
      request: { method: 'GET', pathTemplate: '/v1/chat/{id}' },
    });
    expect(targets[1]).toMatchObject({ probe: 'proc', attach: { url: 'http://[::1]:3001', pid: null, upstream: null } });
  });

  it.each([
    [{ attach: ['api=http://192.168.1.5:3000'] }, /^--attach api=http:\/\/192\.168\.1\.5:3000: 192\.168\.1\.5 is not a loopback address/],
    [{ attach: ['api=http://localhost:3000'] }, /not localhost/],
    [{ attach: ['api'] }, /--attach "api": expected NAME=VALUE/],
    [{ attach: ['a=http://127.0.0.1:3000', 'b=http://127.0.0.1:3000'] }, /b=http:\/\/127\.0\.0\.1:3000: a attaches to http:\/\/127\.0\.0\.1:3000 already/],
    [{ attach: ['api=http://127.0.0.1:3000'], target: ['api=npm start'] }, /two targets have that name/],
    [{ attach: ['api=http://127.0.0.1:3000'], pid: ['api=abc'] }, /^--pid api=abc: expected a process id/],
    [{ attach: ['api=http://127.0.0.1:3000'], pid: ['web=12'] }, /^--pid web=12: no attached target named web \(--pid goes with --attach web=URL\)/],
    [{ target: ['api=npm start'], pid: ['api=12'] }, /^--pid api=12: no attached target named api/],
    [{ attach: ['api=http://127.0.0.1:3000'], upstream: ['api=http://10.1.1.1:8090'] }, /^--upstream api=http:\/\/10\.1\.1\.1:8090: 10\.1\.1\.1 is not a loopback address/],
  ])('refuses %j with one clear line', (flags, message) => {
    expect(() => buildTargets(flags)).toThrow(UsageError);
    expect(() => buildTargets(flags)).toThrow(message);
  });
});
