/**
 * `run --open`: report.html is handed to the opener once written; an opener that is missing or fails
 * costs one warning line and never the exit code; `--open` without a report is a usage error. The opener
 * is a real process (test/fixtures/recording-opener.sh, through STREAMER_LEAKCHECK_OPENER) that records
 * what it was given.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listTree, runCli, tempDir } from './helpers.js';

const FIXTURES = path.resolve(__dirname, 'fixtures');
const OPENER = path.join(FIXTURES, 'recording-opener.sh');

/** A run over in a few seconds: one target with a planted 64 KB leak, expected to leak (exit 0). */
function tinyRun(out: string, env: Record<string, string>, extra: string[] = []) {
  return runCli(
    [
      'run', '-s', path.join(FIXTURES, 'tiny.json'), '--seed', '1', '--no-progress', '--no-snapshots', '--settle-ms', '50',
      '--target', `mine=LEAK_BYTES=65536 node ${JSON.stringify(path.join(FIXTURES, 'planted-leak-server.mjs'))}`,
      '--expect', 'mine=leak', '--out', out, '--open', ...extra,
    ],
    { timeoutMs: 60_000, env },
  );
}

async function reportFolder(out: string): Promise<string> {
  const folders = (await listTree(out)).filter((entry) => /^\d{4}-\d\d-\d\dT[^/]*$/.test(entry));
  expect(folders).toHaveLength(1);
  return path.join(out, folders[0]!);
}

describe('run --open', () => {
  it('hands report.html to the opener once it is written', async () => {
    const out = await tempDir('open');
    const record = path.join(out, 'opener-argv');
    const result = await tinyRun(out, { STREAMER_LEAKCHECK_OPENER: OPENER, RECORD_ARGV_TO: record });
    expect(result.stderr).toBe('');
    expect(result.code, result.stdout).toBe(0);
    const html = path.join(await reportFolder(out), 'report.html');
    expect(result.stdout).toContain(`report: ${path.dirname(html)} (report.html, report.md, report.json)`);
    // The opener is detached: it may finish just after the run exits.
    for (let i = 0; i < 100 && !existsSync(record); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await readFile(record, 'utf8')).toBe(`${html}\n`);
    expect(await readFile(html, 'utf8')).toMatch(/^<!DOCTYPE html>/);
  }, 90_000);

  it('a missing opener is one warning line naming the file; the exit code stays the verdicts\'', async () => {
    const out = await tempDir('open-missing');
    const result = await tinyRun(out, { STREAMER_LEAKCHECK_OPENER: path.join(out, 'no-such-opener') });
    expect(result.code, result.stdout).toBe(0);
    const html = path.join(await reportFolder(out), 'report.html');
    expect(result.stderr).toBe(
      `streamer-leakcheck: warning: could not open ${html} (${path.join(out, 'no-such-opener')} not found); open it by hand\n`,
    );
  }, 90_000);

  it('with --no-report is a usage error: exit 2, one line, nothing run', async () => {
    const out = await tempDir('open-no-report');
    const result = await runCli(['run', '--open', '--no-report', '--out', out], { timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('streamer-leakcheck: --open opens report.html, which --no-report does not write: drop one of them\n');
    expect(await listTree(out)).toEqual([]);
  });

  it('"open": true in the config file with --no-report names the config', async () => {
    const dir = await tempDir('open-config');
    await writeFile(path.join(dir, 'leakcheck.config.json'), JSON.stringify({ open: true }));
    const result = await runCli(['run', '--no-report'], { cwd: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('streamer-leakcheck: leakcheck.config.json: "open": true needs report.html, which --no-report does not write\n');
  });

  it('is in --help, with an example', async () => {
    const help = await runCli(['run', '--help'], { timeoutMs: 20_000 });
    expect(help.stdout).toMatch(/--open\s+open report\.html in a browser/);
    expect(help.stdout).toMatch(/\$ npx streamer-leakcheck run --open\s/);
  });
});
