/**
 * Where a run writes, wrong before it starts or failing after: each mistake is one line naming the
 * option and the path, exit 2, before any target starts and with nothing written; a disk that fills
 * once the verdicts are in keeps them, says which file could not be written, writes the rest, exit 4.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listTree, runCli, tempDir } from './helpers.js';

const FIXTURE = path.resolve(__dirname, 'fixtures/planted-leak-server.mjs');
const TINY = path.resolve(__dirname, 'fixtures/tiny.json');
const leaky = ['run', '--target', `leaky=LEAK_BYTES=65536 node ${JSON.stringify(FIXTURE)}`, '--expect', 'leaky=leak', '-s', TINY, '--no-progress'];

const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
/** A tmpfs of its own (root only): read-only, or small enough to fill. */
function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}
afterAll(() => {
  for (const dir of mounts) execFileSync('umount', [dir], { stdio: 'ignore' });
});

/** A refusal: exit 2, one line on stderr naming `words`, no stack trace, no verdict, within seconds. */
async function expectRefused(args: string[], words: RegExp, options: Parameters<typeof runCli>[1] = {}) {
  const started = Date.now();
  const result = await runCli(['run', ...args, '--no-progress'], { timeoutMs: 20_000, ...options });
  expect(result.code).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(words);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  expect(result.stdout).not.toMatch(/verdict/);
  // Refused before the reference pair could even start (a start and a preflight take longer).
  expect(Date.now() - started).toBeLessThan(5000);
  return result;
}

describe('output paths checked before any target starts', () => {
  it('an --out inside a file, an --out that is a file, a --json that is a folder', async () => {
    const dir = await tempDir('paths');
    const file = path.join(dir, 'a-file');
    await writeFile(file, 'x');
    await expectRefused(['--out', path.join(file, 'reports')], /^streamer-leakcheck: --out .*a-file\/reports: .*a-file is a file, not a folder$/);
    await expectRefused(['--out', file], /^streamer-leakcheck: --out .*a-file: is a file, not a folder$/);
    await expectRefused(['--json', dir, '--no-report'], /^streamer-leakcheck: --json .*: is a folder; give a file name$/);
    await expectRefused(['--junit', path.join(file, 'x.xml')], /^streamer-leakcheck: --junit .*: .*a-file is a file, not a folder$/);
    expect((await readdir(dir)).sort()).toEqual(['a-file']);
  });

  it.skipIf(!isRoot)('an --out folder its user may not write (run as nobody): the EACCES case, one line', async () => {
    const dir = await tempDir('eacces');
    const locked = path.join(dir, 'locked');
    await mkdir(locked, { mode: 0o755 });
    await chmod(dir, 0o755);
    await expectRefused(['--out', path.join(locked, 'reports')], /--out .*locked\/reports: cannot be written \(it would be created in .*locked\): EACCES: permission denied$/, {
      uid: 65534,
      gid: 65534,
    });
    expect(await listTree(locked)).toEqual([]);
  });

  it.skipIf(!isRoot)('a --junit file on a read-only file system', async () => {
    const dir = await tempDir('erofs');
    if (!mountTmpfs(dir, 'ro,size=64k')) return;
    await expectRefused(['--junit', path.join(dir, 'leakcheck.xml')], /--junit .*leakcheck\.xml: cannot be written: EROFS: read-only file system$/);
  });

  it('a config file that is a folder', async () => {
    const cwd = await tempDir('config-dir');
    await mkdir(path.join(cwd, 'leakcheck.config.json'));
    await expectRefused([], /^streamer-leakcheck: leakcheck\.config\.json: cannot be read \(it is a folder\)$/, { cwd });
  });
});

describe('a disk that fills during the run', () => {
  it.skipIf(!isRoot)('keeps the verdicts, names the report folder it could not write, still writes --json, exit 4', async () => {
    const full = await tempDir('enospc');
    // Room for the write test and a little more; not for report.html (tens of KB) and its siblings.
    if (!mountTmpfs(full, 'size=16k')) return;
    const elsewhere = await tempDir('enospc-json');
    const json = path.join(elsewhere, 'report.json');
    const result = await runCli([...leaky, '--out', full, '--json', json, '--seed', '5'], { timeoutMs: 60_000 });
    expect(result.stdout, result.stderr).toMatch(/PASS: every verdict met its expectation/);
    expect(result.stderr).toMatch(new RegExp(`streamer-leakcheck: could not write the report folder in ${full}: ENOSPC: no space left on the device`));
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.code).toBe(4);
    // No half-written folder stays behind; the JSON elsewhere is whole.
    expect(await readdir(full)).toEqual([]);
    expect(JSON.parse(await readFile(json, 'utf8')).targets[0]).toMatchObject({ name: 'leaky', verdict: 'leak' });
  }, 90_000);
});
