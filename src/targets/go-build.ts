/**
 * Builds the seed's Go streamers (go/streamer) with the local Go toolchain, once per source version,
 * into a cache folder. Standard library only, so no module download is needed.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TargetStartError } from '../core/errors.js';
import { PACKAGE_ROOT } from '../core/paths.js';

const run = promisify(execFile);
export const GO_SOURCE_DIR = path.join(PACKAGE_ROOT, 'go', 'streamer');
export const GO_INSTALL_HINT = 'install Go (Debian/Ubuntu: apt-get install golang-go) and run again';

export async function buildGoReference(): Promise<string> {
  const source = await readFile(path.join(GO_SOURCE_DIR, 'main.go'));
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `streamer-leakcheck-go-${hash}`);
  const binary = path.join(dir, 'streamer');
  if (existsSync(binary)) return binary;
  try {
    await run('go', ['version'], { timeout: 10_000 });
  } catch {
    throw new TargetStartError('go-old', `the Go reference pair needs the go command, which is not on PATH: ${GO_INSTALL_HINT}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const partial = `${binary}.${process.pid}.partial`;
  try {
    await run('go', ['build', '-o', partial, '.'], {
      cwd: GO_SOURCE_DIR,
      timeout: 300_000,
      env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n');
    throw new TargetStartError('go-old', 'go build of the Go reference pair failed', stderr.slice(-10));
  }
  await rename(partial, binary);
  return binary;
}
