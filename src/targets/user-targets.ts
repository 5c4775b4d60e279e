/**
 * From command-line flags to the list of targets a run measures: `--target NAME=COMMAND`, `--expect`,
 * `--probe`, `--path`, `--builtin`, `--self-check`, `--node`, `--python`. Pure but for `--node` and
 * `--python` (their environment variables, and a look for the file); every mistake is a UsageError
 * naming the flag.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../core/errors.js';
import { isProbeChoice } from '../probe/probe.js';
import { builtinGoTarget, builtinPythonTarget, builtinTarget, DEFAULT_PYTHON, DEFAULT_STREAM_PATH, type Expectation, type ProbeKind, type TargetSpec } from './target.js';

export interface TargetFlags {
  target?: string[];
  expect?: string[];
  probe?: string[];
  path?: string;
  builtin?: string[];
  selfCheck?: boolean;
  /**
   * The Node binary targets run on: the reference servers' command, and first on PATH for user targets
   * (so their `node server.js` finds it). Default: STREAMER_LEAKCHECK_NODE, else the harness's own.
   */
  node?: string;
  /** The interpreter of the Python reference pair. Default: STREAMER_LEAKCHECK_PYTHON, else python3. */
  python?: string;
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
export function validatePathTemplate(path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
    throw new UsageError(`--path ${JSON.stringify(path)}: give a path such as /chat/stream/{id}, not a URL: load only goes to the target on 127.0.0.1`);
  }
  if (!path.startsWith('/')) throw new UsageError(`--path ${JSON.stringify(path)}: must start with /`);
  if (/\s/.test(path)) throw new UsageError(`--path ${JSON.stringify(path)}: must not contain spaces`);
  if (path.length > MAX_PATH_LENGTH) throw new UsageError(`--path: longer than ${MAX_PATH_LENGTH} characters`);
  return path;
}

/** Does this command line ask for the Go reference pair (which must be built first)? */
export function wantsGoPair(flags: TargetFlags): boolean {
  return (flags.builtin ?? []).includes('go');
}

/** `goBinary`: the built Go reference streamer, required when wantsGoPair(flags). */
export function buildTargets(flags: TargetFlags, goBinary?: string, env: NodeJS.ProcessEnv = process.env): TargetSpec[] {
  const routePath = flags.path === undefined ? DEFAULT_STREAM_PATH : validatePathTemplate(flags.path);
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
  if (flags.selfCheck) add({ ...builtinTarget('old', node), name: 'self-check' });
  // No targets and no --builtin: the Node pair, the default run. Otherwise exactly what was asked for.
  if (builtins.has('node') || (userTargets.length === 0 && builtins.size === 0)) {
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
  for (const value of userTargets) {
    const [name, command] = splitPair('--target', value);
    if (!command.trim()) throw new UsageError(`--target ${name}=: the command is empty`);
    add({
      name,
      origin: 'user',
      expect: 'clean',
      probe: 'auto',
      command,
      args: [],
      shell: true,
      pathTemplate: routePath,
      workersGauge: false,
      ...(userEnv ? { env: userEnv } : {}),
    });
  }

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
