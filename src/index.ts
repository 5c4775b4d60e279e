/**
 * The programmatic API: what `import … from 'streamer-leakcheck'` gets. `leakcheck()` and its types, the
 * report's types, the errors it rejects with, and what a test may want beside them: the renderers (to
 * keep report.md or report.html as an artifact) and the scenario parser (to check a scenario file).
 * Everything else is internal and may change without notice.
 */
export { leakcheck, type LeakcheckAttachedTarget, type LeakcheckOptions, type LeakcheckTarget } from './api.js';
export type { Budgets, RunEvent } from './run/engine.js';
export type { Expectation, ProbeKind } from './targets/target.js';
export type { MetricJudgement, Verdict } from './analysis/index.js';
export type { UpstreamCancellation, UpstreamCheck } from './analysis/upstream.js';
export type * from './report/types.js';
export { loadScenario, parseScenario, type Scenario, type Behaviour } from './load/scenario.js';
export { renderTerminal, type TerminalOptions } from './report/terminal.js';
export { renderMarkdown } from './report/markdown.js';
export { renderHtml } from './report/html.js';
export { renderJunit } from './report/junit.js';
export {
  ExitCode,
  LeakcheckError,
  UsageError,
  ScenarioError,
  TargetStartError,
  TargetDiedError,
  InterruptedError,
  type ExitCodeValue,
} from './core/errors.js';
