# Attack: signal a host process whose pid the test passes in (a sleep the
# test started), and pycage's own pid: kill with SIGKILL and signal 0,
# pidfd_open, and /proc/<pid>; then kill(-1, SIGKILL) (everything we can
# reach).
# Arguments: host pids.
# Expected: the pid namespace hides them: ESRCH everywhere, /proc/<pid> is
# absent (or is a different, jailed process); the host processes live on.
from attacklib import *

mine = set(int(p) for p in os.listdir("/proc") if p.isdigit())
info("jail pids", sorted(mine))
for p in map(int, ARGS):
    if p in mine:
        info("pid %d exists in the jail too (another process)" % p)
        continue
    expect_os("kill(%d, 0)" % p, os.kill, p, 0, errs=("ESRCH",))
    expect_os("kill(%d, SIGKILL)" % p, os.kill, p, 9, errs=("ESRCH",))
    expect_sys("pidfd_open(%d)" % p, "pidfd_open", p, 0, errs=("ESRCH",))
    expect_os("stat /proc/%d" % p, os.stat, "/proc/%d" % p, errs=("ENOENT",))
if max(mine) > 1000:
    escaped("pid numbers", "host-sized pids visible: %d" % max(mine))
# Last: SIGKILL to everything this process may signal (never itself or init).
if os.geteuid() == 0:
    # Never outside a jail (the jail's uid is 65534): on a host, as root,
    # kill(-1, SIGKILL) kills every process of the machine.
    unexpected("kill(-1, SIGKILL)", "skipped: running as root, not in a jail")
    done()
    sys.exit(1)
try:
    os.kill(-1, 9)
    blocked("kill(-1, SIGKILL)", "confined to the jail")
except OSError as e:
    judge("kill(-1, SIGKILL)", ename(e.errno), ("ESRCH",))
done()
