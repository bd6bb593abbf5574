# Attack: outlive the time limit: ignore every catchable signal, block the
# rest, and sleep in a loop.
# Expected: the run is stopped by SIGKILL at the wall-clock limit (the test
# passes --time-limit 1s): reason wall-timeout, exit 137, wall time ~1 s.
from attacklib import *
import signal
import time

for s in range(1, 65):
    if s in (signal.SIGKILL, signal.SIGSTOP) or s not in signal.valid_signals():
        continue
    try:
        signal.signal(s, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - {signal.SIGKILL, signal.SIGSTOP})
say("sleeping")
while True:
    time.sleep(60)
