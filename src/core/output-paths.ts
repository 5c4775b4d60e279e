/**
 * Where a run will write, checked before any target starts: a folder that exists or can be created
 * and takes a file, a file path that is not a folder and whose folder takes a file. Each problem is
 * one UsageError naming the option and the path. Writability is tried, not inferred from mode bits:
 * root passes every permission check but not a read-only or full file system.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from './errors.js';

export interface OutputPaths {
  /** e.g. { option: '--out', path: 'reports' }: the report folder (and heap snapshots beside it). */
  folders: Array<{ option: string; path: string }>;
  /** e.g. { option: '--json', path: 'leak.json' }: files written whole (to a temporary name, then renamed). */
  files: Array<{ option: string; path: string; append?: boolean }>;
}

export async function checkOutputPaths(paths: OutputPaths): Promise<void> {
  for (const { option, path: folder } of paths.folders) await checkFolder(option, path.resolve(folder));
  for (const { option, path: file, append } of paths.files) {
    const absolute = path.resolve(file);
    const found = await stat(absolute).catch(() => null);
    if (found?.isDirectory()) throw new UsageError(`${option} ${file}: is a folder; give a file name`);
    if (append && found) {
      await access(absolute, constants.W_OK).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(`${option} ${file}: cannot be appended to (${describe(error)})`);
      });
    }
    await checkFolder(option, path.dirname(absolute), file);
  }
}

/** `folder` exists and takes a file, or its nearest existing ancestor is a folder that does. */
async function checkFolder(option: string, folder: string, shown = folder): Promise<void> {
  let existing = folder;
  for (;;) {
    const found = await stat(existing).catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' || error.code === 'ENOTDIR' ? null : error));
    if (found instanceof Error) throw new UsageError(`${option} ${shown}: ${existing} cannot be read (${describe(found)})`);
    if (found) {
      if (!found.isDirectory()) {
        const itself = existing === path.resolve(shown);
        throw new UsageError(`${option} ${shown}: ${itself ? 'is a file, not a folder' : `${existing} is a file, not a folder`}`);
      }
      break;
    }
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const probe = path.join(existing, `.streamer-leakcheck-write-test-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
  } catch (error) {
    const where = existing === folder ? '' : ` (it would be created in ${existing})`;
    throw new UsageError(`${option} ${shown}: cannot be written${where}: ${describe(error as NodeJS.ErrnoException)}`);
  } finally {
    await rm(probe, { force: true });
  }
}

function describe(error: NodeJS.ErrnoException): string {
  const text: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    ENOTDIR: 'a part of the path is a file',
    EDQUOT: 'disk quota exceeded',
  };
  return error.code ? `${error.code}: ${text[error.code] ?? error.message}` : error.message;
}

/** One line for a file that could not be written once the run had its verdicts. */
export function writeFailure(what: string, error: unknown): string {
  return `could not write ${what}: ${error && typeof error === 'object' && 'code' in error ? describe(error as NodeJS.ErrnoException) : String((error as Error)?.message ?? error)}`;
}
