/**
 * NEW STREAMER: the fix.
 *
 * When a client disconnects mid-stream:
 *   1. the handler's `case <-c.Writer.CloseNotify():` fires and it calls
 *      `chatManager.cancelStream(requestId)` before returning (see onClientGone below);
 *   2. the manager aborts the request's context (its AbortController);
 *   3. the worker's pending write is `sendEvent(signal, streamChan, event)`, a select between "a receiver
 *      took the value" and "the context is done": the abort wins, the send is withdrawn from the
 *      channel (nothing left behind) and it rejects;
 *   4. the same signal was given to the upstream request, so undici destroys it and its socket: the
 *      upstream sees its client leave and stops generating;
 *   5. the worker returns, and the manager deletes its entry.
 *
 * Per mid-stream disconnect: nothing retained.
 */
import type { Channel } from '../channel.js';
import type { StreamEvent } from '../shared/events.js';
import { createStreamerServer, type StreamerServer } from '../shared/server.js';
import type { StreamerVariant } from '../shared/variant.js';

/**
 * The seed's `sendEvent`:
 *
 *   select {
 *   case <-ctx.Done():        return ctx.Err()   // ESCAPE HATCH: stop trying to write
 *   case streamChan <- event: return nil         // HAPPY PATH: the handler took it
 *   }
 *
 * Resolves when the handler has taken `event`; rejects with the signal's reason as soon as `signal`
 * aborts, withdrawing the send so no later receiver sees it. Leaves no listener on `signal`.
 */
export function sendEvent(signal: AbortSignal, streamChan: Channel<StreamEvent>, event: StreamEvent): Promise<void> {
  return streamChan.send(event, { signal });
}

export const newStreamer: StreamerVariant = {
  name: 'new',

  sendEvent,

  onClientGone(manager, requestId): void {
    // The critical new step: cancel the stream. This aborts the context the worker's sendEvent and its
    // upstream request are both waiting on, so the worker unblocks, closes the upstream and returns.
    manager.cancelStream(requestId);
  },
};

export function createNewStreamerServer(llmBaseUrl: string): StreamerServer {
  return createStreamerServer({ variant: newStreamer, llmBaseUrl });
}
