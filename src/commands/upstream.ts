/**
 * `streamer-leakcheck upstream`: the mock LLM upstream alone, in the foreground, for a person who
 * points a server at it by hand. It prints its URL and the variables to export, serves until the signal
 * aborts (Ctrl-C), and resolves with its counters, which the CLI prints: how many streams each API
 * started, completed and had cancelled under it, the figure that says whether a server forwarded its
 * client's disconnect.
 */
import type http from 'node:http';
import net from 'node:net';
import { UsageError } from '../core/errors.js';
import { isLoopbackAddress } from '../targets/attach-spec.js';
import { createUpstreamServer, UPSTREAM_APIS, type UpstreamStats } from '../reference/upstream.js';
import { DIALECTS } from '../reference/upstream-dialects.js';
import { MOCK_ANTHROPIC_API_KEY, MOCK_OPENAI_API_KEY, upstreamEnv } from '../targets/upstream.js';

export interface UpstreamCommandOptions {
  port: number;
  host: string;
  tokens?: number;
  intervalMs?: number;
  signal: AbortSignal;
  print: (line: string) => void;
}

/** 127.0.0.0/8, ::1 and localhost: the only places load from this tool may go. */
export function isLoopbackHost(host: string): boolean {
  return host.replace(/^\[(.*)\]$/, '$1') === 'localhost' || isLoopbackAddress(host);
}

/** Serves until `signal` aborts; resolves with the counters at that moment. */
export async function runUpstream(options: UpstreamCommandOptions): Promise<UpstreamStats> {
  const { host, port, print, signal } = options;
  if (!isLoopbackHost(host)) {
    throw new UsageError(`upstream: --host ${host} is not a loopback address: the mock upstream listens on 127.0.0.1, ::1 or localhost only`);
  }
  const upstream = createUpstreamServer({ tokens: options.tokens, intervalMs: options.intervalMs });
  const url = await listen(upstream.server, host, port);
  try {
    for (const line of introduction(url)) print(line);
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    return upstream.stats();
  } finally {
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream.server.close(resolve));
  }
}

function listen(server: http.Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'EADDRINUSE' ? 'the port is in use' : error.code === 'EACCES' ? 'permission denied' : error.message;
      reject(new UsageError(`upstream: cannot listen on ${host}:${port}: ${why}`));
    });
    server.listen({ host, port }, () => {
      const address = server.address() as net.AddressInfo;
      resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
    });
  });
}

export function introduction(url: string): string[] {
  return [
    `mock LLM upstream listening on ${url}`,
    `serves ${DIALECTS.map((d) => `POST ${d.path}`).join(', ')}; counters at GET ${url}/debug/vars`,
    'point a server at it:',
    ...Object.entries(upstreamEnv(url))
      .filter(([name]) => !name.endsWith('_API_KEY'))
      .map(([name, value]) => `  export ${name}=${value}`),
    `  (SDKs that insist on a key take any: OPENAI_API_KEY=${MOCK_OPENAI_API_KEY} ANTHROPIC_API_KEY=${MOCK_ANTHROPIC_API_KEY})`,
    `try: curl -N ${url}/v1/chat/completions -H 'content-type: application/json' -d '{"model":"mock","messages":[{"role":"user","content":"hi"}],"stream":true}'`,
    'Ctrl-C to stop; the counters are printed on the way out',
  ];
}

/** The counters in words: totals, then one line per API that saw a request. */
export function formatUpstreamCounters(stats: UpstreamStats): string[] {
  const line = (s: UpstreamStats | UpstreamStats['byApi'][keyof UpstreamStats['byApi']]) =>
    `${s.streamsStarted} started, ${s.streamsCompleted} completed, ${s.streamsCancelled} cancelled, ` +
    `${s.streamsInFlight} in flight, ${s.tokensAfterClientLeft} tokens after a client left, ${s.requestsRefused} refused`;
  const used = UPSTREAM_APIS.filter((api) => stats.byApi[api].streamsStarted + stats.byApi[api].requestsRefused > 0);
  if (used.length === 0) return ['upstream stopped: no streaming requests were made'];
  return [`upstream stopped. streams: ${line(stats)}`, ...used.map((api) => `  ${api.padEnd(19)} ${line(stats.byApi[api])}`)];
}
