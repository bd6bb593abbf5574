# Attack: "Shocker" (the 2014 Docker escape): open_by_handle_at with a
# forged file handle on the filesystem of a read-only bind (/usr) to open
# any inode of that host filesystem, e.g. the root directory (inode 2 on
# ext4) and from there /etc/shadow; name_to_handle_at to learn handles.
# Expected: both syscalls are EPERM (seccomp; CAP_DAC_READ_SEARCH is gone
# too).
from attacklib import *
import struct


class Handle(ctypes.Structure):
    _fields_ = [("handle_bytes", ctypes.c_uint32), ("handle_type", ctypes.c_int),
                ("f_handle", ctypes.c_ubyte * 128)]


h = Handle(128, 0)
mount_id = ctypes.c_int(0)
expect_sys("name_to_handle_at /usr/bin/env", "name_to_handle_at", -100, b"/usr/bin/env", ctypes.byref(h),
           ctypes.byref(mount_id), 0, errs=("EPERM",))
fd = os.open("/usr", os.O_RDONLY | os.O_DIRECTORY)
forged = Handle(8, 1)  # FILEID_INO32_GEN: inode 2, generation 0
ctypes.memmove(forged.f_handle, struct.pack("<II", 2, 0), 8)
for flags, name in ((os.O_RDONLY | os.O_DIRECTORY, "root dir"), (os.O_RDONLY, "root file")):
    r, err = expect_sys("open_by_handle_at ino 2 (%s)" % name, "open_by_handle_at", fd, ctypes.byref(forged), flags)
    if err is None:
        info("opened host inode 2:", os.listdir("/proc/self/fd/%d" % r)[:10])
os.close(fd)
done()
