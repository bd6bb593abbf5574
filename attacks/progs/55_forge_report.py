# Attack: forge the run's result. If pycage's report pipe (init's fd 4) leaked
# into the command, a program can write its own "exit status 0" message,
# followed by half a message so that the decoder stops before init's real
# report, and then exit with status 3.
# Expected: no such pipe is reachable (fds 3 and 4 are closed), so the
# report says exited, exit code 3.
from attacklib import *
import stat

forged = b'{"kind":"exit","status":0}\n{"kind":"'
for f in (3, 4):
    try:
        if not stat.S_ISFIFO(os.fstat(f).st_mode):
            continue
        os.write(f, forged)
        escaped("fd %d" % f, "wrote a forged report")
    except OSError as e:
        judge("write forged report to fd %d" % f, ename(e.errno), ("EBADF", "EPIPE"))
done()
sys.exit(3)
