/**
 * The config file, so a CI line can be just `npx streamer-leakcheck run`: `leakcheck.config.json` in
 * the working folder, or a `leakcheck` key in its package.json. It holds what the `run` flags hold;
 * flags given on the command line override it. Validated strictly: every mistake names the key.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ScenarioError } from './core/errors.js';
import { isProbeChoice } from './probe/probe.js';
import { loopbackOrigin, pidOf } from './targets/attach-spec.js';
import { bodyText, framingProblem, headerProblem, methodOf, pathProblem, TARGET_NAME, type RequestOptions, type TargetFlags } from './targets/user-targets.js';

export const CONFIG_FILE = 'leakcheck.config.json';

/** Config values, in the shape of the `run` flags they stand for. */
export interface ConfigValues extends TargetFlags {
  scenario?: string[];
  seed?: number;
  junit?: string;
  out?: string;
  maxBytesPerDisconnect?: number;
  maxHandlesPerDisconnect?: number;
  startTimeout?: number;
  upstreamTokens?: number;
  upstreamIntervalMs?: number;
  parallel?: boolean;
  open?: boolean;
}

interface TargetEntry {
  command: string;
  expect?: 'leak' | 'clean';
  expectUpstream?: 'cancelled' | 'not-cancelled';
  probe?: string;
  request?: unknown;
}

interface AttachEntry {
  url: string;
  pid?: number;
  upstream?: string;
  expect?: 'leak' | 'clean';
  expectUpstream?: 'cancelled' | 'not-cancelled';
  probe?: string;
  request?: unknown;
}

export const KEYS = ['$schema', 'targets', 'attach', 'builtin', 'selfCheck', 'path', 'request', 'scenarios', 'seed', 'junit', 'out', 'open', 'budgets', 'startTimeoutMs', 'upstream', 'parallel'];
export const TARGET_KEYS = ['command', 'expect', 'expectUpstream', 'probe', 'request'];
export const ATTACH_KEYS = ['url', 'pid', 'upstream', 'expect', 'expectUpstream', 'probe', 'request'];
export const REQUEST_KEYS = ['method', 'path', 'headers', 'body', 'framing'];

export async function loadConfig(cwd: string): Promise<{ file: string; values: ConfigValues } | null> {
  const file = path.join(cwd, CONFIG_FILE);
  if (existsSync(file)) return { file: CONFIG_FILE, values: parseConfig(parseJson(await readText(file, CONFIG_FILE), CONFIG_FILE), CONFIG_FILE) };
  const manifest = path.join(cwd, 'package.json');
  if (existsSync(manifest)) {
    const pkg = parseJson(await readText(manifest, 'package.json'), 'package.json') as Record<string, unknown>;
    if (pkg && typeof pkg === 'object' && 'leakcheck' in pkg) {
      return { file: 'package.json', values: parseConfig(pkg.leakcheck, 'package.json', 'leakcheck.') };
    }
  }
  return null;
}

async function readText(file: string, shown: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    throw new ScenarioError(shown, `cannot be read (${code === 'EISDIR' ? 'it is a folder' : (code ?? message)})`);
  }
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, `not valid JSON: ${(error as Error).message}`);
  }
}

export function parseConfig(raw: unknown, file: string, prefix = ''): ConfigValues {
  const fail = (key: string, problem: string): never => {
    throw new ScenarioError(`${file}: ${prefix}${key}`, problem);
  };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail('', 'must be an object');
  const config = raw as Record<string, unknown>;
  for (const key of Object.keys(config)) if (!KEYS.includes(key)) fail(key, `unknown key (known: ${KEYS.join(', ')})`);
  const values: ConfigValues = {};
  const str = (key: string, v: unknown) => (typeof v === 'string' && v.trim() !== '' ? v : fail(key, 'must be a non-empty string'));
  const int = (key: string, v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(key, `must be a whole number from ${min} to ${max}`);
  const strings = (key: string, v: unknown) =>
    Array.isArray(v) ? v.map((item, i) => str(`${key}[${i}]`, item)) : fail(key, 'must be an array of strings');

  /** A target's expect, expectUpstream, probe and request, as its flags say them. */
  const targetOptions = (name: string, key: string, target: { expect?: unknown; expectUpstream?: unknown; probe?: unknown; request?: unknown }) => {
    if (target.request !== undefined) (values.targetRequests ??= {})[name] = parseRequest(target.request, `${key}.request`, fail);
    if (target.expect !== undefined) {
      if (target.expect !== 'leak' && target.expect !== 'clean') fail(`${key}.expect`, 'must be "leak" or "clean"');
      (values.expect ??= []).push(`${name}=${target.expect}`);
    }
    if (target.expectUpstream !== undefined) {
      if (target.expectUpstream !== 'cancelled' && target.expectUpstream !== 'not-cancelled') fail(`${key}.expectUpstream`, 'must be "cancelled" or "not-cancelled"');
      (values.expectUpstream ??= []).push(`${name}=${target.expectUpstream}`);
    }
    if (target.probe !== undefined) {
      if (typeof target.probe !== 'string' || !isProbeChoice(target.probe)) fail(`${key}.probe`, 'must be "node", "python", "go", "proc" or "auto"');
      (values.probe ??= []).push(`${name}=${target.probe}`);
    }
  };
  if (config.targets !== undefined) {
    const targets = config.targets;
    if (!targets || typeof targets !== 'object' || Array.isArray(targets)) fail('targets', 'must map names to commands');
    values.target = [];
    values.expect ??= [];
    values.expectUpstream ??= [];
    values.probe ??= [];
    for (const [name, entry] of Object.entries(targets as Record<string, unknown>)) {
      const key = `targets.${name}`;
      if (!TARGET_NAME.test(name)) fail(key, "a target's name is 1–40 letters, digits, '.', '_' or '-'");
      const target: TargetEntry =
        typeof entry === 'string' ? { command: entry } : entry && typeof entry === 'object' ? (entry as TargetEntry) : fail(key, 'must be a command or { "command": … }');
      for (const field of Object.keys(target)) if (!TARGET_KEYS.includes(field)) fail(`${key}.${field}`, `unknown key (known: ${TARGET_KEYS.join(', ')})`);
      values.target.push(`${name}=${str(`${key}.command`, target.command)}`);
      targetOptions(name, key, target);
    }
  }
  if (config.attach !== undefined) {
    const attach = config.attach;
    if (!attach || typeof attach !== 'object' || Array.isArray(attach)) fail('attach', 'must map names to URLs');
    values.attach = [];
    values.expect ??= [];
    values.expectUpstream ??= [];
    values.probe ??= [];
    for (const [name, entry] of Object.entries(attach as Record<string, unknown>)) {
      const key = `attach.${name}`;
      if (!TARGET_NAME.test(name)) fail(key, "a target's name is 1–40 letters, digits, '.', '_' or '-'");
      if ((config.targets as Record<string, unknown> | undefined)?.[name] !== undefined) fail(key, `targets.${name} has that name already`);
      const target: AttachEntry =
        typeof entry === 'string' ? { url: entry } : entry && typeof entry === 'object' ? (entry as AttachEntry) : fail(key, 'must be a URL or { "url": … }');
      for (const field of Object.keys(target)) if (!ATTACH_KEYS.includes(field)) fail(`${key}.${field}`, `unknown key (known: ${ATTACH_KEYS.join(', ')})`);
      const url = str(`${key}.url`, target.url);
      const origin = loopbackOrigin(url);
      if ('problem' in origin) fail(`${key}.url`, origin.problem);
      values.attach.push(`${name}=${url}`);
      if (target.pid !== undefined) {
        const pid = Number.isInteger(target.pid) ? pidOf(String(target.pid)) : { problem: 'must be a process id (a whole number)' };
        if (typeof pid !== 'number') fail(`${key}.pid`, pid.problem);
        (values.pid ??= []).push(`${name}=${target.pid}`);
      }
      if (target.upstream !== undefined) {
        const upstream = loopbackOrigin(str(`${key}.upstream`, target.upstream));
        if ('problem' in upstream) fail(`${key}.upstream`, upstream.problem);
        (values.upstream ??= []).push(`${name}=${target.upstream}`);
      }
      targetOptions(name, key, target);
    }
  }
  if (config.builtin !== undefined) {
    values.builtin = strings('builtin', config.builtin);
    values.builtin.forEach((kind, i) => ['node', 'go', 'python'].includes(kind) || fail(`builtin[${i}]`, 'must be "node", "go" or "python"'));
  }
  if (config.selfCheck !== undefined) values.selfCheck = typeof config.selfCheck === 'boolean' ? config.selfCheck : fail('selfCheck', 'must be true or false');
  if (config.parallel !== undefined) values.parallel = typeof config.parallel === 'boolean' ? config.parallel : fail('parallel', 'must be true or false');
  // The top-level "path" of older files is the shared request's path.
  if (config.request !== undefined) values.request = parseRequest(config.request, 'request', fail);
  if (config.path !== undefined) {
    if (values.request?.path !== undefined) fail('path', 'give the path once: "path" or "request.path"');
    const path = str('path', config.path);
    const problem = pathProblem(path);
    if (problem) fail('path', problem);
    values.request = { ...values.request, path };
  }
  if (config.scenarios !== undefined) values.scenario = strings('scenarios', config.scenarios);
  if (config.seed !== undefined) values.seed = int('seed', config.seed, 0, 2 ** 31 - 1);
  if (config.junit !== undefined) values.junit = str('junit', config.junit);
  if (config.out !== undefined) values.out = str('out', config.out);
  if (config.open !== undefined) values.open = typeof config.open === 'boolean' ? config.open : fail('open', 'must be true or false');
  if (config.startTimeoutMs !== undefined) values.startTimeout = int('startTimeoutMs', config.startTimeoutMs, 100, 600_000);
  if (config.upstream !== undefined) {
    const upstream = config.upstream as Record<string, unknown>;
    if (!upstream || typeof upstream !== 'object' || Array.isArray(upstream)) fail('upstream', 'must be an object with tokens and/or intervalMs');
    for (const key of Object.keys(upstream)) if (key !== 'tokens' && key !== 'intervalMs') fail(`upstream.${key}`, 'unknown key (known: tokens, intervalMs)');
    if (upstream.tokens !== undefined) values.upstreamTokens = int('upstream.tokens', upstream.tokens, 1, 100_000);
    if (upstream.intervalMs !== undefined) values.upstreamIntervalMs = int('upstream.intervalMs', upstream.intervalMs, 0, 60_000);
  }
  if (config.budgets !== undefined) {
    const budgets = config.budgets as Record<string, unknown>;
    if (!budgets || typeof budgets !== 'object' || Array.isArray(budgets)) fail('budgets', 'must be an object');
    for (const [key, v] of Object.entries(budgets)) {
      if (key !== 'maxBytesPerDisconnect' && key !== 'maxHandlesPerDisconnect') fail(`budgets.${key}`, 'unknown key (known: maxBytesPerDisconnect, maxHandlesPerDisconnect)');
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`budgets.${key}`, 'must be a number >= 0');
      values[key as 'maxBytesPerDisconnect'] = v as number;
    }
  }
  return values;
}

/** A "request" object: method, path, headers, body (text, or any JSON value sent as its JSON), framing. */
function parseRequest(raw: unknown, key: string, fail: (key: string, problem: string) => never): RequestOptions {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) fail(key, `must be an object with any of ${REQUEST_KEYS.join(', ')}`);
  const entry = raw as Record<string, unknown>;
  for (const field of Object.keys(entry)) if (!REQUEST_KEYS.includes(field)) fail(`${key}.${field}`, `unknown key (known: ${REQUEST_KEYS.join(', ')})`);
  const request: RequestOptions = {};
  if (entry.method !== undefined) {
    const method = typeof entry.method === 'string' ? methodOf(entry.method) : { problem: 'must be a string such as "POST"' };
    if ('problem' in method) fail(`${key}.method`, method.problem);
    else request.method = method.method;
  }
  if (entry.path !== undefined) {
    const problem = typeof entry.path === 'string' ? pathProblem(entry.path) : 'must be a string';
    if (problem) fail(`${key}.path`, problem);
    request.path = entry.path as string;
  }
  if (entry.headers !== undefined) {
    const headers = entry.headers;
    if (!headers || typeof headers !== 'object' || Array.isArray(headers)) fail(`${key}.headers`, 'must map header names to string values');
    request.headers = {};
    for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
      // The value is never quoted back: it may be a token.
      const problem = typeof value === 'string' ? headerProblem(name, value) : 'must be a string (use "${NAME}" to read it from the environment)';
      if (problem) fail(`${key}.headers.${name}`, problem);
      request.headers[name.toLowerCase()] = value as string;
    }
  }
  if (entry.body === null) fail(`${key}.body`, 'leave it out for no body');
  if (entry.body !== undefined) request.body = bodyText(entry.body);
  if (entry.framing !== undefined) {
    const problem = framingProblem(entry.framing);
    if (problem) fail(`${key}.framing`, problem);
    request.framing = entry.framing as RequestOptions['framing'];
  }
  return request;
}
