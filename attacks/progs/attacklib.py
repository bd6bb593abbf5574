# Helpers shared by the attack programs. The test binds this directory
# read-only at /attacks; Python puts the script's directory on sys.path, so
# every program starts with `from attacklib import *`.
#
# Output protocol, one verdict per line, read by attacks_test.go:
#   BLOCKED <what> <why>      the attempt failed the way the policy says
#   ESCAPED <what> <detail>   the attempt worked: the test fails
#   UNEXPECTED <what> <why>   it failed, but not the expected way: the test fails
#   INFO <text>               context for a human, ignored
#   DONE                      the program reached its end
# The first argument of every program is the run's marker (a unique string
# the test greps for with pgrep); program arguments follow it.

import ctypes
import errno
import os
import sys

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

MARKER = sys.argv[1] if len(sys.argv) > 1 else "no-marker"
ARGS = sys.argv[2:]

# x86_64 syscall numbers (the suite runs on amd64 only).
NR = dict(
    ioctl=16, personality=135, modify_ldt=154, pivot_root=155, prctl=157,
    adjtimex=159, chroot=161, acct=163, settimeofday=164, mount=165,
    umount2=166, swapon=167, swapoff=168, reboot=169, sethostname=170,
    setdomainname=171, iopl=172, ioperm=173, init_module=175,
    delete_module=176, quotactl=179, ptrace=101, syslog=103, setuid=105,
    setgid=106, setgroups=116, setresuid=117, capset=126, vhangup=153,
    clock_settime=227, kexec_load=246, add_key=248, request_key=249,
    keyctl=250, migrate_pages=256, unshare=272, move_pages=279,
    perf_event_open=298, fanotify_init=300, prlimit64=302,
    name_to_handle_at=303, open_by_handle_at=304, clock_adjtime=305,
    setns=308, process_vm_readv=310, process_vm_writev=311, kcmp=312,
    finit_module=313, seccomp=317, kexec_file_load=320, bpf=321,
    userfaultfd=323, pidfd_send_signal=424, io_uring_setup=425,
    io_uring_enter=426, io_uring_register=427, open_tree=428,
    move_mount=429, fsopen=430, fsconfig=431, fsmount=432, fspick=433,
    pidfd_open=434, clone3=435, pidfd_getfd=438, process_madvise=440,
    mount_setattr=442, clone=56, getpid=39, kill=62, tgkill=234,
)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080
NAMESPACE_FLAGS = dict(
    NEWNS=CLONE_NEWNS, NEWCGROUP=CLONE_NEWCGROUP, NEWUTS=CLONE_NEWUTS,
    NEWIPC=CLONE_NEWIPC, NEWUSER=CLONE_NEWUSER, NEWPID=CLONE_NEWPID,
    NEWNET=CLONE_NEWNET, NEWTIME=CLONE_NEWTIME,
)


def say(*parts):
    print(*parts, flush=True)


def info(*parts):
    say("INFO", *parts)


def blocked(what, why):
    say("BLOCKED", what, why)


def escaped(what, detail):
    say("ESCAPED", what, detail)


def unexpected(what, why):
    say("UNEXPECTED", what, why)


def done():
    say("DONE")


def ename(n):
    return errno.errorcode.get(n, str(n))


def judge(what, err, errs, detail=""):
    """err is None (success) or an errno name; errs are the accepted names."""
    if err is None:
        escaped(what, ("succeeded " + str(detail))[:200])
    elif err in errs:
        blocked(what, err)
    else:
        unexpected(what, "%s (want %s)" % (err, "|".join(errs)))


def syscall(nr, *args):
    """A raw syscall through libc: (return value, errno name or None)."""
    if isinstance(nr, str):
        nr = NR[nr]
    cargs = []
    for a in args:
        if isinstance(a, int):
            cargs.append(ctypes.c_long(a))
        elif isinstance(a, (bytes, str)):
            cargs.append(ctypes.c_char_p(a.encode() if isinstance(a, str) else a))
        else:
            cargs.append(a)
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(nr), *cargs)
    if r == -1:
        return r, ename(ctypes.get_errno())
    return r, None


def expect_sys(what, nr, *args, errs=("EPERM",)):
    """Make a syscall that must fail with one of errs."""
    r, err = syscall(nr, *args)
    judge(what, err, errs, "returned %d" % r)
    return r, err


def expect_os(what, fn, *args, errs=("EPERM",)):
    """Call a Python function that must raise OSError with one of errs."""
    try:
        r = fn(*args)
    except OSError as e:
        judge(what, ename(e.errno), errs)
        return None
    judge(what, None, errs, repr(r))
    return r


def addr(buf):
    return ctypes.cast(buf, ctypes.c_void_p).value


def status_fields():
    out = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def caps_zero():
    st = status_fields()
    return all(int(st[k], 16) == 0 for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"))


def fork_child(fn):
    """Run fn in a forked child; return its wait status."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        try:
            fn()
        finally:
            sys.stdout.flush()
            os._exit(0)
    _, st = os.waitpid(pid, 0)
    return st


def kill_all_last():
    """kill(-1, SIGKILL): everything this process may signal (never itself
    or the jail's init), then done(). Never outside a jail: on a host, as
    root (the jail's uid is 65534), it would kill every process of the
    machine, so as root it reports and exits instead."""
    if os.geteuid() == 0:
        unexpected("kill(-1, SIGKILL)", "skipped: running as root, not in a jail")
        done()
        sys.exit(1)
    try:
        os.kill(-1, 9)
        blocked("kill(-1, SIGKILL)", "confined to the jail")
    except OSError as e:
        judge("kill(-1, SIGKILL)", ename(e.errno), ("ESRCH",))
    done()
