# Attack: io_uring (its own syscall path around most filters, and a long
# list of kernel CVEs): set up a ring, enter and register on it.
# Expected: io_uring_setup, io_uring_enter and io_uring_register are EPERM.
from attacklib import *

params = (ctypes.c_uint32 * 30)()
r, err = expect_sys("io_uring_setup", "io_uring_setup", 8, params)
if err is None:
    os.close(r)
expect_sys("io_uring_enter", "io_uring_enter", 0, 1, 0, 0, 0, 0)
expect_sys("io_uring_register", "io_uring_register", 0, 0, 0, 0)
done()
