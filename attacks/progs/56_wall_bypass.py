# Attack: escape the wall-clock limit. If pycage's report pipe (init's fd 4)
# leaked into the command, garbage written to it ends pycage's report reader,
# and with it the loop that enforces the time limit; then sleep.
# The test passes --time-limit 1s; the program sleeps 5 s.
# Expected: no such pipe is reachable; the run ends at 1 s with reason
# wall-timeout, exit 137.
from attacklib import *
import stat
import time

for f in (3, 4):
    try:
        if stat.S_ISFIFO(os.fstat(f).st_mode):
            os.write(f, b"not json\n")
            escaped("fd %d" % f, "wrote garbage into a pipe of pycage")
    except OSError as e:
        judge("write garbage to fd %d" % f, ename(e.errno), ("EBADF", "EPIPE"))
say("sleeping")
time.sleep(5)
escaped("wall limit", "slept 5 s under --time-limit 1s")
