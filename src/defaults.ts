/**
 * The defaults that `streamer-leakcheck run` and `leakcheck()` share, in one place, so the CLI's help,
 * the programmatic API and the docs cannot drift apart. Imports nothing: any layer may read it.
 */

/** Scenarios run when none is named: `mixed`, every way of leaving mid-stream (scenarios/mixed.json). */
export const DEFAULT_SCENARIOS: readonly string[] = ['mixed'];

/**
 * The mock LLM upstream's answer: 200 tokens 5 ms apart, a stream of ~1 s, long enough that every
 * scripted client leaves mid-stream and short enough that `complete` clients do not hold a batch open.
 */
export const DEFAULT_UPSTREAM_TOKENS = 200;
export const DEFAULT_UPSTREAM_INTERVAL_MS = 5;

/** How long a target may take to accept connections on its PORT. */
export const DEFAULT_START_TIMEOUT_MS = 10_000;

/**
 * Pause between a batch's end and its sample, so closes and cancellations in flight can finish: the
 * reference `new` frees its idle upstream sockets within 200 ms (docs/measurements.md#settle).
 */
export const DEFAULT_SETTLE_MS = 300;

/** Targets side by side, two at a time (docs/measurements.md#targets-at-once); false: one after another. */
export const DEFAULT_PARALLEL = true;

/** Folder that receives `<start time>/report.html`, `report.md` and `report.json`. */
export const DEFAULT_REPORT_DIR = 'reports';
