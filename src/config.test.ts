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
        targets: { api: 'npm start', worker: { command: 'node w.js', expect: 'leak', probe: 'node' } },
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
    [{ targets: { api: { command: 'x', requests: {} } } }, /targets\.api\.requests: unknown key \(known: command, expect, probe, request\)/],
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
