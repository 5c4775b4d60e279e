import { describe, expect, it } from 'vitest';
import { fitStepSummary, STEP_SUMMARY_LIMIT_BYTES } from './step-summary.js';

describe('fitStepSummary', () => {
  it('keeps a report that fits', () => {
    expect(fitStepSummary('### ok\n')).toBe('### ok\n');
  });
  it('cuts an oversized report before its details, under GitHub\'s 1 MiB', () => {
    const big = `### head\n| table |\n<details><summary>Per scenario</summary>\n${'x'.repeat(2 * STEP_SUMMARY_LIMIT_BYTES)}\n</details>\n`;
    const fitted = fitStepSummary(big);
    expect(Buffer.byteLength(fitted)).toBeLessThan(STEP_SUMMARY_LIMIT_BYTES);
    expect(fitted).toMatch(/^### head\n\| table \|/);
    expect(fitted).toMatch(/details left out/);
  });
});
