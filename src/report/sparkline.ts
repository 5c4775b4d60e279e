/** A one-line chart of a series, for the terminal: ▁▂▃▄▅▆▇█, scaled between the series' own min and max. */
const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return '';
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min;
  return values
    .map((v) => BARS[span === 0 ? 0 : Math.min(BARS.length - 1, Math.floor(((v - min) / span) * BARS.length))])
    .join('');
}
