"""streamer-leakcheck's entry into every Python process of a target, with no change to its code.

The harness puts this folder first on PYTHONPATH, so `site` imports this module as `sitecustomize`
at start-up (before the program's own code), in every Python process the target starts: the server,
uvicorn's and gunicorn's workers (multiprocessing's spawn runs `site` again), a wrapper script. The
`sitecustomize` that would have run without us (Debian ships one) is found further down sys.path and
run first, so the interpreter behaves as it would have. `python -I`, `-E` and `-S` skip this file: the
harness then reads the process through /proc and says so.
"""
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))


def _run_shadowed_sitecustomize():
    import importlib.machinery
    import importlib.util

    rest = [entry for entry in sys.path if os.path.abspath(entry or os.getcwd()) != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    # Whoever imports sitecustomize later gets the module they would have got without us.
    sys.modules["sitecustomize"] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # as site.execsitecustomize reports it: a line, and the program goes on
        sys.stderr.write(
            "Error in sitecustomize; set PYTHONVERBOSE for traceback:\n%s: %s\n" % (type(error).__name__, error)
        )


_run_shadowed_sitecustomize()

if os.environ.get("STREAMER_LEAKCHECK_PROBE_SOCKET"):
    try:
        sys.path.insert(0, _HERE)
        try:
            import streamer_leakcheck_agent
        finally:
            sys.path.remove(_HERE)
        streamer_leakcheck_agent.start()
    except Exception:
        # Never break the target.
        pass
