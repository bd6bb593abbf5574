# Attack: the classic exponential fork bomb: every process forks forever and
# ignores failures, so the jail stays full of busy processes.
# Expected: the pids cgroup caps the jail at 64 tasks; the run is stopped by
# the wall-clock limit (the test passes --time-limit 2s): reason
# wall-timeout, exit 137; the host's own forks keep working and nothing is
# left behind.
from attacklib import *

say("bombing")
while True:
    try:
        os.fork()
    except OSError:
        pass
