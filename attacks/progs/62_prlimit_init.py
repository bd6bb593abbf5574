# Attack: tamper with pycage's init through interfaces that check only the
# uid (init runs as the same uid 65534): lower its RLIMIT_NOFILE to 0, its
# RLIMIT_AS to 1 MiB, its RLIMIT_CPU to 1 s, lower its priority and pin it
# to one CPU; then make it work (reap children) and exit with status 5.
# Expected: the calls may succeed (they only restrict init), but init keeps
# working: the report is exact (exited, exit code 5) and nothing is left
# behind. Raising any of init's limits is EPERM.
from attacklib import *

INF = 2 ** 64 - 1
for name, res, val in (("NOFILE", 7, 0), ("AS", 9, 1 << 20), ("CPU", 0, 1)):
    lim = (ctypes.c_uint64 * 2)(val, val)
    r, err = syscall("prlimit64", 1, res, lim, 0)
    info("lower init %s: %s" % (name, err or "allowed"))
    up = (ctypes.c_uint64 * 2)(INF, INF)
    expect_sys("raise init %s" % name, "prlimit64", 1, res, up, 0)
try:
    os.setpriority(os.PRIO_PROCESS, 1, 19)
    info("renice init: allowed")
except OSError as e:
    info("renice init:", ename(e.errno))
try:
    os.sched_setaffinity(1, {0})
    info("pin init: allowed")
except OSError as e:
    info("pin init:", ename(e.errno))
for i in range(50):
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.wait()
done()
sys.exit(5)
