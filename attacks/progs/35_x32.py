# Attack: bypass the syscall filter through the x32 ABI: syscall numbers with
# bit 30 (__X32_SYSCALL_BIT) set reach the same kernel functions as the
# x86_64 ones under different numbers. Shellcode makes x32 getpid and x32
# unshare(CLONE_NEWUSER).
# Expected: the filter kills the process with SIGSYS (it rejects every
# number with the x32 bit), even where the kernel has no x32 support.
from attacklib import *
import mmap


def run(code):
    m = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    m.write(code)
    f = ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(m)))
    return f()


# mov eax, 0x40000000|nr; (mov edi, CLONE_NEWUSER;) syscall; ret
shellcode = {"getpid": bytes([0xb8, 39, 0, 0, 0x40, 0x0f, 0x05, 0xc3]),
             "unshare(CLONE_NEWUSER)": bytes([0xbf, 0, 0, 0, 0x10, 0xb8, 0x10, 0x01, 0, 0x40,
                                              0x0f, 0x05, 0xc3])}
for name, code in shellcode.items():
    st = fork_child(lambda: say("RESULT x32 %s returned %d" % (name, run(code))))
    if os.WIFSIGNALED(st) and os.WTERMSIG(st) == 31:
        blocked("x32 " + name, "killed by SIGSYS")
    else:
        escaped("x32 " + name, "reached the kernel: status %d" % st)
# The same shellcode with a native number works: the harness is sound.
st = fork_child(lambda: say("RESULT native getpid returned %d" % run(bytes([0xb8, 39, 0, 0, 0, 0x0f, 0x05, 0xc3]))))
info("native syscall through the same shellcode: status", st)
done()
