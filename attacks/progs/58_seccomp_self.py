# Attack: loosen the syscall filter from inside: install a second filter
# that allows everything, one that hands unshare to a user-space supervisor
# (SECCOMP_RET_USER_NOTIF, answered "continue" by ourselves), and
# PR_SET_SECCOMP with a new filter; then retry unshare(CLONE_NEWUSER).
# Expected: installing filters is allowed (they can only add restrictions)
# but the kernel runs every filter and the strictest answer (EPERM) wins:
# unshare stays EPERM.
from attacklib import *


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_uint16), ("filter", ctypes.POINTER(SockFilter))]


def prog(*insns):
    arr = (SockFilter * len(insns))(*insns)
    return SockFprog(len(insns), arr), arr


SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER = 1, 8
RET_ALLOW, RET_USER_NOTIF = 0x7fff0000, 0x7fc00000
allow, a1 = prog(SockFilter(0x06, 0, 0, RET_ALLOW))
r, err = syscall("seccomp", SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(allow))
info("allow-all filter installed:", err or "yes")
# ld [nr]; jeq unshare -> notify; allow
notify, a2 = prog(SockFilter(0x20, 0, 0, 0), SockFilter(0x15, 0, 1, NR["unshare"]),
                  SockFilter(0x06, 0, 0, RET_USER_NOTIF), SockFilter(0x06, 0, 0, RET_ALLOW))
r, err = syscall("seccomp", SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, ctypes.byref(notify))
info("user-notif filter installed:", err or "listener fd %d" % r)
PR_SET_SECCOMP = 22
r2, err2 = syscall("prctl", PR_SET_SECCOMP, 2, ctypes.byref(allow), 0, 0)
info("PR_SET_SECCOMP allow-all:", err2 or "yes")
expect_sys("unshare NEWUSER after the new filters", "unshare", CLONE_NEWUSER)
expect_sys("mount after the new filters", "mount", b"none", b"/tmp", b"tmpfs", 0, 0)
status = status_fields()
info("Seccomp_filters:", status.get("Seccomp_filters"))
done()
