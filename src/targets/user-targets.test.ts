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
    expect(targets[0]).toMatchObject({ command: 'npm start', shell: true, expect: 'clean', probe: 'auto', pathTemplate: '/sse/{id}?x=1' });
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
    const targets = buildTargets({ builtin: ['python'] }, undefined, { PATH: process.env.PATH });
    expect(targets.map((t) => [t.name, t.expect, t.probe, t.command, t.workersGauge])).toEqual([
      ['py-old', 'leak', 'python', 'python3', true],
      ['py-new', 'clean', 'python', 'python3', true],
    ]);
    expect(targets[0]!.args[0]).toMatch(/dist\/src\/reference\/python\/main\.py$/);
    expect(buildTargets({ builtin: ['python'], python: '/bin/sh' })[0]!.command).toBe('/bin/sh');
    expect(buildTargets({ builtin: ['python'] }, undefined, { STREAMER_LEAKCHECK_PYTHON: 'sh', PATH: '/bin' })[0]!.command).toBe('/bin/sh');
  });

  it('--node runs the reference servers on that Node and puts its folder first on user targets\' PATH', () => {
    const targets = buildTargets({ builtin: ['node'], target: ['api=node s.js'], node: process.execPath }, undefined, { PATH: '/usr/bin' });
    expect(targets[0]!.command).toBe(process.execPath);
    expect(targets[2]!.env).toEqual({ PATH: `${path.dirname(process.execPath)}:/usr/bin` });
    expect(buildTargets({}, undefined, { STREAMER_LEAKCHECK_NODE: process.execPath })[1]!.command).toBe(process.execPath);
    // Without --node, user targets keep the PATH they inherit.
    expect(buildTargets({ target: ['api=node s.js'] })[0]!.env).toBeUndefined();
  });

  it('applies --expect and --probe by name', () => {
    const [api] = buildTargets({ target: ['api=node s.js'], expect: ['api=leak'], probe: ['api=proc'] });
    expect(api).toMatchObject({ expect: 'leak', probe: 'proc' });
  });

  it.each([
    [{ expect: ['nobody=leak'] }, /--expect nobody=leak: no target named nobody \(targets: old, new\)/],
    [{ expect: ['old=maybe'] }, /--expect old=maybe: expected leak or clean/],
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
