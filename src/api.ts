/**
 * `leakcheck()`: the whole check as one call, for use inside a vitest or jest test. Takes the same
 * choices as `streamer-leakcheck run` (as values, not strings) and resolves with the typed report; it
 * writes nothing and prints nothing. Bad options reject with UsageError/ScenarioError.
 *
 *   const report = await leakcheck({ target: ['api=node server.js'], scenario: ['mixed'] });
 *   expect(report.ok).toBe(true);
 */
import { randomInt } from 'node:crypto';
import { loadScenarios, resolveScenarioArg } from './load/scenario.js';
import type { LeakcheckReport } from './report/types.js';
import { DEFAULT_SETTLE_MS, runLeakcheck, type Budgets, type RunEvent } from './run/engine.js';
import { buildGoReference } from './targets/go-build.js';
import { buildTargets, wantsGoPair, type TargetFlags } from './targets/user-targets.js';

export interface LeakcheckOptions extends TargetFlags {
  /** Scenario names, files or folders (default: ['mixed']). */
  scenario?: string[];
  seed?: number;
  upstreamTokens?: number;
  upstreamIntervalMs?: number;
  startTimeoutMs?: number;
  settleMs?: number;
  budgets?: Budgets;
  /** Targets side by side, two at a time (the default), or one after another with false: see RunOptions.parallel. */
  parallel?: boolean;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export async function leakcheck(options: LeakcheckOptions = {}): Promise<LeakcheckReport> {
  buildTargets(options, '(checked before building)');
  const targets = buildTargets(options, wantsGoPair(options) ? await buildGoReference() : undefined);
  const files: string[] = [];
  for (const arg of options.scenario ?? ['mixed']) files.push(...(await resolveScenarioArg(arg)));
  return runLeakcheck({
    targets,
    scenarios: await loadScenarios(files),
    seed: options.seed ?? randomInt(1, 2 ** 31 - 1),
    upstream: { tokens: options.upstreamTokens ?? 200, intervalMs: options.upstreamIntervalMs ?? 5 },
    startTimeoutMs: options.startTimeoutMs ?? 10_000,
    settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
    budgets: options.budgets ?? {},
    snapshotDir: null,
    parallel: options.parallel !== false,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}
