# Attack: deny service to other runs through per-user kernel quotas. Every
# run's uid 65534 maps to the same host uid 65534, and the kernel counts
# inotify instances (fs.inotify.max_user_instances, 128) and POSIX message
# queue bytes (RLIMIT_MSGQUEUE, 800 KiB) per host user, across user
# namespaces.
# Argument "hold": take every inotify instance and all queue bytes, print
# READY, and keep them for 4 s. Argument "probe": one inotify instance and
# one small queue must still be available.
# Expected: a run's quota use does not affect another run: the probe run
# gets both, or pycage's policy keeps every run away from them (inotify
# refused with ENOSYS, RLIMIT_MSGQUEUE 0), so no run can take them.
from attacklib import *
import time


class MqAttr(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_long), ("maxmsg", ctypes.c_long), ("msgsize", ctypes.c_long),
                ("cur", ctypes.c_long), ("pad", ctypes.c_long * 4)]


if ARGS[0] == "hold":
    n = 0
    while libc.inotify_init() >= 0:
        n += 1
    q = 0
    for maxmsg, size in ((10, 8192), (1, 8192), (1, 64)):  # big queues, then fill the rest
        while libc.mq_open(("/pycage-attack-%d" % q).encode(), os.O_CREAT | os.O_RDWR, 0o600,
                           ctypes.byref(MqAttr(0, maxmsg, size, 0))) >= 0:
            q += 1
    info("holding %d inotify instances and %d queues" % (n, q))
    say("READY")
    time.sleep(4)
else:
    import resource
    r = libc.inotify_init()
    err = ctypes.get_errno()
    if r >= 0:
        blocked("inotify_init", "own quota available")
    elif ename(err) in ("ENOSYS", "EPERM"):
        blocked("inotify_init", "refused by the policy (%s): no shared quota to take" % ename(err))
    else:
        escaped("inotify_init", "%s: another run took this run's quota" % ename(err))
    r = libc.mq_open(b"/pycage-attack-probe", os.O_CREAT | os.O_RDWR, 0o600, ctypes.byref(MqAttr(0, 1, 64, 0)))
    err = ctypes.get_errno()
    if r >= 0:
        blocked("mq_open", "own quota available")
    elif resource.getrlimit(resource.RLIMIT_MSGQUEUE) == (0, 0):
        blocked("mq_open", "RLIMIT_MSGQUEUE is 0 (%s): no run may hold shared queue bytes" % ename(err))
    else:
        escaped("mq_open", "%s: another run took this run's quota" % ename(err))
done()
