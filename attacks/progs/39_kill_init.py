# Attack: kill or stop pycage's init (PID 1 of the jail), which would end the
# run without a report or let orphans escape reaping: every signal from 1
# to 64 through kill, tgkill and pidfd_send_signal, SIGSTOP included.
# Expected: init ignores them all (the kernel drops SIGKILL/SIGSTOP sent to a
# namespace's init from inside; init drops the rest): it is still running
# (state S, not T), still reaps orphans, and the run ends normally (exit 0).
from attacklib import *
import signal
import time

pidfd, err = syscall("pidfd_open", 1, 0)
for s in list(range(1, 32)) + [34, 40, 64]:
    for how, nr, args in (("kill", "kill", (1, s)), ("tgkill", "tgkill", (1, 1, s))):
        syscall(nr, *args)
    if pidfd >= 0:
        syscall("pidfd_send_signal", pidfd, s, 0, 0)
time.sleep(0.2)
state = open("/proc/1/stat").read().split(")")[1].split()[0]
if state not in ("S", "R", "D"):
    escaped("init state", state)
else:
    blocked("init state", state)
# Orphans are still reaped: a grandchild whose parent died must not stay a
# zombie.
for i in range(5):
    if os.fork() == 0:
        if os.fork() == 0:
            time.sleep(0.05)
            os._exit(0)
        os._exit(0)
    os.wait()
time.sleep(0.3)
zombies = [p for p in os.listdir("/proc") if p.isdigit() and
           open("/proc/%s/stat" % p).read().split(")")[1].split()[0] == "Z"]
if zombies:
    escaped("reaping", "zombies %s" % zombies)
else:
    blocked("reaping", "init still reaps")
done()
