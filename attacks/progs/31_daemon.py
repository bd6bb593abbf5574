# Attack: leave a daemon behind: double fork + setsid, close stdio, exec a
# long sleep whose command line carries the run's marker, then exit at once.
# Expected: when the command exits, init kills every other process of the
# jail: the run ends right away (exit 0) and pgrep on the host finds no
# process with the marker afterwards.
from attacklib import *

sys.stdout.flush()
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        fd = os.open("/dev/null", os.O_RDWR)
        for i in (0, 1, 2):
            os.dup2(fd, i)
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)", MARKER, "daemon"])
    os._exit(0)
os.waitpid(pid, 0)
say("INFO daemon started")
done()
