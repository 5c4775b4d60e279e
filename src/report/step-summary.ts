/**
 * GitHub Actions step summary: when GITHUB_STEP_SUMMARY names a file, report.md is appended to it.
 * GitHub takes at most 1 MiB per step; a longer report is cut before its per-scenario details.
 */
import { appendFile } from 'node:fs/promises';

export const STEP_SUMMARY_LIMIT_BYTES = 1024 * 1024;
const KEEP_UNDER_BYTES = STEP_SUMMARY_LIMIT_BYTES - 4096;

export function fitStepSummary(markdown: string): string {
  if (Buffer.byteLength(markdown) <= KEEP_UNDER_BYTES) return markdown;
  const details = markdown.indexOf('<details>');
  const head = details > 0 ? markdown.slice(0, details) : markdown.slice(0, KEEP_UNDER_BYTES / 4);
  return `${head}\n_Per-scenario details left out: the full report.md is over GitHub's 1 MiB step-summary limit._\n`;
}

export async function appendStepSummary(file: string, markdown: string): Promise<void> {
  await appendFile(file, fitStepSummary(markdown));
}
