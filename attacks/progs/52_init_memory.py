# Attack: read or write the memory of pycage's init (PID 1; a static Go
# binary mapped at 0x400000) and steal its file descriptors (the control and
# report pipes to the host side): process_vm_readv/writev, /proc/1/mem,
# /proc/1/maps, pidfd_getfd.
# Expected: process_vm_* and pidfd_getfd are EPERM (seccomp); /proc/1/mem and
# /proc/1/maps are EACCES (init is not dumpable).
from attacklib import *

buf = ctypes.create_string_buffer(64)
local = (ctypes.c_void_p * 2)(addr(buf), 64)
remote = (ctypes.c_void_p * 2)(0x400000, 64)
r, err = expect_sys("process_vm_readv init 0x400000", "process_vm_readv", 1, local, 1, remote, 1, 0)
if err is None:
    info("init memory:", buf.raw[:16])
expect_sys("process_vm_writev init 0x400000", "process_vm_writev", 1, local, 1, remote, 1, 0)
for p in ("/proc/1/mem", "/proc/1/maps", "/proc/1/smaps", "/proc/1/pagemap", "/proc/1/auxv",
          "/proc/1/syscall", "/proc/1/stack"):
    try:
        with open(p, "rb") as f:
            f.seek(0x400000 if p.endswith("mem") else 0)
            data = f.read(16)
        escaped("read " + p, repr(data))
    except OSError as e:
        judge("read " + p, ename(e.errno), ("EACCES", "EPERM", "ENOENT"))
pidfd, err = syscall("pidfd_open", 1, 0)
if err:
    unexpected("pidfd_open init", err)
else:
    for fd in (0, 1, 2, 3, 4, 5):
        expect_sys("pidfd_getfd init fd %d" % fd, "pidfd_getfd", pidfd, fd, 0)
done()
