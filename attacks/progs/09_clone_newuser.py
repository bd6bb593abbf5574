# Attack: create namespaces through clone(2) instead of unshare: a raw
# clone with CLONE_NEWUSER (and every other CLONE_NEW* flag), with garbage in
# the high 32 bits to confuse a 64-bit comparison, and clone3 (whose flags
# live in memory where seccomp cannot look).
# Expected: clone with a namespace flag is EPERM; clone3 is ENOSYS (so libc
# falls back to clone); plain fork still works.
from attacklib import *

SIGCHLD = 17


def try_clone(what, flags):
    sys.stdout.flush()
    r, err = syscall("clone", flags | SIGCHLD, 0, 0, 0, 0)
    if r == 0:
        os._exit(0)  # the child of a successful clone: leave at once
    if err is None:
        os.waitpid(r, 0)
    judge(what, err, ("EPERM",), "pid %d" % r)


for name, flag in NAMESPACE_FLAGS.items():
    if name == "NEWTIME":
        continue  # CLONE_NEWTIME is only valid for unshare/clone3
    try_clone("clone " + name, flag)
try_clone("clone NEWUSER|NEWNS|NEWPID", CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID)
try_clone("clone NEWUSER with high bits", CLONE_NEWUSER | (0xffffffff << 32))


class CloneArgs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ("flags", "pidfd", "child_tid", "parent_tid",
                                               "exit_signal", "stack", "stack_size", "tls",
                                               "set_tid", "set_tid_size", "cgroup")]


args = CloneArgs(flags=CLONE_NEWUSER, exit_signal=SIGCHLD)
sys.stdout.flush()
r, err = syscall("clone3", ctypes.byref(args), ctypes.sizeof(args))
if r == 0:
    os._exit(0)
if err is None:
    os.waitpid(r, 0)
judge("clone3 NEWUSER", err, ("ENOSYS",), "pid %d" % r)
pid = os.fork()
if pid == 0:
    os._exit(7)
_, st = os.waitpid(pid, 0)
info("plain fork works:", os.WEXITSTATUS(st) == 7)
done()
