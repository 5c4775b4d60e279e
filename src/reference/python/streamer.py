"""The parts of the Python reference streamers that old and new share: the chat manager, the worker
(ResponseStreamer), the call to the LLM upstream, and the stream handler. Standard library only
(asyncio), Python >= 3.9. The only differences between old and new are in old_streamer.py and
new_streamer.py: how the worker sends an event, and what the handler does when its client leaves.

The seed's Go, in asyncio:
  - `streamChan := make(chan StreamEvent)`  ->  `asyncio.Queue(maxsize=1)`: a put waits once the one
    slot is full, until the handler takes the event; nobody taking means waiting forever;
  - `go s.streamer.Stream(ctx, ...)`        ->  a task the manager keeps until it returns;
  - `ctx` and `CancelStream`                 ->  a Context whose cancel() sets its `done` event and
    cancels the worker's task (what cancelling a Go context does to an HTTP request in flight);
  - `case <-c.Writer.CloseNotify():`         ->  a task that reads the client's socket until EOF.
"""
import asyncio
import json
import os
import sys
import time
from typing import Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit

# The close of the channel, sent through the queue like an event (a bounded queue has no close()).
CLOSED = None

# A fixed system prompt of realistic size (~1.5 KB), as production chat servers prepend; the same as
# the Node reference streamers'.
SYSTEM_PROMPT = "\n".join(
    [
        "You are Streamer, the assistant of an engineering team that runs a chat service in production.",
        "Answer in plain English, in short paragraphs, and prefer concrete steps over general advice.",
        "When the user asks about code, quote the smallest fragment that shows the point, name the file it",
        "comes from, and explain what each line does before you suggest a change. Never invent an API: if you",
        "are not sure a function exists, say so and describe how to check. When a question involves",
        "concurrency, say which goroutine, thread or task owns each resource, who is allowed to close it, and",
        "what happens to it when the caller goes away. When a question involves memory, distinguish memory that",
        "is still reachable from memory that is merely not yet collected, and say how one would measure each.",
        "When the user reports an incident, first restate the symptom, then list the hypotheses in order of",
        "likelihood, then the cheapest observation that would tell them apart. Keep a neutral tone; do not",
        "apologise, do not flatter, and do not repeat the question back. If a request is ambiguous, pick the",
        "most likely reading, say which one you picked, and answer it. Format lists with hyphens, code with",
        "fenced blocks, and keep every answer under four hundred words unless the user asks for more detail.",
        "You may be interrupted at any time: the user can close the connection while you are still answering,",
        "and whatever you have not yet said is then discarded. Do not rely on earlier turns being visible.",
    ]
)
USER_QUESTION = "Explain, step by step, what happens to a streaming response on the server when its client disconnects."


def build_prompt(request_id: str) -> str:
    return "%s\n\n[conversation %s]\nUser: %s\nAssistant:" % (SYSTEM_PROMPT, request_id, USER_QUESTION)


class StreamCancelled(Exception):
    """The request's context was cancelled: the handler is gone, there is nobody to send to."""


class Context:
    """The request's context (the seed's `ctx`): done once cancelled; cancelling also cancels the worker."""

    def __init__(self) -> None:
        self.done = asyncio.Event()
        self.worker: Optional["asyncio.Task[None]"] = None

    def cancel(self) -> None:
        self.done.set()
        if self.worker is not None:
            self.worker.cancel()


class ActiveStream:
    def __init__(self) -> None:
        self.context = Context()
        self.stream_queue: asyncio.Queue = asyncio.Queue(maxsize=1)


class ChatManager:
    """Active streams by request id. An entry goes only when its worker returns: a zombie keeps its own."""

    def __init__(self, streamer: "ResponseStreamer") -> None:
        self.streamer = streamer
        self.streams: Dict[str, ActiveStream] = {}
        self.live_workers = 0

    def start_stream(self, request_id: str, prompt: str) -> Optional[asyncio.Queue]:
        if request_id in self.streams:
            return None
        entry = ActiveStream()
        self.streams[request_id] = entry
        # `go s.streamer.Stream(ctx, requestID, prompt, streamChan)`
        self.live_workers += 1
        entry.context.worker = asyncio.ensure_future(self._run(entry, request_id, prompt))
        return entry.stream_queue

    async def _run(self, entry: ActiveStream, request_id: str, prompt: str) -> None:
        try:
            await self.streamer.stream(entry.context, request_id, prompt, entry.stream_queue)
        except asyncio.CancelledError:
            pass
        finally:
            # Only a worker that returns gets here. Until then the entry (its queue, its context and
            # everything the worker holds) stays in the map.
            self.live_workers -= 1
            if self.streams.get(request_id) is entry:
                del self.streams[request_id]

    def cancel_stream(self, request_id: str) -> bool:
        entry = self.streams.get(request_id)
        if entry is None:
            return False
        entry.context.cancel()
        return True


class Variant:
    """The two decisions old and new make differently (old_streamer.py, new_streamer.py)."""

    name = ""

    async def send_event(self, context: Context, stream_queue: asyncio.Queue, event: Optional[dict]) -> None:
        raise NotImplementedError

    def on_client_gone(self, manager: ChatManager, request_id: str) -> None:
        raise NotImplementedError


class UpstreamError(Exception):
    pass


class LlmClient:
    """`llms.GenerateFromSinglePrompt(ctx, llm, prompt, llms.WithStreamingFunc(...))` over a raw HTTP/1.1
    connection: POST {base}/chat/completions with stream: true, one `streaming_func` call per token,
    awaited before the next chunk is read, so a worker that stops stops reading its upstream."""

    def __init__(self, base_url: str, model: str = "mock-llm") -> None:
        parts = urlsplit(base_url.rstrip("/") + "/chat/completions")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path
        self.model = model

    async def generate_from_single_prompt(self, prompt: str, streaming_func: Callable[[str], Awaitable[None]]) -> int:
        body = json.dumps({"model": self.model, "messages": [{"role": "user", "content": prompt}], "stream": True}).encode()
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(
                (
                    "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\n"
                    "Content-Length: %d\r\nConnection: close\r\n\r\n" % (self.path, self.host, self.port, len(body))
                ).encode()
                + body
            )
            await writer.drain()
            status, headers = await read_head(reader)
            if status != 200:
                raise UpstreamError("upstream answered %d" % status)
            chunks = read_chunked(reader) if "chunked" in headers.get("transfer-encoding", "") else read_to_end(reader)
            tokens = 0
            pending = b""
            async for data in chunks:
                pending += data
                while b"\n\n" in pending:
                    event, pending = pending.split(b"\n\n", 1)
                    payload = sse_data(event)
                    if payload is None:
                        continue
                    if payload == "[DONE]":
                        return tokens
                    content = json.loads(payload).get("choices", [{}])[0].get("delta", {}).get("content", "")
                    if content:
                        tokens += 1
                        # The streaming callback: the next chunk is not read until it returns.
                        await streaming_func(content)
            raise UpstreamError("the stream ended without [DONE]")
        finally:
            # Reached only by a worker that returns (or is cancelled): a zombie keeps its connection.
            writer.close()


def sse_data(event: bytes) -> Optional[str]:
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(lines).decode() if lines else None


async def read_head(reader: asyncio.StreamReader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip().lower()
    return status, headers


async def read_chunked(reader: asyncio.StreamReader):
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            return
        yield await reader.readexactly(size)
        await reader.readexactly(2)


async def read_to_end(reader: asyncio.StreamReader):
    while True:
        data = await reader.read(65536)
        if not data:
            return
        yield data


class ResponseStreamer:
    """The worker (the seed's `ResponseStreamer.Stream`): calls the LLM and sends each chunk into the queue."""

    def __init__(self, llm: LlmClient, variant: Variant) -> None:
        self.llm = llm
        self.variant = variant

    async def stream(self, context: Context, request_id: str, prompt: str, stream_queue: asyncio.Queue) -> None:
        # Per-request state that lives exactly as long as this coroutine: the prompt, the transcript so
        # far, the timings. A worker that never returns keeps all of it, and its upstream connection.
        log_data = {"request_id": request_id, "final_input": prompt, "transcript": [], "started": time.time()}

        async def send(event: Optional[dict]) -> None:
            await self.variant.send_event(context, stream_queue, event)

        async def on_chunk(chunk: str) -> None:
            log_data["transcript"].append(chunk)
            await send({"type": "token", "payload": chunk})

        try:
            tokens = await self.llm.generate_from_single_prompt(log_data["final_input"], on_chunk)
            await send({"type": "done", "payload": {"tokens": tokens}})
            await send(CLOSED)
        except (StreamCancelled, asyncio.CancelledError):
            return  # cancelled through the manager: the handler is gone
        except Exception as error:  # the upstream failed: tell the client, if it is still there
            try:
                await send({"type": "error", "payload": str(error)})
                await send(CLOSED)
            except (StreamCancelled, asyncio.CancelledError):
                pass


def encode_sse(event: dict) -> bytes:
    payload = event["payload"]
    data = {"content": payload} if event["type"] == "token" else {"message": payload} if event["type"] == "error" else payload
    return ("event: %s\ndata: %s\n\n" % (event["type"], json.dumps(data))).encode()


async def wait_until_gone(reader: asyncio.StreamReader) -> None:
    """`c.Writer.CloseNotify()`: resolves when the client closes its end (or resets it)."""
    try:
        while await reader.read(4096):
            pass  # a client sends nothing more on a streaming GET; anything it does send is ignored
    except (ConnectionError, OSError):
        pass


async def handle_stream_request(reader, writer, request_id: str, manager: ChatManager, variant: Variant) -> None:
    """The seed's `handleStreamRequest`: relay the queue to the client as SSE until it closes or the client leaves."""
    stream_queue = manager.start_stream(request_id, build_prompt(request_id))
    if stream_queue is None:
        await send_json(writer, 409, {"error": "request %s is already streaming" % request_id}, keep_alive=False)
        return
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
        b"X-Accel-Buffering: no\r\nConnection: close\r\n\r\n"
    )
    client_gone = asyncio.ensure_future(wait_until_gone(reader))
    try:
        while True:
            receive = asyncio.ensure_future(stream_queue.get())
            await asyncio.wait({receive, client_gone}, return_when=asyncio.FIRST_COMPLETED)
            if client_gone.done():
                # `case <-c.Writer.CloseNotify():` the receive is withdrawn, and this handler returns.
                receive.cancel()
                variant.on_client_gone(manager, request_id)
                return
            event = receive.result()
            if event is CLOSED:
                return  # the worker closed the stream: it is complete
            writer.write(encode_sse(event))
            await drained_or_gone(writer, client_gone)
    finally:
        client_gone.cancel()
        writer.close()


async def drained_or_gone(writer: asyncio.StreamWriter, client_gone: "asyncio.Future[None]") -> None:
    """Waits for a slow client to take what was written (like Go's blocking Flush), or for it to leave."""
    drain = asyncio.ensure_future(writer.drain())
    await asyncio.wait({drain, client_gone}, return_when=asyncio.FIRST_COMPLETED)
    if not drain.done():
        drain.cancel()
    elif not drain.cancelled():
        drain.exception()  # a reset while draining: client_gone says so on the next turn


async def send_json(writer: asyncio.StreamWriter, status: int, body: object, keep_alive: bool = True) -> None:
    text = json.dumps(body).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict"}.get(status, "")
    writer.write(
        (
            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n"
            % (status, reason, len(text), "keep-alive" if keep_alive else "close")
        ).encode()
        + text
    )
    try:
        await writer.drain()
    except ConnectionError:
        pass


def debug_vars(manager: ChatManager) -> dict:
    """GET /debug/vars, in the spirit of Go's expvar: the live-workers gauge and the manager's size."""
    return {
        "liveWorkers": manager.live_workers,
        "activeStreams": len(manager.streams),
        "pendingTasks": len(asyncio.all_tasks()),
        "python": sys.version.split()[0],
        "pid": os.getpid(),
    }



async def read_request(reader: asyncio.StreamReader):
    """The next request's method and path, or None when the client closed the connection between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    if len(request_line) != 3:
        raise ValueError("malformed request line")
    method, target = request_line[0], request_line[1]
    return method, target.split("?", 1)[0]
