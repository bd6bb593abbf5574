# Attack: break out through cgroups: the release_agent escape (mount a v1
# hierarchy, set release_agent, notify_on_release), move ourselves into a
# parent cgroup, raise our own limits.
# Expected: no cgroup filesystem is visible (/sys absent), mounting cgroup or
# cgroup2 is EPERM, and /proc/self/cgroup shows only "/" (the cgroup
# namespace is rooted at the run's group).
from attacklib import *

for line in open("/proc/self/cgroup"):
    path = line.rstrip("\n").split(":", 2)[2]
    if path != "/":
        escaped("cgroup path visible", line.strip())
blocked("/proc/self/cgroup", "rooted at the run's group")
os.makedirs("/sandbox/cg", exist_ok=True)
for fstype, data in ((b"cgroup", b"memory"), (b"cgroup", b"rdma"), (b"cgroup", b"none,name=x"), (b"cgroup2", 0)):
    expect_sys("mount %s %s" % (fstype.decode(), data), "mount", b"cgroup", b"/sandbox/cg", fstype, 0, data)
expect_sys("fsopen cgroup2", "fsopen", b"cgroup2", 0)
for p in ("/sys/fs/cgroup/memory/release_agent", "/sys/fs/cgroup/cgroup.procs", "/proc/1/root/sys/fs/cgroup"):
    expect_os("open " + p, os.open, p, os.O_WRONLY, errs=("ENOENT", "EACCES"))
done()
