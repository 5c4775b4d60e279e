/**
 * Writing a report to disk: `reports/<timestamp>/report.json`, `report.md` and `report.html`, plus
 * `--json FILE`.
 * Each file is written to a temporary name and renamed into place, so a reader (or a crash) never sees
 * half a report; the folder appears only once its files are complete.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { renderHtml } from './html.js';
import { renderMarkdown } from './markdown.js';
import type { LeakcheckReport } from './types.js';

export interface WrittenReport {
  folder: string | null;
  /** report.html in the folder (what --open opens), or null when no folder was written. */
  htmlFile: string | null;
  files: string[];
}

/** The files of a report folder, in the order they are listed to a person. */
export const REPORT_FILES = ['report.html', 'report.md', 'report.json'] as const;

export async function writeReport(
  report: LeakcheckReport,
  options: { outDir: string | null; jsonFile: string | null; snapshotDir?: string | null },
): Promise<WrittenReport> {
  const json = JSON.stringify(report, null, 2) + '\n';
  const files: string[] = [];
  let folder: string | null = null;
  if (options.outDir) {
    const stamp = report.startedAt.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z');
    folder = await uniqueFolder(path.resolve(options.outDir), stamp);
    const staging = `${folder}.partial`;
    await mkdir(staging, { recursive: true });
    try {
      await writeFile(path.join(staging, 'report.json'), json);
      await writeFile(path.join(staging, 'report.md'), renderMarkdown(report));
      await writeFile(path.join(staging, 'report.html'), renderHtml(report));
      if (options.snapshotDir && existsSync(options.snapshotDir)) {
        // Same filesystem (the CLI puts the snapshot folder under --out), so this is a rename, not a copy.
        await rename(options.snapshotDir, path.join(staging, 'snapshots'));
      }
      await rename(staging, folder);
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
    files.push(...REPORT_FILES.map((name) => path.join(folder!, name)));
  }
  if (options.jsonFile) {
    const target = path.resolve(options.jsonFile);
    await atomicWrite(target, json);
    files.push(target);
  }
  return { folder, htmlFile: folder ? path.join(folder, 'report.html') : null, files };
}

async function uniqueFolder(parent: string, stamp: string): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const candidate = path.join(parent, i === 0 ? stamp : `${stamp}-${i}`);
    if (!existsSync(candidate) && !existsSync(`${candidate}.partial`)) return candidate;
  }
  throw new Error(`could not find a free report folder name under ${parent}`);
}

export async function atomicWrite(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, content);
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
