/**
 * Attaching to servers of other kinds, and the edges of attaching to Node: the seed's Go streamer read
 * through pprof, a Python server read through /proc (its agent needs start-up injection), the inspector
 * opened and closed many times over without harm, an inspector the user opened left open, and the
 * refusals (a non-loopback URL, SIGUSR1 to a process that is not Node). Every server keeps running.
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { nodeInspectorProbe } from '../src/probe/node-inspector.js';
import type { ProbeSubject } from '../src/probe/probe.js';
import type { LeakcheckReport } from '../src/report/types.js';
import { buildGoReference } from '../src/targets/go-build.js';
import { findFreePort } from '../src/targets/ports.js';
import { otherListeningPorts, startProcess, startUpstreamCommand, stopStarted } from './attached-servers.js';
import { isAlive, ROOT, runCli, tempDir } from './helpers.js';

const FIXTURES = path.join(ROOT, 'test', 'fixtures');

let upstream: Awaited<ReturnType<typeof startUpstreamCommand>>;
beforeAll(async () => {
  upstream = await startUpstreamCommand();
});
afterEach(() => stopStarted([upstream.child]));
afterAll(() => stopStarted());

async function runAttached(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string; report: LeakcheckReport }> {
  const json = path.join(await tempDir('attach-any'), 'report.json');
  const result = await runCli(['run', ...args, '--no-report', '--no-progress', '--seed', '6', '--json', json], { timeoutMs });
  return { ...result, report: JSON.parse(await readFile(json, 'utf8')) as LeakcheckReport };
}

function hasGo(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(hasGo() || process.env.CI)('run --attach on a Go server', () => {
  it('reads the seed\'s leaky Go streamer through pprof, judges it leak by goroutine, and leaves it running', async () => {
    const binary = await buildGoReference();
    const port = await findFreePort();
    const { child } = await startProcess(binary, ['-variant', 'old'], { PORT: String(port), LLM_URL: `${upstream.url}/v1` }, { port });
    const { code, stdout, report } = await runAttached([
      '--attach', `go=http://127.0.0.1:${port}`, '--upstream', `go=${upstream.url}`, '--expect', 'go=leak', '-s', path.join(FIXTURES, 'small.json'),
    ]);
    expect(code, stdout).toBe(0);
    const target = report.targets[0]!;
    expect(target).toMatchObject({ origin: 'attached', probe: 'go', verdict: 'leak', attached: { pid: child.pid, pidFrom: 'port', inspector: null } });
    expect(target.scenarios[0]!.goroutineGrowth!.groups[0]).toMatchObject({ state: 'chan send', function: 'main.(*ResponseStreamer).sendEvent' });
    expect(isAlive(child.pid!)).toBe(true);
  });
});

describe('run --attach on a server that is neither Node nor Go', () => {
  it('reads a Python server through /proc, says why, and leaves it running', async () => {
    const port = await findFreePort();
    const { child } = await startProcess('python3', [path.join(FIXTURES, 'fd-leak-server.py')], { PORT: String(port), LEAK_FDS: '1' }, { line: /listening on/ });
    const { code, stdout, report } = await runAttached(['--attach', `py=http://127.0.0.1:${port}`, '--expect', 'py=leak', '-s', path.join(FIXTURES, 'small.json')]);
    expect(code, stdout).toBe(0);
    const target = report.targets[0]!;
    expect(target).toMatchObject({ probe: 'proc', verdict: 'leak', attached: { pid: child.pid, inspector: null, upstream: null } });
    expect(target.scenarios[0]!.probeDescription.via).toMatch(/^\/proc, because the Python agent needs start-up injection/);
    expect(target.scenarios[0]!.metrics.find((m) => m.key === 'fds')!.perDisconnect).toBeGreaterThan(0.5);
    expect(stdout).toMatch(/upstream cancellation: unknown \(point the server at `streamer-leakcheck upstream`/);
    expect(isAlive(child.pid!)).toBe(true);
  });

  it('never sends SIGUSR1 to a process that is not Node: --probe node is one clear line, exit 3', async () => {
    const port = await findFreePort();
    const { child } = await startProcess('python3', [path.join(FIXTURES, 'fd-leak-server.py')], { PORT: String(port) }, { line: /listening on/ });
    const { code, stderr, stdout } = await runAttached(['--attach', `py=http://127.0.0.1:${port}`, '--probe', 'py=node', '-s', path.join(FIXTURES, 'tiny.json')]);
    expect(code).toBe(3);
    expect(stdout + stderr).toMatch(new RegExp(`target py: pid ${child.pid} is not a Node process \\(.*python.*\\), so no SIGUSR1 was sent`));
    expect(isAlive(child.pid!)).toBe(true);
  });
});

describe('the inspector of a Node server attached to', () => {
  const subjectOf = (pid: number, port: number): ProbeSubject => ({ name: 'srv', origin: `http://127.0.0.1:${port}`, pid, label: 'srv', isAlive: () => isAlive(pid) });

  it('opens and closes many times over without harm to the server', async () => {
    const port = await findFreePort();
    const { child } = await startProcess(process.execPath, [path.join(FIXTURES, 'attach-server.mjs')], { PORT: String(port), LLM_URL: `${upstream.url}/v1` }, { line: /listening on/ });
    const probe = nodeInspectorProbe();
    const REPETITIONS = 12;
    for (let i = 0; i < REPETITIONS; i++) {
      const session = await probe.detect(subjectOf(child.pid!, port), { required: true, startTimeoutMs: 10_000 });
      expect(session, probe.missing(subjectOf(child.pid!, port))).not.toBeNull();
      await session!.sample();
      // A stream in flight while the session goes, as at the end of a run.
      const streaming = fetch(`http://127.0.0.1:${port}/chat/stream/r${i}`).then((r) => r.text());
      await session!.close();
      expect(session!.inspector, `repetition ${i}`).toMatchObject({ openedByRun: true, closed: true });
      expect(await streaming).toMatch(/data: /);
      expect(isAlive(child.pid!), `repetition ${i}`).toBe(true);
      expect(otherListeningPorts(child.pid!, port)).toEqual([]);
    }
  });

  it('an inspector open before the run (--inspect=127.0.0.1:0) is found and left open', async () => {
    const port = await findFreePort();
    const { child } = await startProcess(
      process.execPath,
      ['--inspect=127.0.0.1:0', path.join(FIXTURES, 'attach-server.mjs')],
      { PORT: String(port), LLM_URL: `${upstream.url}/v1` },
      { line: /listening on/ },
    );
    const open = otherListeningPorts(child.pid!, port);
    expect(open).toHaveLength(1);
    const probe = nodeInspectorProbe();
    const session = await probe.detect(subjectOf(child.pid!, port), { required: true, startTimeoutMs: 10_000 });
    expect((await session!.sample()).values.heapUsedBytes).toBeGreaterThan(0);
    await session!.close();
    expect(session!.inspector).toEqual({ port: open[0], openedByRun: false, closed: null });
    expect(otherListeningPorts(child.pid!, port)).toEqual(open);
    expect(isAlive(child.pid!)).toBe(true);
  });
});

describe('run --attach refuses bad input with one line, exit 2', () => {
  it.each([
    [['--attach', 'api=http://10.0.0.1:3000'], /^streamer-leakcheck: --attach api=http:\/\/10\.0\.0\.1:3000: 10\.0\.0\.1 is not a loopback address: only 127\.0\.0\.0\/8 and ::1 can be attached to\n$/],
    [['--attach', 'api=http://localhost:3000'], /not localhost/],
    [['--pid', 'api=123'], /^streamer-leakcheck: --pid api=123: no attached target named api \(--pid goes with --attach api=URL\)\n$/],
    [['--attach', 'api=http://127.0.0.1:3000', '--upstream', 'api=http://192.168.0.2:8090'], /--upstream api=.*: 192\.168\.0\.2 is not a loopback address/],
  ])('%j', async (args, message) => {
    const result = await runCli(['run', ...args, '--no-report'], { timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });
});
