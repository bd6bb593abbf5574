# Attack: write outside the workspace: create, modify, chmod, rename, link and
# truncate files in /, /usr, /etc, /lib, /bin, /proc, /dev and the program's
# own bind; replace the interpreter.
# Expected: EROFS (read-only binds, read-only root and /dev) or EACCES/EPERM
# (root-owned files); the host's files are unchanged. /sandbox and /tmp are
# writable (they are fresh tmpfs).
from attacklib import *

M = "pycage-attack-write"
creates = ["/" + M, "/usr/" + M, "/usr/bin/" + M, "/usr/local/" + M, "/etc/" + M, "/lib/" + M,
           "/bin/" + M, "/dev/" + M, "/proc/" + M, "/attacks/" + M, "/etc/passwd",
           "/etc/ld.so.cache", "/usr/bin/python3", "/etc/hosts"]
for p in creates:
    try:
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.close(fd)
        escaped("open for write " + p, "")
    except OSError as e:
        errs = ("EROFS", "EACCES", "ETXTBSY", "EPERM")
        if p.startswith("/proc/"):
            errs += ("ENOENT",)  # procfs has no creatable files
        judge("write " + p, ename(e.errno), errs)

ops = [
    ("mkdir /var", os.mkdir, "/var"),
    ("mkdir /usr/x", os.mkdir, "/usr/" + M),
    ("chmod /usr/bin/python3.11", os.chmod, "/usr/bin/python3.11", 0o777),
    ("chown /etc/passwd", os.chown, "/etc/passwd", 65534, 65534),
    ("rename /usr/bin/env", os.rename, "/usr/bin/env", "/usr/bin/env2"),
    ("rename /etc/hosts", os.rename, "/etc/hosts", "/sandbox/hosts"),
    ("unlink /etc/passwd", os.unlink, "/etc/passwd"),
    ("rmdir /tmp", os.rmdir, "/tmp"),
    ("link /usr/bin/env", os.link, "/usr/bin/env", "/usr/bin/" + M),
    ("symlink in /", os.symlink, "/sandbox", "/" + M),
    ("truncate /usr/bin/python3.11", os.truncate, "/usr/bin/python3.11", 0),
    ("utime /usr/bin/python3.11", os.utime, "/usr/bin/python3.11", (0, 0)),
    ("mknod fifo /dev", os.mkfifo, "/dev/" + M),
    ("setxattr /usr/bin/env", os.setxattr, "/usr/bin/env", "user.pwned", b"1"),
]
for what, fn, *args in ops:
    expect_os(what, fn, *args, errs=("EROFS", "EACCES", "EPERM", "EBUSY", "EXDEV"))

for d in ("/sandbox", "/tmp"):
    with open(d + "/ok", "w") as f:
        f.write("x")
info("workspace and /tmp writable")
done()
