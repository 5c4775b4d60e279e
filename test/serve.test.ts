/** `serve()` end to end: real children through a supervisor the test can inspect. */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from '../src/commands/serve.js';
import { TargetDiedError, TargetStartError } from '../src/core/errors.js';
import { ProcessSupervisor } from '../src/targets/supervisor.js';

// Runs dist/src/reference/main.js: build first (`npm test` does; test/reference.test.ts does too).

/** Bound on waiting for a printed line. */
const LINE_TIMEOUT_MS = 15_000;

const supervisors: ProcessSupervisor[] = [];
const controllers: AbortController[] = [];

afterEach(async () => {
  for (const controller of controllers.splice(0)) controller.abort();
  await Promise.all(supervisors.splice(0).map((s) => s.stopAll()));
});

function setUp() {
  const supervisor = new ProcessSupervisor();
  const controller = new AbortController();
  supervisors.push(supervisor);
  controllers.push(controller);
  const lines: string[] = [];
  return { supervisor, controller, lines, print: (line: string) => lines.push(line) };
}

async function waitForLine(lines: string[], pattern: RegExp): Promise<string> {
  const deadline = Date.now() + LINE_TIMEOUT_MS;
  for (let attempt = 0; attempt < 1000 && Date.now() < deadline; attempt++) {
    const line = lines.find((l) => pattern.test(l));
    if (line) return line;
    await sleep(20);
  }
  throw new Error(`no line matching ${pattern} in:\n${lines.join('\n')}`);
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

describe('serve()', () => {
  it('starts upstream and old, prints the URL, a curl line and stats, and stops every child on abort', async () => {
    const { supervisor, controller, lines, print } = setUp();
    const running = serve({ which: 'old', port: 0, statsIntervalMs: 200, signal: controller.signal, print, supervisor });

    const urlLine = await waitForLine(lines, /^old streamer listening on http:\/\/127\.0\.0\.1:\d+ /);
    await waitForLine(lines, /^try: curl -N http:\/\/127\.0\.0\.1:\d+\/chat\/stream\/demo-1$/);
    await waitForLine(lines, /live workers 0 {2}active handles \d+ {2}heap used [\d.]+ MB {2}rss [\d.]+ MB$/);
    expect(urlLine).toContain('(upstream http://127.0.0.1:');

    const pids = supervisor.live.map((child) => child.pid);
    expect(pids).toHaveLength(2);
    controller.abort();
    await running;
    expect(supervisor.live).toEqual([]);
    expect(pids.filter((pid) => !isGone(pid))).toEqual([]);
  });

  it('rejects with TargetDiedError naming the child that died', async () => {
    const { supervisor, controller, lines, print } = setUp();
    const running = serve({ which: 'new', port: 0, statsIntervalMs: 200, signal: controller.signal, print, supervisor });
    running.catch(() => {});
    await waitForLine(lines, /live workers/);

    const streamer = supervisor.live.find((child) => child.name === 'new');
    expect(streamer).toBeDefined();
    process.kill(streamer!.pid, 'SIGKILL');
    const error = await running.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TargetDiedError);
    expect((error as TargetDiedError).target).toBe('new');
    expect(supervisor.live).toEqual([]);
  });

  it('rejects with TargetStartError and the child’s stderr when the port is taken', async () => {
    const { supervisor, controller, print } = setUp();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const error = await serve({ which: 'old', port, signal: controller.signal, print, supervisor }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TargetStartError);
      expect((error as TargetStartError).target).toBe('old');
      expect((error as TargetStartError).stderrTail.join('\n')).toMatch(/EADDRINUSE/);
      expect(supervisor.live).toEqual([]);
    } finally {
      blocker.close();
    }
  });
});
