import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, waitUntil } from '../../test/helpers.js';
import { ProcessSupervisor } from './supervisor.js';
import { findFreePort, waitForPort } from './ports.js';

describe('ProcessSupervisor', () => {
  const supervisor = new ProcessSupervisor();
  afterEach(async () => {
    await supervisor.stopAll(200);
  });

  it('stops a wrapper and the process it forked (the whole group)', async () => {
    const child = supervisor.spawn({ name: 'wrapper', command: 'sleep 30 & echo $!; wait', shell: true });
    const grandchildPid = await new Promise<number>((resolve) => {
      const off = child.onLine((line) => {
        off();
        resolve(Number(line));
      });
    });
    expect(isAlive(grandchildPid)).toBe(true);
    const exit = await child.stop();
    expect(exit.signal).toBe('SIGTERM');
    expect(await waitUntil(() => !isAlive(grandchildPid), 2000)).toBe(true);
  });

  it('kills a child that ignores SIGTERM after the grace period', async () => {
    const child = supervisor.spawn({
      name: 'stubborn',
      command: process.execPath,
      args: ['-e', "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)"],
    });
    await new Promise<void>((resolve) => child.onLine(() => resolve()));
    const started = Date.now();
    const exit = await child.stop(300);
    expect(exit.signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(supervisor.live).toEqual([]);
  });

  it('keeps the last stderr lines for error messages and reports the exit code', async () => {
    const child = supervisor.spawn({
      name: 'crasher',
      command: process.execPath,
      args: ['-e', "console.error('first'); console.error('boom: port in use'); process.exit(7)"],
    });
    expect(await child.exited).toEqual({ code: 7, signal: null });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(child.tail('stderr')).toEqual(['first', 'boom: port in use']);
    expect(child.running).toBe(false);
  });

  it('reports a command that cannot be spawned as exit 127 with the reason', async () => {
    const child = supervisor.spawn({ name: 'missing', command: '/nonexistent/binary-xyz' });
    expect((await child.exited).code).toBe(127);
    expect(child.tail('stderr').join(' ')).toMatch(/ENOENT/);
  });

  it('waitForPort: ready when a server listens, dead when the process exits first', async () => {
    const port = await findFreePort();
    const server = supervisor.spawn({
      name: 'listener',
      command: process.execPath,
      args: ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`],
    });
    expect(await waitForPort(port, { timeoutMs: 5000, isAlive: () => server.running })).toBe('ready');

    const other = await findFreePort();
    const quitter = supervisor.spawn({ name: 'quitter', command: process.execPath, args: ['-e', 'process.exit(1)'] });
    expect(await waitForPort(other, { timeoutMs: 5000, isAlive: () => quitter.running })).toBe('dead');
  });
});

describe('when the harness itself dies', () => {
  it('an uncaught error in the process that spawned children still takes every child group down', async () => {
    const supervisorModule = new URL('./supervisor.ts', import.meta.url).pathname;
    // A harness stand-in: spawns a long-running child through the supervisor, prints its pid, then crashes.
    const script = `
      import { ProcessSupervisor } from ${JSON.stringify(supervisorModule.replace(/\.ts$/, '.js').replace('/src/', '/dist/src/'))};
      const child = new ProcessSupervisor().spawn({ name: 'orphan-candidate', command: 'sleep', args: ['30'] });
      console.log(child.pid);
      setTimeout(() => { throw new Error('harness crashed'); }, 100);
    `;
    const harness = new ProcessSupervisor().spawn({ name: 'harness', command: process.execPath, args: ['--input-type=module', '-e', script] });
    const pid = await new Promise<number>((resolve) => harness.onLine((line, stream) => stream === 'stdout' && resolve(Number(line))));
    expect(isAlive(pid)).toBe(true);
    const exit = await harness.exited;
    expect(exit.code).not.toBe(0);
    expect(harness.tail('stderr').join('\n')).toMatch(/harness crashed/);
    expect(await waitUntil(() => !isAlive(pid), 2000)).toBe(true);
  });
});
