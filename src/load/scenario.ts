/**
 * Scenario files: which clients to send at a target, how many, how fast, and how each one leaves.
 * A scenario is data (JSON in `scenarios/`), validated here by hand and strictly: an unknown field,
 * a wrong type or an absurd value is a one-line `ScenarioError` naming the file and the field,
 * because a typo that silently falls back to a default would measure something else.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

import { ScenarioError } from '../core/errors.js';
import { SHIPPED_SCENARIOS_DIR } from '../core/paths.js';

/** How one client behaves; `kind` is the `behaviour` string of the scenario file. */
export type Behaviour =
  /** Sends the request and hangs up before any response byte arrives. */
  | { readonly kind: 'leave-before-first-byte' }
  /** Reads `events` events, then hangs up (a clean close). */
  | { readonly kind: 'leave-after-events'; readonly events: number }
  /** Hangs up `ms` after the response headers arrived, whatever it has read by then. */
  | { readonly kind: 'leave-after-ms'; readonly ms: number }
  /** Reads `afterEvents` events, stops reading for `stallMs` (the socket stays open, backpressure builds), then hangs up. */
  | { readonly kind: 'stall-then-leave'; readonly afterEvents: number; readonly stallMs: number }
  /** Reads `events` events, then resets the TCP connection (RST instead of FIN). */
  | { readonly kind: 'reset-after-events'; readonly events: number }
  /** Reads the whole stream, until the server ends the response. */
  | { readonly kind: 'complete' };

export type BehaviourKind = Behaviour['kind'];

export interface MixEntry {
  readonly behaviour: Behaviour;
  /** Relative weight; weights need not sum to anything. */
  readonly weight: number;
}

export interface Scenario {
  /** `[a-z0-9-]+`, unique within a run. */
  readonly name: string;
  readonly description: string;
  /** Absolute path of the file it came from. */
  readonly file: string;
  /** Disconnects before the baseline sample (the warm-up is dropped from the verdict). */
  readonly warmupClients: number;
  /** Measured cycles after the baseline. */
  readonly cycles: number;
  /** Clients per cycle. */
  readonly clients: number;
  /** At most this many clients in flight. */
  readonly concurrency: number;
  /** New clients per second; 0 = as fast as `concurrency` allows. */
  readonly arrivalRate: number;
  /** A control arm (streams complete): every target is expected clean on it. */
  readonly control: boolean;
  readonly mix: readonly MixEntry[];
  /** Full-length autocannon streams beside the disconnects, or null for none. */
  readonly steadyLoad: { readonly connections: number } | null;
}

/** Every behaviour kind, in the order the docs list them. */
export const BEHAVIOUR_KINDS: readonly BehaviourKind[] = [
  'leave-before-first-byte',
  'leave-after-events',
  'leave-after-ms',
  'stall-then-leave',
  'reset-after-events',
  'complete',
];

/** Bounds of scenario fields. They reject typos and runs no machine finishes, not unusual-but-sane choices. */
export const LIMITS = {
  /** A name is a file-name-like slug; 64 keeps report tables readable. */
  nameLength: 64,
  descriptionLength: 300,
  /** 1e6 warm-up disconnects is ~5 min at the ~3k/s one client process drives. */
  warmupClients: { min: 0, max: 1_000_000 },
  /** The verdict needs at least two measured points after the baseline; 50 cycles is hours of sampling. */
  cycles: { min: 2, max: 50 },
  clients: { min: 1, max: 100_000 },
  /** Each in-flight client holds a socket; 2000 stays clear of a default 4096-file ulimit on both ends. */
  concurrency: { min: 1, max: 2000 },
  arrivalRate: { min: 0, max: 100_000 },
  events: { min: 1, max: 100_000 },
  /** Ten minutes: past that a "stall" is a hung client, not a behaviour. */
  ms: { min: 0, max: 600_000 },
  weight: { min: 0, max: 1_000_000 },
  mixEntries: 32,
  steadyConnections: { min: 1, max: 1000 },
} as const;

const NAME_PATTERN = /^[a-z0-9-]+$/;

export const TOP_LEVEL_FIELDS = [
  '$schema',
  'name',
  'description',
  'warmupClients',
  'cycles',
  'clients',
  'concurrency',
  'arrivalRate',
  'control',
  'mix',
  'steadyLoad',
] as const;

/** The parameters each behaviour takes in a mix entry (besides `behaviour` and `weight`). */
export const BEHAVIOUR_PARAMS: Record<BehaviourKind, readonly string[]> = {
  'leave-before-first-byte': [],
  'leave-after-events': ['events'],
  'leave-after-ms': ['ms'],
  'stall-then-leave': ['afterEvents', 'stallMs'],
  'reset-after-events': ['events'],
  complete: [],
};

/** Parses and validates one scenario file's text. `file` names it in errors; `Scenario.file` is its absolute path. */
export function parseScenario(text: string, file: string): Scenario {
  const shown = displayPath(file);
  const json = parseJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, shown);
  const v = new Validator(shown);

  const root = v.object(json, '');
  v.noUnknownFields(root, '', TOP_LEVEL_FIELDS);

  const name = v.string(root, 'name', { required: true, maxLength: LIMITS.nameLength });
  if (!NAME_PATTERN.test(name)) {
    v.fail('name', `must contain only lowercase letters, digits and '-', got ${describe(name)}`);
  }
  const description = v.string(root, 'description', { required: false, maxLength: LIMITS.descriptionLength });
  if (/[\r\n]/.test(description)) v.fail('description', 'must be one line');

  const warmupClients = v.integer(root, 'warmupClients', LIMITS.warmupClients);
  const cycles = v.integer(root, 'cycles', LIMITS.cycles);
  const clients = v.integer(root, 'clients', LIMITS.clients);
  const concurrency = v.integer(root, 'concurrency', LIMITS.concurrency);
  const arrivalRate = v.number(root, 'arrivalRate', LIMITS.arrivalRate, 0);
  const control = v.boolean(root, 'control', false);
  const mix = parseMix(v, root);
  const steadyLoad = parseSteadyLoad(v, root);

  if (control) {
    const leaving = mix.findIndex((entry) => entry.behaviour.kind !== 'complete');
    if (leaving >= 0) {
      v.fail(
        `mix[${leaving}].behaviour`,
        `a control scenario (control: true) may only use "complete", got "${mix[leaving]!.behaviour.kind}"`,
      );
    }
  }

  return {
    name,
    description,
    file: path.resolve(file),
    warmupClients,
    cycles,
    clients,
    concurrency,
    arrivalRate,
    control,
    mix,
    steadyLoad,
  };
}

function parseMix(v: Validator, root: Record<string, unknown>): MixEntry[] {
  if (!('mix' in root)) v.fail('mix', 'required: a non-empty array of { "behaviour": …, "weight": … }');
  const list = root.mix;
  if (!Array.isArray(list)) v.fail('mix', `must be a non-empty array, got ${describe(list)}`);
  if (list.length === 0) v.fail('mix', 'must have at least one entry');
  if (list.length > LIMITS.mixEntries) v.fail('mix', `must have at most ${LIMITS.mixEntries} entries, got ${list.length}`);

  const mix = list.map((raw: unknown, index): MixEntry => {
    const at = `mix[${index}]`;
    const entry = v.object(raw, at);
    if (!('behaviour' in entry)) v.fail(`${at}.behaviour`, `required: one of ${BEHAVIOUR_KINDS.join(', ')}`);
    const kind = entry.behaviour;
    if (typeof kind !== 'string' || !(BEHAVIOUR_KINDS as readonly string[]).includes(kind)) {
      v.fail(`${at}.behaviour`, `must be one of ${BEHAVIOUR_KINDS.join(', ')}, got ${describe(kind)}`);
    }
    const behaviourKind = kind as BehaviourKind;
    v.noUnknownFields(entry, at, ['behaviour', 'weight', ...BEHAVIOUR_PARAMS[behaviourKind]]);
    const weight = v.number(entry, 'weight', LIMITS.weight, undefined, at);
    return { behaviour: parseBehaviour(v, entry, at, behaviourKind), weight };
  });

  if (mix.every((entry) => entry.weight === 0)) v.fail('mix', 'total weight must be greater than 0');
  return mix;
}

function parseBehaviour(v: Validator, entry: Record<string, unknown>, at: string, kind: BehaviourKind): Behaviour {
  switch (kind) {
    case 'leave-before-first-byte':
    case 'complete':
      return { kind };
    case 'leave-after-events':
    case 'reset-after-events':
      return { kind, events: v.integer(entry, 'events', LIMITS.events, at) };
    case 'leave-after-ms':
      return { kind, ms: v.integer(entry, 'ms', LIMITS.ms, at) };
    case 'stall-then-leave':
      return {
        kind,
        afterEvents: v.integer(entry, 'afterEvents', LIMITS.events, at),
        stallMs: v.integer(entry, 'stallMs', LIMITS.ms, at),
      };
  }
}

function parseSteadyLoad(v: Validator, root: Record<string, unknown>): Scenario['steadyLoad'] {
  if (root.steadyLoad === undefined || root.steadyLoad === null) return null;
  const steady = v.object(root.steadyLoad, 'steadyLoad');
  v.noUnknownFields(steady, 'steadyLoad', ['connections']);
  return { connections: v.integer(steady, 'connections', LIMITS.steadyConnections, 'steadyLoad') };
}

/** Field checks that throw one-line errors naming the file and the field path. */
class Validator {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string): never {
    throw new ScenarioError(field === '' ? this.file : `${this.file}: ${field}`, problem);
  }

  object(value: unknown, at: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(at, `must be an object, got ${describe(value)}`);
    }
    return value as Record<string, unknown>;
  }

  noUnknownFields(value: Record<string, unknown>, at: string, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const near = known.find((k) => normalise(k) === normalise(key));
      const hint = near ? `did you mean "${near}"?` : `expected one of: ${known.join(', ')}`;
      this.fail(join(at, key), `unknown field (${hint})`);
    }
  }

  string(parent: Record<string, unknown>, key: string, options: { required: boolean; maxLength: number }): string {
    const value = parent[key];
    if (value === undefined) {
      if (options.required) this.fail(key, 'required: a string');
      return '';
    }
    if (typeof value !== 'string') this.fail(key, `must be a string, got ${describe(value)}`);
    if (options.required && value === '') this.fail(key, 'must not be empty');
    if (value.length > options.maxLength) {
      this.fail(key, `must be at most ${options.maxLength} characters, got ${value.length}`);
    }
    return value;
  }

  integer(parent: Record<string, unknown>, key: string, range: { min: number; max: number }, at = ''): number {
    const field = join(at, key);
    const expected = `an integer from ${range.min} to ${range.max}`;
    const value = parent[key];
    if (value === undefined) this.fail(field, `required: ${expected}`);
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
      this.fail(field, `must be ${expected}, got ${describe(value)}`);
    }
    return value;
  }

  number(
    parent: Record<string, unknown>,
    key: string,
    range: { min: number; max: number },
    fallback: number | undefined,
    at = '',
  ): number {
    const field = join(at, key);
    const expected = `a number from ${range.min} to ${range.max}`;
    const value = parent[key];
    if (value === undefined) {
      if (fallback === undefined) this.fail(field, `required: ${expected}`);
      return fallback;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < range.min || value > range.max) {
      this.fail(field, `must be ${expected}, got ${describe(value)}`);
    }
    return value;
  }

  boolean(parent: Record<string, unknown>, key: string, fallback: boolean): boolean {
    const value = parent[key];
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(key, `must be true or false, got ${describe(value)}`);
    return value;
  }
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

function normalise(field: string): string {
  return field.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** A value as it appears in an error message: short, on one line. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value);
    return shown.length > 42 ? `${shown.slice(0, 40)}…"` : shown;
  }
  return String(value);
}

function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}

function parseJson(text: string, shown: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const reason = (error as Error).message
      .replace(/^(Unexpected token '.+?'), .* is not valid JSON$/s, '$1')
      .replace(/ in JSON at position \d+.*$/s, '')
      .replace(/^Unexpected end of JSON input$/, 'unexpected end of file');
    const offset = locateJsonError(text);
    if (offset === undefined) throw new ScenarioError(shown, `not valid JSON: ${reason}`);
    const before = text.slice(0, offset);
    const line = before.split(/\r\n|\r|\n/).length;
    const column = offset - Math.max(before.lastIndexOf('\n'), before.lastIndexOf('\r')); // 1-based
    throw new ScenarioError(shown, `not valid JSON at line ${line}, column ${column}: ${reason}`);
  }
}

/**
 * Finds the offset of the first JSON syntax error. V8's messages give a position for only some
 * errors ("Unexpected token" has none), so a small scanner finds it for all of them.
 */
function locateJsonError(text: string): number | undefined {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const space = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): void => {
    i++; // the opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) fail();
      if (c === 0x5c) {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 5;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i]!)) i++;
        else fail();
      } else i++;
    }
    fail();
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (depth: number): void => {
    if (depth > 512) fail();
    space();
    const c = text[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text[i] === close) {
        i++;
        return;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (text[i] !== '"') fail();
          string();
          space();
          if (text[i] !== ':') fail();
          i++;
        }
        value(depth + 1);
        space();
        if (text[i] === ',') i++;
        else if (text[i] === close) {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null']) {
      if (text.startsWith(literal, i)) {
        i += literal.length;
        return;
      }
    }
    NUMBER.lastIndex = i;
    if (NUMBER.test(text)) i = NUMBER.lastIndex;
    else fail();
  };
  try {
    value(0);
    space();
    if (i < text.length) fail();
    return undefined;
  } catch (offset) {
    if (typeof offset === 'number') return offset;
    return undefined;
  }
}

export async function loadScenario(file: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a scenario file' : `cannot read (${code ?? (error as Error).message})`;
    throw new ScenarioError(displayPath(file), problem);
  }
  return parseScenario(text, file);
}

/**
 * Loads several scenario files, in order. A file named twice (`mixed` and `all`) is loaded once;
 * two different files with the same scenario name are an error.
 */
export async function loadScenarios(files: readonly string[]): Promise<Scenario[]> {
  const unique = [...new Set(files.map((file) => path.resolve(file)))];
  const scenarios = await Promise.all(unique.map((file) => loadScenario(file)));
  const seen = new Map<string, Scenario>();
  for (const scenario of scenarios) {
    const first = seen.get(scenario.name);
    if (first) {
      throw new ScenarioError(
        `${displayPath(scenario.file)}: name`,
        `"${scenario.name}" is already the name of ${displayPath(first.file)}`,
      );
    }
    seen.set(scenario.name, scenario);
  }
  return scenarios;
}

/** The shipped `scenarios/` folder (see core/paths.ts for how it is found). */
export { SHIPPED_SCENARIOS_DIR };

/**
 * Turns a `--scenario` argument into scenario files: `all` → every shipped file (sorted); a shipped
 * name like `mixed` → its file; a directory → its `*.json` files (sorted); any other path → that file.
 */
export async function resolveScenarioArg(arg: string): Promise<string[]> {
  if (arg === 'all') {
    const files = await shippedScenarioFiles();
    if (files.length === 0) throw new ScenarioError(SHIPPED_SCENARIOS_DIR, 'no shipped scenario files found');
    return files;
  }
  if (NAME_PATTERN.test(arg)) {
    const shipped = path.join(SHIPPED_SCENARIOS_DIR, `${arg}.json`);
    if (existsSync(shipped)) return [shipped];
  }
  const resolved = path.resolve(arg);
  let info;
  try {
    info = await stat(resolved);
  } catch {
    const names = (await shippedScenarioFiles()).map((file) => path.basename(file, '.json'));
    throw new ScenarioError(
      arg,
      `no such scenario file, folder or shipped scenario (shipped: ${names.join(', ')}, or all)`,
    );
  }
  if (!info.isDirectory()) return [resolved];
  const files = (await readdir(resolved))
    .filter((entry) => entry.endsWith('.json'))
    .sort()
    .map((entry) => path.join(resolved, entry));
  if (files.length === 0) throw new ScenarioError(arg, 'folder holds no *.json scenario files');
  return files;
}

/** Every shipped scenario file, sorted by name. */
export async function listShippedScenarios(): Promise<string[]> {
  return shippedScenarioFiles();
}

async function shippedScenarioFiles(): Promise<string[]> {
  try {
    return (await readdir(SHIPPED_SCENARIOS_DIR))
      .filter((entry) => entry.endsWith('.json'))
      .sort()
      .map((entry) => path.join(SHIPPED_SCENARIOS_DIR, entry));
  } catch {
    return [];
  }
}
