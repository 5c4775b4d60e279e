/**
 * Steady load: full-length streams from autocannon beside the scripted disconnects, so a target is
 * measured while it also serves clients that stay (a leak that only shows under concurrent healthy
 * traffic, e.g. a shared map keyed by stream, needs both). autocannon cannot leave mid-body, which is
 * why the disconnects themselves come from `clients.ts`.
 */
import autocannon from 'autocannon';

import { withSeparator, type StreamEndpoint } from './clients.js';
import { RequestRenderer } from './request.js';

export interface SteadyLoadOptions {
  connections: number;
  /** Stops the load (the promise then resolves with what was measured so far). */
  signal?: AbortSignal;
  /** Run for this long; without it (and without `amount`) the load runs until `signal` aborts. */
  durationMs?: number;
  /** Stop after this many responses (takes precedence over `durationMs`). */
  amount?: number;
  /** Prefix of the `{id}` of each request, as in `BatchOptions.idPrefix` (default: unique per call). */
  idPrefix?: string;
}

export interface SteadyLoadResult {
  /** Requests sent. */
  requests: number;
  /** Streams that ended with a 2xx response. */
  completedStreams: number;
  /** Connection errors, timeouts and non-2xx responses. */
  errors: number;
  throughputStreamsPerSec: number;
  bytesPerSec: number;
  durationMs: number;
}

/**
 * autocannon's per-request timeout, in seconds: it must exceed a whole stream (its 10 s default
 * kills any longer stream as an error); the reference streams last ~1 s (200 tokens at 5 ms).
 */
const STREAM_TIMEOUT_S = 30;
/**
 * autocannon notices a stop only at its next sample tick; 100 ms ticks (its default is 1 s) make a
 * signal stop within ~0.1 s.
 */
const SAMPLE_INTERVAL_MS = 100;
/** "Until the signal" as an autocannon duration: a day, far beyond any run, within setTimeout's range. */
const UNTIL_STOPPED_S = 86_400;

let steadyCounter = 0;

export function runSteadyLoad(endpoint: StreamEndpoint, options: SteadyLoadOptions): Promise<SteadyLoadResult> {
  const { connections, signal, durationMs, amount } = options;
  if (!Number.isInteger(connections) || connections < 1) {
    return Promise.reject(new RangeError(`runSteadyLoad: connections must be an integer >= 1, got ${connections}`));
  }
  if (amount === undefined && durationMs === undefined && signal === undefined) {
    return Promise.reject(new RangeError('runSteadyLoad: give durationMs, amount or signal, or it never stops'));
  }
  if (amount !== undefined && (!Number.isInteger(amount) || amount < 1)) {
    return Promise.reject(new RangeError(`runSteadyLoad: amount must be an integer >= 1, got ${amount}`));
  }
  if (signal?.aborted) return Promise.resolve(emptyResult());

  const idPrefix = withSeparator(options.idPrefix ?? `steady-${process.pid}-${++steadyCounter}`);
  let request: RequestRenderer;
  try {
    request = new RequestRenderer(endpoint.request);
  } catch (error) {
    return Promise.reject(error);
  }
  let nextId = 0;

  return new Promise<SteadyLoadResult>((resolve, reject) => {
    let instance: autocannon.Instance | undefined;
    const stop = (): void => instance?.stop();
    instance = autocannon(
      {
        url: endpoint.origin,
        // autocannon throws when it has more connections than responses to make.
        connections: amount !== undefined ? Math.min(connections, amount) : connections,
        ...(amount !== undefined
          ? { amount }
          : { duration: durationMs !== undefined ? Math.max(durationMs, 1) / 1000 : UNTIL_STOPPED_S }),
        timeout: STREAM_TIMEOUT_S,
        sampleInt: SAMPLE_INTERVAL_MS,
        requests: [
          {
            method: request.method as autocannon.Request['method'],
            setupRequest: (next) => {
              const id = `${idPrefix}${nextId++}`;
              const body = request.body(id);
              // A copy: autocannon writes Content-Length into the headers object it is given.
              return { ...next, path: request.path(id), headers: { ...request.headers(id) }, ...(body === null ? {} : { body }) };
            },
          },
        ],
      },
      (error, result) => {
        signal?.removeEventListener('abort', stop);
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const durationMs = result.duration * 1000;
        const seconds = Math.max(result.duration, 0.001);
        const completedStreams = result['2xx'];
        resolve({
          requests: result.requests.sent,
          completedStreams,
          errors: result.errors + result.non2xx,
          throughputStreamsPerSec: completedStreams / seconds,
          bytesPerSec: result.throughput.total / seconds,
          durationMs,
        });
      },
    );
    signal?.addEventListener('abort', stop, { once: true });
  });
}

function emptyResult(): SteadyLoadResult {
  return { requests: 0, completedStreams: 0, errors: 0, throughputStreamsPerSec: 0, bytesPerSec: 0, durationMs: 0 };
}
