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
kill_all_last()
