/**
 * The stream handler (the seed's `handleStreamRequest`): starts the stream in the chat manager, then
 * relays events from the channel to the client as SSE until the channel is closed or the client leaves.
 *
 * Go's handler is a loop around
 *
 *   select {
 *   case <-c.Writer.CloseNotify():   // client gone
 *   case event, ok := <-streamChan:  // next event
 *   }
 *
 * Here the receive carries the client-gone signal: when the client closes the connection, the
 * handler's pending receive is withdrawn from the channel and the handler returns. What else happens at
 * that moment is the variant's decision: old does nothing, new cancels the stream.
 */
import type { ServerResponse } from 'node:http';
import type { ReceiveResult } from '../channel.js';
import type { ChatManager } from './chat-manager.js';
import { encodeSse, type StreamEvent } from './events.js';
import { buildPrompt } from './prompt.js';
import type { StreamerVariant } from './variant.js';

export interface HandlerContext {
  manager: ChatManager;
  variant: StreamerVariant;
}

export async function handleStreamRequest(res: ServerResponse, requestId: string, app: HandlerContext): Promise<void> {
  const streamChan = app.manager.startStream(requestId, buildPrompt(requestId));
  if (!streamChan) {
    sendJson(res, 409, { error: `request ${requestId} is already streaming` });
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();

  const clientGone = closeNotify(res);
  try {
    for (;;) {
      let next: ReceiveResult<StreamEvent>;
      try {
        next = await streamChan.receive({ signal: clientGone.signal });
      } catch {
        // `case <-c.Writer.CloseNotify():` the client is gone and this handler returns.
        app.variant.onClientGone(app.manager, requestId);
        return;
      }
      if (!next.ok) break; // the worker closed the channel: the stream is complete
      if (!res.write(encodeSse(next.value))) await drainedOrGone(res, clientGone.signal);
    }
    res.end();
  } finally {
    clientGone.dispose();
  }
}

/** An AbortSignal that fires when the connection closes before the response was finished. */
function closeNotify(res: ServerResponse): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort();
  };
  res.once('close', onClose);
  return { signal: controller.signal, dispose: () => res.off('close', onClose) };
}

/** Waits for a slow client to take what was written (like Go's blocking Flush), or for it to leave. */
function drainedOrGone(res: ServerResponse, gone: AbortSignal): Promise<void> {
  if (gone.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      gone.removeEventListener('abort', done);
      resolve();
    };
    res.once('drain', done);
    gone.addEventListener('abort', done, { once: true });
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
