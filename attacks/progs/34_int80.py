# Attack: bypass the syscall filter through the i386 ABI: run shellcode
# (mmap'd RWX through ctypes) that makes a 32-bit syscall with int 0x80,
# where syscall numbers differ (a denylist keyed on x86_64 numbers would miss
# them).
# Argument: "probe" runs the same shellcode without verdicts (the test runs
# it on the host to learn whether this kernel delivers int 0x80 at all).
# Expected: the filter's architecture check kills the process with SIGSYS
# before the syscall runs. On kernels without ia32 emulation, int 0x80
# faults (SIGSEGV) even outside the jail: accepted then, as the test checks.
# Never: the shellcode returns a result.
from attacklib import *
import mmap


def run(code):
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.write(code)
    f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
    return f()


# mov eax, N; int 0x80; ret    (i386 getpid = 20, i386 unshare = 310)
shellcode = {"getpid": bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]),
             "unshare(CLONE_NEWUSER)": bytes([0xbb, 0, 0, 0, 0x10, 0xb8, 0x36, 0x01, 0, 0, 0xcd, 0x80, 0xc3])}
for name, code in shellcode.items():
    st = fork_child(lambda: say("RESULT int80 %s returned %d" % (name, run(code))))
    sig = os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0
    if ARGS and ARGS[0] == "probe":
        say("PROBE", name, "signal", sig)
    elif sig == 31:
        blocked("int 0x80 " + name, "killed by SIGSYS")
    elif sig == 11:
        blocked("int 0x80 " + name, "SIGSEGV (no ia32 entry on this kernel)")
    else:
        escaped("int 0x80 " + name, "status %d" % st)
done()
