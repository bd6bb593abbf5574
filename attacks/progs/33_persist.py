# Attack: leave state for the next run (or read what a previous run left):
# files in /sandbox, /tmp and /dev/shm, a FIFO, a SysV shared-memory segment,
# message queue and semaphore set, and a POSIX message queue.
# Argument: "write" (first run) or "check" (second run).
# Expected: every run starts from fresh tmpfs and a fresh IPC namespace: the
# second run finds nothing (ENOENT everywhere), and nothing appears on the
# host.
from attacklib import *

KEY = 0x7eca9e  # arbitrary
IPC_CREAT = 0o1000
paths = ["/sandbox/pycage-attack-persist", "/tmp/pycage-attack-persist",
         "/dev/shm/pycage-attack-persist", "/tmp/pycage-attack-fifo"]


class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("cur", ctypes.c_long), ("pad", ctypes.c_long * 4)]


if ARGS[0] == "write":
    for p in paths[:3]:
        with open(p, "w") as f:
            f.write("left by a previous run")
    os.mkfifo(paths[3])
    for fn, args in (("shmget", (KEY, 4096, IPC_CREAT | 0o666)), ("msgget", (KEY, IPC_CREAT | 0o666)),
                     ("semget", (KEY, 1, IPC_CREAT | 0o666))):
        if getattr(libc, fn)(*args) < 0:
            unexpected(fn, ename(ctypes.get_errno()))
    if libc.mq_open(b"/pycage-attack", os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(MqAttr(0, 4, 64, 0))) < 0:
        import resource
        if resource.getrlimit(resource.RLIMIT_MSGQUEUE) != (0, 0):  # 0: no queue can be left at all
            unexpected("mq_open create", ename(ctypes.get_errno()))
    info("left files, SysV objects and a POSIX queue")
else:
    for p in paths:
        expect_os("find " + p, os.stat, p, errs=("ENOENT",))
    for fn, args in (("shmget", (KEY, 4096, 0)), ("msgget", (KEY, 0)), ("semget", (KEY, 1, 0))):
        r = getattr(libc, fn)(*args)
        judge(fn + " of the previous run", None if r >= 0 else ename(ctypes.get_errno()), ("ENOENT",))
    r = libc.mq_open(b"/pycage-attack", os.O_RDWR)
    judge("mq_open of the previous run", None if r >= 0 else ename(ctypes.get_errno()), ("ENOENT",))
    for d in ("/sandbox", "/tmp", "/dev/shm"):
        if os.listdir(d):
            escaped("leftovers in " + d, os.listdir(d))
    for f in ("/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"):
        if len(open(f).readlines()) > 1:
            escaped("SysV objects visible", f)
done()
