import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, waitUntil } from '../../test/helpers.js';
import { openerCommand, openFile, OPENER_ENV } from './open.js';

const OPENER = path.resolve(__dirname, '../../test/fixtures/recording-opener.sh');
const HTML = '/tmp/reports/2026-11-25T10-58-12Z/report.html';

describe('openerCommand', () => {
  it('uses the platform opener', () => {
    expect(openerCommand(HTML, 'linux', {})).toEqual({ command: 'xdg-open', args: [HTML], verbatim: false });
    expect(openerCommand(HTML, 'darwin', {})).toEqual({ command: 'open', args: [HTML], verbatim: false });
    expect(openerCommand('C:\\r\\report.html', 'win32', {})).toEqual({
      command: 'cmd',
      args: ['/c', 'start', '""', '"C:\\r\\report.html"'],
      verbatim: true,
    });
  });
  it(`takes ${OPENER_ENV} instead, on any platform`, () => {
    expect(openerCommand(HTML, 'win32', { [OPENER_ENV]: '/bin/my-opener' })).toEqual({ command: '/bin/my-opener', args: [HTML], verbatim: false });
  });
});

describe('openFile (real opener processes)', () => {
  let dir = '';
  const started: number[] = [];
  afterEach(async () => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('hands the opener the file as its only argument', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'leakcheck-open-'));
    const record = path.join(dir, 'argv');
    const outcome = await openFile(HTML, { env: { ...process.env, [OPENER_ENV]: OPENER, RECORD_ARGV_TO: record } });
    expect(outcome).toEqual({ opened: true, pid: null });
    expect(await waitUntil(() => existsSync(record), 5000)).toBe(true);
    expect(await readFile(record, 'utf8')).toBe(`${HTML}\n`);
  });

  it('reports a missing opener and one that fails, without throwing', async () => {
    expect(await openFile(HTML, { env: { [OPENER_ENV]: '/nonexistent/opener' } })).toEqual({
      opened: false,
      problem: '/nonexistent/opener not found',
    });
    expect(await openFile(HTML, { env: { ...process.env, [OPENER_ENV]: OPENER, OPENER_EXIT: '3' } })).toEqual({
      opened: false,
      problem: `${OPENER} exited with code 3`,
    });
  });

  it('an opener still running after the grace period counts as opened, and is left running on its own', async () => {
    const startedAt = Date.now();
    const outcome = await openFile(HTML, { env: { ...process.env, [OPENER_ENV]: OPENER, OPENER_STAY_S: '30' }, graceMs: 200 });
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(outcome.opened).toBe(true);
    const pid = (outcome as { pid: number }).pid;
    started.push(pid);
    expect(isAlive(pid)).toBe(true);
    // Its own process group: Ctrl-C in our terminal does not reach it (and the test can stop it whole).
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    expect(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2])).toBe(pid);
  });
});
