# Attack: type commands into the operator's terminal: stdin is a pty the test
# opened (as a shell session would pass its terminal); make it our
# controlling terminal (TIOCSCTTY, allowed for a session leader) and push
# "id\n" into its input queue with TIOCSTI, also with garbage in the high 32
# bits of the request; TIOCLINUX and TIOCSETD likewise; and through /dev/tty.
# Expected: TIOCSTI, TIOCLINUX and TIOCSETD are EPERM (seccomp), whatever the
# high bits; the test reads nothing injected from the terminal afterwards.
from attacklib import *
import fcntl

TIOCSCTTY, TIOCSTI, TIOCLINUX, TIOCSETD = 0x540E, 0x5412, 0x541C, 0x5423
if os.isatty(0):
    r, err = syscall("ioctl", 0, TIOCSCTTY, 0)
    info("TIOCSCTTY on stdin:", err or "ok")
else:
    unexpected("stdin", "is not a terminal (the test should pass a pty)")
fds = [0]
try:
    fds.append(os.open("/dev/tty", os.O_RDWR))
except OSError as e:
    info("/dev/tty:", ename(e.errno))
for fd in fds:
    for ch in b"id\n":
        c = ctypes.c_char(ch)
        expect_sys("TIOCSTI fd %d %r" % (fd, chr(ch)), "ioctl", fd, TIOCSTI, ctypes.byref(c))
        expect_sys("TIOCSTI|1<<32 fd %d %r" % (fd, chr(ch)), "ioctl", fd, TIOCSTI | (1 << 32), ctypes.byref(c))
    sub = ctypes.c_char(b"\x0b"[0])  # TIOCL_GETKMSGREDIRECT-ish subcode
    expect_sys("TIOCLINUX fd %d" % fd, "ioctl", fd, TIOCLINUX, ctypes.byref(sub))
    expect_sys("TIOCSETD fd %d" % fd, "ioctl", fd, TIOCSETD, ctypes.byref(ctypes.c_int(0)))
done()
