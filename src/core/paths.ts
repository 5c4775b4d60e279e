/**
 * Where the package's own files are. Child processes (the reference servers, the probe agent) must run
 * compiled JavaScript even when the caller is a test importing TypeScript sources, so every such path is
 * resolved from the package root: found by walking up from this module (src/core/ from source,
 * dist/src/core/ compiled) to the package.json named streamer-leakcheck.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'streamer-leakcheck';

function findPackageRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        // an unreadable manifest is not ours: keep walking
      }
    }
    if (path.dirname(dir) === dir) break;
  }
  // Not inside the package (a bundler moved us): the layout's own guess.
  return path.resolve(here, here.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');
}

export const PACKAGE_ROOT: string = findPackageRoot();

/** A compiled file of this package, e.g. compiled('probe/agent.cjs') -> <root>/dist/src/probe/agent.cjs */
export function compiled(relativeToSrc: string): string {
  return path.join(PACKAGE_ROOT, 'dist', 'src', relativeToSrc);
}

export const SHIPPED_SCENARIOS_DIR: string = path.join(PACKAGE_ROOT, 'scenarios');

export function packageVersion(): string {
  return (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}
