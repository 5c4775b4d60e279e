"""OLD STREAMER: the seed's bug, in asyncio.

When a client disconnects mid-stream:
  1. the handler's client-gone task finishes (`case <-c.Writer.CloseNotify():`); its pending get on the
     queue is withdrawn and it returns (see on_client_gone below): the only reader of the queue is gone;
  2. nobody cancels anything: the request's context is never cancelled;
  3. the worker is parked in `await stream_queue.put(event)` (see send_event below): the queue's one slot
     is full and nobody will take from it again, so the put never completes;
  4. so the worker never returns, and never reads its upstream response again: the connection stays
     open (half-closed once the upstream has sent everything), and so does its descriptor;
  5. the manager removes an entry only when its worker returns, so the entry, the queue, the pending
     put, the prompt, the transcript so far and the upstream connection stay reachable from the manager.

Per mid-stream disconnect: +1 pending task (the worker, parked at the put), +1 live worker, +1 open
descriptor, and the few KB it holds, forever.
"""
import asyncio

from streamer import ChatManager, Context, Variant


class OldStreamer(Variant):
    name = "old"

    async def send_event(self, context: Context, stream_queue: asyncio.Queue, event) -> None:
        # `streamChan <- event`: THIS IS THE BLOCKING POINT. An unguarded put into a full bounded queue.
        # If the handler has gone, nobody will ever take from it: this await never completes, the worker
        # is frozen here forever (a zombie task), and everything it holds is leaked with it. The
        # request's context is right there, and ignored.
        await stream_queue.put(event)

    def on_client_gone(self, manager: ChatManager, request_id: str) -> None:
        # The handler returns. It does not cancel the stream: the worker is left waiting in send_event
        # above, and the manager keeps its entry.
        pass
