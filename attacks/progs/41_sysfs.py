# Attack: sysfs (device knobs, firmware, the cgroup tree, kernel addresses in
# /sys/kernel): look for /sys, mount sysfs, reach it through /proc/1/root.
# Expected: /sys does not exist, mounting it is EPERM, /proc/1/root is EACCES.
from attacklib import *

for p in ("/sys", "/sys/fs/cgroup", "/sys/kernel", "/sys/firmware", "/sys/class/net"):
    expect_os("stat " + p, os.stat, p, errs=("ENOENT",))
os.makedirs("/sandbox/sys", exist_ok=True)
expect_sys("mount sysfs", "mount", b"sysfs", b"/sandbox/sys", b"sysfs", 0, 0)
expect_sys("fsopen sysfs", "fsopen", b"sysfs", 0)
expect_os("stat /proc/1/root/sys", os.stat, "/proc/1/root/sys", errs=("EACCES",))
done()
