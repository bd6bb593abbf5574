# Attack: exhaust the host's process table: fork sleeping children until
# fork fails.
# Expected: the pids cgroup (64 tasks) stops it: fork fails with EAGAIN
# after at most 63 children; the run ends normally (exit 0) with
# pids_limit_hit in the report, and no child survives the run.
from attacklib import *
import time

kids = []
try:
    while len(kids) < 10000:
        pid = os.fork()
        if pid == 0:
            time.sleep(30)
            os._exit(0)
        kids.append(pid)
    escaped("fork", "10000 children")
except OSError as e:
    judge("fork #%d" % (len(kids) + 1), ename(e.errno), ("EAGAIN",))
info("children:", len(kids))
if len(kids) >= 64:
    escaped("children", len(kids))
for k in kids:
    os.kill(k, 9)
for k in kids:
    os.waitpid(k, 0)
done()
