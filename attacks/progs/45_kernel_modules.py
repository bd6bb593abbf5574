# Attack: load kernel code: init_module with a fake image, finit_module on a
# file, delete_module, autoloading a module by asking for an unknown socket
# family, and pointing /proc/sys/kernel/modprobe at our own program.
# Expected: EPERM from the filter for every module syscall and socket family;
# /proc/sys is read-only (EROFS).
from attacklib import *

img = ctypes.create_string_buffer(b"\x7fELF" + b"\0" * 60)
expect_sys("init_module", "init_module", img, 64, b"")
fd = os.open("/usr/bin/true", os.O_RDONLY)
expect_sys("finit_module", "finit_module", fd, b"", 0)
os.close(fd)
expect_sys("delete_module", "delete_module", b"loop", 0o4000)
for fam in (3, 24, 33, 41, 42, 43, 45):
    r, err = syscall(41, fam, 2, 0)
    judge("socket family %d (autoload)" % fam, err, ("EPERM",))
try:
    with open("/proc/sys/kernel/modprobe", "w") as f:
        f.write("/sandbox/evil")
    escaped("modprobe path", "written")
except OSError as e:
    judge("modprobe path", ename(e.errno), ("EROFS", "EACCES", "ENOENT"))
done()
