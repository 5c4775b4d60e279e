import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ProcessSupervisor, type ManagedProcess } from '../targets/supervisor.js';
import { findFreePort, waitForPort } from '../targets/ports.js';
import { ProbeHub } from './hub.js';
import type { ProbeSubject } from './probe.js';
import { pythonProbe, PYTHON_AGENT_DIR, TRACEMALLOC_ENV } from './python.js';
import { attachProbe, createProbes } from './registry.js';
import { request } from 'undici';

// The agent is tested in real Python processes that load it from PYTHONPATH as a run injects it
// (`npm test` builds dist/, where the agent is copied). Debian's FastAPI and uvicorn are seen by
// /usr/bin/python3 only; the stdlib-only fixtures run on it too.
const FIXTURES = path.resolve(__dirname, '../../test/fixtures/python');
const PYTHON = '/usr/bin/python3';

/** The 1-based line of `fragment` in a fixture: the report must name that line. */
function lineOf(file: string, fragment: string): number {
  const lines = readFileSync(path.join(FIXTURES, file), 'utf8').split('\n');
  const found = lines.flatMap((line, i) => (line.includes(fragment) ? [i + 1] : []));
  expect(found, `exactly one line with ${fragment} in ${file}`).toHaveLength(1);
  return found[0]!;
}

/** Clients that read the first chunk of a stream and hang up, one after another. */
async function leaveMidStream(port: number, clients: number): Promise<void> {
  for (let i = 0; i < clients; i++) {
    const controller = new AbortController();
    const response = await request(`http://127.0.0.1:${port}/chat/stream/c${i}-${Date.now()}`, { signal: controller.signal });
    for await (const _chunk of response.body) break;
    controller.abort();
    await response.body.dump().catch(() => {});
  }
}

describe('the Python agent', () => {
  let hub: ProbeHub;
  const supervisor = new ProcessSupervisor();
  const probe = () => pythonProbe(hub);

  beforeAll(async () => {
    hub = await ProbeHub.start();
  });
  afterEach(async () => {
    await supervisor.stopAll();
  });
  afterAll(async () => {
    await hub.close();
  });

  function start(label: string, args: string[], env: Record<string, string> = {}): { child: ManagedProcess; subject: ProbeSubject } {
    const child = supervisor.spawn({ name: label, command: PYTHON, args, cwd: FIXTURES, env: { ...probe().envFor(label), ...env } });
    const subject: ProbeSubject = { name: label, origin: 'http://127.0.0.1:1', pid: child.pid, label, isAlive: () => child.running };
    return { child, subject };
  }

  it('counts pending tasks by where they wait in every process, after a fork too', async () => {
    const { child, subject } = start('forked', [path.join(FIXTURES, 'waiting_tasks.py')], { TASKS: '25', FORK: '1' });
    expect(await hub.waitForAgents('forked', 2, 10_000, () => child.running, 'python')).toBe(true);
    const agents = hub.agentsOf('forked', 'python');
    expect(agents.map((a) => a.pid)).toContain(child.pid);
    expect(agents.find((a) => a.pid !== child.pid)?.ppid).toBe(child.pid);
    expect(agents[0]!.version).toMatch(/^CPython 3\.\d+\.\d+$/);
    expect(hub.agentsOf('forked')).toEqual([]); // not Node agents

    const session = (await probe().detect(subject, { required: true, startTimeoutMs: 10_000 }))!;
    // Each process: its 25 waiters and the main task, once both loops run.
    let sample = await session.sample();
    for (let i = 0; i < 50 && sample.values.pendingTasks !== 52; i++) sample = await session.sample();
    expect(sample.values.pendingTasks).toBe(52);
    expect(sample.processes).toHaveLength(2);
    const line = lineOf('waiting_tasks.py', 'await event.wait()');
    expect(sample.breakdown[`tasks [Event.wait] wait_for at waiting_tasks.py:${line}`]).toBe(50);
    expect(sample.values.gcObjects).toBeGreaterThan(1000);
    expect(sample.values.allocatedBlocks).toBeGreaterThan(sample.values.gcObjects!);
    expect(sample.values.tracedBytes).toBeUndefined(); // tracemalloc is off by default
    expect(sample.values.fds).toBeGreaterThan(0);
    expect(sample.values.blockedLoops).toBe(0);
  });

  it('reports a blocked loop as such, and still counts its tasks', async () => {
    const { child, subject } = start('blocked', [path.join(FIXTURES, 'waiting_tasks.py')], { TASKS: '10', BLOCK: '1' });
    expect(await hub.waitForAgents('blocked', 1, 10_000, () => child.running, 'python')).toBe(true);
    const session = (await probe().detect(subject, { required: true, startTimeoutMs: 10_000 }))!;
    await new Promise((resolve) => setTimeout(resolve, 1200));
    const started = Date.now();
    const sample = await session.sample();
    expect(sample.values.blockedLoops).toBe(1);
    expect(sample.values.pendingTasks).toBe(11);
    expect(sample.breakdown['event loops not answering (blocked)']).toBe(1);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('runs the sitecustomize it shadows, and names its interpreter', async () => {
    const other = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-sitecustomize-'));
    const marker = path.join(other, 'ran');
    try {
      await writeFile(path.join(other, 'sitecustomize.py'), `open(${JSON.stringify(marker)}, "w").write("yes")\n`);
      const label = 'shadowed';
      const child = supervisor.spawn({
        name: label,
        command: PYTHON,
        args: ['-c', 'import sitecustomize, time; print(sitecustomize.__file__, flush=True); time.sleep(30)'],
        env: { ...hub.connectionEnv(label), PYTHONPATH: `${PYTHON_AGENT_DIR}${path.delimiter}${other}` },
      });
      expect(await hub.waitForAgents(label, 1, 10_000, () => child.running, 'python')).toBe(true);
      expect(await readFile(marker, 'utf8')).toBe('yes');
      // Whoever imports sitecustomize afterwards gets the one they would have had.
      for (let i = 0; i < 100 && child.tail('stdout').length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(child.tail('stdout')[0]).toBe(path.join(other, 'sitecustomize.py'));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('under python -I finds no agent: auto reads /proc and says why', async () => {
    const port = await findFreePort();
    const label = 'isolated';
    const probes = createProbes(hub);
    const child = supervisor.spawn({
      name: label,
      command: PYTHON,
      args: ['-I', '-m', 'http.server', String(port), '--bind', '127.0.0.1'],
      env: { ...probes.python.envFor(label) },
    });
    expect(await waitForPort(port, { timeoutMs: 10_000, isAlive: () => child.running })).toBe('ready');
    const subject: ProbeSubject = { name: label, origin: `http://127.0.0.1:${port}`, pid: child.pid, label, isAlive: () => child.running };
    const attached = await attachProbe('auto', probes, subject, 10_000);
    expect('probe' in attached && attached.probe.name).toBe('proc');
    if (!('probe' in attached)) return;
    expect(attached.probe.description.via).toMatch(new RegExp(`^/proc, because pid ${child.pid} \\(python3[.\\d]*\\) runs Python without the agent: python -I, -E and -S skip sitecustomize`));
    await attached.session.close();
    const named = await attachProbe('python', probes, subject, 1000);
    expect(named).toEqual({ problem: expect.stringMatching(/no Python process of it loaded the agent \(python -I, -E and -S skip sitecustomize/) });
  });

  it('passes at once on a target that runs no Python', async () => {
    const label = 'not-python';
    const child = supervisor.spawn({ name: label, command: 'sleep', args: ['30'], env: probe().envFor(label) });
    const subject: ProbeSubject = { name: label, origin: 'http://127.0.0.1:1', pid: child.pid, label, isAlive: () => child.running };
    const started = Date.now();
    expect(await probe().detect(subject, { required: false, startTimeoutMs: 10_000 })).toBeNull();
    expect(Date.now() - started).toBeLessThan(300);
  });

  it('names where a leaked FastAPI producer waits, what it was created by, and what it holds', async () => {
    const port = await findFreePort();
    // With tracemalloc on (STREAMER_LEAKCHECK_TRACEMALLOC=1), its allocation sites too.
    process.env[TRACEMALLOC_ENV] = '1';
    const { child, subject } = (() => {
      try {
        return start('fastapi', ['-m', 'uvicorn', 'fastapi_app:app', '--http', 'h11', '--port', String(port), '--log-level', 'warning']);
      } finally {
        delete process.env[TRACEMALLOC_ENV];
      }
    })();
    expect(await waitForPort(port, { timeoutMs: 15_000, isAlive: () => child.running })).toBe('ready');
    const session = (await probe().detect({ ...subject, origin: `http://127.0.0.1:${port}` }, { required: false, startTimeoutMs: 10_000 }))!;
    expect(session).not.toBeNull();
    expect(session.runtime).toMatch(/^CPython 3\./);
    await leaveMidStream(port, 20); // first requests import and cache what they need
    const evidence = session.evidence({ directory: null, name: 'fastapi' })!;
    // Settled: the first requests' handlers have all ended (two samples 250 ms apart agree; bounded).
    let before = await session.sample();
    for (let i = 0; i < 20; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const again = await session.sample();
      if (again.values.pendingTasks === before.values.pendingTasks) break;
      before = again;
    }
    await evidence.start();
    await leaveMidStream(port, 60);
    // Until uvicorn has seen every hang-up and each handler has ended (leaving its producer parked):
    // 250 ms was enough alone, not beside a loaded CI run. Bounded: 40 samples, ~10 s.
    let after = await session.sample();
    for (let i = 0; i < 40 && after.values.pendingTasks! - before.values.pendingTasks! !== 60; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await session.sample();
    }
    await evidence.end('leak');
    expect(after.values.pendingTasks! - before.values.pendingTasks!).toBe(60);
    expect(after.values.tracedBytes! - before.values.tracedBytes!).toBeGreaterThan(60 * 1000);
    expect(after.values.allocatedBlocks! - before.values.allocatedBlocks!).toBeGreaterThan(60 * 20);

    const result = { per: 'disconnect' } as Parameters<typeof evidence.conclude>[0];
    evidence.conclude(result, { disconnectsSinceStart: 60, seriesSpan: 60 });
    const growth = result.taskGrowth!;
    expect(growth.totalAtEnd - growth.totalAtStart).toBe(60);
    expect(growth.groups[0]).toMatchObject({
      state: 'Queue.put',
      function: 'produce',
      location: `fastapi_app.py:${lineOf('fastapi_app.py', 'await queue.put(chunk)')}`,
      inProgram: true,
      count: 60,
      countPerDisconnect: 1,
      createdBy: `stream at fastapi_app.py:${lineOf('fastapi_app.py', 'asyncio.create_task(produce(')}`,
      code: 'await queue.put(chunk)',
      createdByCode: 'producer = asyncio.create_task(produce(queue, request_id))',
    });
    expect(growth.groups[0]!.stack[0]).toMatch(/^Queue\.put at queues\.py:\d+$/);
    expect(growth.objectTypes.find((t) => t.type === '_asyncio.Task')).toMatchObject({ count: 60, countPerDisconnect: 1 });
    expect(growth.tracemalloc!.some((l) => l.location.startsWith('fastapi_app.py:'))).toBe(true);
  });
});
