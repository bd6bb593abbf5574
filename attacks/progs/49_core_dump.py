# Attack: make the kernel write a core dump (on the host, core_pattern may
# point anywhere, or a pipe to a helper running as host root): raise
# RLIMIT_CORE, crash a child with SIGSEGV and SIGABRT, then crash the
# program itself with SIGSEGV.
# Expected: RLIMIT_CORE is 0/0 and cannot be raised (EPERM); the crashes
# dump nothing (no WCOREDUMP, no core file anywhere the test looks); the run
# reports signal 11, exit 139.
from attacklib import *
import resource
import signal

soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
if (soft, hard) != (0, 0):
    escaped("RLIMIT_CORE", (soft, hard))
lim = (ctypes.c_uint64 * 2)(2 ** 64 - 1, 2 ** 64 - 1)
expect_sys("prlimit CORE unlimited", "prlimit64", 0, 4, lim, 0)
PR_SET_DUMPABLE = 4
syscall("prctl", PR_SET_DUMPABLE, 1, 0, 0, 0)
os.chdir("/sandbox")
for sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGQUIT):
    st = fork_child(lambda: os.kill(os.getpid(), sig))
    if os.WCOREDUMP(st):
        escaped("core dump of signal %d" % sig, "WCOREDUMP set")
    else:
        blocked("core dump of signal %d" % sig, "no dump")
for d in ("/sandbox", "/tmp", "/"):
    cores = [n for n in os.listdir(d) if n.startswith("core")]
    if cores:
        escaped("core files in " + d, cores)
done()
sys.stdout.flush()
ctypes.string_at(0)
