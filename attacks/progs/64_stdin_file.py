# Attack: use stdin when the caller redirected it from a host file
# (`pycage run -- python3 - < job.py`): pycage passes that descriptor
# through, so /proc/self/fd/0 is a magic link to the host inode. Reopen it
# for writing, walk from it to its directory, read where it lives.
# Expected: reopening is an ordinary permission check as uid 65534: a
# root-owned 0644 file is EACCES; the link leads nowhere else (ENOTDIR);
# the host file is unchanged. (readlink shows the host path: an
# information leak only.)
from attacklib import *

info("stdin is", os.readlink("/proc/self/fd/0"))
for flags, name in ((os.O_WRONLY | os.O_APPEND, "append"), (os.O_RDWR, "read-write"),
                    (os.O_WRONLY | os.O_TRUNC, "truncate")):
    try:
        fd = os.open("/proc/self/fd/0", flags)
        os.write(fd, b"# pwned\n")
        escaped("reopen stdin " + name, "wrote to the host file")
    except OSError as e:
        judge("reopen stdin " + name, ename(e.errno), ("EACCES",))
expect_os("open stdin/..", os.listdir, "/proc/self/fd/0/..", errs=("ENOTDIR",))
expect_os("fchmod stdin", os.fchmod, 0, 0o666, errs=("EPERM",))
expect_os("fchown stdin", os.fchown, 0, 65534, 65534, errs=("EPERM", "EINVAL"))
expect_os("ftruncate stdin", os.ftruncate, 0, 0, errs=("EINVAL", "EBADF"))
done()
