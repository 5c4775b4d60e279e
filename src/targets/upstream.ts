/**
 * The mock LLM upstream as a child process of the run, its stats at /debug/vars, and the environment
 * that points a target's LLM client at it.
 */
import { request } from 'undici';
import { TargetStartError } from '../core/errors.js';
import { compiled } from '../core/paths.js';
import type { UpstreamStats } from '../reference/upstream.js';
import { findFreePort, LOOPBACK_HOST, waitForPort } from './ports.js';
import type { ManagedProcess, ProcessSupervisor } from './supervisor.js';

export interface UpstreamOptions {
  tokens: number;
  intervalMs: number;
  startTimeoutMs: number;
}

/** What the upstream serves at GET /debug/vars. */
export type { UpstreamStats };

/**
 * What each client library reads to find its API, pointed at the mock upstream. Each SDK joins its own
 * paths to the variable, so the values differ in whether they carry `/v1`:
 *   OPENAI_BASE_URL     openai-node defaults to https://api.openai.com/v1 and appends /chat/completions,
 *                       /responses (as do @ai-sdk/openai and the Python SDK): the base includes /v1.
 *   ANTHROPIC_BASE_URL  @anthropic-ai/sdk defaults to https://api.anthropic.com and appends /v1/messages.
 *   OLLAMA_HOST         the Ollama CLI and ollama-js take scheme://host:port and append /api/chat.
 *   LLM_URL             the reference streamers' own variable, an OpenAI-style base with /v1.
 * The SDKs refuse to start without a key, and a target pointed at the mock needs no real one: the keys
 * are placeholders, so a key from the harness's environment is never sent along either.
 * `url` may be the upstream's origin or any URL on it: only its origin is used.
 */
export function upstreamEnv(url: string): Record<string, string> {
  const origin = new URL(url).origin;
  return {
    LLM_URL: `${origin}/v1`,
    OPENAI_BASE_URL: `${origin}/v1`,
    OPENAI_API_KEY: MOCK_OPENAI_API_KEY,
    ANTHROPIC_BASE_URL: origin,
    ANTHROPIC_API_KEY: MOCK_ANTHROPIC_API_KEY,
    OLLAMA_HOST: origin,
  };
}

export const MOCK_OPENAI_API_KEY = 'sk-leakcheck-mock';
export const MOCK_ANTHROPIC_API_KEY = 'sk-ant-leakcheck-mock';

/** What the run reads of an upstream: its base URL and its counters. */
export interface UpstreamCounters {
  /** OpenAI-style base URL, e.g. http://127.0.0.1:41234/v1. */
  baseUrl: string;
  /** The counters now; null when the upstream cannot be read. */
  stats(): Promise<UpstreamStats | null>;
}

/**
 * A mock upstream that runs already (`streamer-leakcheck upstream`), which an attached server was pointed
 * at: read, never started or stopped by the run.
 */
export function upstreamAt(url: string): UpstreamCounters {
  const origin = new URL(url).origin;
  return { baseUrl: `${origin}/v1`, stats: () => countersAt(origin) };
}

/** GET /debug/vars of a mock upstream. */
async function countersAt(origin: string): Promise<UpstreamStats | null> {
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
}

export interface RunningUpstream extends UpstreamCounters {
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startUpstream(supervisor: ProcessSupervisor, options: UpstreamOptions): Promise<RunningUpstream> {
  const port = await findFreePort();
  const child = supervisor.spawn({
    name: 'upstream',
    command: process.execPath,
    args: [
      compiled('reference/main.js'),
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
    stats: () => countersAt(origin),
    async stop() {
      await child.stop();
    },
  };
}
