/**
 * From command-line flags to the list of targets a run measures: `--target NAME=COMMAND`, `--attach
 * NAME=URL` (with `--pid`, `--upstream`), `--expect`, `--probe`, `--builtin`, `--self-check`, `--node`, `--python`, and the request user targets are sent
 * (`--method`, `--path`, `--header`, `--body`, `--framing`, `--curl`, a config file's `request`). Pure but
 * for reading the environment and looking for the `--node`/`--python` files; every mistake is a
 * UsageError naming the flag.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { METHODS } from 'node:http';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { isProbeChoice } from '../probe/probe.js';
import { parseCurl } from '../load/curl.js';
import { FRAMINGS, type FramingChoice } from '../load/framing/index.js';
import { envReferences, parseJsonTemplate, type StreamRequest } from '../load/request.js';
import { loopbackOrigin, pidOf } from './attach-spec.js';
import { builtinGoTarget, builtinPythonTarget, builtinTarget, DEFAULT_PYTHON, DEFAULT_STREAM_PATH, type Expectation, type ProbeKind, type TargetSpec } from './target.js';

/** A request as a config file or leakcheck() gives it: each field given replaces the one below it. */
export interface RequestOptions {
  method?: string;
  /** Stream route; `{id}` becomes a unique id per request. */
  path?: string;
  /** Merged by name (case-insensitive) over the headers below; `{id}` and `${NAME}` replaced in values. */
  headers?: Record<string, string>;
  /** Text as is; any other JSON value is sent as its JSON. `{id}` and `${NAME}` replaced. */
  body?: unknown;
  framing?: FramingChoice;
}

export interface TargetFlags {
  target?: string[];
  expect?: string[];
  /** 'NAME=cancelled|not-cancelled': whether a client's leaving must cancel the target's upstream call. */
  expectUpstream?: string[];
  probe?: string[];
  path?: string;
  builtin?: string[];
  selfCheck?: boolean;
  method?: string;
  /** 'Name: value', repeatable. */
  header?: string[];
  /** The body's text (the CLI has read `--body @file` by now). */
  body?: string;
  framing?: string;
  /** A curl command line, as copied from a browser's devtools. */
  curl?: string;
  /** Every user target's request (a config file's "request", leakcheck's `request`), under the flags. */
  request?: RequestOptions;
  /** One user target's request by name, over `request` and under the flags. */
  targetRequests?: Record<string, RequestOptions>;
  /**
   * The Node binary targets run on: the reference servers' command, and first on PATH for user targets
   * (so their `node server.js` finds it). Default: STREAMER_LEAKCHECK_NODE, else the harness's own.
   */
  node?: string;
  /** The interpreter of the Python reference pair. Default: STREAMER_LEAKCHECK_PYTHON, else python3. */
  python?: string;
  /** 'NAME=URL': a server that runs already, on loopback. */
  attach?: string[];
  /** 'NAME=PID': the process of an attached server (default: the owner of its port's listening socket). */
  pid?: string[];
  /** 'NAME=URL': the mock upstream (`streamer-leakcheck upstream`) an attached server was pointed at. */
  upstream?: string[];
}

export interface BuildContext {
  /** Where `${NAME}` is looked up; process.env by default. */
  env?: NodeJS.ProcessEnv;
  /** Told what --curl took and what it left out, in one line. */
  note?: (line: string) => void;
}

/** Environment variables that stand in for `--node` and `--python`. */
export const NODE_ENV = 'STREAMER_LEAKCHECK_NODE';
export const PYTHON_ENV = 'STREAMER_LEAKCHECK_PYTHON';

/** A target's name: what reports, file names and `NAME=VALUE` flags can carry. */
export const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;
const MAX_PATH_LENGTH = 2048;

function splitPair(flag: string, value: string): [string, string] {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} ${JSON.stringify(value)}: expected NAME=VALUE`);
  const name = value.slice(0, eq).trim();
  if (!TARGET_NAME.test(name)) {
    throw new UsageError(`${flag} ${JSON.stringify(value)}: the name must be 1–40 letters, digits, '.', '_' or '-'`);
  }
  return [name, value.slice(eq + 1)];
}

/**
 * The stream route: an absolute path on the target, `{id}` replaced per request. A full URL is refused:
 * load goes to the target this run started on 127.0.0.1 and nowhere else.
 */
export function validatePathTemplate(path: string, where = '--path'): string {
  const problem = pathProblem(path);
  if (problem) throw new UsageError(`${where} ${JSON.stringify(path.slice(0, 80))}: ${problem}`);
  return path;
}

export function pathProblem(path: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
    return 'give a path such as /chat/stream/{id}, not a URL: load only goes to the target on 127.0.0.1';
  }
  if (!path.startsWith('/')) return 'must start with /';
  if (/\s/.test(path)) return 'must not contain spaces';
  if (path.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  return null;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Each client opens, uses and leaves its own connection, and frames its own body. */
const CLIENT_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

/** What is wrong with sending this header, or null. */
export function headerProblem(name: string, value: string): string | null {
  if (!HEADER_NAME.test(name)) return 'not a header name';
  if (/[\r\n\0]/.test(value)) return 'the value must be one line';
  const lower = name.toLowerCase();
  if (lower === 'content-length') return 'it is set from the body; leave it out';
  if (CLIENT_HEADERS.has(lower)) return 'each client sets it itself (it opens and leaves its own connection); leave it out';
  if (lower === 'accept-encoding' && value.trim().toLowerCase() !== 'identity') {
    return 'the clients read streams uncompressed; leave it out';
  }
  return null;
}

/** An HTTP method, upper-cased, or the problem with it. */
export function methodOf(method: string): { method: string } | { problem: string } {
  const upper = method.trim().toUpperCase();
  if (!METHODS.includes(upper)) return { problem: 'not an HTTP method (GET, POST, PUT, PATCH, DELETE, …)' };
  if (upper === 'HEAD' || upper === 'CONNECT') return { problem: `a ${upper} response has no body to stream` };
  return { method: upper };
}

export function framingProblem(framing: unknown): string | null {
  return framing === 'auto' || FRAMINGS.includes(framing as never) ? null : `choose ${FRAMINGS.join(', ')} (or auto)`;
}

/** A body as given: text as is, any other JSON value as its JSON. */
export function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : JSON.stringify(body);
}

/** --header 'Name: value'. */
function parseHeaderFlag(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`--header ${JSON.stringify(text.slice(0, 40))}: expected 'Name: value'`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  const problem = headerProblem(name, value);
  // The value is never quoted back: it may be a token.
  if (problem) throw new UsageError(`--header '${name.slice(0, 40)}: …': ${problem}`);
  return [name.toLowerCase(), value];
}

/** Checks a RequestOptions from a config file or leakcheck(); `where` names it in errors. */
function checkOptions(options: RequestOptions, where: string): RequestOptions {
  if (!options || typeof options !== 'object' || Array.isArray(options)) throw new UsageError(`${where}: must be an object`);
  const known = ['method', 'path', 'headers', 'body', 'framing'];
  for (const key of Object.keys(options)) if (!known.includes(key)) throw new UsageError(`${where}.${key}: unknown key (known: ${known.join(', ')})`);
  const checked: RequestOptions = {};
  if (options.method !== undefined) {
    const method = typeof options.method === 'string' ? methodOf(options.method) : { problem: 'must be a string' };
    if ('problem' in method) throw new UsageError(`${where}.method: ${method.problem}`);
    checked.method = method.method;
  }
  if (options.path !== undefined) {
    const problem = typeof options.path === 'string' ? pathProblem(options.path) : 'must be a string';
    if (problem) throw new UsageError(`${where}.path: ${problem}`);
    checked.path = options.path;
  }
  if (options.headers !== undefined) {
    if (!options.headers || typeof options.headers !== 'object' || Array.isArray(options.headers)) {
      throw new UsageError(`${where}.headers: must map header names to values`);
    }
    checked.headers = {};
    for (const [name, value] of Object.entries(options.headers)) {
      const problem = typeof value === 'string' ? headerProblem(name, value) : 'must be a string';
      if (problem) throw new UsageError(`${where}.headers.${name}: ${problem}`);
      checked.headers[name.toLowerCase()] = value;
    }
  }
  if (options.body !== undefined) checked.body = bodyText(options.body);
  if (options.framing !== undefined) {
    const problem = framingProblem(options.framing);
    if (problem) throw new UsageError(`${where}.framing: ${problem}`);
    checked.framing = options.framing;
  }
  return checked;
}

/** The request layer of the command-line flags (over every other). */
function flagLayer(flags: TargetFlags): RequestOptions {
  const layer: RequestOptions = {};
  if (flags.method !== undefined) {
    const method = methodOf(flags.method);
    if ('problem' in method) throw new UsageError(`--method ${JSON.stringify(flags.method.slice(0, 20))}: ${method.problem}`);
    layer.method = method.method;
  }
  if (flags.path !== undefined) layer.path = validatePathTemplate(flags.path);
  if (flags.header !== undefined && flags.header.length > 0) layer.headers = Object.fromEntries(flags.header.map(parseHeaderFlag));
  if (flags.body !== undefined) layer.body = flags.body;
  if (flags.framing !== undefined) {
    const problem = framingProblem(flags.framing);
    if (problem) throw new UsageError(`--framing ${JSON.stringify(flags.framing.slice(0, 20))}: ${problem}`);
    layer.framing = flags.framing as FramingChoice;
  }
  return layer;
}

/** The request layer of --curl, and the one line that says what it took. */
function curlLayer(command: string): { layer: RequestOptions; note: string } {
  const curl = parseCurl(command);
  const layer: RequestOptions = { path: validatePathTemplate(curl.path, '--curl: the URL path') };
  if (curl.method !== null) {
    const method = methodOf(curl.method);
    if ('problem' in method) throw new UsageError(`--curl: -X ${curl.method.slice(0, 20)}: ${method.problem}`);
    layer.method = method.method;
  }
  if (curl.headers.length > 0) {
    layer.headers = {};
    for (const [name, value] of curl.headers) {
      const problem = headerProblem(name, value);
      if (problem) throw new UsageError(`--curl: -H '${name.slice(0, 40)}: …': ${problem}`);
      layer.headers[name.toLowerCase()] = value;
    }
  }
  if (curl.body !== null) layer.body = curl.body;
  const method = layer.method ?? (curl.body !== null ? 'POST' : 'GET');
  const body = curl.body === null ? '' : `, a ${Buffer.byteLength(curl.body)}-byte body`;
  const note =
    `--curl: ${method} ${curl.path} (${curl.headers.length} headers${body}) goes to each user target on 127.0.0.1, not to ${curl.host}` +
    curl.notes.map((text) => `; ${text}`).join('');
  return { layer, note };
}

/** The request of one user target: the layers in order, each field over the ones before, then the defaults. */
function resolveRequest(layers: RequestOptions[]): StreamRequest {
  const headers: Record<string, string> = {};
  let method: string | undefined;
  let path: string | undefined;
  let body: string | undefined;
  let framing: FramingChoice | undefined;
  for (const layer of layers) {
    method = layer.method ?? method;
    path = layer.path ?? path;
    body = layer.body === undefined ? body : bodyText(layer.body);
    framing = layer.framing ?? framing;
    for (const [name, value] of Object.entries(layer.headers ?? {})) headers[name.toLowerCase()] = value;
  }
  framing ??= 'auto';
  // What a client asks for unless told: the framing it reads.
  headers.accept ??= framing === 'ndjson' ? 'application/x-ndjson' : framing === 'chunks' ? '*/*' : 'text/event-stream';
  if (body !== undefined && headers['content-type'] === undefined && parseJsonTemplate(body) !== undefined) {
    headers['content-type'] = 'application/json';
  }
  return {
    // A body without a method is a POST, as with curl -d.
    method: method ?? (body !== undefined ? 'POST' : 'GET'),
    pathTemplate: path ?? DEFAULT_STREAM_PATH,
    headers,
    body: body ?? null,
    framing,
  };
}

/** Every `${NAME}` of the request must be set now, so that a missing token stops the run before any target starts. */
function checkEnvironment(request: StreamRequest, target: string, env: NodeJS.ProcessEnv): void {
  const uses: Array<[string, string]> = Object.entries(request.headers).map(([name, value]) => [value, `the ${name} header`]);
  if (request.body !== null) uses.push([request.body, 'the body']);
  for (const [text, where] of uses) {
    for (const name of envReferences(text)) {
      const value = env[name];
      if (value === undefined) throw new UsageError(`\${${name}} is not set in the environment (used in ${where} of target ${target})`);
      if (where !== 'the body' && /[\r\n\0]/.test(value)) {
        throw new UsageError(`\${${name}} holds a line break (used in ${where} of target ${target}): a header value is one line`);
      }
    }
  }
}

const REQUEST_FLAGS = ['method', 'header', 'body', 'framing', 'curl'] as const;

/** Does this command line ask for the Go reference pair (which must be built first)? */
export function wantsGoPair(flags: TargetFlags): boolean {
  return (flags.builtin ?? []).includes('go');
}

/** `goBinary`: the built Go reference streamer, required when wantsGoPair(flags). */
export function buildTargets(flags: TargetFlags, goBinary?: string, context: BuildContext = {}): TargetSpec[] {
  const env = context.env ?? process.env;
  const flagRequest = flagLayer(flags);
  const curl = flags.curl === undefined ? null : curlLayer(flags.curl);
  const shared = flags.request === undefined ? {} : checkOptions(flags.request, 'request');
  const node = binary('--node', flags.node ?? (env[NODE_ENV] || undefined), env.PATH ?? '');
  const python = binary('--python', flags.python ?? (env[PYTHON_ENV] || undefined), env.PATH ?? '') ?? DEFAULT_PYTHON;
  // A user target's own `node …` runs on the chosen Node: its folder goes first on PATH.
  const userEnv = node ? { PATH: `${path.dirname(node)}${path.delimiter}${env.PATH ?? ''}` } : undefined;
  const targets: TargetSpec[] = [];
  const add = (spec: TargetSpec) => {
    if (targets.some((t) => t.name === spec.name)) {
      throw new UsageError(`--target ${spec.name}: two targets have that name (old and new are the built-in pair)`);
    }
    targets.push(spec);
  };

  const builtins = new Set<string>();
  for (const value of flags.builtin ?? []) {
    if (value !== 'node' && value !== 'go' && value !== 'python') throw new UsageError(`--builtin ${JSON.stringify(value)}: choose node, go or python`);
    builtins.add(value);
  }
  const userTargets = flags.target ?? [];
  const attachTargets = flags.attach ?? [];
  if (flags.selfCheck) add({ ...builtinTarget('old', node), name: 'self-check' });
  // No targets and no --builtin: the Node pair, the default run. Otherwise exactly what was asked for.
  if (builtins.has('node') || (userTargets.length === 0 && attachTargets.length === 0 && builtins.size === 0)) {
    add(builtinTarget('old', node));
    add(builtinTarget('new', node));
  }
  if (builtins.has('go')) {
    if (!goBinary) throw new Error('buildTargets: --builtin go needs the built Go binary');
    add(builtinGoTarget('old', goBinary));
    add(builtinGoTarget('new', goBinary));
  }
  if (builtins.has('python')) {
    add(builtinPythonTarget('old', python));
    add(builtinPythonTarget('new', python));
  }
  const userNames = new Set<string>();
  /** The request of a user or attached target: the shared layer, its own, --curl's, the flags'. */
  const requestOf = (name: string, where: string) => {
    const own = flags.targetRequests?.[name];
    const request = resolveRequest([shared, own === undefined ? {} : checkOptions(own, `${where}.${name}.request`), curl?.layer ?? {}, flagRequest]);
    checkEnvironment(request, name, env);
    return request;
  };
  for (const value of userTargets) {
    const [name, command] = splitPair('--target', value);
    if (!command.trim()) throw new UsageError(`--target ${name}=: the command is empty`);
    userNames.add(name);
    const request = requestOf(name, 'targets');
    add({
      name,
      origin: 'user',
      expect: 'clean',
      probe: 'auto',
      command,
      args: [],
      shell: true,
      request,
      workersGauge: false,
      ...(userEnv ? { env: userEnv } : {}),
    });
  }
  for (const value of attachTargets) {
    const [name, url] = splitPair('--attach', value);
    const origin = loopbackOrigin(url.trim());
    if ('problem' in origin) throw new UsageError(`--attach ${name}=${url.slice(0, 80)}: ${origin.problem}`);
    const same = targets.find((t) => t.attach?.url === origin.origin);
    if (same) throw new UsageError(`--attach ${name}=${url}: ${same.name} attaches to ${origin.origin} already`);
    userNames.add(name);
    add({
      name,
      origin: 'attached',
      expect: 'clean',
      probe: 'auto',
      command: '',
      args: [],
      shell: false,
      request: requestOf(name, 'attach'),
      workersGauge: false,
      attach: { url: origin.origin, port: origin.port, pid: null, upstream: null },
    });
  }
  const attachedNamed = (flag: string, name: string, value: string) => {
    const target = targets.find((t) => t.name === name);
    if (!target?.attach) throw new UsageError(`${flag} ${name}=${value}: no attached target named ${name} (${flag} goes with --attach ${name}=URL)`);
    return target.attach;
  };
  for (const value of flags.pid ?? []) {
    const [name, text] = splitPair('--pid', value);
    const pid = pidOf(text);
    if (typeof pid !== 'number') throw new UsageError(`--pid ${name}=${text.slice(0, 20)}: ${pid.problem}`);
    attachedNamed('--pid', name, text).pid = pid;
  }
  for (const value of flags.upstream ?? []) {
    const [name, url] = splitPair('--upstream', value);
    const origin = loopbackOrigin(url.trim());
    if ('problem' in origin) throw new UsageError(`--upstream ${name}=${url.slice(0, 80)}: ${origin.problem}`);
    attachedNamed('--upstream', name, url).upstream = origin.origin;
  }
  // A request option with no target to send it to would be silently dropped: say so instead.
  if (userNames.size === 0) {
    const given = [...REQUEST_FLAGS.filter((flag) => flags[flag] !== undefined && flags[flag]?.length !== 0), ...(flags.path !== undefined ? ['path'] : [])];
    if (given.length > 0) throw new UsageError(`--${given[0]} sets the request of user targets (--target NAME=COMMAND, --attach NAME=URL); the built-in servers take their own GET`);
    if (flags.request !== undefined) throw new UsageError('request: sets the request of user targets (targets); the built-in servers take their own GET');
  }
  for (const name of Object.keys(flags.targetRequests ?? {})) {
    if (!userNames.has(name)) throw new UsageError(`targets.${name}.request: no user or attached target named ${name}`);
  }
  if (curl) context.note?.(curl.note);

  const known = () => targets.map((t) => t.name).join(', ');
  for (const value of flags.expect ?? []) {
    const [name, expectation] = splitPair('--expect', value);
    if (expectation !== 'leak' && expectation !== 'clean') {
      throw new UsageError(`--expect ${name}=${expectation}: expected leak or clean`);
    }
    const target = targets.find((t) => t.name === name);
    if (!target) throw new UsageError(`--expect ${name}=${expectation}: no target named ${name} (targets: ${known()})`);
    target.expect = expectation as Expectation;
  }
  for (const value of flags.expectUpstream ?? []) {
    const [name, cancellation] = splitPair('--expect-upstream', value);
    if (cancellation !== 'cancelled' && cancellation !== 'not-cancelled') {
      throw new UsageError(`--expect-upstream ${name}=${cancellation}: expected cancelled or not-cancelled`);
    }
    const target = targets.find((t) => t.name === name);
    if (!target) throw new UsageError(`--expect-upstream ${name}=${cancellation}: no target named ${name} (targets: ${known()})`);
    if (target.attach && target.attach.upstream === null) {
      throw new UsageError(`--expect-upstream ${name}=${cancellation}: ${name} is attached without --upstream ${name}=URL, so there are no upstream counters to read`);
    }
    target.expectUpstream = cancellation;
  }
  for (const value of flags.probe ?? []) {
    const [name, probe] = splitPair('--probe', value);
    if (!isProbeChoice(probe)) throw new UsageError(`--probe ${name}=${probe}: expected node, python, go, proc or auto`);
    const target = targets.find((t) => t.name === name);
    if (!target) throw new UsageError(`--probe ${name}=${probe}: no target named ${name} (targets: ${known()})`);
    target.probe = probe as ProbeKind;
  }
  return targets;
}

/**
 * A binary named by a flag or its environment variable, as an absolute path: a path is resolved, a
 * command name looked up on PATH. A missing one is the user's mistake, said before anything starts.
 */
function binary(flag: string, value: string | undefined, searchPath: string): string | undefined {
  if (value === undefined) return undefined;
  if (value.trim() === '' || /[\0\n]/.test(value)) throw new UsageError(`${flag} ${JSON.stringify(value)}: give the path of an executable`);
  const candidates = value.includes('/') ? [path.resolve(value)] : searchPath.split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, value));
  const found = candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
  if (!found) throw new UsageError(`${flag} ${JSON.stringify(value)}: ${value.includes('/') ? 'no executable file there' : 'not found on PATH'}`);
  return found;
}
