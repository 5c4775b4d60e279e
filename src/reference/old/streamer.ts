/**
 * OLD STREAMER: the seed's bug, faithfully.
 *
 * When a client disconnects mid-stream:
 *   1. the handler's `case <-c.Writer.CloseNotify():` fires; its receive on the channel is withdrawn and
 *      it returns (see onClientGone below): the only reader of `streamChan` is gone;
 *   2. nobody cancels anything: the request's context (the manager's AbortController) is never aborted;
 *   3. the worker is parked in `await streamChan.send(event)` (see sendEvent below), which settles only
 *      when a receiver takes the value, so never;
 *   4. so the worker never returns, and never reads the upstream response again: undici pauses the
 *      socket with the rest of the answer unread, and the connection stays open (after the upstream's
 *      keep-alive timeout it is half-closed, but this process still holds it);
 *   5. the manager removes an entry only when its worker returns, so the entry, the channel, the
 *      pending send, the prompt, the transcript so far and the log data stay reachable from the manager.
 *
 * Per mid-stream disconnect: +1 live worker, +1 active handle (the upstream TCP socket) and tens of KB,
 * forever: measured, +1.00 TCPSocketWrap, ~51 KB heap and ~27 KB external (the unread rest of the
 * answer) per disconnect, unchanged 3 s after the upstream had hung up its end; new leaves no socket
 * (docs/measurements.md#reference-pair).
 */
import type { Channel } from '../channel.js';
import type { StreamEvent } from '../shared/events.js';
import { createStreamerServer, type StreamerServer } from '../shared/server.js';
import type { StreamerVariant } from '../shared/variant.js';

export const oldStreamer: StreamerVariant = {
  name: 'old',

  sendEvent(_signal: AbortSignal, streamChan: Channel<StreamEvent>, event: StreamEvent): Promise<void> {
    // `streamChan <- event`: THIS IS THE BLOCKING POINT. An unguarded send on an unbuffered channel.
    // If the handler has gone, no receiver will ever come: this promise never settles, the worker is
    // frozen here forever (a zombie), and everything it holds is leaked with it. The request's signal
    // is right there, and ignored.
    return streamChan.send(event);
  },

  onClientGone(): void {
    // The handler logs the disconnect and returns. It does not cancel the stream: the worker is left
    // blocked in sendEvent above, and the manager keeps its entry.
  },
};

export function createOldStreamerServer(llmBaseUrl: string): StreamerServer {
  return createStreamerServer({ variant: oldStreamer, llmBaseUrl });
}
