import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from './core/errors.js';
import { loadConfig, parseConfig } from './config.js';

describe('config file', () => {
  it('turns a config into run flags', () => {
    const values = parseConfig(
      {
        targets: { api: 'npm start', worker: { command: 'node w.js', expect: 'leak', expectUpstream: 'not-cancelled', probe: 'node' } },
        selfCheck: true,
        path: '/v1/stream/{id}',
        scenarios: ['mixed'],
        seed: 4,
        parallel: true,
        open: true,
        budgets: { maxBytesPerDisconnect: 512 },
        upstream: { tokens: 600, intervalMs: 100 },
      },
      'leakcheck.config.json',
    );
    expect(values).toEqual({
      target: ['api=npm start', 'worker=node w.js'],
      expect: ['worker=leak'],
      expectUpstream: ['worker=not-cancelled'],
      probe: ['worker=node'],
      selfCheck: true,
      request: { path: '/v1/stream/{id}' },
      scenario: ['mixed'],
      seed: 4,
      parallel: true,
      open: true,
      maxBytesPerDisconnect: 512,
      upstreamTokens: 600,
      upstreamIntervalMs: 100,
    });
  });

  it.each([
    [{ target: {} }, /leakcheck\.config\.json: target: unknown key/],
    [{ targets: { api: { command: 'x', expect: 'maybe' } } }, /targets\.api\.expect: must be "leak" or "clean"/],
    [{ targets: { api: { command: 'x', expectUpstream: 'yes' } } }, /targets\.api\.expectUpstream: must be "cancelled" or "not-cancelled"/],
    [{ targets: { api: { cmd: 'x' } } }, /targets\.api\.cmd: unknown key/],
    [{ seed: -1 }, /seed: must be a whole number/],
    [{ budgets: { maxBytes: 1 } }, /budgets\.maxBytes: unknown key/],
    [{ upstream: { tokens: 0 } }, /upstream\.tokens: must be a whole number from 1 to 100000/],
    [{ upstream: { interval: 5 } }, /upstream\.interval: unknown key \(known: tokens, intervalMs\)/],
    [{ upstream: 5 }, /upstream: must be an object/],
    [{ scenarios: 'mixed' }, /scenarios: must be an array of strings/],
    [{ parallel: 'yes' }, /parallel: must be true or false/],
    [{ open: 'yes' }, /open: must be true or false/],
    [{ request: [] }, /leakcheck\.config\.json: request: must be an object/],
    [{ request: { verb: 'POST' } }, /request\.verb: unknown key \(known: method, path, headers, body, framing\)/],
    [{ request: { method: 'YEET' } }, /request\.method: not an HTTP method/],
    [{ request: { path: 'v1/chat' } }, /request\.path: must start with \//],
    [{ request: { headers: { Authorization: 42 } } }, /request\.headers\.Authorization: must be a string \(use "\$\{NAME\}"/],
    [{ request: { headers: { Connection: 'close' } } }, /request\.headers\.Connection: each client sets it itself/],
    [{ request: { framing: 'xml' } }, /request\.framing: choose sse, ndjson, chunks/],
    [{ request: { body: null } }, /request\.body: leave it out for no body/],
    [{ path: '/a', request: { path: '/b' } }, /path: give the path once/],
    [{ targets: { api: { command: 'x', request: { headers: [] } } } }, /targets\.api\.request\.headers: must map header names/],
    [{ targets: { api: { command: 'x', requests: {} } } }, /targets\.api\.requests: unknown key \(known: command, expect, expectUpstream, probe, request\)/],
  ])('names the key that is wrong: %j', (raw, message) => {
    expect(() => parseConfig(raw, 'leakcheck.config.json')).toThrow(ScenarioError);
    expect(() => parseConfig(raw, 'leakcheck.config.json')).toThrow(message);
  });

  it('reads leakcheck.config.json, else the "leakcheck" key of package.json, else nothing', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-config-'));
    expect(await loadConfig(dir)).toBeNull();
    await writeFile(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', leakcheck: { seed: 9, extra: 1 } }));
    await expect(loadConfig(dir)).rejects.toThrow(/package\.json: leakcheck\.extra: unknown key/);
    await writeFile(path.join(dir, 'leakcheck.config.json'), JSON.stringify({ seed: 7 }));
    expect(await loadConfig(dir)).toEqual({ file: 'leakcheck.config.json', values: { seed: 7 } });
  });
});

describe('config file: requests', () => {
  it('a shared "request" and one per target; a non-string body is sent as its JSON', () => {
    const values = parseConfig(
      {
        request: { method: 'post', headers: { Authorization: 'Bearer ${TOKEN}' }, body: { model: 'm', stream: true }, framing: 'sse' },
        targets: { api: { command: 'npm start', request: { path: '/v1/chat/completions', headers: { 'X-Org': 'a' } } }, other: 'node o.js' },
      },
      'leakcheck.config.json',
    );
    expect(values.request).toEqual({ method: 'POST', headers: { authorization: 'Bearer ${TOKEN}' }, body: '{"model":"m","stream":true}', framing: 'sse' });
    expect(values.targetRequests).toEqual({ api: { path: '/v1/chat/completions', headers: { 'x-org': 'a' } } });
  });
});

describe('config file: attached targets', () => {
  it('"attach" maps names to URLs, or to { url, pid, upstream, expect, probe, request }', () => {
    const values = parseConfig(
      {
        attach: {
          api: 'http://127.0.0.1:3000',
          worker: { url: 'http://127.0.0.1:3001', pid: 4242, upstream: 'http://127.0.0.1:8090', expect: 'leak', expectUpstream: 'cancelled', probe: 'node', request: { path: '/s/{id}' } },
        },
      },
      'leakcheck.config.json',
    );
    expect(values).toEqual({
      attach: ['api=http://127.0.0.1:3000', 'worker=http://127.0.0.1:3001'],
      pid: ['worker=4242'],
      upstream: ['worker=http://127.0.0.1:8090'],
      expect: ['worker=leak'],
      expectUpstream: ['worker=cancelled'],
      probe: ['worker=node'],
      targetRequests: { worker: { path: '/s/{id}' } },
    });
  });

  it.each([
    [{ attach: ['http://127.0.0.1:3000'] }, /leakcheck\.config\.json: attach: must map names to URLs/],
    [{ attach: { api: 'http://10.0.0.2:3000' } }, /attach\.api\.url: 10\.0\.0\.2 is not a loopback address/],
    [{ attach: { api: { url: 'http://127.0.0.1:3000', pid: 'x' } } }, /attach\.api\.pid: must be a process id/],
    [{ attach: { api: { url: 'http://127.0.0.1:3000', upstream: 'http://[::2]:1' } } }, /attach\.api\.upstream: .* is not a loopback address/],
    [{ attach: { api: { url: 'http://127.0.0.1:3000', command: 'npm start' } } }, /attach\.api\.command: unknown key \(known: url, pid, upstream, expect, expectUpstream, probe, request\)/],
    [{ attach: { api: { pid: 3 } } }, /attach\.api\.url: must be a non-empty string/],
    [{ targets: { api: 'npm start' }, attach: { api: 'http://127.0.0.1:3000' } }, /attach\.api: targets\.api has that name already/],
  ])('refuses %j naming the key', (config, message) => {
    expect(() => parseConfig(config, 'leakcheck.config.json')).toThrow(ScenarioError);
    expect(() => parseConfig(config, 'leakcheck.config.json')).toThrow(message);
  });
});
