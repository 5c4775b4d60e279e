/**
 * `--open`: hand report.html to the platform's opener (xdg-open, open, start) so it shows in a browser.
 *
 * The one child this tool starts outside the supervisor (src/targets/supervisor.ts), on purpose: the
 * supervisor makes sure nothing outlives a run, and the browser must outlive it. So the opener is
 * spawned detached (a process group of its own, untouched by Ctrl-C in our terminal), with no stdio
 * tied to us and unref'd, so this process exits while the browser stays.
 */
import { spawn } from 'node:child_process';

/** An opener of one's own: an executable that is given the file as its only argument (tests record it). */
export const OPENER_ENV = 'STREAMER_LEAKCHECK_OPENER';

/**
 * How long to wait for the opener to fail before taking it as working: xdg-open with no browser to
 * hand exits 3 in 0.23 s; a missing command fails at once (docs/measurements.md#opener). An opener
 * still running after this is taken as working: some xdg-open fallbacks run the browser in the
 * foreground.
 */
export const OPENER_GRACE_MS = 1000;

export interface OpenerCommand {
  command: string;
  args: string[];
  /** Windows: hand `cmd` the quoted line as it is (Node would re-quote `""` and the path). */
  verbatim: boolean;
}

export function openerCommand(file: string, platform: NodeJS.Platform, env: NodeJS.ProcessEnv): OpenerCommand {
  const own = env[OPENER_ENV];
  if (own) return { command: own, args: [file], verbatim: false };
  if (platform === 'darwin') return { command: 'open', args: [file], verbatim: false };
  // `start` takes its first quoted argument as a window title: the empty "" keeps a quoted path a path.
  if (platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', `"${file}"`], verbatim: true };
  return { command: 'xdg-open', args: [file], verbatim: false };
}

export type OpenOutcome = { opened: true; pid: number | null } | { opened: false; problem: string };

/** Starts the opener and resolves once it succeeded, failed, or outlived OPENER_GRACE_MS. Never rejects. */
export function openFile(
  file: string,
  options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv; graceMs?: number } = {},
): Promise<OpenOutcome> {
  const env = options.env ?? process.env;
  const opener = openerCommand(file, options.platform ?? process.platform, env);
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(opener.command, opener.args, {
        detached: true,
        stdio: 'ignore',
        env,
        windowsHide: true,
        windowsVerbatimArguments: opener.verbatim,
      });
    } catch (error) {
      resolve({ opened: false, problem: `${opener.command}: ${(error as Error).message}` });
      return;
    }
    let settled = false;
    const settle = (outcome: OpenOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.unref();
      resolve(outcome);
    };
    const timer = setTimeout(() => settle({ opened: true, pid: child.pid ?? null }), options.graceMs ?? OPENER_GRACE_MS);
    child.once('error', (error: NodeJS.ErrnoException) => {
      settle({ opened: false, problem: error.code === 'ENOENT' ? `${opener.command} not found` : `${opener.command}: ${error.message}` });
    });
    child.once('exit', (code, signal) => {
      settle(
        code === 0
          ? { opened: true, pid: null }
          : { opened: false, problem: `${opener.command} exited with ${signal ? `signal ${signal}` : `code ${code}`}` },
      );
    });
  });
}
