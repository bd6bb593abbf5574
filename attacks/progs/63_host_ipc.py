# Attack: reach the host's IPC objects: a System V shared-memory segment the
# test created on the host (its key is the argument), the host's message
# queues and semaphores, POSIX shared memory files in the host's /dev/shm.
# Expected: the jail has its own IPC namespace and /dev/shm: shmget of the
# host's key is ENOENT, /proc/sysvipc lists nothing, /dev/shm is empty.
from attacklib import *

key = int(ARGS[0])
r = libc.shmget(key, 0, 0)
judge("shmget host key %#x" % key, None if r >= 0 else ename(ctypes.get_errno()), ("ENOENT",))
for shmid in range(0, 8):
    r = libc.shmat(shmid, None, 0)
    if ctypes.c_void_p(r).value not in (None, 2 ** 64 - 1):
        escaped("shmat id %d" % shmid, "attached")
blocked("shmat by id 0..7", "nothing to attach")
for f in ("/proc/sysvipc/shm", "/proc/sysvipc/msg", "/proc/sysvipc/sem"):
    lines = open(f).readlines()
    if len(lines) > 1:
        escaped("list " + f, lines[1].strip())
    else:
        blocked("list " + f, "empty")
if os.listdir("/dev/shm"):
    escaped("/dev/shm", os.listdir("/dev/shm"))
else:
    blocked("/dev/shm", "empty, private")
done()
