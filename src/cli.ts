/**
 * Commander wiring only: parse argv, call the library, map errors to exit codes and one-line messages.
 * This is the only place that turns a LeakcheckError into an exit code and text for a person.
 */
import { randomInt } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type ConfigValues } from './config.js';
import { ExitCode, LeakcheckError, UsageError } from './core/errors.js';
import { checkOutputPaths, writeFailure } from './core/output-paths.js';
import { loadScenarios, resolveScenarioArg } from './load/scenario.js';
import { createProgress } from './report/progress.js';
import { renderTerminal } from './report/terminal.js';
import type { LeakcheckReport } from './report/types.js';
import { renderJunit } from './report/junit.js';
import { renderMarkdown } from './report/markdown.js';
import { appendStepSummary } from './report/step-summary.js';
import { openFile } from './report/open.js';
import { atomicWrite, REPORT_FILES, writeReport } from './report/write.js';
import {
  DEFAULT_PARALLEL,
  DEFAULT_REPORT_DIR,
  DEFAULT_SCENARIOS,
  DEFAULT_SETTLE_MS,
  DEFAULT_START_TIMEOUT_MS,
  DEFAULT_UPSTREAM_INTERVAL_MS,
  DEFAULT_UPSTREAM_TOKENS,
} from './defaults.js';
import { runLeakcheck, toolVersion } from './run/engine.js';
import { buildGoReference } from './targets/go-build.js';
import { buildTargets, wantsGoPair, type TargetFlags } from './targets/user-targets.js';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
}

function integer(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be from ${min} to ${max}, got ${n}`);
    return n;
  };
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function useColour(io: CliIo, flag: boolean): boolean {
  if (!flag || io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '') return false;
  if (io.env.FORCE_COLOR && io.env.FORCE_COLOR !== '0') return true;
  return Boolean(io.stdout.isTTY);
}

interface RunFlags extends TargetFlags {
  scenario?: string[];
  seed?: number;
  json?: string;
  out: string;
  report: boolean;
  upstreamTokens: number;
  upstreamIntervalMs: number;
  startTimeout: number;
  settleMs: number;
  color: boolean;
  progress: boolean;
  snapshots: boolean;
  breakdown?: boolean;
  parallel?: boolean;
  open?: boolean;
  junit?: string;
  maxBytesPerDisconnect?: number;
  maxHandlesPerDisconnect?: number;
}

function nonNegative(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${value}"`);
    return n;
  };
}

export function buildProgram(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('streamer-leakcheck')
    .description('Prove whether a streaming HTTP server leaks when clients hang up mid-stream.')
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError(false)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(text.replace(/^error: /, 'streamer-leakcheck: ')),
    });

  program
    .command('run')
    .description('Run scripted mid-stream disconnects against servers (by default the reference old and new) and judge each')
    .option('-t, --target <name=command>', 'start COMMAND (through a shell, with PORT and HOST set) and check it; repeatable', collect)
    .option('--attach <name=url>', 'check a server that runs already, at a loopback URL (http://127.0.0.1:PORT), without restarting it; repeatable', collect)
    .option('--pid <name=pid>', 'the process of an attached server (default: the one listening on its port); repeatable', collect)
    .option('--upstream <name=url>', 'the mock upstream (streamer-leakcheck upstream) an attached server was pointed at, for the cancellation check; repeatable', collect)
    .option('--expect <name=leak|clean>', 'what a target should do (user targets default to clean); repeatable', collect)
    .option('--expect-upstream <name=cancelled|not-cancelled>', 'also fail unless a client hanging up cancels (or does not cancel) the target\'s upstream call, as the mock upstream counts it; repeatable', collect)
    .option('--path <template>', 'stream route of user targets; {id} becomes a unique id per request (default /chat/stream/{id})')
    .option('--method <method>', 'HTTP method of user targets\' requests (default GET, or POST with --body)')
    .option('--header <name:value>', 'request header of user targets, repeatable; ${NAME} in it is read from the environment; values print as ***', collect)
    .option('--body <text|@file>', 'request body of user targets; {id} and ${NAME} replaced; a JSON body gets content-type: application/json')
    .option('--framing <sse|ndjson|chunks>', 'what an event is in the response (default: chosen from its Content-Type)')
    .option('--curl <command>', 'take the method, headers, body and path of user targets from a curl command line (devtools "Copy as cURL")')
    .option('--probe <name=node|python|go|proc|auto>', 'how to sample a target: the injected Node or Python agent, pprof/expvar, /proc, or auto (default); repeatable', collect)
    .option('--builtin <kind>', 'run a built-in reference pair: node (old/new, the default without targets), go (go-old/go-new, needs Go) or python (py-old/py-new)', collect)
    .option('--node <path>', 'the Node that targets run on: the reference servers, and first on PATH for user targets (default: STREAMER_LEAKCHECK_NODE, else this one)')
    .option('--python <path>', 'the interpreter of the Python reference pair (default: STREAMER_LEAKCHECK_PYTHON, else python3)')
    .option('--self-check', 'also run the built-in leaky server (first in line) as a positive control: fail if this machine cannot see its leak')
    .option('-s, --scenario <name|file|dir>', `scenario to run, repeatable: a shipped name, a JSON file, a folder, or "all" (default: ${DEFAULT_SCENARIOS.join(', ')})`, collect)
    .option('--seed <n>', 'seed for every random choice; the same seed repeats the same client script', integer('--seed', 0, 2 ** 31 - 1))
    .option('--json <file>', 'also write the JSON report to this file')
    .option('--out <dir>', 'folder that receives <timestamp>/report.html, report.md and report.json', DEFAULT_REPORT_DIR)
    .option('--no-report', 'write no report folder (only the terminal report, and --json if given)')
    .option('--open', 'open report.html in a browser once it is written (xdg-open, open or start)')
    .option('--upstream-tokens <n>', 'tokens per mock LLM stream', integer('--upstream-tokens', 1, 100_000), DEFAULT_UPSTREAM_TOKENS)
    .option('--upstream-interval-ms <ms>', 'pause between mock LLM tokens', integer('--upstream-interval-ms', 0, 60_000), DEFAULT_UPSTREAM_INTERVAL_MS)
    .option('--start-timeout <ms>', 'how long a target may take to accept connections, and then to send its first event', integer('--start-timeout', 100, 600_000), DEFAULT_START_TIMEOUT_MS)
    .addOption(
      new Option('--settle-ms <ms>', 'pause after each batch before sampling')
        .argParser(integer('--settle-ms', 0, 60_000))
        .default(DEFAULT_SETTLE_MS),
    )
    .option('--junit <file>', 'also write JUnit XML there (one testcase per target x scenario)')
    .option('--max-bytes-per-disconnect <n>', 'fail when a target expected clean keeps more heap than this per disconnect', nonNegative('--max-bytes-per-disconnect'))
    .option('--max-handles-per-disconnect <n>', 'fail when a target expected clean keeps more handles (or fds) than this per disconnect', nonNegative('--max-handles-per-disconnect'))
    .option('--parallel', 'run the targets side by side, two at a time (the default)')
    .option('--no-parallel', 'run the targets one after another (slower; each target has the machine to itself)')
    .option('--breakdown', 'measure a mixed scenario again one way of hanging up at a time for any leak, not only an inconclusive mix, a leak that needed every cycle or a partial leak of held resources')
    .option('--no-breakdown', 'never break a mixed scenario down by way of hanging up')
    .option('--no-snapshots', 'take no heap snapshots of Node targets (no "what leaked" under leak verdicts)')
    .option('--no-color', 'plain output even on a terminal (NO_COLOR is respected too)')
    .option('--no-progress', 'no live progress line')
    .addHelpText(
      'after',
      `
Examples:
  $ npx streamer-leakcheck run                       old must leak, new must be clean (the mixed scenario)
  $ npx streamer-leakcheck run -s all --seed 7       every shipped scenario, repeatable client script
  $ npx streamer-leakcheck run -s ./my-scenario.json --json leak.json
  $ npx streamer-leakcheck run --open                every target's heap and handles charted in report.html, opened
  $ npx streamer-leakcheck run --self-check --target api='npm start' --path '/v1/chat/{id}/stream'
  $ npx streamer-leakcheck run --target py='python3 app.py' --expect py=clean --probe py=proc
  $ npx streamer-leakcheck run --builtin go          the seed's own Go streamers (needs the go command)
  $ TOKEN=sk-test npx streamer-leakcheck run --target api='npm start' --path /v1/chat/completions \\
      --header 'Authorization: Bearer \${TOKEN}' --body @chat.json
                                                     an OpenAI-compatible POST; the token is read at run time, printed as ***
  $ npx streamer-leakcheck run --target app='npm run dev' --curl 'curl http://localhost:3000/api/chat -H ... --data-raw ...'
                                                     the request as the browser sent it (its host becomes the target's)
  $ npx streamer-leakcheck run --attach api=http://127.0.0.1:3000
                                                     a server that runs already: Node through its inspector (opened
                                                     with SIGUSR1, closed after), Go through pprof, else /proc
  $ npx streamer-leakcheck run --attach api=http://127.0.0.1:3000 --pid api=4242 --path '/v1/chat/{id}/stream'
  $ npx streamer-leakcheck upstream --port 8090 &    then start the server with LLM_URL=http://127.0.0.1:8090/v1, and:
  $ npx streamer-leakcheck run --attach api=http://127.0.0.1:3000 --upstream api=http://127.0.0.1:8090
  $ npx streamer-leakcheck run --builtin python      the seed's streamers in asyncio, read by the Python agent
  $ npx streamer-leakcheck run --node ~/node-v22/bin/node   the reference pair on another Node
  $ npx streamer-leakcheck run --target api='npm start' --junit leakcheck.xml --max-bytes-per-disconnect 512
  $ npx streamer-leakcheck run --target api='npm start' --expect-upstream api=cancelled
                                                     also fail unless a hang-up cancels the server's model call

An attached server is never stopped (not by the run, Ctrl-C, SIGTERM or a crash), and one run reads it for
every scenario: they are not independent, and there is no per-hang-up breakdown.
Targets get PORT and HOST=127.0.0.1, and the mock LLM upstream in LLM_URL, OPENAI_BASE_URL (both with /v1),
ANTHROPIC_BASE_URL and OLLAMA_HOST, with placeholder OPENAI_API_KEY and ANTHROPIC_API_KEY.
A stream is complete when the server ends the response; --framing sse counts SSE events, ndjson lines, chunks reads.
Settings can live in leakcheck.config.json (or a "leakcheck" key in package.json); flags override them.
--open uses STREAMER_LEAKCHECK_OPENER, when set, instead of the platform's opener.

Exit codes: 0 every verdict met its expectation, 1 one did not (or an upstream expectation or budget failed), 2 bad usage, scenario or output path,
            3 a target failed to start or died, 4 a report file could not be written, 130 interrupted.`,
    )
    .action(async (flags: RunFlags, command: Command) => {
      setExit(await runCommand(await withConfig(flags, command), io));
    });

  program
    .command('serve')
    .description('Start a reference server by hand and watch its live workers, handles and heap')
    .argument('<which>', 'old | new | upstream')
    .option('-p, --port <n>', 'port to listen on (127.0.0.1); 0 picks a free one', integer('--port', 0, 65_535), 8080)
    .option('--tokens <n>', 'tokens per mock LLM stream', integer('--tokens', 1, 100_000), 200)
    .option('--interval-ms <ms>', 'pause between mock LLM tokens', integer('--interval-ms', 0, 60_000), 5)
    .option('--stats-interval-ms <ms>', 'how often to print the gauges', integer('--stats-interval-ms', 100, 600_000), 2000)
    .addHelpText(
      'after',
      `
Examples:
  $ npx streamer-leakcheck serve old                 then: curl -N http://127.0.0.1:8080/chat/stream/demo-1
  $ npx streamer-leakcheck serve new --port 9090     the fix, for comparison
Stop with Ctrl-C: the server and its upstream stop with it.`,
    )
    .action(async (which: string, flags: { port: number; tokens: number; intervalMs: number; statsIntervalMs: number }) => {
      if (which !== 'old' && which !== 'new' && which !== 'upstream') {
        throw new UsageError(`serve: unknown server "${which}" (choose old, new or upstream)`);
      }
      setExit(await serveCommand(which, flags, io));
    });

  program
    .command('upstream')
    .description('Start the mock LLM upstream alone, in the foreground, to point a server at it by hand')
    .option('-p, --port <n>', 'port to listen on; 0 picks a free one', integer('--port', 0, 65_535), 0)
    .option('--host <address>', 'loopback address to listen on (127.0.0.1, ::1 or localhost)', '127.0.0.1')
    .option('--tokens <n>', 'tokens per stream', integer('--tokens', 1, 100_000), 200)
    .option('--interval-ms <ms>', 'pause between tokens', integer('--interval-ms', 0, 60_000), 5)
    .action(async (flags: { port: number; host: string; tokens: number; intervalMs: number }) => {
      setExit(await upstreamCommand(flags, io));
    });

  program.command('scenarios').description('List the shipped scenarios').action(async () => {
    const scenarios = await loadScenarios(await resolveScenarioArg('all'));
    for (const s of scenarios) io.stdout.write(`${s.name.padEnd(20)} ${s.description}\n`);
    setExit(ExitCode.ok);
  });

  return program;
}

/** leakcheck.config.json (or package.json's "leakcheck"), under whatever was given on the command line. */
async function withConfig(flags: RunFlags, command: Command): Promise<RunFlags> {
  const config = await loadConfig(process.cwd());
  if (!config) return flags;
  const merged: RunFlags = { ...flags };
  for (const [key, value] of Object.entries(config.values) as [keyof ConfigValues, unknown][]) {
    if (command.getOptionValueSource(key) === 'cli' || value === undefined) continue;
    (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (merged.open && !merged.report && command.getOptionValueSource('open') !== 'cli') {
    throw new UsageError(`${config.file}: "open": true needs report.html, which --no-report does not write`);
  }
  return merged;
}

/** `--body @file`: the file's text. */
async function readBodyFlag(flags: RunFlags): Promise<void> {
  if (!flags.body?.startsWith('@')) return;
  const file = flags.body.slice(1);
  try {
    flags.body = await readFile(path.resolve(file), 'utf8');
  } catch (error) {
    throw new UsageError(`--body @${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

async function runCommand(flags: RunFlags, io: CliIo): Promise<number> {
  if (flags.open && !flags.report) throw new UsageError('--open opens report.html, which --no-report does not write: drop one of them');
  // Every place the run will write, before anything starts: a mistake there is one line, not a lost run.
  await checkOutputPaths({
    folders: [
      ...(flags.report ? [{ option: '--out', path: flags.out }] : []),
      ...(flags.snapshots && !flags.report ? [{ option: 'heap snapshots (the temporary folder)', path: os.tmpdir() }] : []),
    ],
    files: [
      ...(flags.json ? [{ option: '--json', path: flags.json }] : []),
      ...(flags.junit ? [{ option: '--junit', path: flags.junit }] : []),
      ...(io.env.GITHUB_STEP_SUMMARY ? [{ option: 'GITHUB_STEP_SUMMARY', path: io.env.GITHUB_STEP_SUMMARY, append: true }] : []),
    ],
  });
  await readBodyFlag(flags);
  buildTargets(flags, '(checked before building)', { env: io.env }); // usage errors first, before a slow go build
  const targets = buildTargets(flags, wantsGoPair(flags) ? await buildGoReference() : undefined, {
    env: io.env,
    note: (line) => io.stdout.write(`${line}\n`),
  });
  const files: string[] = [];
  for (const arg of flags.scenario ?? DEFAULT_SCENARIOS) files.push(...(await resolveScenarioArg(arg)));
  const scenarios = await loadScenarios(files);
  const seed = flags.seed ?? randomInt(1, 2 ** 31 - 1);

  const controller = new AbortController();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      io.stderr.write(`\nstreamer-leakcheck: ${signal} received, stopping targets and writing the report so far…\n`);
      controller.abort(new Error(signal));
    } else {
      // A second Ctrl-C: the process 'exit' hook SIGKILLs every child group on the way out.
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  // Heap snapshots hold whatever the servers held: a 0700 folder, beside the reports so the report
  // folder can take it with a rename; a temporary one (deleted after) when no report is written.
  let snapshotDir: string | null = null;
  if (flags.snapshots) {
    const parent = flags.report ? path.resolve(flags.out) : os.tmpdir();
    await mkdir(parent, { recursive: true });
    snapshotDir = await mkdtemp(path.join(parent, '.snapshots-'));
  }

  const progressMode = !flags.progress ? 'off' : io.stderr.isTTY ? 'live' : 'lines';
  const progress = createProgress(io.stderr, progressMode);
  let report: LeakcheckReport;
  try {
    report = await runLeakcheck({
      targets,
      scenarios,
      seed,
      upstream: { tokens: flags.upstreamTokens, intervalMs: flags.upstreamIntervalMs },
      startTimeoutMs: flags.startTimeout,
      settleMs: flags.settleMs,
      snapshotDir,
      parallel: flags.parallel ?? DEFAULT_PARALLEL,
      breakdown: flags.breakdown === true ? 'always' : flags.breakdown === false ? 'never' : 'auto',
      budgets: {
        ...(flags.maxBytesPerDisconnect !== undefined ? { maxBytesPerDisconnect: flags.maxBytesPerDisconnect } : {}),
        ...(flags.maxHandlesPerDisconnect !== undefined ? { maxHandlesPerDisconnect: flags.maxHandlesPerDisconnect } : {}),
      },
      signal: controller.signal,
      onEvent: (event) => progress.onEvent(event),
    });
  } catch (error) {
    if (snapshotDir) await rm(snapshotDir, { recursive: true, force: true });
    throw error;
  } finally {
    progress.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  io.stdout.write(renderTerminal(report, { color: useColour(io, flags.color) }));
  // The verdicts are printed; a file that cannot be written now (a disk that filled) is said and the
  // others are still written.
  const failures: string[] = [];
  const attempt = async <T>(what: string, work: () => Promise<T>): Promise<T | null> => {
    try {
      return await work();
    } catch (error) {
      failures.push(writeFailure(what, error));
      return null;
    }
  };
  const written = flags.report
    ? ((await attempt(`the report folder in ${flags.out}`, () => writeReport(report, { outDir: flags.out, jsonFile: null, snapshotDir }))) ?? {
        folder: null,
        htmlFile: null,
      })
    : { folder: null, htmlFile: null };
  if (flags.json) await attempt(`--json ${flags.json}`, () => writeReport(report, { outDir: null, jsonFile: flags.json! }));
  if (snapshotDir) await rm(snapshotDir, { recursive: true, force: true });
  if (flags.junit) await attempt(`--junit ${flags.junit}`, () => atomicWrite(path.resolve(flags.junit!), renderJunit(report)));
  if (io.env.GITHUB_STEP_SUMMARY) {
    await attempt(`GITHUB_STEP_SUMMARY ${io.env.GITHUB_STEP_SUMMARY}`, () => appendStepSummary(io.env.GITHUB_STEP_SUMMARY!, renderMarkdown(report)));
  }
  for (const failure of failures) io.stderr.write(`streamer-leakcheck: ${failure}\n`);
  if (written.folder) io.stdout.write(`report: ${written.folder} (${REPORT_FILES.join(', ')})\n`);
  if (flags.open && written.htmlFile) {
    // A report nobody could open is still a report: warn, and keep the exit code the verdicts gave.
    const opened = await openFile(written.htmlFile, { env: io.env });
    if (!opened.opened) io.stderr.write(`streamer-leakcheck: warning: could not open ${written.htmlFile} (${opened.problem}); open it by hand\n`);
  }
  if (!report.ok && report.complete) io.stdout.write(`rerun with --seed ${report.seed} to repeat the same client script\n`);
  const verdicts = exitCodeOf(report);
  return verdicts === ExitCode.ok && failures.length > 0 ? ExitCode.output : verdicts;
}

export function exitCodeOf(report: LeakcheckReport): number {
  if (report.problems.some((p) => p.code === 'LEAKCHECK_INTERRUPTED')) return ExitCode.interrupted;
  if (report.problems.some((p) => p.code === 'LEAKCHECK_TARGET_START' || p.code === 'LEAKCHECK_TARGET_DIED')) {
    return ExitCode.target;
  }
  return report.ok ? ExitCode.ok : ExitCode.expectationMissed;
}

async function serveCommand(
  which: 'old' | 'new' | 'upstream',
  flags: { port: number; tokens: number; intervalMs: number; statsIntervalMs: number },
  io: CliIo,
): Promise<number> {
  const { serve } = await import('./commands/serve.js');
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await serve({
      which,
      port: flags.port,
      tokens: flags.tokens,
      intervalMs: flags.intervalMs,
      statsIntervalMs: flags.statsIntervalMs,
      signal: controller.signal,
      print: (line) => io.stdout.write(line + '\n'),
    });
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function upstreamCommand(flags: { port: number; host: string; tokens: number; intervalMs: number }, io: CliIo): Promise<number> {
  const { formatUpstreamCounters, runUpstream } = await import('./commands/upstream.js');
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const stats = await runUpstream({ ...flags, signal: controller.signal, print: (line) => io.stdout.write(line + '\n') });
    for (const line of formatUpstreamCounters(stats)) io.stdout.write(line + '\n');
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Run the CLI; resolves to the process exit code. Never throws for a user's mistake. */
export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version print and exit 0; every other commander error already printed its one line.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof LeakcheckError) {
      io.stderr.write(`streamer-leakcheck: ${error.message}\n`);
      const tail = 'stderrTail' in error ? (error.stderrTail as string[]) : [];
      for (const line of tail) io.stderr.write(`  | ${line}\n`);
      return error.exitCode;
    }
    io.stderr.write(`streamer-leakcheck: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    return ExitCode.internal;
  }
}
