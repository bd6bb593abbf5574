# pycage warm-pool zygote. Started as `python3 [flags] -c <this>` inside a
# fresh jail; it waits for exactly one request, then becomes that program
# with the semantics of a cold `python3 [flags] ARGS...` run.
#
# The request is one JSON line on stdin, read byte by byte with os.read so
# that nothing of the program's own stdin (which follows it) is consumed:
#   {"argv": ["-c", "print(1)"] | ["main.py", ...] | ["-m", "mod", ...] | ["-"],
#    "files": [["rel/path", "<base64>", mode]]}
# It reports on the pipe whose fd is in $PYCAGE_READY_FD: "W" once waiting,
# "R" when the program starts (the pool's clock starts then); the variable
# is removed from the environment first. Nothing is printed before the
# program runs.
import os, sys


def _pycage_main():
    import time
    # Input files get a modification time before the jail's start, so that
    # the run's file collection (files changed by the run) leaves them out
    # unless the program changes them, as for a cold run's input files.
    t_in = time.time() - 30.0
    fd3 = int(os.environ.pop("PYCAGE_READY_FD"))
    import json, binascii  # before waiting: not on the request's clock
    for name in _PYCAGE_PRELOAD:
        __import__(name)
    # Everything that exists now (the interpreter's start-up, the preloaded
    # modules) moves to the collector's permanent generation: the program's
    # collections and the final one at exit no longer walk it. That halves
    # the time from the program's end to the process's exit; the program's
    # own objects are collected and finalized exactly as in a cold run.
    import gc
    if hasattr(gc, "freeze"):
        gc.freeze()
    os.write(fd3, b"W")  # waiting: warm
    buf = bytearray()
    while True:
        b = os.read(0, 1)
        if not b:
            os._exit(0)  # the pool gave up on this sandbox
        if b == b"\n":
            break
        buf += b
    req = json.loads(bytes(buf).decode("utf-8"))
    for path, content, mode in req.get("files", []):
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode or 0o644)
        data = binascii.a2b_base64(content)
        while data:
            n = os.write(fd, data)
            data = data[n:]
        os.close(fd)
        os.utime(path, (t_in, t_in))
    argv = req["argv"]
    os.write(fd3, b"R")  # the user's program starts now
    os.close(fd3)
    return argv


def _pycage_run(argv):
    import sys, os, __main__  # locals: the module's globals are cleared below
    g = __main__.__dict__
    for k in list(g):
        if k not in ("__name__", "__doc__", "__builtins__", "__spec__", "__loader__", "__package__"):
            del g[k]
    g["__annotations__"] = {}
    if argv[0] == "-c":
        sys.argv = ["-c"] + argv[2:]
        code = compile(argv[1], "<string>", "exec")
        exec(code, g)
    elif argv[0] == "-m":
        import runpy
        sys.argv = [argv[1]] + argv[2:]
        sys.path[0] = os.getcwd()
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv[0] == "-":
        sys.argv = ["-"] + argv[1:]
        src = sys.stdin.read()
        exec(compile(src, "<stdin>", "exec"), g)
    else:
        path = argv[0]
        sys.argv = list(argv)
        sys.path[0] = os.path.dirname(os.path.abspath(path))
        with open(path, "rb") as f:
            src = f.read()
        if sys.version_info >= (3, 9):  # the script's __file__ is absolute since 3.9
            path = os.path.abspath(path)
        g["__file__"] = path
        g["__cached__"] = None
        exec(compile(src, path, "exec"), g)


def _pycage_boot():
    import sys as s, os as o
    argv = _pycage_main()
    try:
        _pycage_run(argv)
    except SystemExit:
        raise
    except BaseException as e:
        # Print the traceback as a cold interpreter would: without this
        # function's and _pycage_run's frames.
        tb = e.__traceback__
        for _ in range(2):
            if tb is not None:
                tb = tb.tb_next
        e.__traceback__ = tb
        s.excepthook(type(e), e, tb)
        if isinstance(e, KeyboardInterrupt):
            import signal
            s.stdout.flush()
            s.stderr.flush()
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            o.kill(o.getpid(), signal.SIGINT)
        s.exit(1)


_pycage_boot()
