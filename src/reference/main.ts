/**
 * The runnable reference servers:
 *
 *   node dist/src/reference/main.js <old|new|upstream> [--port N] [--host H] [--upstream URL]
 *                                   [--tokens N] [--interval-ms N] [--keep-alive-ms N]
 *
 * Port and host default to $PORT / $HOST, then 0 (a free port) / 127.0.0.1: loopback unless told
 * otherwise. old/new need the upstream's base URL (--upstream, else $LLM_URL, else $OPENAI_BASE_URL).
 * --tokens, --interval-ms and --keep-alive-ms configure the upstream.
 *
 * Once listening it prints exactly one line to stdout, `listening on http://HOST:PORT`, with the real
 * port. A usage mistake prints one line to stderr and exits 2. SIGTERM/SIGINT exit 0 at once: old's
 * zombie workers never finish (that is the bug), so nothing waits for them.
 */
import type http from 'node:http';
import { parseArgs } from 'node:util';
import { SUPERVISOR_PID_ENV } from '../core/supervisor-env.js';
import { createNewStreamerServer } from './new/streamer.js';
import { createOldStreamerServer } from './old/streamer.js';
import { createUpstreamServer } from './upstream.js';

const USAGE = 'usage: main.js <old|new|upstream> [--port N] [--host H] [--upstream URL] [--tokens N] [--interval-ms N]';

function fail(message: string, exitCode: number): never {
  process.stderr.write(`error: ${message}\n`);
  process.exit(exitCode);
}

function integerOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer from ${min} to ${max}, got "${value}"`, 2);
  return n;
}

function parseCommandLine() {
  let parsed;
  try {
    parsed = parseArgs({
      args: process.argv.slice(2),
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        upstream: { type: 'string' },
        tokens: { type: 'string' },
        'interval-ms': { type: 'string' },
        'keep-alive-ms': { type: 'string' },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message} (${USAGE})`, 2);
  }
  const { values, positionals } = parsed;
  const which = positionals[0];
  if (positionals.length !== 1 || (which !== 'old' && which !== 'new' && which !== 'upstream')) {
    fail(`expected exactly one of old, new, upstream (${USAGE})`, 2);
  }
  const port = integerOption('port', values.port ?? process.env.PORT, 0, 65535) ?? 0;
  const host = values.host ?? (process.env.HOST || '127.0.0.1');
  const upstream = values.upstream ?? (process.env.LLM_URL || process.env.OPENAI_BASE_URL || undefined);
  if (which !== 'upstream' && !upstream) {
    fail(`${which} needs the upstream's base URL: pass --upstream URL or set LLM_URL (e.g. http://127.0.0.1:9000/v1)`, 2);
  }
  if (upstream !== undefined && !URL.canParse(upstream)) fail(`--upstream is not a URL: "${upstream}"`, 2);
  return {
    which,
    port,
    host,
    upstream,
    tokens: integerOption('tokens', values.tokens, 0, 1_000_000),
    intervalMs: integerOption('interval-ms', values['interval-ms'], 0, 60_000),
    keepAliveTimeoutMs: integerOption('keep-alive-ms', values['keep-alive-ms'], 0, 3_600_000),
  };
}

type Options = ReturnType<typeof parseCommandLine>;

function createServer(options: Options): http.Server {
  if (options.which === 'upstream') {
    const { tokens, intervalMs, keepAliveTimeoutMs } = options;
    return createUpstreamServer({ tokens, intervalMs, keepAliveTimeoutMs }).server;
  }
  const create = options.which === 'old' ? createOldStreamerServer : createNewStreamerServer;
  return create(options.upstream as string).server;
}

/**
 * Started by the harness, a reference server outlives it only if the harness was SIGKILLed (its exit
 * hook, which kills every child group, never ran): a zombie server of a tool about zombies. It checks
 * once a second whether the harness that started it is still its parent, and leaves when it is not.
 */
function exitWhenSupervisorGone(shutdown: () => void): void {
  const supervisor = Number(process.env[SUPERVISOR_PID_ENV]);
  if (!Number.isInteger(supervisor) || supervisor <= 0 || process.ppid !== supervisor) return;
  setInterval(() => {
    if (process.ppid !== supervisor) shutdown();
  }, ORPHAN_CHECK_MS).unref();
}

const ORPHAN_CHECK_MS = 1000;

function main(): void {
  let running: http.Server | undefined;
  // Installed first, so a signal during start-up also exits 0.
  const shutdown = () => {
    running?.close();
    running?.closeAllConnections();
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  exitWhenSupervisorGone(shutdown);

  const options = parseCommandLine();
  const server = createServer(options);
  running = server;
  server.once('error', (error: NodeJS.ErrnoException) => {
    fail(`${options.which} cannot listen on ${options.host}:${options.port}: ${error.code ?? error.message}`, 1);
  });
  server.listen({ port: options.port, host: options.host }, () => {
    const address = server.address();
    if (typeof address !== 'object' || address === null) fail('the server has no address', 1);
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    process.stdout.write(`listening on http://${host}:${address.port}\n`);
  });
}

main();
