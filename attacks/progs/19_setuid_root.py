# Attack: become root: setuid(0), setgid(0), setresuid/setresgid, seteuid,
# setfsuid, setgroups([0]) and capset with every capability.
# Expected: EPERM for each; the ids stay 65534 (the jail's only mapped id).
from attacklib import *

for what, fn, args in (("setuid(0)", os.setuid, (0,)), ("setgid(0)", os.setgid, (0,)),
                       ("setresuid(0,0,0)", os.setresuid, (0, 0, 0)),
                       ("setresgid(0,0,0)", os.setresgid, (0, 0, 0)),
                       ("seteuid(0)", os.seteuid, (0,)), ("setegid(0)", os.setegid, (0,)),
                       ("setreuid(0,0)", os.setreuid, (0, 0)),
                       ("setuid(1000)", os.setuid, (1000,)), ("setgroups([0])", os.setgroups, ([0],))):
    expect_os(what, fn, *args, errs=("EPERM", "EINVAL"))
libc.setfsuid(0)
if libc.setfsuid(-1) != 65534:
    escaped("setfsuid(0)", "fsuid changed")
else:
    blocked("setfsuid(0)", "fsuid stays 65534")


class Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


data = (ctypes.c_uint32 * 6)(0xffffffff, 0xffffffff, 0xffffffff, 0x1ff, 0x1ff, 0x1ff)
expect_sys("capset all", "capset", ctypes.byref(Header(0x20080522, 0)), data)
ids = (os.getresuid(), os.getresgid(), os.getgroups())
if ids[0] != (65534,) * 3 or ids[1] != (65534,) * 3 or any(g != 65534 for g in ids[2]):
    escaped("ids", ids)
else:
    blocked("ids", "still 65534")
done()
