/** Servers started "by hand" for the attach tests: real processes the run did not start, always ended by the test. */
import { spawn, type ChildProcess } from 'node:child_process';
import { listeningPortsOf } from '../src/targets/sockets.js';
import { waitForPort } from '../src/targets/ports.js';
import { BIN } from './helpers.js';

/** Every process started here that is still to be ended. */
const started = new Set<ChildProcess>();

/** Ends every process started here but those `keep` names (the shared upstream). */
export function stopStarted(keep: readonly ChildProcess[] = []): void {
  for (const child of started) {
    if (keep.includes(child)) continue;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    started.delete(child);
  }
}

/**
 * Spawns `command args` and resolves once it is ready: a line of its stdout matching `ready`, or its
 * `port` accepting connections.
 */
export async function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: { line: RegExp } | { port: number },
): Promise<{ child: ChildProcess; match: RegExpExecArray | null }> {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.add(child);
  // A Node server's stderr says "Debugger listening…" when its inspector opens; nobody needs to read it.
  child.stderr!.resume();
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<never>((_, reject) => child.once('exit', () => reject(new Error(`${command} ${args.join(' ')} exited: ${text}`))));
  exited.catch(() => {});
  if ('port' in ready) {
    const state = await Promise.race([waitForPort(ready.port, { timeoutMs: 10_000 }), exited]);
    if (state !== 'ready') throw new Error(`${command} ${args.join(' ')} did not listen on ${ready.port}: ${text}`);
    return { child, match: null };
  }
  const match = await Promise.race([
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command} ${args.join(' ')} did not start: ${text}`)), 10_000);
      const look = () => {
        const found = ready.line.exec(text);
        if (!found) return;
        clearTimeout(timer);
        child.stdout!.off('data', look);
        resolve(found);
      };
      child.stdout!.on('data', look);
      look();
    }),
    exited,
  ]);
  return { child, match };
}

/** `streamer-leakcheck upstream --port 0`, as a person starts it; resolves with its URL. */
export async function startUpstreamCommand(): Promise<{ child: ChildProcess; url: string }> {
  const { child, match } = await startProcess(process.execPath, [BIN, 'upstream', '--port', '0'], {}, { line: /listening on (http:\/\/127\.0\.0\.1:\d+)/ });
  return { child, url: match![1]! };
}

/** Ports `pid` listens on besides `port`: a Node server's inspector, when open. */
export function otherListeningPorts(pid: number, port: number): number[] {
  return listeningPortsOf(pid)
    .map((s) => s.port)
    .filter((p) => p !== port);
}
