"""NEW STREAMER: the fix, in asyncio.

When a client disconnects mid-stream:
  1. the handler's client-gone task finishes and it calls `manager.cancel_stream(request_id)` before
     returning (see on_client_gone below);
  2. the manager cancels the request's context: its `done` event is set and the worker's task is
     cancelled;
  3. the worker's pending send is `send_event(context, stream_queue, event)`, which waits for the put
     or the context, whichever comes first (the seed's `select`): the cancellation wins, the put is
     withdrawn (nothing left in the queue's waiters) and it raises;
  4. the cancellation also reaches the upstream read in flight, so the worker closes the upstream
     connection: the upstream sees its client leave and stops generating;
  5. the worker returns, and the manager deletes its entry.

Per mid-stream disconnect: nothing retained.
"""
import asyncio

from streamer import ChatManager, Context, StreamCancelled, Variant


async def send_event(context: Context, stream_queue: asyncio.Queue, event) -> None:
    """The seed's sendEvent:

        select {
        case <-ctx.Done():        return ctx.Err()   // ESCAPE HATCH: stop trying to write
        case streamChan <- event: return nil         // HAPPY PATH: the handler took it
        }

    Returns once the event is in the queue; raises StreamCancelled as soon as the context is done,
    withdrawing the put so that no later reader sees the event.
    """
    put = asyncio.ensure_future(stream_queue.put(event))
    cancelled = asyncio.ensure_future(context.done.wait())
    try:
        await asyncio.wait({put, cancelled}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        cancelled.cancel()
        if not put.done():
            put.cancel()
    if put.cancelled():
        raise StreamCancelled()


class NewStreamer(Variant):
    name = "new"

    async def send_event(self, context: Context, stream_queue: asyncio.Queue, event) -> None:
        await send_event(context, stream_queue, event)

    def on_client_gone(self, manager: ChatManager, request_id: str) -> None:
        # The critical new step: cancel the stream. The worker's send_event and its upstream read both
        # wait on the context, so the worker unblocks, closes the upstream and returns.
        manager.cancel_stream(request_id)
