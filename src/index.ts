/** The programmatic API: what `import … from 'streamer-leakcheck'` gets. */
export { leakcheck, type LeakcheckOptions } from './api.js';
export { runLeakcheck, DEFAULT_SETTLE_MS, type RunOptions, type RunEvent, type Budgets } from './run/engine.js';
export { builtinTarget, DEFAULT_STREAM_PATH, type TargetSpec, type Expectation } from './targets/target.js';
export { loadScenario, loadScenarios, parseScenario, resolveScenarioArg, type Scenario, type Behaviour } from './load/scenario.js';
export { renderTerminal } from './report/terminal.js';
export { renderMarkdown } from './report/markdown.js';
export { renderHtml } from './report/html.js';
export type * from './report/types.js';
export { ExitCode, LeakcheckError, UsageError, ScenarioError, TargetStartError, TargetDiedError } from './core/errors.js';
