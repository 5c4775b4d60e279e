/** Free loopback ports and waiting for a server to accept connections. Loopback only, by construction. */
import net from 'node:net';

export const LOOPBACK_HOST = '127.0.0.1';

/**
 * A port that was free a moment ago on 127.0.0.1. Targets are told their port through PORT, so the
 * port has to be chosen before they start; the window between closing this probe socket and the
 * target binding is microseconds, and a lost race shows up as a clear "never listened" error.
 */
export function findFreePort(host = LOOPBACK_HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** One connection attempt; resolves true when the port accepted it. */
function tryConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitForPortOptions {
  host?: string;
  timeoutMs: number;
  /** Checked between attempts: stop waiting as soon as the process is known to be dead. */
  isAlive?: () => boolean;
  signal?: AbortSignal;
}

/** Poll until `port` accepts a TCP connection. Resolves 'ready', 'timeout', 'dead' or 'aborted'. */
export async function waitForPort(
  port: number,
  options: WaitForPortOptions,
): Promise<'ready' | 'timeout' | 'dead' | 'aborted'> {
  const host = options.host ?? LOOPBACK_HOST;
  const deadline = Date.now() + options.timeoutMs;
  let delayMs = 10;
  while (Date.now() < deadline) {
    if (options.signal?.aborted) return 'aborted';
    if (options.isAlive && !options.isAlive()) return 'dead';
    if (await tryConnect(host, port, Math.min(1000, Math.max(50, deadline - Date.now())))) return 'ready';
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    delayMs = Math.min(delayMs * 2, 200);
  }
  return 'timeout';
}
