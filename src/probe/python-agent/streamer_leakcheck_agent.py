"""The Python agent of streamer-leakcheck, started by sitecustomize.py in every Python process of a target.

It connects back to the harness over the Unix socket named in STREAMER_LEAKCHECK_PROBE_SOCKET, says
hello with the token (as the Node agent does), and answers, on a daemon thread of its own:

- `sample`: gc.collect() until a pass frees nothing, then the GC-tracked objects, tracemalloc's traced
  bytes (when it runs), and the pending asyncio tasks of every running event loop, read on each loop's
  own thread (a loop that does not run our callback within the timeout is reported as blocked) and
  counted by where they wait;
- `evidence`: the same tasks grouped with an example stack and where they were created, GC-tracked
  objects by type, and tracemalloc's allocations by file and line.

Standard library only, Python >= 3.9. It must never break the target: a failure is an error reply, or
silence. Wire format: one JSON object per line each way (src/probe/protocol.ts).
"""
import gc
import json
import os
import socket
import sys
import threading
import time

SOCKET_ENV = "STREAMER_LEAKCHECK_PROBE_SOCKET"
TOKEN_ENV = "STREAMER_LEAKCHECK_PROBE_TOKEN"
LABEL_ENV = "STREAMER_LEAKCHECK_PROBE_LABEL"
# "1" (or a frame count): start tracemalloc here, before the program allocates.
TRACEMALLOC_ENV = "STREAMER_LEAKCHECK_PROBE_TRACEMALLOC"

# Frames of the call that created a coroutine, kept by the interpreter in `cr_origin` ("created at"):
# enough to climb out of a library that makes the coroutine for the program (anyio 3.6's start_soon
# makes it in _spawn: the program's call is the third frame). Each frame costs every coroutine the
# program makes: on the fixed FastAPI 4 added ~16% CPU per disconnect, 8 ~54%
# (docs/measurements.md#python-tracemalloc).
ORIGIN_DEPTH = 4
# The source line shown with a place ("waiting at `await queue.put(chunk)`"), cut to this length.
CODE_CHARS = 100
# Frames walked down an await chain, and frames kept per group as its example stack.
MAX_CHAIN = 64
STACK_FRAMES_KEPT = 8
# A loop that does not run a callback within this is blocked (a busy or a stuck event loop).
LOOP_TIMEOUT_S = 1.0

_state = {"socket": None, "pid": None}
_AGENT_FILES = {os.path.abspath(__file__).rstrip("c"), os.path.join(os.path.dirname(os.path.abspath(__file__)), "sitecustomize.py")}


def start():
    if not os.environ.get(SOCKET_ENV) or not os.environ.get(TOKEN_ENV):
        return
    if threading.current_thread() is not threading.main_thread():
        return
    frames = os.environ.get(TRACEMALLOC_ENV, "")
    if frames and frames != "0":
        import tracemalloc

        if not tracemalloc.is_tracing():
            tracemalloc.start(max(1, int(frames)) if frames.isdigit() else 1)
    try:
        sys.set_coroutine_origin_tracking_depth(ORIGIN_DEPTH)
    except Exception:
        pass
    _connect()
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork_in_child)


def _after_fork_in_child():
    # The parent's connection is the parent's: the child says hello on a connection of its own. Its
    # copy of the socket is closed without a shutdown(), which would end the parent's too.
    old = _state["socket"]
    _state["socket"] = None
    if old is not None:
        try:
            old.close()
        except Exception:
            pass
    try:
        _connect()
    except Exception:
        pass


def _connect():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2.0)
        sock.connect(os.environ[SOCKET_ENV])
        sock.settimeout(None)
        hello = {
            "type": "hello",
            "token": os.environ[TOKEN_ENV],
            "label": os.environ.get(LABEL_ENV, ""),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "argv": list(sys.argv) if hasattr(sys, "argv") else [sys.executable],
            "runtime": "python",
            "version": "%s %s" % (sys.implementation.name, ".".join(str(n) for n in sys.version_info[:3])),
            "nodeVersion": "",
            "gc": gc.isenabled(),
            "tracemalloc": _tracing(),
        }
        # Said before the program runs, so the harness knows this process by the time it listens.
        sock.sendall((json.dumps(hello) + "\n").encode())
    except Exception:
        sock.close()
        return
    _state["socket"] = sock
    _state["pid"] = os.getpid()
    thread = threading.Thread(target=_serve, args=(sock,), name="streamer-leakcheck-agent", daemon=True)
    thread.start()


def _tracing():
    tracemalloc = sys.modules.get("tracemalloc")
    return bool(tracemalloc and tracemalloc.is_tracing())


def _serve(sock):
    buffered = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except Exception:
            return
        if not chunk or _state["socket"] is not sock:
            return
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            if not _reply(sock, line):
                return


def _reply(sock, line):
    # A function of its own, so that nothing of a reply outlives it: an evidence reply kept in a
    # local until the next request would be counted by the next sample (~10 000 objects, ~1 MB).
    try:
        sock.sendall((json.dumps(_answer(line)) + "\n").encode())
        return True
    except Exception:
        return False


def _answer(line):
    request_id = -1
    try:
        request = json.loads(line)
        request_id = request.get("id", -1)
        cmd = request.get("cmd")
        if cmd == "sample":
            return {"id": request_id, "ok": True, "sample": _sample(request)}
        if cmd == "evidence":
            return {"id": request_id, "ok": True, "evidence": _evidence(request)}
        raise ValueError("unknown command %r" % (cmd,))
    except Exception as error:
        return {"id": request_id, "ok": False, "error": "%s: %s" % (type(error).__name__, error)}


# ---------------------------------------------------------------------------------------------------
# Samples


def _collect(max_passes):
    """Full collections until one frees nothing (a freed object's finalizer can free more next time)."""
    passes = 0
    while passes < max_passes:
        passes += 1
        if gc.collect() == 0:
            break
    return passes


def _sample(request):
    started = time.perf_counter()
    passes = _collect(_bounded(request.get("maxGcPasses"), 1, 20, 6))
    # Read before anything below allocates: the lists built to answer are not the program's.
    traced = _traced_bytes()
    # 0 where pymalloc is not in use (PYTHONMALLOC=malloc, other interpreters): then not a figure at all.
    blocks = getattr(sys, "getallocatedblocks", lambda: 0)() or None
    objects = gc.get_objects()
    gc_objects = len(objects)
    loops = _running_loops(objects)
    del objects
    tasks = _tasks_of_loops(loops, detail=False)
    by_place = {}
    for described in tasks["tasks"]:
        key = _group_key(described)
        by_place[key] = by_place.get(key, 0) + 1
    return {
        "pid": os.getpid(),
        "gcObjects": gc_objects,
        "allocatedBlocks": blocks,
        "tracedBytes": traced,
        "pendingTasks": len(tasks["tasks"]),
        "loops": len(loops),
        "blockedLoops": tasks["blocked"],
        "tasksByPlace": by_place,
        "gcPasses": passes,
        "sampleMs": (time.perf_counter() - started) * 1000,
    }


def _bounded(value, low, high, fallback):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(max(low, min(high, value)))
    return fallback


def _traced_bytes():
    tracemalloc = sys.modules.get("tracemalloc")
    if tracemalloc is None or not tracemalloc.is_tracing():
        return None
    return tracemalloc.get_traced_memory()[0]


def _running_loops(objects):
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return []  # a program that never imported asyncio runs no loop
    loops = []
    for obj in objects:
        try:
            if isinstance(obj, asyncio.AbstractEventLoop) and obj.is_running() and not obj.is_closed():
                loops.append(obj)
        except Exception:
            pass
    return loops


def _tasks_of_loops(loops, detail):
    """Every pending task of every loop, described on the loop's own thread (all_tasks is not thread-safe)."""
    asyncio = sys.modules.get("asyncio")
    described = []
    blocked = 0
    for loop in loops:
        done = threading.Event()
        box = {}

        def read(loop=loop, box=box, done=done):
            try:
                box["tasks"] = [_describe(task, detail) for task in asyncio.all_tasks(loop)]
            except Exception as error:
                box["error"] = error
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(read)
        except RuntimeError:
            continue  # closed meanwhile
        if not done.wait(LOOP_TIMEOUT_S):
            blocked += 1
            # Read from here instead: all_tasks retries when the set changes under it, and a blocked
            # loop changes nothing.
            try:
                box["tasks"] = [_describe(task, detail) for task in asyncio.all_tasks(loop)]
            except Exception:
                box["tasks"] = []
        described.extend(box.get("tasks", []))
    return {"tasks": described, "blocked": blocked}


# ---------------------------------------------------------------------------------------------------
# Where a task waits


def _library_roots():
    import site
    import sysconfig

    roots = set()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(name)
        if path:
            roots.add(os.path.abspath(path))
    try:
        roots.update(os.path.abspath(p) for p in site.getsitepackages())
    except Exception:
        pass
    return tuple(sorted(roots))


_LIBRARY_ROOTS = None


def _is_program_file(filename):
    global _LIBRARY_ROOTS
    if _LIBRARY_ROOTS is None:
        _LIBRARY_ROOTS = _library_roots()
    if not filename or filename.startswith("<") or filename in _AGENT_FILES:
        return False
    if "/site-packages/" in filename or "/dist-packages/" in filename:
        return False
    absolute = os.path.abspath(filename)
    return not any(absolute == root or absolute.startswith(root + os.sep) for root in _LIBRARY_ROOTS)


def _frame_of(awaitable):
    for attribute in ("cr_frame", "ag_frame", "gi_frame"):
        frame = getattr(awaitable, attribute, None)
        if frame is not None:
            return frame
    return None


def _awaited_by(awaitable):
    for attribute in ("cr_await", "ag_await", "gi_yieldfrom"):
        inner = getattr(awaitable, attribute, None)
        if inner is not None:
            return inner
    return None


def _function(code):
    return getattr(code, "co_qualname", code.co_name)


def _describe(task, detail):
    """The task's await chain, outermost coroutine first: [(function, file, line, is_program)], and what it awaits last."""
    chain = []
    awaitable = task.get_coro()
    last = awaitable
    for _ in range(MAX_CHAIN):
        if awaitable is None:
            break
        frame = _frame_of(awaitable)
        if frame is not None:
            code = frame.f_code
            chain.append((_function(code), code.co_filename, frame.f_lineno, _is_program_file(code.co_filename)))
        last = awaitable
        awaitable = _awaited_by(awaitable)
    innermost = chain[-1] if chain else None
    own = next((f for f in reversed(chain) if f[3]), None)
    if innermost is not None and not innermost[3]:
        # Parked inside a library call: that call says what the task waits for (Queue.put, sleep, Event.wait).
        state = innermost[0]
    else:
        state = _awaitable_kind(awaitable if awaitable is not None else last)
    chosen = own or (chain[0] if chain else None)
    described = {
        "state": state,
        "function": chosen[0] if chosen else "(no frames)",
        "location": "%s:%d" % (os.path.basename(chosen[1]), chosen[2]) if chosen else "",
        "inProgram": own is not None,
    }
    if detail:
        described["stack"] = ["%s at %s:%d" % (f[0], os.path.basename(f[1]), f[2]) for f in reversed(chain)][:STACK_FRAMES_KEPT]
        described["code"] = _code(chosen[1], chosen[2]) if chosen else None
        described["createdBy"], described["createdByCode"] = _created_by(task.get_coro())
    return described


def _code(filename, line):
    """The source text of a line, as the program has it on disk (None for code without a file)."""
    import linecache

    text = linecache.getline(filename, line).strip()
    if not text:
        return None
    return text if len(text) <= CODE_CHARS else text[: CODE_CHARS - 1] + "…"


def _awaitable_kind(awaitable):
    if awaitable is None:
        return "not started"
    name = type(awaitable).__name__
    return {"FutureIter": "Future", "_GatheringFuture": "gather"}.get(name, name)


def _created_by(coro):
    """Where the coroutine was made, from its cr_origin (innermost call first): the first frame of the
    program, past the asyncio, anyio or Starlette frames that made it on the program's behalf; the
    innermost frame when the program is not among them. ("function at file:line", its source line)."""
    origin = getattr(coro, "cr_origin", None)
    if not origin:
        return None, None
    chosen = next((o for o in origin if _is_program_file(o[0])), origin[0])
    filename, line, function = chosen
    return "%s at %s:%d" % (function, os.path.basename(filename), line), _code(filename, line)


def _group_key(described):
    return "[%s] %s at %s" % (described["state"], described["function"], described["location"])


# ---------------------------------------------------------------------------------------------------
# Evidence


def _evidence(request):
    started = time.perf_counter()
    _collect(6)
    objects = gc.get_objects()
    types = {}
    for obj in objects:
        kind = type(obj)
        module = getattr(kind, "__module__", "builtins")
        name = kind.__qualname__ if module in ("builtins", None) else "%s.%s" % (module, kind.__qualname__)
        types[name] = types.get(name, 0) + 1
    loops = _running_loops(objects)
    del objects
    tasks = _tasks_of_loops(loops, detail=True)
    groups = {}
    for described in tasks["tasks"]:
        key = _group_key(described)
        group = groups.get(key)
        if group is None:
            described["count"] = 1
            groups[key] = described
        else:
            group["count"] += 1
    traced = _traced_lines() if request.get("traced", True) else None
    return {
        "pid": os.getpid(),
        "totalTasks": len(tasks["tasks"]),
        "blockedLoops": tasks["blocked"],
        "groups": sorted(groups.values(), key=lambda g: -g["count"]),
        "types": types,
        "traced": traced,
        "ms": (time.perf_counter() - started) * 1000,
    }


def _traced_lines():
    """tracemalloc's live allocations summed by file and line (the agent's and tracemalloc's own left out)."""
    tracemalloc = sys.modules.get("tracemalloc")
    if tracemalloc is None or not tracemalloc.is_tracing():
        return None
    skipped = set(_AGENT_FILES)
    skipped.add(tracemalloc.__file__)
    snapshot = tracemalloc.take_snapshot()
    by_line = {}
    raw = getattr(snapshot.traces, "_traces", None)
    if isinstance(raw, list):
        # The snapshot's own tuples (domain, size, frames, …), grouped without building a Traceback per
        # trace as statistics() does: 5-10x faster on a 100 000-trace heap.
        for trace in raw:
            frame = trace[2][0] if trace[2] else ("<unknown>", 0)
            known = by_line.get(frame)
            if known is None:
                by_line[frame] = [trace[1], 1]
            else:
                known[0] += trace[1]
                known[1] += 1
    else:
        for stat in snapshot.statistics("lineno"):
            by_line[(stat.traceback[0].filename, stat.traceback[0].lineno)] = [stat.size, stat.count]
    del snapshot
    return [[filename, line, size, count] for (filename, line), (size, count) in by_line.items() if filename not in skipped]
