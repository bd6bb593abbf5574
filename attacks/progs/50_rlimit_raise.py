# Attack: lift the limits pycage set: raise the hard RLIMIT_NOFILE, FSIZE,
# CORE and STACK above their hard values (setrlimit and prlimit64), for
# ourselves and for PID 1; lower our nice value below 0; set a real-time
# scheduling class.
# Expected: every raise above a hard limit is EPERM (no CAP_SYS_RESOURCE);
# prlimit on init may only lower (raising a limited one is EPERM); negative nice
# and SCHED_FIFO are EPERM/EACCES.
from attacklib import *
import resource

INF = 2 ** 64 - 1
for name, res in (("NOFILE", 7), ("FSIZE", 1), ("CORE", 4), ("STACK", 3)):
    cur = (ctypes.c_uint64 * 2)()
    syscall("prlimit64", 0, res, 0, cur)
    info(name, "is", cur[0], cur[1])
    want = (ctypes.c_uint64 * 2)(INF, INF)
    expect_sys("prlimit64 self %s unlimited" % name, "prlimit64", 0, res, want, 0)
    initcur = (ctypes.c_uint64 * 2)()
    syscall("prlimit64", 1, res, 0, initcur)
    if initcur[1] != INF:
        expect_sys("prlimit64 init %s unlimited" % name, "prlimit64", 1, res, want, 0)
    else:
        info("init's %s is unlimited already" % name)
    try:
        resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        escaped("setrlimit %s unlimited" % name, "")
    except (ValueError, OSError) as e:
        blocked("setrlimit %s unlimited" % name, type(e).__name__)
expect_os("nice -10", os.setpriority, os.PRIO_PROCESS, 0, -10, errs=("EACCES", "EPERM"))
expect_os("SCHED_FIFO", os.sched_setscheduler, 0, os.SCHED_FIFO, os.sched_param(1),
          errs=("EPERM", "EACCES"))
done()
