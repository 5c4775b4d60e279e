import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ProbeHub } from './hub.js';
import { ProcessSupervisor } from '../targets/supervisor.js';
import { findFreePort, waitForPort } from '../targets/ports.js';

// The hub is tested through a real server process with the compiled agent preloaded by NODE_OPTIONS,
// exactly as a run injects it. `npm test` builds dist/ first.
const FIXTURE = path.resolve(__dirname, '../../test/fixtures/planted-leak-server.mjs');

describe('ProbeHub with the injected agent', () => {
  let hub: ProbeHub;
  const supervisor = new ProcessSupervisor();

  beforeAll(async () => {
    hub = await ProbeHub.start();
  });
  afterEach(async () => {
    await supervisor.stopAll();
  });
  afterAll(async () => {
    await hub.close();
  });

  async function startFixture(label: string, env: Record<string, string>) {
    const port = await findFreePort();
    const child = supervisor.spawn({
      name: label,
      command: process.execPath,
      args: [FIXTURE],
      env: { ...hub.envFor(label), PORT: String(port), ...env },
    });
    expect(await waitForPort(port, { timeoutMs: 10_000, isAlive: () => child.running })).toBe('ready');
    expect(await hub.waitForAgents(label, 1, 10_000)).toBe(true);
    return { port, child };
  }

  async function leaveMidStream(port: number, clients: number) {
    for (let i = 0; i < clients; i++) {
      const controller = new AbortController();
      const response = await request(`http://127.0.0.1:${port}/chat/stream/${i}`, { signal: controller.signal });
      for await (const _chunk of response.body) break;
      controller.abort();
      await response.body.dump().catch(() => {});
    }
  }

  it('samples a settled heap and active resources inside the target, with no change to its code', async () => {
    const { port, child } = await startFixture('planted', { LEAK_BYTES: '8192', LEAK_HANDLES: '1' });
    const [info] = hub.agentsOf('planted');
    expect(info?.pid).toBe(child.pid);
    expect(info?.gc).toBe(true);

    await leaveMidStream(port, 50); // warm-up: first requests compile code and fill pools
    const [warm] = await hub.sample('planted');
    await leaveMidStream(port, 100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [after] = await hub.sample('planted');

    expect(warm!.gcPasses).toBeGreaterThanOrEqual(2);
    // 100 planted leaks of ~8 KiB each: ~819 KB on the V8 heap.
    const grown = after!.heapUsedBytes - warm!.heapUsedBytes;
    expect(grown).toBeGreaterThan(100 * 8192 * 0.9);
    // Upper bound 2x: each leaked timer's closure also keeps its request and response objects alive.
    expect(grown).toBeLessThan(100 * 8192 * 2);
    // One leaked interval timer per disconnect.
    expect((after!.resources.Timeout ?? 0) - (warm!.resources.Timeout ?? 0)).toBe(100);
    // Compiled code is read beside the heap, as a part of it: some hundreds of KB in any Node process.
    expect(after!.compiledCodeBytes).toBeGreaterThan(100_000);
    expect(after!.compiledCodeBytes).toBeLessThan(after!.heapUsedBytes);
  });

  it('sees a clean server stay flat', async () => {
    const { port } = await startFixture('clean', { LEAK_BYTES: '0' });
    await leaveMidStream(port, 50); // warm-up
    const [before] = await hub.sample('clean');
    await leaveMidStream(port, 100);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const [after] = await hub.sample('clean');
    expect(Math.abs(after!.heapUsedBytes - before!.heapUsedBytes)).toBeLessThan(300_000);
    expect((after!.resources.Timeout ?? 0) - (before!.resources.Timeout ?? 0)).toBe(0);
  });

  it('ignores a connection without the token', async () => {
    const net = await import('node:net');
    const socket = net.connect(hub.socketPath);
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(JSON.stringify({ type: 'hello', token: 'wrong', label: 'intruder', pid: 1, ppid: 0, argv: [], nodeVersion: '', gc: false }) + '\n');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(hub.agentsOf('intruder')).toEqual([]);
  });

  it('does not keep a target alive: a script that finishes exits on its own', async () => {
    const child = supervisor.spawn({
      name: 'short',
      command: process.execPath,
      args: ['-e', 'setTimeout(() => {}, 300)'],
      env: hub.envFor('short'),
    });
    const exit = await Promise.race([
      child.exited,
      new Promise((resolve) => setTimeout(() => resolve('still running'), 5000)),
    ]);
    expect(exit).toEqual({ code: 0, signal: null });
  });
});
