# Attack: change the file tree: mount a tmpfs, remount the read-only /usr
# bind writable, unmount the masks over /proc/kcore and /proc/kallsyms,
# pivot_root, and the fd-based mount API (fsopen, open_tree, move_mount,
# mount_setattr, fspick).
# Expected: EPERM for every call (seccomp); /usr stays read-only.
from attacklib import *

MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
expect_sys("mount tmpfs /tmp", "mount", b"none", b"/tmp", b"tmpfs", 0, 0)
expect_sys("remount /usr rw", "mount", b"none", b"/usr", 0, MS_REMOUNT | MS_BIND, 0)
expect_sys("bind / onto /sandbox", "mount", b"/", b"/sandbox", 0, MS_BIND | MS_REC, 0)
expect_sys("mount proc", "mount", b"proc", b"/sandbox", b"proc", 0, 0)
expect_sys("umount2 /proc/kcore", "umount2", b"/proc/kcore", 2)
expect_sys("umount2 /proc/kallsyms", "umount2", b"/proc/kallsyms", 2)
expect_sys("umount2 /proc", "umount2", b"/proc", 2)
os.makedirs("/sandbox/old", exist_ok=True)
expect_sys("pivot_root", "pivot_root", b"/sandbox", b"/sandbox/old")
expect_sys("fsopen tmpfs", "fsopen", b"tmpfs", 0)
expect_sys("open_tree /usr clone", "open_tree", -100, b"/usr", 1 | 0x8000)
expect_sys("move_mount", "move_mount", -100, b"/usr", -100, b"/sandbox", 0)
expect_sys("fspick /usr", "fspick", -100, b"/usr", 0)
attr = (ctypes.c_uint64 * 4)(0, 1, 0, 0)  # attr_set=0, attr_clr=RDONLY
expect_sys("mount_setattr /usr clear RDONLY", "mount_setattr", -100, b"/usr", 0, attr, 32)
try:
    open("/usr/pycage-attack-mount", "w")
    escaped("/usr writable", "")
except OSError as e:
    judge("/usr still read-only", ename(e.errno), ("EROFS",))
if os.path.exists("/usr/bin/mount"):
    import subprocess
    p = subprocess.run(["/usr/bin/mount", "-t", "tmpfs", "none", "/tmp"], capture_output=True, text=True)
    if p.returncode == 0:
        escaped("mount(8)", "mounted")
    else:
        blocked("mount(8) tmpfs", "exit %d" % p.returncode)
done()
