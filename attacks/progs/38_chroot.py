# Attack: the classic chroot escape: chroot into a subdirectory while keeping
# a handle on the old root, then chdir("..") out of it; and chroot(2) to
# undo the jail's pivot_root.
# Expected: chroot is EPERM (seccomp, and no CAP_SYS_CHROOT); the root stays
# the jail's.
from attacklib import *

os.makedirs("/sandbox/x/y", exist_ok=True)
fd = os.open("/", os.O_RDONLY)
expect_os("chroot /sandbox/x", os.chroot, "/sandbox/x")
os.fchdir(fd)
for _ in range(10):
    os.chdir("..")
expect_os("chroot .", os.chroot, ".")
expect_os("chroot /proc/self/root", os.chroot, "/proc/self/root")
expect_os("chroot /proc/1/root", os.chroot, "/proc/1/root", errs=("EPERM", "EACCES"))
if sorted(os.listdir("/")) != sorted(os.listdir(".")):
    escaped("root changed", os.listdir("."))
else:
    blocked("root", "still the jail's")
done()
