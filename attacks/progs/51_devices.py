# Attack: raw devices: /dev/tty (the operator's terminal), /dev/mem,
# /dev/kmem, /dev/port, disks, /dev/console, /dev/ptmx, /dev/kvm, /dev/fuse,
# /dev/net/tun, /dev/vsock, /dev/vhost-vsock; make our own device nodes with mknod.
# Expected: /dev has only null, zero, full, random, urandom, tty, shm and
# the fd links; /dev/tty is ENXIO (no controlling terminal); mknod is EPERM;
# /dev is read-only.
from attacklib import *
import stat

allowed = {"null", "zero", "full", "random", "urandom", "tty", "shm", "fd", "stdin", "stdout", "stderr"}
extra = sorted(set(os.listdir("/dev")) - allowed)
if extra:
    escaped("/dev entries", extra)
else:
    blocked("/dev entries", "minimal")
expect_os("open /dev/tty", os.open, "/dev/tty", os.O_RDWR, errs=("ENXIO",))
for d in ("mem", "kmem", "port", "sda", "vda", "nvme0n1", "console", "ptmx", "kvm", "fuse",
          "net/tun", "vsock", "vhost-vsock", "loop0", "loop-control", "dri/card0", "input/event0",
          "cpu/0/msr", "hidraw0", "nvidia0", "uinput"):
    expect_os("open /dev/" + d, os.open, "/dev/" + d, os.O_RDWR, errs=("ENOENT",))
for p, dev in (("/sandbox/mem", os.makedev(1, 1)), ("/tmp/sda", os.makedev(8, 0)),
               ("/dev/shm/kmsg", os.makedev(1, 11)), ("/sandbox/tty0", os.makedev(4, 0))):
    expect_os("mknod " + p, os.mknod, p, 0o666 | stat.S_IFCHR, dev, errs=("EPERM",))
expect_os("mknod /dev/x", os.mknod, "/dev/x", 0o666 | stat.S_IFCHR, os.makedev(1, 1), errs=("EROFS", "EPERM"))
done()
