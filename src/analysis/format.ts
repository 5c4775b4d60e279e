/**
 * Figures in words, for verdict reasons and reports.
 *
 * Bytes are decimal (SI): 1 KB = 1000 B, 1 MB = 1000 KB. Leak rates are read by people comparing
 * "how much per disconnect", where round powers of ten are easier to reason about than KiB; the
 * thresholds in thresholds.ts are set in the same units so a reason never shows 49.2 KB for "48 KiB".
 */

export type Unit = 'bytes' | 'count';

const BYTE_SCALES = [
  { divisor: 1, suffix: 'B' },
  { divisor: 1e3, suffix: 'KB' },
  { divisor: 1e6, suffix: 'MB' },
  { divisor: 1e9, suffix: 'GB' },
  { divisor: 1e12, suffix: 'TB' },
] as const;
type ByteScale = (typeof BYTE_SCALES)[number];

/** One decimal below 100 in the chosen scale (dropped when it is 0), none above; whole bytes from 10 B up. */
function decimalsFor(scaled: number, scale: ByteScale): number {
  const limit = scale.divisor === 1 ? 10 : 100;
  return Math.abs(scaled) < limit ? 1 : 0;
}

/** The largest scale not above |bytes|, moved up one when rounding would print 1000 in it. */
function scaleFor(bytes: number): ByteScale {
  const abs = Math.abs(bytes);
  let index = 0;
  while (index + 1 < BYTE_SCALES.length && abs >= BYTE_SCALES[index + 1]!.divisor) index++;
  const scale = BYTE_SCALES[index]!;
  const scaled = abs / scale.divisor;
  const next = BYTE_SCALES[index + 1];
  if (next !== undefined && Number(scaled.toFixed(decimalsFor(scaled, scale))) >= 1000) return next;
  return scale;
}

function withScale(bytes: number, scale: ByteScale, decimals = decimalsFor(bytes / scale.divisor, scale)): string {
  // '50 KB', not '50.0 KB': a whole figure needs no decimal.
  const text = (bytes / scale.divisor).toFixed(decimals).replace(/\.0$/, '');
  return text === '-0' ? '0' : text;
}

/** formatBytes(1234) -> '1.2 KB'; formatBytes(86) -> '86 B'; formatBytes(-2.5e6) -> '-2.5 MB'. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const scale = scaleFor(bytes);
  return `${withScale(bytes, scale)} ${scale.suffix}`;
}

/**
 * A count or a count rate: whole numbers as they are ('12'), fractions with two decimals ('1.00',
 * '0.25'), and rates under 0.1 with two significant digits so a small rate does not print as '0.00'
 * ('0.0040').
 */
export function formatCount(count: number): string {
  if (!Number.isFinite(count)) return String(count);
  if (Number.isInteger(count)) return String(count);
  const abs = Math.abs(count);
  if (abs >= 0.1) return count.toFixed(2);
  return count.toPrecision(2);
}

/** A rate per disconnect; counts always show their decimals so '1.00' reads as a rate, not a total. */
function formatRate(value: number, unit: Unit): string {
  if (unit === 'bytes') return formatBytes(value);
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 0.1 || value === 0 ? value.toFixed(2) : value.toPrecision(2);
}

export function formatQuantity(value: number, unit: Unit): string {
  return unit === 'bytes' ? formatBytes(value) : formatCount(value);
}

/** formatPerDisconnect(4700, 'bytes') -> '4.7 KB per disconnect'; (1, 'count') -> '1.00 per disconnect'. */
export function formatPerDisconnect(value: number, unit: Unit): string {
  return `${formatRate(value, unit)} per disconnect`;
}

/**
 * A per-disconnect interval with one shared unit: (4500, 4900, 'bytes') -> '4.5–4.9 KB';
 * (0.98, 1.02, 'count') -> '0.98–1.02'.
 */
export function formatRateRange(low: number, high: number, unit: Unit): string {
  if (unit === 'count') return `${formatRate(low, unit)}–${formatRate(high, unit)}`;
  if (!Number.isFinite(low) || !Number.isFinite(high)) return `${formatBytes(low)}–${formatBytes(high)}`;
  const larger = Math.max(Math.abs(low), Math.abs(high));
  const scale = scaleFor(larger);
  const decimals = decimalsFor(larger / scale.divisor, scale);
  return `${withScale(low, scale, decimals)}–${withScale(high, scale, decimals)} ${scale.suffix}`;
}

/** 'cycle' / 'cycles' */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
