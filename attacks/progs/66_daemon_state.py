# Attack (daemon path): leave state for the next run of the same pycage
# daemon, which takes another prepared jail of the same spec (one that was
# waiting, or one prepared while this run went on): files in /tmp, the
# workspace and /dev/shm, a SysV shared-memory segment and message queue,
# abstract unix sockets (one held by a background process that outlives the
# command), and print this jail's namespace ids.
# Argument "hold": leave all of it, print READY and the namespace ids, and
# keep it (with the background process) until stdin ends. Argument "check":
# look for every piece (the test runs it while a holder runs, and after).
# Expected: a prepared jail is as fresh as a cold one: the check finds
# nothing (ENOENT, ECONNREFUSED), sees no process but its own, and every
# namespace id differs from the holder's (the test compares them).
from attacklib import *
import socket
import time

KEY = 0x7eca9f  # arbitrary
IPC_CREAT = 0o1000
FILES = ["/tmp/pycage-attack-state", "/sandbox/pycage-attack-state", "/dev/shm/pycage-attack-state"]
SOCKS = ["pycage-attack-state-bg", "pycage-attack-state-main"]


def print_ns():
    for name in sorted(os.listdir("/proc/self/ns")):
        say("NS", name, os.readlink("/proc/self/ns/" + name))


def listen(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("\0" + name)
    s.listen(8)
    return s


mine = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
if ARGS[0] == "hold":
    for p in FILES:
        with open(p, "w") as f:
            f.write("left by a previous run")
    if libc.shmget(KEY, 4096, IPC_CREAT | 0o666) < 0:
        unexpected("shmget", ename(ctypes.get_errno()))
    if libc.msgget(KEY, IPC_CREAT | 0o666) < 0:
        unexpected("msgget", ename(ctypes.get_errno()))
    main_sock = listen(SOCKS[1])
    # A background process in a session of its own, holding the other
    # socket, meant to outlive the command (and be found by the next run).
    r, w = os.pipe()
    sys.stdout.flush()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            s = listen(SOCKS[0])
            s.set_inheritable(True)  # held by the exec'd process
            os.write(w, b"x")
            os.execv(sys.executable, [sys.executable, "-c", "import time, socket; time.sleep(300)", MARKER, "background"])
        os._exit(0)
    os.read(r, 1)
    info("left files, SysV objects, abstract sockets, a background process")
    print_ns()
    say("READY")
    sys.stdin.read()  # until the test closes it
else:
    if len(mine) > 2:  # PID 1 and this process
        escaped("processes", "more than PID 1 and this one: %s" % mine)
    else:
        blocked("processes", "only %s" % mine)
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                cmd = open("/proc/%s/cmdline" % p, "rb").read()
            except OSError:
                continue
            if b"background" in cmd or b"hold" in cmd:
                escaped("process of the holder", "pid %s: %r" % (p, cmd))
    for p in FILES:
        expect_os("find " + p, os.stat, p, errs=("ENOENT",))
    for fn, args in (("shmget", (KEY, 4096, 0)), ("msgget", (KEY, 0))):
        r = getattr(libc, fn)(*args)
        judge(fn + " of the holder", None if r >= 0 else ename(ctypes.get_errno()), ("ENOENT",))
    for f in ("/proc/sysvipc/shm", "/proc/sysvipc/msg"):
        if len(open(f).readlines()) > 1:
            escaped("SysV objects visible", f)
    for name in SOCKS:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        expect_os("connect @" + name, s.connect, "\0" + name, errs=("ECONNREFUSED",))
        s.close()
    for d in ("/sandbox", "/tmp", "/dev/shm"):
        if os.listdir(d):
            escaped("leftovers in " + d, os.listdir(d))
    print_ns()
done()
