/** The mock LLM upstream as a child process of the run, and its stats at /debug/vars. */
import { request } from 'undici';
import { TargetStartError } from '../core/errors.js';
import type { UpstreamStats } from '../reference/upstream.js';
import { findFreePort, LOOPBACK_HOST, waitForPort } from './ports.js';
import type { ManagedProcess, ProcessSupervisor } from './supervisor.js';
import { REFERENCE_MAIN } from './target.js';

export interface UpstreamOptions {
  tokens: number;
  intervalMs: number;
  startTimeoutMs: number;
}

/** What the upstream serves at GET /debug/vars. */
export type { UpstreamStats };

export interface RunningUpstream {
  /** Base URL handed to targets as LLM_URL / OPENAI_BASE_URL, e.g. http://127.0.0.1:41234/v1 */
  baseUrl: string;
  process: ManagedProcess;
  stats(): Promise<UpstreamStats | null>;
  stop(): Promise<void>;
}

export async function startUpstream(supervisor: ProcessSupervisor, options: UpstreamOptions): Promise<RunningUpstream> {
  const port = await findFreePort();
  const child = supervisor.spawn({
    name: 'upstream',
    command: process.execPath,
    args: [
      REFERENCE_MAIN,
      'upstream',
      '--port',
      String(port),
      '--tokens',
      String(options.tokens),
      '--interval-ms',
      String(options.intervalMs),
    ],
    // The upstream is not measured: keep any preload the harness was given away from it.
    env: { NODE_OPTIONS: '' },
  });
  const state = await waitForPort(port, { timeoutMs: options.startTimeoutMs, isAlive: () => child.running });
  if (state !== 'ready') {
    await child.stop();
    throw new TargetStartError('upstream', `the mock LLM upstream did not start (${state})`, child.tail());
  }
  const origin = `http://${LOOPBACK_HOST}:${port}`;
  return {
    baseUrl: `${origin}/v1`,
    process: child,
    async stats() {
      try {
        const response = await request(`${origin}/debug/vars`, { headersTimeout: 5000, bodyTimeout: 5000 });
        if (response.statusCode !== 200) {
          await response.body.dump();
          return null;
        }
        return (await response.body.json()) as UpstreamStats;
      } catch {
        return null;
      }
    },
    async stop() {
      await child.stop();
    },
  };
}
