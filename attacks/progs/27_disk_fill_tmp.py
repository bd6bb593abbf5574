# Attack: fill the disk through /tmp (files and one sparse file extended far
# past the size).
# Expected: /tmp is a 64 MiB tmpfs: ENOSPC after at most 64 MiB; a sparse
# file beyond the file-size rlimit (64 MiB) fails with EFBIG.
from attacklib import *
import signal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
total = 0
try:
    for i in range(1000):
        with open("/tmp/fill%d" % i, "wb") as f:
            for j in range(8):
                f.write(b"x" * (1 << 20))
                f.flush()
                total += 1
    escaped("fill", "%d MiB" % total)
except OSError as e:
    judge("fill /tmp after %d MiB" % total, ename(e.errno), ("ENOSPC",))
if total > 64:
    escaped("/tmp size", "%d MiB" % total)
fd = os.open("/tmp/sparse", os.O_WRONLY | os.O_CREAT)
try:
    os.pwrite(fd, b"x", 1 << 40)
    escaped("sparse write at 1 TiB", "")
except OSError as e:
    judge("sparse write at 1 TiB", ename(e.errno), ("EFBIG",))
expect_os("ftruncate to 1 TiB", os.ftruncate, fd, 1 << 40, errs=("EFBIG",))
done()
