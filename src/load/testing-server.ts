/**
 * A tiny, correct streaming server for the load module's own tests and benchmarks: it streams `events`
 * events `intervalMs` apart (SSE, then `event: done`; or NDJSON lines, two to a write), and counts what
 * it saw of each client from the server side (closes before the end, clean ends, resets). It is the
 * fixture that lets a test say "100 clients left → the server saw 100 closes". Any method is taken; a
 * request body is read before the response starts, as JSON APIs do. Not a leak target.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface TestSseServerOptions {
  /** Events per stream before `event: done`. */
  events?: number;
  /** Gap between events; 0 writes them back to back (each on its own `setImmediate`). */
  intervalMs?: number;
  /** Delay before the response headers are sent (lets a test leave before the first byte). */
  firstByteDelayMs?: number;
  /** Bytes of `data:` per event (backpressure tests use large events). */
  eventBytes?: number;
  /** Status code of stream responses; non-200 answers with a plain body. */
  status?: number;
  /** Content-Type of stream responses. */
  contentType?: string;
  /** End streams without the final `event: done` (the end of the response ends the stream anyway). */
  endWithoutDone?: boolean;
  /** Destroy the connection after this many events, mid-body (a server that crashes mid-stream). */
  cutAfterEvents?: number;
  /** 'ndjson': `{"n":…}` lines, two per write, then `{"done":true}`, as application/x-ndjson. */
  format?: 'sse' | 'ndjson';
  /** Stream path prefix; anything else gets 404. */
  pathPrefix?: string;
  host?: string;
}

export interface TestSseServerStats {
  /** Stream requests received. */
  requests: number;
  /** Streams whose response closed before `done` was written (the client left). */
  closedEarly: number;
  /** Streams that wrote `done` and ended. */
  completed: number;
  /** Sockets that saw ECONNRESET from the client. */
  resets: number;
  /** Stream requests whose response had not sent headers yet when the client left. */
  closedBeforeHeaders: number;
  /** Events written, over all streams. */
  eventsWritten: number;
  /** `res.write` calls that returned false (the client stopped reading). */
  backpressured: number;
  /** Ids seen in stream paths, in order of arrival. */
  ids: string[];
  /** Time each stream request arrived (ms since server start), in order of arrival. */
  arrivalsMs: number[];
  /** Streams still open. */
  open: number;
  /** The last stream request's method, headers and body. */
  last: { method: string; headers: Record<string, string | string[] | undefined>; body: string } | null;
}

export interface TestSseServer {
  origin: string;
  port: number;
  stats: TestSseServerStats;
  /** Resolves once `count` streams have finished (closed early or completed), or rejects after `timeoutMs`. */
  waitForFinished(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startTestSseServer(options: TestSseServerOptions = {}): Promise<TestSseServer> {
  const events = options.events ?? 10;
  const intervalMs = options.intervalMs ?? 1;
  const firstByteDelayMs = options.firstByteDelayMs ?? 0;
  const status = options.status ?? 200;
  const ndjson = options.format === 'ndjson';
  const contentType = options.contentType ?? (ndjson ? 'application/x-ndjson' : 'text/event-stream');
  const pathPrefix = options.pathPrefix ?? '/chat/stream/';
  const host = options.host ?? '127.0.0.1';
  const data = 'x'.repeat(Math.max(1, options.eventBytes ?? 16));
  const startedAt = performance.now();

  const stats: TestSseServerStats = {
    requests: 0,
    closedEarly: 0,
    completed: 0,
    resets: 0,
    closedBeforeHeaders: 0,
    eventsWritten: 0,
    backpressured: 0,
    ids: [],
    arrivalsMs: [],
    open: 0,
    last: null,
  };
  let waiters: { count: number; resolve: () => void }[] = [];
  const notify = (): void => {
    const finished = stats.closedEarly + stats.completed;
    waiters = waiters.filter((w) => {
      if (finished >= w.count) w.resolve();
      return finished < w.count;
    });
  };

  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (!url.startsWith(pathPrefix)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    stats.requests++;
    stats.open++;
    stats.ids.push(url.slice(pathPrefix.length));
    const bodyParts: Buffer[] = [];
    req.on('data', (part: Buffer) => bodyParts.push(part));
    req.on('error', () => {});
    stats.arrivalsMs.push(performance.now() - startedAt);
    let sent = 0;
    let finished = false;
    let timer: NodeJS.Timeout | undefined;
    let immediate: NodeJS.Immediate | undefined;

    const finish = (early: boolean): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
      stats.open--;
      if (early) {
        stats.closedEarly++;
        if (!res.headersSent) stats.closedBeforeHeaders++;
      } else {
        stats.completed++;
      }
      notify();
    };
    res.on('close', () => finish(true));

    const next = (): void => {
      if (finished) return;
      if (options.cutAfterEvents !== undefined && sent >= options.cutAfterEvents) {
        res.socket?.destroy();
        return;
      }
      if (sent < events) {
        let text: string;
        if (ndjson) {
          const lines = Math.min(2, events - sent);
          text = '';
          for (let line = 0; line < lines; line++) text += `{"n":${++sent},"data":"${data}"}\n`;
          stats.eventsWritten += lines;
        } else {
          text = `id: ${++sent}\nevent: token\ndata: ${data}\n\n`;
          stats.eventsWritten++;
        }
        if (res.write(text)) {
          schedule();
        } else {
          // A well-behaved streamer waits for a slow reader instead of buffering without bound.
          stats.backpressured++;
          res.once('drain', schedule);
        }
      } else {
        res.end(options.endWithoutDone ? undefined : ndjson ? '{"done":true}\n' : 'event: done\ndata: [DONE]\n\n');
        finish(false);
      }
    };
    const schedule = (): void => {
      if (finished) return;
      if (intervalMs > 0) timer = setTimeout(next, intervalMs);
      else immediate = setImmediate(next);
    };
    const begin = (): void => {
      if (finished) return;
      if (status !== 200) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}\n`);
        finish(false);
        return;
      }
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache' });
      res.flushHeaders();
      next();
    };
    const respond = (): void => {
      stats.last = { method: req.method ?? '', headers: req.headers, body: Buffer.concat(bodyParts).toString('utf8') };
      if (firstByteDelayMs > 0) timer = setTimeout(begin, firstByteDelayMs);
      else begin();
    };
    // A body first, as a JSON API reads it; a request without one starts at once.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) req.on('end', respond);
    else respond();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET') stats.resets++;
    });
    socket.on('close', () => sockets.delete(socket));
  });
  // A client RST with no request in flight surfaces here; the socket's own listener counted it.
  server.on('clientError', (_err, socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const origin = host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;

  return {
    origin,
    port,
    stats,
    waitForFinished(count: number, timeoutMs = 5000): Promise<void> {
      if (stats.closedEarly + stats.completed >= count) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timeout = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          reject(
            new Error(
              `test server: ${stats.closedEarly + stats.completed} of ${count} streams finished after ${timeoutMs} ms`,
            ),
          );
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timeout);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    close(): Promise<void> {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
