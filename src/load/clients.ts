/**
 * The disconnect driver: runs a planned list of client behaviours against one streaming endpoint with
 * bounded concurrency (and optionally a fixed arrival rate), and counts what each client did. Every
 * client sends the endpoint's one request and reads its response in the framing its Content-Type
 * stands for (or the one the request names): SSE events, NDJSON lines, or body chunks.
 *
 * Three client shapes, one per kind of hang-up:
 * - reading clients (leave-after-events, leave-after-ms, stall-then-leave, complete) use undici's
 *   `request()` with a per-request AbortSignal; aborting destroys the HTTP/1.1 socket, so the server
 *   sees a real close (FIN, or RST when unread bytes were pending, as with any client);
 * - leave-before-first-byte uses `dispatch()` with a handler, because only a handler is told when the
 *   request is being written (`onRequestStart`) — see `BeforeFirstByteClient`;
 * - reset-after-events talks to a raw `node:net` socket, because a RST needs
 *   `socket.resetAndDestroy()` and undici never hands out its sockets.
 *
 * One client's failure never throws: it is counted by kind with an example line. Only the batch's own
 * signal ends the batch early (the promise rejects with the signal's reason).
 */
import net from 'node:net';

import { Pool, type Dispatcher } from 'undici';

import { chooseFraming, createCounter, FRAMINGS, type EventCounter, type Framing } from './framing/index.js';
import { ChunkedDecoder, ResponseHeadReader } from './raw-http.js';
import { RequestRenderer, type StreamRequest } from './request.js';
import type { Behaviour } from './scenario.js';

export interface StreamEndpoint {
  /** `http://127.0.0.1:PORT` or `http://[::1]:PORT`. */
  origin: string;
  /** What every client sends; `{id}` is replaced by a unique id per request. */
  request: StreamRequest;
}

export type ClientOutcomeKind = 'left' | 'completed' | 'ended-early' | 'error';

/** Error kinds, each counted in `BatchOutcome.errors.byKind` (`http-<status>` is open-ended). */
export type ClientErrorKind = 'refused' | `http-${number}` | 'timeout' | 'server-closed' | 'other';

export interface BehaviourTally {
  planned: number;
  left: number;
  completed: number;
  endedEarly: number;
  errors: number;
}

export interface BatchOutcome {
  clients: number;
  /** Intended leaves that happened: the number the analysis divides by. */
  disconnects: number;
  /** `complete` clients whose stream the server ended (whatever its last event was). */
  completed: number;
  /** Leaving clients whose stream ended before they meant to leave (counted, not an error). */
  endedEarly: number;
  /** Events read by all clients, in the framing each response was read in. */
  eventsReceived: number;
  /** The framing most responses were read in; null when no client got a response. */
  framing: Framing | null;
  /** Keyed by behaviour kind (`leave-after-events`, …); entries of one kind with different parameters share a key. */
  byBehaviour: Record<string, BehaviourTally>;
  errors: { total: number; byKind: Record<string, number>; examples: string[] };
  durationMs: number;
}

export interface BatchOptions {
  /** At most this many clients in flight. */
  concurrency: number;
  /** New clients per second; 0 = start the next one as soon as a slot frees. */
  arrivalRate: number;
  /** Aborting it ends the batch: in-flight clients are cut, the promise rejects with the reason. */
  signal?: AbortSignal;
  /**
   * Bound on each client's wait for the server, default 30 000 ms. A client's own deliberate waits
   * (leave-after-ms, a stall) are added to it, so a 60 s stall is not a timeout.
   */
  requestTimeoutMs?: number;
  /** Called at most every `PROGRESS_INTERVAL_MS` and once at the end. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Prefix of the `{id}` of each request (default: unique per batch in this process). Ids are
   * `<idPrefix>-<index>`: the '-' is added unless the prefix is empty or already ends in one of
   * `-_./:`, so prefixes like `cycle-1` and `cycle-11` cannot produce the same id.
   */
  idPrefix?: string;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const PROGRESS_INTERVAL_MS = 100;
const MAX_ERROR_EXAMPLES = 5;
/**
 * With an arrival rate, a start later than this behind its slot in the schedule (because every slot
 * was busy, or the loop was blocked) re-anchors the schedule instead of bursting to catch up.
 * Above ordinary timer lateness (a few ms on a busy loop).
 */
const ARRIVAL_CATCH_UP_LIMIT_MS = 10;

/** Abort reasons. Shared instances: they are markers, and one stack trace is enough. */
const LEAVE = new Error('scripted disconnect');
const TIMED_OUT = new Error('client timed out');

let batchCounter = 0;

export function runBatch(
  endpoint: StreamEndpoint,
  behaviours: readonly Behaviour[],
  options: BatchOptions,
): Promise<BatchOutcome> {
  return new Promise<BatchOutcome>((resolve, reject) => {
    new Batch(endpoint, behaviours, options, resolve, reject).start();
  });
}

/** One client in flight, as the batch sees it. */
interface ActiveClient {
  /** Cuts the client without counting it (the batch is being aborted). */
  cancel(reason: unknown): void;
}

class Batch {
  readonly pool: Pool;
  readonly host: string;
  readonly port: number;
  readonly hostHeader: string;
  readonly requestTimeoutMs: number;
  readonly active = new Set<ActiveClient>();
  readonly outcome: BatchOutcome;
  readonly request: RequestRenderer;

  readonly #behaviours: readonly Behaviour[];
  readonly #idPrefix: string;
  readonly #concurrency: number;
  readonly #intervalMs: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onProgress: ((done: number, total: number) => void) | undefined;
  readonly #resolve: (outcome: BatchOutcome) => void;
  readonly #reject: (reason: unknown) => void;
  #next = 0;
  #done = 0;
  #startedAt = 0;
  #scheduleAnchor = 0;
  #arrivalTimer: NodeJS.Timeout | undefined;
  #lastProgressAt = 0;
  #settled = false;
  /** Responses read per framing, in FRAMINGS order. */
  readonly #framingCounts = [0, 0, 0];

  constructor(
    endpoint: StreamEndpoint,
    behaviours: readonly Behaviour[],
    options: BatchOptions,
    resolve: (outcome: BatchOutcome) => void,
    reject: (reason: unknown) => void,
  ) {
    const { concurrency, arrivalRate } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`runBatch: concurrency must be an integer >= 1, got ${concurrency}`);
    }
    if (!Number.isFinite(arrivalRate) || arrivalRate < 0) {
      throw new RangeError(`runBatch: arrivalRate must be a number >= 0, got ${arrivalRate}`);
    }
    const url = new URL(endpoint.origin);
    if (url.protocol !== 'http:') throw new RangeError(`runBatch: only http: origins are supported, got ${endpoint.origin}`);
    this.request = new RequestRenderer(endpoint.request);
    this.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(url.port || 80);
    this.hostHeader = url.host;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#idPrefix = withSeparator(options.idPrefix ?? `${process.pid}-${++batchCounter}`);
    this.#behaviours = behaviours;
    this.#concurrency = concurrency;
    this.#intervalMs = arrivalRate > 0 ? 1000 / arrivalRate : 0;
    this.#signal = options.signal;
    this.#onProgress = options.onProgress;
    this.#resolve = resolve;
    this.#reject = reject;

    const byBehaviour: Record<string, BehaviourTally> = {};
    for (const behaviour of behaviours) {
      (byBehaviour[behaviour.kind] ??= { planned: 0, left: 0, completed: 0, endedEarly: 0, errors: 0 }).planned++;
    }
    this.outcome = {
      clients: behaviours.length,
      disconnects: 0,
      completed: 0,
      endedEarly: 0,
      eventsReceived: 0,
      framing: null,
      byBehaviour,
      errors: { total: 0, byKind: {}, examples: [] },
      durationMs: 0,
    };
    // We bound every client ourselves (see `requestTimeoutMs`), so undici's own timers are off; its
    // connect timeout stays, since a connect that hangs is never handed to a client to abort.
    this.pool = new Pool(url.origin, {
      connections: concurrency,
      pipelining: 1,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { timeout: this.requestTimeoutMs },
    });
  }

  start(): void {
    if (this.#signal?.aborted) {
      this.#abort();
      return;
    }
    this.#signal?.addEventListener('abort', this.#abort, { once: true });
    this.#startedAt = performance.now();
    this.#scheduleAnchor = this.#startedAt;
    this.#pump();
  }

  /** Starts clients while there are slots (and, with an arrival rate, while they are due). */
  #pump = (): void => {
    const total = this.#behaviours.length;
    while (!this.#settled && this.#next < total && this.active.size < this.#concurrency) {
      if (this.#intervalMs > 0) {
        const due = this.#scheduleAnchor + this.#next * this.#intervalMs;
        const now = performance.now();
        if (due > now) {
          this.#arrivalTimer ??= setTimeout(this.#onArrivalTimer, due - now);
          return;
        }
        if (now - due > ARRIVAL_CATCH_UP_LIMIT_MS) this.#scheduleAnchor = now - this.#next * this.#intervalMs;
      }
      const index = this.#next++;
      this.#launch(this.#behaviours[index]!, this.#idPrefix + index);
    }
    if (!this.#settled && this.#done === total) void this.#finishBatch();
  };

  #onArrivalTimer = (): void => {
    this.#arrivalTimer = undefined;
    this.#pump();
  };

  #launch(behaviour: Behaviour, id: string): void {
    let client: ActiveClient & { start(): void };
    switch (behaviour.kind) {
      case 'leave-before-first-byte':
        client = new BeforeFirstByteClient(this, behaviour, id);
        break;
      case 'reset-after-events':
        client = new ResetClient(this, behaviour, id);
        break;
      default:
        client = new ReadingClient(this, behaviour, id);
    }
    this.active.add(client);
    client.start();
  }

  /** A client got a response and reads it in `framing`: the counter it reads with. */
  counterFor(contentType: string | string[] | undefined): EventCounter {
    const framing = chooseFraming(this.request.framing, contentType);
    this.#framingCounts[FRAMINGS.indexOf(framing)]!++;
    return createCounter(framing);
  }

  /** Records one client's outcome and frees its slot. Called exactly once per client. */
  record(
    client: ActiveClient,
    behaviour: Behaviour,
    path: string,
    kind: ClientOutcomeKind,
    events: number,
    errorKind?: ClientErrorKind,
    detail?: string,
  ): void {
    if (this.#settled || !this.active.delete(client)) return;
    const outcome = this.outcome;
    const tally = outcome.byBehaviour[behaviour.kind]!;
    outcome.eventsReceived += events;
    switch (kind) {
      case 'left':
        outcome.disconnects++;
        tally.left++;
        break;
      case 'completed':
        outcome.completed++;
        tally.completed++;
        break;
      case 'ended-early':
        outcome.endedEarly++;
        tally.endedEarly++;
        break;
      case 'error': {
        const errorsOut = outcome.errors;
        const key = errorKind ?? 'other';
        errorsOut.total++;
        errorsOut.byKind[key] = (errorsOut.byKind[key] ?? 0) + 1;
        tally.errors++;
        if (errorsOut.examples.length < MAX_ERROR_EXAMPLES) {
          const example = `${behaviour.kind} ${this.request.method} ${path}: ${key}: ${detail ?? 'no detail'}`;
          errorsOut.examples.push(oneLine(this.request.scrub(example)));
        }
        break;
      }
    }
    this.#done++;
    if (this.#onProgress) {
      const now = performance.now();
      if (now - this.#lastProgressAt >= PROGRESS_INTERVAL_MS && this.#done < outcome.clients) {
        this.#lastProgressAt = now;
        this.#onProgress(this.#done, outcome.clients);
      }
    }
    this.#pump();
  }

  async #finishBatch(): Promise<void> {
    this.#settled = true;
    this.#signal?.removeEventListener('abort', this.#abort);
    this.outcome.durationMs = performance.now() - this.#startedAt;
    const most = Math.max(...this.#framingCounts);
    this.outcome.framing = most > 0 ? FRAMINGS[this.#framingCounts.indexOf(most)]! : null;
    this.#onProgress?.(this.#done, this.outcome.clients);
    try {
      await this.pool.close();
    } catch {
      // Closing an idle pool does not fail; nothing useful to report if it did.
    }
    this.#resolve(this.outcome);
  }

  #abort = (): void => {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#arrivalTimer);
    const reason: unknown = this.#signal?.reason;
    for (const client of this.active) client.cancel(reason);
    this.active.clear();
    this.pool.destroy(reason instanceof Error ? reason : null).then(
      () => this.#reject(reason),
      () => this.#reject(reason),
    );
  };
}

/** The time a client may wait on the server before it is counted as a timeout. */
function boundFor(behaviour: Behaviour, requestTimeoutMs: number): number {
  switch (behaviour.kind) {
    case 'leave-after-ms':
      return requestTimeoutMs + behaviour.ms;
    case 'stall-then-leave':
      return requestTimeoutMs + behaviour.stallMs;
    default:
      return requestTimeoutMs;
  }
}

/** Events after which a reading client stops (leaves or stalls); Infinity for none. */
function eventLimit(behaviour: Behaviour): number {
  switch (behaviour.kind) {
    case 'leave-after-events':
    case 'reset-after-events':
      return behaviour.events;
    case 'stall-then-leave':
      return behaviour.afterEvents;
    default:
      return Number.POSITIVE_INFINITY;
  }
}

const enum Phase {
  /** Request sent, no response yet. */
  waiting,
  /** Reading the stream. */
  reading,
  /** Stopped reading on purpose (stall-then-leave). */
  stalled,
  /** Outcome recorded; whatever happens next is cleanup. */
  finished,
}

type ResponseData = Dispatcher.ResponseData;
type ResponseBody = ResponseData['body'];

/** leave-after-events, leave-after-ms, stall-then-leave and complete: undici `request()` + AbortSignal. */
class ReadingClient implements ActiveClient {
  readonly #batch: Batch;
  readonly #behaviour: Behaviour;
  readonly #id: string;
  readonly #path: string;
  readonly #limit: number;
  readonly #abort = new AbortController();
  #counter: EventCounter = NO_EVENTS;
  #phase = Phase.waiting;
  #body: ResponseBody | null = null;
  #timeout: NodeJS.Timeout | undefined;
  #leaveTimer: NodeJS.Timeout | undefined;

  constructor(batch: Batch, behaviour: Behaviour, id: string) {
    this.#batch = batch;
    this.#behaviour = behaviour;
    this.#id = id;
    this.#path = batch.request.path(id);
    this.#limit = eventLimit(behaviour);
  }

  start(): void {
    const request = this.#batch.request;
    this.#timeout = setTimeout(this.#onTimeout, boundFor(this.#behaviour, this.#batch.requestTimeoutMs));
    this.#batch.pool
      .request({
        path: this.#path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers(this.#id),
        body: request.body(this.#id),
        signal: this.#abort.signal,
      })
      .then(this.#onResponse, this.#onError);
  }

  cancel(reason: unknown): void {
    this.#phase = Phase.finished;
    this.#clearTimers();
    this.#abort.abort(reason);
  }

  #onResponse = ({ statusCode, headers, body }: ResponseData): void => {
    this.#body = body;
    body.on('error', this.#onError);
    if (this.#phase === Phase.finished) {
      body.destroy();
      return;
    }
    if (statusCode !== 200) {
      this.#fail(`http-${statusCode}`, `status ${statusCode}`);
      body.destroy();
      return;
    }
    this.#counter = this.#batch.counterFor(headers['content-type']);
    this.#phase = Phase.reading;
    body.on('data', this.#onData);
    body.on('end', this.#onEnd);
    if (this.#behaviour.kind === 'leave-after-ms') this.#leaveTimer = setTimeout(this.#leave, this.#behaviour.ms);
  };

  #onData = (chunk: Buffer): void => {
    if (this.#phase !== Phase.reading) return;
    const counter = this.#counter;
    counter.feed(chunk, this.#limit);
    if (counter.events < this.#limit) return;
    if (this.#behaviour.kind === 'stall-then-leave') {
      // Stop reading: undici stops reading the socket once its buffer is full, so the server's
      // writes back up into the kernel buffers and then into the server's own.
      this.#phase = Phase.stalled;
      this.#body!.pause();
      this.#leaveTimer = setTimeout(this.#leave, this.#behaviour.stallMs);
    } else {
      this.#leave();
    }
  };

  #leave = (): void => {
    if (this.#phase !== Phase.reading && this.#phase !== Phase.stalled) return;
    this.#record('left');
    this.#abort.abort(LEAVE);
  };

  /** The server ended the response: a complete stream, whatever its last event was. */
  #onEnd = (): void => {
    if (this.#phase === Phase.finished) return;
    this.#counter.end();
    this.#record(this.#behaviour.kind === 'complete' ? 'completed' : 'ended-early');
  };

  #onError = (error: unknown): void => {
    if (this.#phase === Phase.finished) return;
    const kind = classifyError(error);
    this.#fail(kind, describeError(error, kind === 'server-closed' ? this.#counter.events : -1));
  };

  #onTimeout = (): void => {
    if (this.#phase === Phase.finished) return;
    this.#fail('timeout', `no outcome within ${boundFor(this.#behaviour, this.#batch.requestTimeoutMs)} ms`);
    this.#abort.abort(TIMED_OUT);
  };

  #fail(kind: ClientErrorKind, detail: string): void {
    this.#record('error', kind, detail);
  }

  #record(outcome: ClientOutcomeKind, errorKind?: ClientErrorKind, detail?: string): void {
    this.#phase = Phase.finished;
    this.#clearTimers();
    this.#batch.record(this, this.#behaviour, this.#path, outcome, this.#counter.events, errorKind, detail);
  }

  #clearTimers(): void {
    clearTimeout(this.#timeout);
    if (this.#leaveTimer) clearTimeout(this.#leaveTimer);
  }
}

/**
 * leave-before-first-byte. undici calls a dispatch handler's `onRequestStart` on a connected socket
 * synchronously just before it writes the request head; a microtask queued there runs after that
 * write and before any I/O callback, so the abort lands after the server has (or will have) the
 * request and before a response byte can be read. That is the tightest "left before the first
 * byte" a client can do; `setImmediate` would let a fast server's first bytes in.
 */
class BeforeFirstByteClient implements ActiveClient, Dispatcher.DispatchHandler {
  readonly #batch: Batch;
  readonly #behaviour: Behaviour;
  readonly #id: string;
  readonly #path: string;
  #controller: Dispatcher.DispatchController | null = null;
  #finished = false;
  #sawByte = false;
  #timeout: NodeJS.Timeout | undefined;

  constructor(batch: Batch, behaviour: Behaviour, id: string) {
    this.#batch = batch;
    this.#behaviour = behaviour;
    this.#id = id;
    this.#path = batch.request.path(id);
  }

  start(): void {
    const request = this.#batch.request;
    this.#timeout = setTimeout(this.#onTimeout, this.#batch.requestTimeoutMs);
    this.#batch.pool.dispatch(
      {
        path: this.#path,
        method: request.method as Dispatcher.HttpMethod,
        headers: request.headers(this.#id),
        body: request.body(this.#id),
      },
      this,
    );
  }

  cancel(reason: unknown): void {
    this.#finished = true;
    clearTimeout(this.#timeout);
    this.#controller?.abort(reason instanceof Error ? reason : new Error(String(reason)));
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#finished) controller.abort(TIMED_OUT);
    else queueMicrotask(this.#leave);
  }

  #leave = (): void => {
    if (this.#finished) return;
    if (this.#sawByte) {
      // Cannot happen with the microtask above; kept so a change in undici shows up as an error, not a lie.
      this.#record('error', 'other', 'a response byte arrived before the client could leave');
    } else {
      this.#record('left');
    }
    this.#controller!.abort(LEAVE);
  };

  onResponseStart(): void {
    this.#sawByte = true;
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    if (!this.#finished) this.#record('error', 'other', 'response ended before the client could leave');
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#finished) return;
    this.#record('error', classifyError(error), describeError(error, -1));
  }

  #onTimeout = (): void => {
    if (this.#finished) return;
    this.#record('error', 'timeout', `not connected within ${this.#batch.requestTimeoutMs} ms`);
    this.#controller?.abort(TIMED_OUT);
  };

  #record(outcome: ClientOutcomeKind, errorKind?: ClientErrorKind, detail?: string): void {
    this.#finished = true;
    clearTimeout(this.#timeout);
    this.#batch.record(this, this.#behaviour, this.#path, outcome, 0, errorKind, detail);
  }
}

/**
 * reset-after-events over a raw socket: the request with `Connection: close`, parse the head, decode
 * the body (chunked, length-delimited or until close), count events, then `resetAndDestroy()` (RST).
 */
class ResetClient implements ActiveClient {
  readonly #batch: Batch;
  readonly #behaviour: Behaviour & { kind: 'reset-after-events' };
  readonly #id: string;
  readonly #path: string;
  #counter: EventCounter = NO_EVENTS;
  #socket: net.Socket | null = null;
  #head: ResponseHeadReader | null = new ResponseHeadReader();
  /** Null until the head is parsed, and for bodies that are not chunked. */
  #chunked: ChunkedDecoder | null = null;
  /** Body bytes still expected for a Content-Length body; -1 when the body runs to the close. */
  #remaining = -1;
  #finished = false;
  #timeout: NodeJS.Timeout | undefined;

  constructor(batch: Batch, behaviour: Behaviour & { kind: 'reset-after-events' }, id: string) {
    this.#batch = batch;
    this.#behaviour = behaviour;
    this.#id = id;
    this.#path = batch.request.path(id);
  }

  start(): void {
    const batch = this.#batch;
    this.#timeout = setTimeout(this.#onTimeout, batch.requestTimeoutMs);
    const socket = net.connect({ host: batch.host, port: batch.port, noDelay: true });
    this.#socket = socket;
    socket.on('connect', this.#onConnect);
    socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  cancel(): void {
    this.#finished = true;
    clearTimeout(this.#timeout);
    this.#socket?.destroy();
  }

  #onConnect = (): void => {
    this.#socket!.write(this.#batch.request.raw(this.#id, this.#path, this.#batch.hostHeader));
  };

  #onData = (chunk: Buffer): void => {
    if (this.#finished) return;
    let start = 0;
    if (this.#head) {
      try {
        start = this.#head.feed(chunk);
        if (start < 0) return;
        const head = this.#head.parse();
        this.#head = null;
        if (head.statusCode !== 200) return this.#fail(`http-${head.statusCode}`, `status ${head.statusCode}`);
        this.#counter = this.#batch.counterFor(head.headers['content-type']);
        if (/\bchunked\b/i.test(head.headers['transfer-encoding'] ?? '')) this.#chunked = new ChunkedDecoder();
        else if (head.headers['content-length'] !== undefined) this.#remaining = Number(head.headers['content-length']);
      } catch (error) {
        return this.#fail('other', (error as Error).message);
      }
    }
    if (this.#chunked) {
      try {
        this.#chunked.feed(chunk, start, this.#feedEvents);
      } catch (error) {
        return this.#fail('other', `bad chunked body: ${(error as Error).message}`);
      }
      if (this.#finished) return;
      if (this.#chunked.done) this.#record('ended-early');
    } else {
      const end = this.#remaining >= 0 ? Math.min(chunk.length, start + this.#remaining) : chunk.length;
      if (this.#remaining >= 0) this.#remaining -= end - start;
      if (this.#feedEvents(chunk, start, end)) return;
      if (this.#remaining === 0) this.#record('ended-early');
    }
  };

  /** Counts events in a body run; resets the connection once the planned count is reached. */
  #feedEvents = (chunk: Buffer, from: number, to: number): boolean => {
    const counter = this.#counter;
    counter.feed(chunk, this.#behaviour.events, from, to);
    if (counter.events < this.#behaviour.events) return false;
    this.#record('left');
    return true;
  };

  #onEnd = (): void => {
    if (this.#finished) return;
    if (this.#head) this.#fail('server-closed', 'connection closed before a response head');
    else if (this.#chunked || this.#remaining > 0) {
      this.#fail('server-closed', `connection closed mid-body after ${this.#counter.events} events`);
    } else this.#record('ended-early'); // a body delimited by the close
  };

  #onError = (error: Error): void => {
    if (this.#finished) return;
    const kind = classifyError(error);
    this.#fail(kind, describeError(error, kind === 'server-closed' ? this.#counter.events : -1));
  };

  #onClose = (): void => {
    if (!this.#finished) this.#fail('server-closed', 'connection closed');
  };

  #onTimeout = (): void => {
    if (!this.#finished) this.#fail('timeout', `no outcome within ${this.#batch.requestTimeoutMs} ms`);
  };

  #fail(kind: ClientErrorKind, detail: string): void {
    this.#record('error', kind, detail);
  }

  /** Records the outcome, then ends the socket: with a RST when the client leaves, plainly otherwise. */
  #record(outcome: ClientOutcomeKind, errorKind?: ClientErrorKind, detail?: string): void {
    this.#finished = true;
    clearTimeout(this.#timeout);
    const socket = this.#socket!;
    if (outcome === 'left') socket.resetAndDestroy();
    else socket.destroy();
    this.#batch.record(this, this.#behaviour, this.#path, outcome, this.#counter.events, errorKind, detail);
  }
}

/** `prefix` followed by a separator, so that `<prefix><index>` stays unique across prefixes. */
export function withSeparator(prefix: string): string {
  return prefix === '' || /[-_./:]$/.test(prefix) ? prefix : `${prefix}-`;
}

/** The counter of a client that has no response yet: it has read no event. */
const NO_EVENTS: EventCounter = Object.freeze({ events: 0, feed: (chunk: Uint8Array) => chunk.length, end: () => {} });

function errorCode(error: unknown): string | undefined {
  if (error instanceof AggregateError && error.errors.length > 0) return errorCode(error.errors[0]);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function classifyError(error: unknown): ClientErrorKind {
  switch (errorCode(error)) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timeout';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET': // undici: "other side closed" mid-response
      return 'server-closed';
    default:
      return 'other';
  }
}

function describeError(error: unknown, eventsSoFar: number): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message || error.name : String(error);
  const after = eventsSoFar >= 0 ? ` after ${eventsSoFar} events` : '';
  return code && !message.includes(code) ? `${code} ${message}${after}` : `${message}${after}`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ');
  return flat.length > 240 ? `${flat.slice(0, 239)}…` : flat;
}
