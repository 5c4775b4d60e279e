import { describe, expect, it } from 'vitest';
import { UsageError } from './core/errors.js';
import { targetsOf, type LeakcheckOptions } from './api.js';

describe('targetsOf: leakcheck() options -> the run targets', () => {
  it('gives the same targets for objects and "name=command" strings', () => {
    const fromStrings = targetsOf({
      targets: ['api=npm start', 'py=python3 app.py'],
      expect: ['api=leak'],
      probe: ['py=proc'],
      path: '/v1/chat/{id}/stream',
    });
    const fromObjects = targetsOf({
      targets: [
        { name: 'api', command: 'npm start', expect: 'leak' },
        { name: 'py', command: 'python3 app.py', probe: 'proc' },
      ],
      path: '/v1/chat/{id}/stream',
    });
    expect(fromObjects).toEqual(fromStrings);
    expect(fromObjects.map((t) => [t.name, t.command, t.expect, t.probe, t.request.pathTemplate])).toEqual([
      ['api', 'npm start', 'leak', 'auto', '/v1/chat/{id}/stream'],
      ['py', 'python3 app.py', 'clean', 'proc', '/v1/chat/{id}/stream'],
    ]);
  });

  it('mixes both forms in order, and the deprecated `target` still works', () => {
    const mixed = targetsOf({ targets: ['a=node a.js', { name: 'b', command: 'node b.js' }] });
    expect(mixed.map((t) => t.name)).toEqual(['a', 'b']);
    expect(targetsOf({ target: ['a=node a.js', 'b=node b.js'] })).toEqual(mixed);
  });

  it('gives a target its own path, the others the default one', () => {
    const targets = targetsOf({
      targets: [{ name: 'a', command: 'node a.js', path: '/sse/{id}' }, 'b=node b.js'],
      path: '/stream/{id}',
    });
    expect(targets.map((t) => t.request.pathTemplate)).toEqual(['/sse/{id}', '/stream/{id}']);
    expect(targetsOf({ targets: ['b=node b.js'] })[0]?.request.pathTemplate).toBe('/chat/stream/{id}');
  });

  it('runs the built-in pair without targets, and an `expect` pair overrides a target’s own', () => {
    expect(targetsOf({}).map((t) => [t.name, t.expect])).toEqual([
      ['old', 'leak'],
      ['new', 'clean'],
    ]);
    const [api] = targetsOf({ targets: [{ name: 'api', command: 'x', expect: 'leak' }], expect: ['api=clean'] });
    expect(api?.expect).toBe('clean');
    const [own] = targetsOf({ targets: [{ name: 'api', command: 'x', expectUpstream: 'cancelled' }] });
    expect(own?.expectUpstream).toBe('cancelled');
    expect(targetsOf({ targets: ['api=x'], expectUpstream: ['api=not-cancelled'] })[0]?.expectUpstream).toBe('not-cancelled');
    expect(targetsOf({ targets: ['api=x'], selfCheck: true }).map((t) => t.name)).toEqual(['self-check', 'api']);
  });

  it('attaches as --attach, --pid and --upstream do, with its own expectation and request', () => {
    const [api] = targetsOf({
      attach: [{ name: 'api', url: 'http://127.0.0.1:3000', pid: 4242, upstream: 'http://127.0.0.1:8090', expect: 'leak', request: { path: '/v1/chat/{id}' } }],
    });
    expect(api).toMatchObject({ name: 'api', origin: 'attached', expect: 'leak', attach: { url: 'http://127.0.0.1:3000', port: 3000, pid: 4242, upstream: 'http://127.0.0.1:8090' } });
    expect(api?.request.pathTemplate).toBe('/v1/chat/{id}');
    const [checked] = targetsOf({ attach: [{ name: 'api', url: 'http://127.0.0.1:3000', upstream: 'http://127.0.0.1:8090', expectUpstream: 'cancelled' }] });
    expect(checked?.expectUpstream).toBe('cancelled');
    // Attached targets alone: no built-in pair beside them.
    expect(targetsOf({ attach: [{ name: 'api', url: 'http://[::1]:3000' }] }).map((t) => t.name)).toEqual(['api']);
  });

  it.each([
    [{ attach: [{ name: 'api', url: 'http://10.0.0.5:3000' }] }, /^leakcheck\(\): attach: api=http:\/\/10\.0\.0\.5:3000: .*loopback/],
    [{ attach: [{ name: 'api', url: 'http://127.0.0.1:3000', pid: 'x' }] }, 'leakcheck(): attach[0].pid: must be a process id, got "x"'],
    [{ attach: [{ name: 'api', uri: 'http://127.0.0.1:3000' }] }, /^leakcheck\(\): attach\[0\]\.uri: unknown field \(known: name, url, pid, upstream, expect, expectUpstream, probe, request\)$/],
    [{ attach: [{ name: 'api', url: 'http://127.0.0.1:3000', expectUpstream: 'cancelled' }] }, 'leakcheck(): attach[0].expectUpstream: needs upstream: the mock upstream the server was pointed at, where its cancellations are counted'],
    [{ attach: [{ name: 'api' }] }, 'leakcheck(): attach[0].url: must be a non-empty string, got undefined'],
    [{ attach: { name: 'api' } }, 'leakcheck(): attach: must be an array of { name, url } objects'],
  ])('refuses the attached target %j, naming the field', (options, message) => {
    const build = () => targetsOf(options as unknown as LeakcheckOptions);
    expect(build).toThrow(UsageError);
    expect(build).toThrow(message);
  });

  it.each([
    [{ targets: [{ name: 'api', command: 'x', expect: 'leaky' }] }, 'leakcheck(): targets[0].expect: expected leak or clean (got "leaky")'],
    [{ targets: [{ name: 'api', command: 'x', expectUpstream: 'sometimes' }] }, 'leakcheck(): targets[0].expectUpstream: expected cancelled or not-cancelled (got "sometimes")'],
    [{ targets: ['ok=x', { name: 'py', command: 'x', probe: 'ruby' }] }, 'leakcheck(): targets[1].probe: expected node, python, go, proc or auto (got "ruby")'],
    [{ targets: [{ name: 'a b', command: 'x' }] }, /^leakcheck\(\): targets\[0\]\.name: the name must be 1–40 letters.* \(got "a b"\)$/],
    [{ targets: [{ name: 'a=b', command: 'x' }] }, /^leakcheck\(\): targets\[0\]\.name: the name must be 1–40 letters.* \(got "a=b"\)$/],
    [{ targets: [{ name: '-api', command: 'x' }] }, /^leakcheck\(\): targets\[0\]\.name: the name must be 1–40 letters.* \(got "-api"\)$/],
    [{ targets: [{ name: 'api' }] }, 'leakcheck(): targets[0].command: must be a non-empty string, got undefined'],
    [{ targets: [{ name: 'api', command: '  ' }] }, 'leakcheck(): targets[0].command: must be a non-empty string, got "  "'],
    [{ targets: [{ name: 'api', command: 'x', path: 'chat/{id}' }] }, 'leakcheck(): targets[0].path: must start with / (got "chat/{id}")'],
    [{ targets: [{ name: 'api', command: 'x', path: 'https://example.com/{id}' }] }, /^leakcheck\(\): targets\[0\]\.path: give a path such as/],
    [{ targets: [{ name: 'api', command: 'x' }], path: 'chat' }, 'leakcheck(): path: must start with / (got "chat")'],
    [{ targets: [{ name: 'api', command: 'x', expects: 'leak' }] }, /^leakcheck\(\): targets\[0\]\.expects: unknown field \(known: name, command, expect, expectUpstream, probe, path, request\)$/],
    [{ targets: [42] }, 'leakcheck(): targets[0]: must be a { name, command } object or a "name=command" string'],
    [{ targets: 'api=x' }, /^leakcheck\(\): targets: must be an array/],
    [{ scenarios: ['mixed'], scenrio: ['all'] }, /^leakcheck\(\): scenrio: unknown option \(known: targets, /],
    [{ targets: ['a=x'], target: ['b=y'] }, 'leakcheck(): target: give targets or target, not both'],
    [{ targets: [{ name: 'api', command: 'x' }, 'api=y'] }, /--target api: two targets have that name/],
    [{ targets: ['noequals'] }, /--target "noequals": expected NAME=VALUE/],
  ])('refuses %j, naming the field', (options, message) => {
    const build = () => targetsOf(options as unknown as LeakcheckOptions);
    expect(build).toThrow(UsageError);
    expect(build).toThrow(message);
  });
});
