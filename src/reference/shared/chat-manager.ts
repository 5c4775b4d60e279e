/**
 * The chat manager (the seed's `chatManager`): active streams by request id. `startStream` creates the
 * channel and the request's context (an AbortController), starts the worker, and returns the channel to
 * the handler; the entry is removed when the worker returns. `cancelStream` cancels the context.
 *
 * `liveWorkers` counts workers that have started and not returned: the goroutine count of this
 * process, as far as streaming is concerned.
 */
import { Channel } from '../channel.js';
import type { StreamEvent } from './events.js';
import type { ResponseStreamer } from './response-streamer.js';

interface ActiveStream {
  controller: AbortController;
  streamChan: Channel<StreamEvent>;
}

export class ChatManager {
  private readonly streams = new Map<string, ActiveStream>();
  private workers = 0;

  constructor(private readonly streamer: ResponseStreamer) {}

  /** Workers started and not yet returned. */
  get liveWorkers(): number {
    return this.workers;
  }

  /** Entries in the manager: request ids currently streaming. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** The channel to read the new stream from, or null if `requestId` is already streaming. */
  startStream(requestId: string, prompt: string): Channel<StreamEvent> | null {
    if (this.streams.has(requestId)) return null;
    const entry: ActiveStream = { controller: new AbortController(), streamChan: new Channel<StreamEvent>() };
    this.streams.set(requestId, entry);

    // `go s.streamer.Stream(ctx, requestID, prompt, streamChan)`
    this.workers++;
    void this.streamer
      .stream(entry.controller.signal, requestId, prompt, entry.streamChan)
      .catch(() => {})
      .finally(() => {
        // Only a worker that returns gets here. The entry (and with it the channel, the context and
        // everything the worker holds) stays in the map until then.
        this.workers--;
        if (this.streams.get(requestId) === entry) this.streams.delete(requestId);
      });
    return entry.streamChan;
  }

  /** Cancels the stream's context; the worker notices, returns, and its entry is removed. */
  cancelStream(requestId: string): boolean {
    const entry = this.streams.get(requestId);
    if (!entry) return false;
    entry.controller.abort();
    return true;
  }
}
