# Attack: trace or read the memory of other processes: ptrace ATTACH/SEIZE of
# our own child, of PID 1 (pycage's init), PTRACE_TRACEME, process_vm_readv/
# writev, kcmp, process_madvise, migrate_pages and move_pages on PID 1.
# Expected: EPERM (seccomp) for every call; the traced child is unaffected.
from attacklib import *
import time

PTRACE_TRACEME, PTRACE_ATTACH, PTRACE_SEIZE, PTRACE_PEEKDATA = 0, 16, 0x4206, 2
child = os.fork()
if child == 0:
    time.sleep(10)
    os._exit(0)
try:
    expect_sys("ptrace ATTACH child", "ptrace", PTRACE_ATTACH, child, 0, 0)
    expect_sys("ptrace SEIZE child", "ptrace", PTRACE_SEIZE, child, 0, 0)
    expect_sys("ptrace ATTACH init", "ptrace", PTRACE_ATTACH, 1, 0, 0)
    expect_sys("ptrace PEEKDATA init", "ptrace", PTRACE_PEEKDATA, 1, 0x400000, 0)
    expect_sys("ptrace TRACEME", "ptrace", PTRACE_TRACEME, 0, 0, 0)

    buf = ctypes.create_string_buffer(4096)
    local = (ctypes.c_void_p * 2)(addr(buf), 4096)
    remote = (ctypes.c_void_p * 2)(0x400000, 4096)
    for pid, who in ((child, "child"), (1, "init")):
        expect_sys("process_vm_readv " + who, "process_vm_readv", pid, local, 1, remote, 1, 0)
        expect_sys("process_vm_writev " + who, "process_vm_writev", pid, local, 1, remote, 1, 0)
    expect_sys("kcmp init", "kcmp", os.getpid(), 1, 0, 0, 0)
    expect_sys("migrate_pages init", "migrate_pages", 1, 64, ctypes.byref(ctypes.c_ulong(1)),
               ctypes.byref(ctypes.c_ulong(1)))
    expect_sys("move_pages init", "move_pages", 1, 0, 0, 0, 0, 0)
    pidfd, err = syscall("pidfd_open", 1, 0)
    if err is None:
        iov = (ctypes.c_void_p * 2)(addr(buf), 4096)
        expect_sys("process_madvise init", "process_madvise", pidfd, iov, 1, 8, 0)
        expect_sys("pidfd_getfd init fd 4", "pidfd_getfd", pidfd, 4, 0)
        os.close(pidfd)
    else:
        blocked("pidfd_open init", err)
    st = open("/proc/%d/status" % child).read()
    tracer = [l.split()[1] for l in st.splitlines() if l.startswith("TracerPid")][0]
    if tracer != "0":
        escaped("child traced", "TracerPid " + tracer)
finally:
    os.kill(child, 9)
    os.waitpid(child, 0)
done()
