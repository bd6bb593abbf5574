# Attack: exhaust file descriptors (and through them the host's file table):
# open /dev/null, pipes and sockets until it fails, raise RLIMIT_NOFILE,
# then do it again in a few children.
# Expected: EMFILE at the nofile limit (256 per process); raising the hard
# limit is EPERM; with the pids limit the total stays bounded, and the host
# (the test opens files afterwards) is unaffected.
from attacklib import *
import resource
import socket

fds = []
try:
    while len(fds) < 100000:
        fds.append(os.open("/dev/null", os.O_RDONLY))
    escaped("open", "100000 fds")
except OSError as e:
    judge("open #%d" % (len(fds) + 4), ename(e.errno), ("EMFILE",))
if len(fds) > 256:
    escaped("fd count", len(fds))
for f in fds[:10]:
    os.close(f)
del fds[:10]
try:
    while True:
        fds.extend(os.pipe())
except OSError as e:
    judge("pipe at the limit", ename(e.errno), ("EMFILE",))
try:
    socket.socket()
    unexpected("socket at the limit", "opened")
except OSError as e:
    judge("socket at the limit", ename(e.errno), ("EMFILE",))
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
info("nofile", soft, hard)
lim = (ctypes.c_uint64 * 2)(1 << 20, 1 << 20)
expect_sys("prlimit NOFILE to 1M", "prlimit64", 0, 7, lim, 0)
for f in fds:
    os.close(f)
kids = []
for i in range(8):
    pid = os.fork()
    if pid == 0:
        n = 0
        try:
            while True:
                os.open("/dev/null", os.O_RDONLY)
                n += 1
        except OSError:
            os._exit(0 if n <= 256 else 1)
    kids.append(pid)
bad = [k for k in kids if os.waitpid(k, 0)[1] != 0]
if bad:
    escaped("children above nofile", len(bad))
else:
    blocked("children", "each stopped at the limit")
done()
