# Attack: change the host's clock: clock_settime(CLOCK_REALTIME) to the
# current time (harmless if it worked), settimeofday, adjtimex and
# clock_adjtime with a mode set.
# Expected: EPERM for every call (seccomp; no CAP_SYS_TIME either).
from attacklib import *
import time

ts = (ctypes.c_long * 2)(int(time.time()), 0)
expect_sys("clock_settime REALTIME", "clock_settime", 0, ts)
tv = (ctypes.c_long * 2)(int(time.time()), 0)
expect_sys("settimeofday", "settimeofday", tv, 0)
tx = (ctypes.c_long * 26)()
tx[0] = 0x0001  # ADJ_OFFSET, offset 0
expect_sys("adjtimex ADJ_OFFSET", "adjtimex", tx)
expect_sys("clock_adjtime REALTIME", "clock_adjtime", 0, tx)
done()
