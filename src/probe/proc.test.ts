import { afterEach, describe, expect, it } from 'vitest';
import { ProcessSupervisor } from '../targets/supervisor.js';
import { parsePpid, parseStatus, sampleProcTree } from './proc.js';

describe('/proc parsing', () => {
  it('reads ppid past a command name with spaces and parentheses', () => {
    expect(parsePpid('1234 (my (odd) server) S 987 1234 1234 0 -1 4194560')).toBe(987);
    expect(parsePpid('garbage')).toBeNull();
  });

  it('reads VmRSS and Threads', () => {
    const status = 'Name:\tnode\nVmRSS:\t   51200 kB\nThreads:\t7\n';
    expect(parseStatus(status)).toEqual({ rssBytes: 51200 * 1024, threads: 7 });
  });
});

describe('sampleProcTree on a real process tree', () => {
  const supervisor = new ProcessSupervisor();
  afterEach(() => supervisor.stopAll(200));

  it('sums a shell and its children, and sees file descriptors they open', async () => {
    const child = supervisor.spawn({
      name: 'tree',
      // A shell with a child that opens 20 extra descriptors (duplicates of /dev/null).
      command: `${JSON.stringify(process.execPath)} -e "const fs=require('fs');const k=[];for(let i=0;i<20;i++)k.push(fs.openSync('/dev/null','r'));console.log('ready');setInterval(()=>{},1000)" & wait`,
      shell: true,
    });
    await new Promise<void>((resolve) => child.onLine((line) => line === 'ready' && resolve()));
    const sample = await sampleProcTree(child.pid);
    expect(sample.pids.length).toBeGreaterThanOrEqual(2);
    expect(sample.pids[0]).toBe(child.pid);
    expect(sample.fds).toBeGreaterThanOrEqual(20);
    expect(sample.threads).toBeGreaterThanOrEqual(2);
    expect(sample.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
  });
});
