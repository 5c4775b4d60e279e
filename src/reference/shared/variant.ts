/**
 * The two places where the old and the new streamer differ. Everything else (routing, the chat
 * manager, the worker's loop, the upstream call, the SSE output) is shared, so a test that compares
 * them compares exactly these two decisions. See old/streamer.ts and new/streamer.ts.
 */
import type { Channel } from '../channel.js';
import type { ChatManager } from './chat-manager.js';
import type { StreamEvent } from './events.js';

export interface StreamerVariant {
  readonly name: 'old' | 'new';
  /**
   * The worker's write of one event to the handler. Go: `streamChan <- event` (old) or
   * `s.sendEvent(ctx, streamChan, event)` (new). `signal` is the request's context, aborted by
   * `ChatManager.cancelStream`.
   */
  sendEvent(signal: AbortSignal, streamChan: Channel<StreamEvent>, event: StreamEvent): Promise<void>;
  /** What the handler does when its client goes away: Go's `case <-c.Writer.CloseNotify():`. */
  onClientGone(manager: ChatManager, requestId: string): void;
}
