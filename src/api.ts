/**
 * `leakcheck()`: the whole check as one call, for use inside a vitest or jest test. Takes the choices of
 * `streamer-leakcheck run` as typed values and resolves with the typed report; it writes nothing and
 * prints nothing. Bad options reject with UsageError (naming the option or field) or ScenarioError.
 *
 *   const report = await leakcheck({ targets: [{ name: 'api', command: 'node server.js' }] });
 *   expect(report.ok).toBe(true);
 */
import { randomInt } from 'node:crypto';
import { UsageError } from './core/errors.js';
import {
  DEFAULT_PARALLEL,
  DEFAULT_SCENARIOS,
  DEFAULT_SETTLE_MS,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_UPSTREAM_INTERVAL_MS,
  DEFAULT_UPSTREAM_TOKENS,
} from './defaults.js';
import { loadScenarios, resolveScenarioArg } from './load/scenario.js';
import type { LeakcheckReport } from './report/types.js';
import { runLeakcheck, type Budgets, type RunEvent } from './run/engine.js';
import { buildGoReference } from './targets/go-build.js';
import type { Expectation, ProbeKind, TargetSpec } from './targets/target.js';
import type { UpstreamCancellation } from './analysis/upstream.js';
import { buildTargets, wantsGoPair, type RequestOptions, type TargetFlags } from './targets/user-targets.js';
import type { BreakdownMode } from './run/breakdown.js';

/** A server to check: started with `command` through /bin/sh, with PORT and HOST=127.0.0.1 set. */
export interface LeakcheckTarget {
  /** Names the target in the report: 1–40 letters, digits, '.', '_' or '-'. */
  name: string;
  /** The command line that starts the server; it must listen on $PORT. */
  command: string;
  /** What it should do (default 'clean'); a missed expectation makes `report.ok` false. */
  expect?: Expectation;
  /**
   * Whether a client hanging up must cancel its upstream call ('cancelled') or must not
   * ('not-cancelled'), as the mock upstream counts it; unset: not checked. A miss makes `report.ok` false.
   */
  expectUpstream?: UpstreamCancellation;
  /** How to sample it (default 'auto': the Node agent if one says hello, else pprof if served, else /proc). */
  probe?: ProbeKind;
  /** Its stream route, `{id}` replaced per request (default: the options' `path`, else /chat/stream/{id}). */
  path?: string;
  /**
   * What it is sent, over the options' `request`, field by field (headers merged): method, path,
   * headers, body (a string, or any JSON value), framing. `${NAME}` in a header value or the body is
   * read from the environment; header values are redacted in the report.
   */
  request?: RequestOptions;
}

/** A server that runs already: attached to at a loopback URL, read in place, never started or stopped. */
export interface LeakcheckAttachedTarget {
  name: string;
  /** `http://127.0.0.1:PORT` (or `http://[::1]:PORT`): loopback only. */
  url: string;
  /** Its process (default: the one that owns the URL port's listening socket). */
  pid?: number;
  /** The mock upstream (`streamer-leakcheck upstream`) it was pointed at, for the cancellation check. */
  upstream?: string;
  expect?: Expectation;
  /** As a started target's; needs `upstream` (else there is nothing to read it from). */
  expectUpstream?: UpstreamCancellation;
  probe?: ProbeKind;
  request?: RequestOptions;
}

export interface LeakcheckOptions {
  /** Servers to check, as objects or as `'name=command'` strings. None: the built-in old/new pair. */
  targets?: Array<LeakcheckTarget | string>;
  /** Servers that run already (as `--attach`, `--pid`, `--upstream`); with none and no targets, the built-in pair. */
  attach?: LeakcheckAttachedTarget[];
  /** @deprecated `targets` with `'name=command'` strings. */
  target?: string[];
  /** `'name=leak|clean'` for any target, built-ins included; after the targets' own `expect`. */
  expect?: Array<`${string}=${Expectation}`>;
  /** `'name=cancelled|not-cancelled'` for any target; after the targets' own `expectUpstream`. */
  expectUpstream?: Array<`${string}=${UpstreamCancellation}`>;
  /** `'name=node|go|proc|auto'` for any target; after the targets' own `probe`. */
  probe?: Array<`${string}=${ProbeKind}`>;
  /** Stream route of targets that name none (default /chat/stream/{id}). */
  path?: string;
  /** What every user target is sent (method, path, headers, body, framing), under each target's own `request`. */
  request?: RequestOptions;
  /** Built-in reference pairs: 'node' (old/new, the default without targets), 'go' (needs Go) and 'python'. */
  builtin?: Array<'node' | 'go' | 'python'>;
  /** Also run the built-in leaky server first, as a positive control. */
  selfCheck?: boolean;
  /** Scenario names, files or folders, or 'all' (default: ['mixed']). */
  scenarios?: string[];
  /** @deprecated the same as `scenarios`. */
  scenario?: string[];
  /** Seed of every random choice: the same seed repeats the same client script (default: random). */
  seed?: number;
  /** Tokens per mock LLM stream (default 200). */
  upstreamTokens?: number;
  /** Pause between mock LLM tokens (default 5 ms). */
  upstreamIntervalMs?: number;
  /** How long a target may take to accept connections, and from its response headers to its first event (default 10 000 ms). */
  startTimeoutMs?: number;
  /** Pause after each batch before sampling (default 300 ms). */
  settleMs?: number;
  /** Per-disconnect limits for targets expected clean: exceeded -> `report.ok` is false. */
  budgets?: Budgets;
  /** Targets side by side, two at a time (default true), or one after another. */
  parallel?: boolean;
  /** Measure a mixed scenario again one way of hanging up at a time: 'auto' (when inconclusive, the default), 'always', 'never'. */
  breakdown?: BreakdownMode;
  /** Aborting stops every target; the report so far resolves, marked incomplete. */
  signal?: AbortSignal;
  /** Progress: phases, batches, verdicts as they come, problems. */
  onEvent?: (event: RunEvent) => void;
}

/** Every option, so an unknown key (a typo) is refused rather than silently ignored. */
const OPTION_KEYS = Object.keys({
  targets: true, target: true, attach: true, expect: true, expectUpstream: true, probe: true, path: true, request: true, builtin: true, selfCheck: true,
  scenarios: true, scenario: true, seed: true, upstreamTokens: true, upstreamIntervalMs: true,
  startTimeoutMs: true, settleMs: true, budgets: true, parallel: true, breakdown: true, signal: true, onEvent: true,
} satisfies Record<keyof LeakcheckOptions, true>);

const TARGET_KEYS = Object.keys({
  name: true, command: true, expect: true, expectUpstream: true, probe: true, path: true, request: true,
} satisfies Record<keyof LeakcheckTarget, true>);

const ATTACH_KEYS = Object.keys({
  name: true, url: true, pid: true, upstream: true, expect: true, expectUpstream: true, probe: true, request: true,
} satisfies Record<keyof LeakcheckAttachedTarget, true>);

/** Which field of a target object a `buildTargets` error is about, by the flag its message names. */
const FIELD_OF_FLAG: Record<string, keyof LeakcheckTarget> = {
  '--target': 'name',
  '--expect': 'expect',
  '--expect-upstream': 'expectUpstream',
  '--probe': 'probe',
  '--path': 'path',
};

function fail(field: string, problem: string): never {
  throw new UsageError(`leakcheck(): ${field}: ${problem}`);
}

/**
 * The options' targets as the run's target list. Pure (no process, no file): every mistake is a
 * UsageError naming the option, or for a target object `targets[i].field`. `goBinary`: the built Go
 * pair, required when `builtin` holds 'go'.
 */
export function targetsOf(options: LeakcheckOptions, goBinary?: string): TargetSpec[] {
  if (!options || typeof options !== 'object') fail('options', 'must be an object');
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) fail(key, `unknown option (known: ${OPTION_KEYS.join(', ')})`);
  }
  if (options.targets !== undefined && options.target !== undefined) fail('target', 'give targets or target, not both');
  const entries = options.targets ?? options.target ?? [];
  if (!Array.isArray(entries)) fail('targets', 'must be an array of { name, command } objects or "name=command" strings');

  const pairs: string[] = [];
  const expects: string[] = [];
  const upstreamExpects: string[] = [];
  const probes: string[] = [];
  const ownRequests: Record<string, RequestOptions> = {};
  entries.forEach((entry: unknown, i) => {
    const at = `targets[${i}]`;
    if (typeof entry === 'string') {
      pairs.push(entry);
      return;
    }
    const target = checkedTarget(entry, at, options.path);
    pairs.push(`${target.name}=${target.command}`);
    if (target.expect !== undefined) expects.push(`${target.name}=${target.expect}`);
    if (target.expectUpstream !== undefined) upstreamExpects.push(`${target.name}=${target.expectUpstream}`);
    if (target.probe !== undefined) probes.push(`${target.name}=${target.probe}`);
    if (target.request !== undefined || target.path !== undefined) {
      ownRequests[target.name] = { ...target.request, ...(target.path !== undefined ? { path: target.path } : {}) };
    }
  });

  const attach: string[] = [];
  const pids: string[] = [];
  const upstreams: string[] = [];
  if (options.attach !== undefined && !Array.isArray(options.attach)) fail('attach', 'must be an array of { name, url } objects');
  (options.attach ?? []).forEach((entry: unknown, i) => {
    const at = `attach[${i}]`;
    if (!entry || typeof entry !== 'object' || Array.isArray(entry)) fail(at, 'must be a { name, url } object');
    const target = entry as Record<string, unknown>;
    for (const key of Object.keys(target)) if (!ATTACH_KEYS.includes(key)) fail(`${at}.${key}`, `unknown field (known: ${ATTACH_KEYS.join(', ')})`);
    for (const key of ['name', 'url', 'upstream', 'expect', 'expectUpstream', 'probe'] as const) {
      const value = target[key];
      if (value === undefined && key !== 'name' && key !== 'url') continue;
      if (typeof value !== 'string' || value.trim() === '') fail(`${at}.${key}`, `must be a non-empty string, got ${describe(value)}`);
    }
    if (target.pid !== undefined && !Number.isInteger(target.pid)) fail(`${at}.pid`, `must be a process id, got ${describe(target.pid)}`);
    if (target.request !== undefined && (!target.request || typeof target.request !== 'object' || Array.isArray(target.request))) {
      fail(`${at}.request`, `must be an object, got ${describe(target.request)}`);
    }
    const { name, url, pid, upstream, expect, expectUpstream, probe, request } = target as unknown as LeakcheckAttachedTarget;
    if (/[=\s]/.test(name)) fail(`${at}.name`, `the name must be 1–40 letters, digits, '.', '_' or '-' (got ${describe(name)})`);
    attach.push(`${name}=${url}`);
    if (pid !== undefined) pids.push(`${name}=${pid}`);
    if (upstream !== undefined) upstreams.push(`${name}=${upstream}`);
    if (expect !== undefined) expects.push(`${name}=${expect}`);
    if (expectUpstream !== undefined) {
      if (upstream === undefined) fail(`${at}.expectUpstream`, 'needs upstream: the mock upstream the server was pointed at, where its cancellations are counted');
      upstreamExpects.push(`${name}=${expectUpstream}`);
    }
    if (probe !== undefined) probes.push(`${name}=${probe}`);
    if (request !== undefined) ownRequests[name] = request;
  });

  const flags: TargetFlags = {
    target: pairs,
    ...(attach.length > 0 ? { attach, pid: pids, upstream: upstreams } : {}),
    expect: [...expects, ...stringsOf(options.expect, 'expect')],
    expectUpstream: [...upstreamExpects, ...stringsOf(options.expectUpstream, 'expectUpstream')],
    probe: [...probes, ...stringsOf(options.probe, 'probe')],
    ...(options.builtin !== undefined ? { builtin: stringsOf(options.builtin, 'builtin') } : {}),
    ...(options.selfCheck !== undefined ? { selfCheck: options.selfCheck } : {}),
    // The options' path is the shared layer's, under each target's own request (a flag's would be over it).
    ...(options.request !== undefined || options.path !== undefined
      ? { request: { ...options.request, ...(options.path !== undefined ? { path: options.path } : {}) } }
      : {}),
    targetRequests: ownRequests,
  };
  try {
    return buildTargets(flags, goBinary);
  } catch (error) {
    // Checked by the rules of the flags they stand for; named as the option they came in.
    if (error instanceof UsageError && /^--(attach|pid|upstream) /.test(error.message)) fail('attach', error.message.replace(/^--(attach|pid|upstream) /, ''));
    throw error;
  }
}

/**
 * One target object, its types checked here and its values by the same rules as `--target`, `--expect`,
 * `--probe` and `--path` (buildTargets on it alone), each mistake named as `targets[i].field`.
 */
function checkedTarget(entry: unknown, at: string, defaultPath: string | undefined): LeakcheckTarget {
  if (!entry || typeof entry !== 'object' || Array.isArray(entry)) fail(at, 'must be a { name, command } object or a "name=command" string');
  const target = entry as Record<string, unknown>;
  for (const key of Object.keys(target)) {
    if (!TARGET_KEYS.includes(key)) fail(`${at}.${key}`, `unknown field (known: ${TARGET_KEYS.join(', ')})`);
  }
  for (const key of TARGET_KEYS) {
    const value = target[key];
    // A request is checked where the flags' one is, field by field (buildTargets).
    if (key === 'request') {
      if (value !== undefined && (!value || typeof value !== 'object' || Array.isArray(value))) fail(`${at}.request`, `must be an object, got ${describe(value)}`);
      continue;
    }
    const required = key === 'name' || key === 'command';
    if (value === undefined && !required) continue;
    if (typeof value !== 'string' || value.trim() === '') fail(`${at}.${key}`, `must be a non-empty string, got ${describe(value)}`);
  }
  const { name, command, expect, expectUpstream, probe, path } = target as unknown as LeakcheckTarget;
  // "a=b" would split into another name and command, " a" be trimmed into another name.
  if (/[=\s]/.test(name)) fail(`${at}.name`, `the name must be 1–40 letters, digits, '.', '_' or '-' (got ${describe(name)})`);
  const routePath = path ?? defaultPath;
  try {
    buildTargets({
      target: [`${name}=${command}`],
      expect: expect === undefined ? [] : [`${name}=${expect}`],
      expectUpstream: expectUpstream === undefined ? [] : [`${name}=${expectUpstream}`],
      probe: probe === undefined ? [] : [`${name}=${probe}`],
      ...(routePath !== undefined ? { path: routePath } : {}),
    });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const field = FIELD_OF_FLAG[/^--[a-z-]+/.exec(error.message)?.[0] ?? ''];
    if (field === undefined) throw error;
    // `--flag VALUE: problem` (VALUE quoted, or NAME=VALUE) or `--flag: problem`: keep the problem.
    const problem = error.message.replace(/^--[a-z-]+( "(?:[^"\\]|\\.)*"| \S*)?: /, '');
    // A bad `path` of the options, not of this target: name the option.
    if (field === 'path' && path === undefined) fail('path', `${problem} (got ${describe(defaultPath)})`);
    fail(`${at}.${field}`, `${problem} (got ${describe(target[field])})`);
  }
  const request = target.request as RequestOptions | undefined;
  return {
    name,
    command,
    ...(expect !== undefined ? { expect } : {}),
    ...(expectUpstream !== undefined ? { expectUpstream } : {}),
    ...(probe !== undefined ? { probe } : {}),
    ...(path !== undefined ? { path } : {}),
    ...(request !== undefined ? { request } : {}),
  };
}

function stringsOf(value: unknown, option: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) fail(option, 'must be an array of strings');
  return value as string[];
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || Array.isArray(value)) return value === null ? 'null' : 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function scenarioArgs(options: LeakcheckOptions): string[] {
  if (options.scenarios !== undefined && options.scenario !== undefined) fail('scenario', 'give scenarios or scenario, not both');
  const given = options.scenarios ?? options.scenario;
  return given === undefined ? [...DEFAULT_SCENARIOS] : stringsOf(given, options.scenarios !== undefined ? 'scenarios' : 'scenario');
}

export async function leakcheck(options: LeakcheckOptions = {}): Promise<LeakcheckReport> {
  // Usage errors first, before a slow go build.
  targetsOf(options, '(checked before building)');
  const scenarioNames = scenarioArgs(options);
  const targets = targetsOf(options, wantsGoPair({ builtin: options.builtin ?? [] }) ? await buildGoReference() : undefined);
  const files: string[] = [];
  for (const arg of scenarioNames) files.push(...(await resolveScenarioArg(arg)));
  return runLeakcheck({
    targets,
    scenarios: await loadScenarios(files),
    seed: options.seed ?? randomInt(1, 2 ** 31 - 1),
    upstream: {
      tokens: options.upstreamTokens ?? DEFAULT_UPSTREAM_TOKENS,
      intervalMs: options.upstreamIntervalMs ?? DEFAULT_UPSTREAM_INTERVAL_MS,
    },
    startTimeoutMs: options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    settleMs: options.settleMs ?? DEFAULT_SETTLE_MS,
    budgets: options.budgets ?? {},
    snapshotDir: null,
    parallel: options.parallel ?? DEFAULT_PARALLEL,
    ...(options.breakdown !== undefined ? { breakdown: options.breakdown } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}
