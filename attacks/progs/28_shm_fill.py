# Attack: fill /dev/shm (a tmpfs that is easy to forget) with 32 MiB files,
# then keep the memory pinned.
# Expected: /dev/shm is private to the jail and its pages are charged to the
# run's memory cgroup: the run is OOM-killed (reason oom, exit 137) or gets
# ENOSPC, never more than the memory limit; the host's /dev/shm is untouched.
from attacklib import *

total = 0
try:
    for i in range(1000):
        with open("/dev/shm/pycage-attack-%d" % i, "wb") as f:
            for j in range(32):
                f.write(b"x" * (1 << 20))
                f.flush()
                total += 1
    escaped("shm fill", "%d MiB" % total)
except OSError as e:
    judge("fill /dev/shm after %d MiB" % total, ename(e.errno), ("ENOSPC", "ENOMEM"))
if total > 256:
    escaped("shm size", "%d MiB" % total)
done()
