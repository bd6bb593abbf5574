# Attack: the machine itself: reboot (only attempted with an empty
# capability set, using the harmless CAD_OFF command), kexec_load,
# kexec_file_load, swapon/swapoff, acct, quotactl, vhangup, iopl, ioperm
# (direct port I/O) and modify_ldt (16-bit segments).
# Expected: EPERM for every call (seccomp).
from attacklib import *

if not caps_zero():
    escaped("capabilities", "not empty: reboot not attempted")
else:
    expect_sys("reboot CAD_OFF", "reboot", 0xfee1dead, 672274793, 0)
expect_sys("kexec_load", "kexec_load", 0, 0, 0, 0)
expect_sys("kexec_file_load", "kexec_file_load", -1, -1, 0, 0, 4)
expect_sys("swapon /dev/null", "swapon", b"/dev/null", 0)
expect_sys("swapoff /dev/null", "swapoff", b"/dev/null")
expect_sys("acct", "acct", b"/tmp/acct")
expect_sys("quotactl", "quotactl", 0x800002, b"/dev/null", 0, 0)
expect_sys("vhangup", "vhangup")
expect_sys("iopl 3", "iopl", 3)
expect_sys("ioperm 0x80", "ioperm", 0x80, 1, 1)
desc = (ctypes.c_uint32 * 4)(0, 0, 0xfffff, 0x41)
expect_sys("modify_ldt write", "modify_ldt", 1, desc, 16)
expect_sys("modify_ldt read", "modify_ldt", 0, ctypes.create_string_buffer(64), 64)
done()
