/**
 * Attaching to Node servers started by hand with a plain `node server.js` (test/fixtures/attach-server.mjs,
 * pointed at the tool's own upstream): the leaky one is judged leak with "what leaked" from heap
 * snapshots streamed over its inspector, the fixed one clean, and each keeps running after the run,
 * after Ctrl-C and after the harness is SIGKILLed, with no inspector left open. One that dies is "died".
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WATCHDOG_SILENCE_MS } from '../src/probe/node-inspector.js';
import { leakcheck } from '../src/index.js';
import type { LeakcheckReport } from '../src/report/types.js';
import { findFreePort } from '../src/targets/ports.js';
import { otherListeningPorts, startProcess, startUpstreamCommand, stopStarted } from './attached-servers.js';
import { isAlive, ROOT, runCli, tempDir, waitUntil } from './helpers.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

let upstream: Awaited<ReturnType<typeof startUpstreamCommand>>;

/** A server as a person starts one: plain `node attach-server.mjs`, pointed at the tool's upstream. */
async function startServer(leaky: boolean): Promise<{ pid: number; port: number; url: string }> {
  const port = await findFreePort();
  const { child } = await startProcess(
    process.execPath,
    [path.join(FIXTURES, 'attach-server.mjs')],
    { PORT: String(port), LLM_URL: `${upstream.url}/v1`, ...(leaky ? { LEAKY: '1' } : {}) },
    { line: /listening on \d+/ },
  );
  return { pid: child.pid!, port, url: `http://127.0.0.1:${port}` };
}

/** Ports the server listens on besides its own: its inspector, if open. */
const inspectorPorts = (server: { pid: number; port: number }) => otherListeningPorts(server.pid, server.port);

beforeAll(async () => {
  upstream = await startUpstreamCommand();
});
afterEach(() => stopStarted([upstream.child]));
afterAll(() => stopStarted());

async function attachRun(server: { url: string }, name: string, extra: string[], options: { timeoutMs?: number } = {}) {
  const out = await tempDir('attach');
  const json = path.join(out, 'report.json');
  const run = runCli(
    ['run', '--attach', `${name}=${server.url}`, '--upstream', `${name}=${upstream.url}`, '--out', out, '--json', json, '--no-progress', '--seed', '5', ...extra],
    { timeoutMs: options.timeoutMs ?? 80_000 },
  );
  return { run, json };
}

describe('run --attach on a Node server started by hand', () => {
  it('judges the leaky server leak, with what leaked from its heap snapshots, and leaves it running with its inspector closed', async () => {
    const server = await startServer(true);
    const { run, json } = await attachRun(server, 'leaky', ['--expect', 'leaky=leak', '-s', path.join(FIXTURES, 'small.json')]);
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    const target = report.targets[0]!;
    expect(target).toMatchObject({ name: 'leaky', origin: 'attached', probe: 'node', verdict: 'leak', expectationMet: true });
    expect(target.attached).toMatchObject({ pid: server.pid, pidFrom: 'port', inspector: { openedByRun: true, closed: true } });
    const scenario = target.scenarios[0]!;
    expect(scenario.probeDescription.via).toBe('the inspector');
    expect(scenario.breakdown).toBeNull();
    // One upstream connection and its request objects kept per disconnect.
    expect(scenario.metrics.find((m) => m.key === 'handles')!.perDisconnect).toBeGreaterThan(0.9);
    const groups = scenario.attribution!.retained.map((g) => g.group);
    expect(groups).toEqual(expect.arrayContaining(['ClientRequest', 'IncomingMessage']));
    expect(scenario.attribution!.retained.find((g) => g.group === 'ClientRequest')!.countPerDisconnect).toBeGreaterThan(0.9);
    expect(scenario.upstream!.streamsCancelled).toBe(0);
    expect(result.stdout).toMatch(/attached to http:\/\/127\.0\.0\.1:\d+: pid \d+ \(.*attach-server\.mjs\), found as the owner/);
    expect(result.stdout).toMatch(/inspector: opened with SIGUSR1 \(on port \d+\) and closed again after the run/);
    expect(result.stdout).toMatch(/what leaked, per disconnect \(heap snapshots of pid \d+/);

    expect(isAlive(server.pid)).toBe(true);
    expect(inspectorPorts(server)).toEqual([]);
    // And it still serves.
    const response = await fetch(`${server.url}/chat/stream/after`, { signal: AbortSignal.timeout(5000) });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    await response.body?.cancel();
  });

  it('judges the fixed server clean, and leaves it running with its inspector closed', async () => {
    const server = await startServer(false);
    const { run, json } = await attachRun(server, 'fixed', ['-s', path.join(FIXTURES, 'attach.json'), '--no-report']);
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const target = (JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport).targets[0]!;
    expect(target).toMatchObject({ origin: 'attached', expectationMet: true, attached: { inspector: { openedByRun: true, closed: true } } });
    // Saturating meets clean: a server attached to after a short warm-up can still be filling a bounded
    // store in its first cycle (seen once in a loaded CI run), and it flattens out.
    expect(['clean', 'saturating']).toContain(target.verdict);
    expect(target.scenarios[0]!.upstream!.streamsCancelled).toBe(target.scenarios[0]!.disconnects);
    expect(isAlive(server.pid)).toBe(true);
    expect(inspectorPorts(server)).toEqual([]);
  });

  it('Ctrl-C ends the run (exit 130) and leaves the server running, its inspector closed', async () => {
    const server = await startServer(false);
    const { run } = await attachRun(server, 'fixed', ['-s', path.join(FIXTURES, 'attach.json'), '--no-report']);
    try {
      expect(await waitUntil(() => inspectorPorts(server).length > 0, 15_000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      process.kill(run.pid, 'SIGINT');
      const result = await run;
      expect(result.code, result.stderr).toBe(130);
      expect(result.stdout).toMatch(/inspector: opened with SIGUSR1 \(on port \d+\) and closed again/);
    } finally {
      if (isAlive(run.pid)) process.kill(run.pid, 'SIGKILL');
    }
    expect(isAlive(server.pid)).toBe(true);
    expect(inspectorPorts(server)).toEqual([]);
  });

  it('a SIGKILLed harness leaves the server running, and the watchdog in it closes the inspector', async () => {
    const server = await startServer(false);
    const { run } = await attachRun(server, 'fixed', ['-s', path.join(FIXTURES, 'attach.json'), '--no-report']);
    expect(await waitUntil(() => inspectorPorts(server).length > 0, 15_000)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    process.kill(-run.pid, 'SIGKILL');
    await run;
    expect(await waitUntil(() => inspectorPorts(server).length === 0, WATCHDOG_SILENCE_MS + 5000)).toBe(true);
    expect(isAlive(server.pid)).toBe(true);
  });

  it('a server that dies during the run is reported as died, exit 3', async () => {
    const server = await startServer(false);
    const { run, json } = await attachRun(server, 'fixed', ['-s', path.join(FIXTURES, 'attach.json'), '--no-report']);
    expect(await waitUntil(() => inspectorPorts(server).length > 0, 15_000)).toBe(true);
    // Past the attach (the inspector moved off 9229, the preflight answered), into the warm-up.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    process.kill(server.pid, 'SIGKILL');
    const result = await run;
    expect(result.code, result.stdout + result.stderr).toBe(3);
    const report = JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport;
    expect(report.problems.map((p) => p.code)).toContain('LEAKCHECK_TARGET_DIED');
    expect(result.stderr + result.stdout).toMatch(/target fixed died during the run \(it was attached to, so how it ended is unknown\)/);
  });

  it('leakcheck() attaches the same way: the leaky server is a leak and keeps running, its inspector closed', async () => {
    const server = await startServer(true);
    const report = await leakcheck({
      attach: [{ name: 'leaky', url: server.url, pid: server.pid, upstream: upstream.url, expect: 'leak' }],
      scenarios: [path.join(FIXTURES, 'small.json')],
      seed: 5,
    });
    expect(report.ok).toBe(true);
    const target = report.targets[0]!;
    expect(target).toMatchObject({ name: 'leaky', origin: 'attached', verdict: 'leak', attached: { pid: server.pid, pidFrom: 'flag', inspector: { openedByRun: true, closed: true } } });
    expect(target.scenarios[0]!.metrics.find((m) => m.key === 'handles')!.perDisconnect).toBeGreaterThan(0.9);
    expect(isAlive(server.pid)).toBe(true);
    expect(inspectorPorts(server)).toEqual([]);
  });
});
