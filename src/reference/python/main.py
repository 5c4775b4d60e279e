"""The runnable Python reference servers:

    python3 main.py <old|new> [--port N] [--host H] [--upstream URL]

Port and host default to $PORT / $HOST, then 0 (a free port) / 127.0.0.1; the upstream's base URL to
$LLM_URL, then $OPENAI_BASE_URL. Standard library only, Python >= 3.9.

    GET /chat/stream/{request_id}  -> SSE (409 if that id is already streaming)
    GET /debug/vars                -> {"liveWorkers": …, "activeStreams": …, "pendingTasks": …}
    anything else                  -> 404

Once listening it prints exactly one line to stdout, `listening on http://HOST:PORT`. A usage mistake
prints one line to stderr and exits 2. SIGTERM/SIGINT exit 0 at once: old's zombie workers never
finish (that is the bug), so nothing waits for them.
"""
import argparse
import asyncio
import os
import signal
import sys
from urllib.parse import unquote

from new_streamer import NewStreamer
from old_streamer import OldStreamer
from streamer import ChatManager, LlmClient, ResponseStreamer, debug_vars, handle_stream_request, read_request, send_json

STREAM_PREFIX = "/chat/stream/"
# Started by the harness, a server outlives it only if the harness was SIGKILLed: it checks this often
# whether the harness that started it is still its parent, and leaves when it is not.
ORPHAN_CHECK_S = 1.0
SUPERVISOR_PID_ENV = "STREAMER_LEAKCHECK_SUPERVISOR_PID"


def fail(message: str, code: int) -> None:
    sys.stderr.write("error: %s\n" % message)
    sys.exit(code)


def parse_args():
    parser = argparse.ArgumentParser(prog="main.py", add_help=True)
    parser.add_argument("which", choices=["old", "new"])
    parser.add_argument("--port", default=os.environ.get("PORT", "0"))
    parser.add_argument("--host", default=os.environ.get("HOST") or "127.0.0.1")
    parser.add_argument("--upstream", default=os.environ.get("LLM_URL") or os.environ.get("OPENAI_BASE_URL"))
    try:
        args = parser.parse_args()
    except SystemExit as exit:
        sys.exit(2 if exit.code else 0)
    if not str(args.port).isdigit() or int(args.port) > 65535:
        fail("--port must be an integer from 0 to 65535, got %r" % args.port, 2)
    if not args.upstream:
        fail("%s needs the upstream's base URL: pass --upstream URL or set LLM_URL (e.g. http://127.0.0.1:9000/v1)" % args.which, 2)
    return args


async def serve(args) -> None:
    variant = OldStreamer() if args.which == "old" else NewStreamer()
    manager = ChatManager(ResponseStreamer(LlmClient(args.upstream), variant))

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await read_request(reader)
                if request is None:
                    return
                method, path = request
                if path == "/debug/vars" and method == "GET":
                    await send_json(writer, 200, debug_vars(manager))
                    continue
                if not path.startswith(STREAM_PREFIX) or "/" in path[len(STREAM_PREFIX) :] or path == STREAM_PREFIX:
                    await send_json(writer, 404, {"error": "no route for %s %s" % (method, path)})
                    continue
                if method != "GET":
                    await send_json(writer, 405, {"error": "use GET"})
                    continue
                # The stream ends the connection (Connection: close), as it ends the response.
                await handle_stream_request(reader, writer, unquote(path[len(STREAM_PREFIX) :]), manager, variant)
                return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()

    try:
        server = await asyncio.start_server(on_connection, args.host, int(args.port))
    except OSError as error:
        fail("%s cannot listen on %s:%s: %s" % (args.which, args.host, args.port, error.strerror or error), 1)
    host, port = server.sockets[0].getsockname()[:2]
    print("listening on http://%s:%d" % ("[%s]" % host if ":" in host else host, port), flush=True)
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    supervisor = os.environ.get(SUPERVISOR_PID_ENV, "")
    if supervisor.isdigit() and os.getppid() == int(supervisor):
        asyncio.ensure_future(leave_when_orphaned(int(supervisor), stop))
    await stop


async def leave_when_orphaned(supervisor: int, stop: "asyncio.Future[None]") -> None:
    while os.getppid() == supervisor:
        await asyncio.sleep(ORPHAN_CHECK_S)
    if not stop.done():
        stop.set_result(None)


def main() -> None:
    args = parse_args()
    asyncio.run(serve(args))
    # Old's zombies are still pending: exit without waiting for (or warning about) them.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
