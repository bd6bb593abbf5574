# Attack: burn the host's CPU: busy threads and busy child processes on
# every core.
# Expected: the run's CPU time is accounted across all its processes (the
# test passes --cpu-limit 1s): reason cpu-timeout, exit 137, CPU time just
# over the limit, wall time about half of it on 2 cores.
from attacklib import *
import threading


def spin():
    while True:
        pass


for _ in range(2):
    if os.fork() == 0:
        spin()
for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
say("burning")
spin()
