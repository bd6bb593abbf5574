# Attack: fill the disk through the workspace: write 8 MiB files into
# /sandbox until it fails.
# Expected: /sandbox is a 64 MiB tmpfs: ENOSPC after at most 64 MiB (never
# the host's disk); the memory it takes counts against the run's memory
# cgroup; deleting frees it again.
from attacklib import *

total = 0
try:
    for i in range(1000):
        with open("/sandbox/fill%d" % i, "wb") as f:
            for j in range(8):
                f.write(b"x" * (1 << 20))
                f.flush()
                total += 1
    escaped("fill", "%d MiB" % total)
except OSError as e:
    judge("fill /sandbox after %d MiB" % total, ename(e.errno), ("ENOSPC",))
if total > 64:
    escaped("workspace size", "%d MiB" % total)
st = os.statvfs("/sandbox")
info("workspace size MiB", st.f_blocks * st.f_frsize >> 20)
for n in os.listdir("/sandbox"):
    if n.startswith("fill"):
        os.unlink("/sandbox/" + n)
with open("/sandbox/after", "wb") as f:
    f.write(b"x" * (1 << 20))
info("space is back after deleting")
done()
