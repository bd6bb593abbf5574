# Attack (daemon path): reach the pycage daemon that runs this jail, or the
# other jails it keeps: its socket by path (the test passes the path) and
# abstract sockets of guessable names (the test listens on them on the
# host); signals to the daemon, to the PID 1 and waiting command of its
# other prepared jails and to the processes of another run going on (the
# test passes their host pids); /proc, for any process but our own.
# Arguments: "victim" (the other run: print READY, wait for stdin to end,
# print DONE), or: the socket path, "pids=" host pids (comma-separated),
# "abstract=" names (comma-separated), "victim=" the other run's marker.
# Expected: the socket's path does not exist in the jail (ENOENT), the
# abstract names are refused in the jail's own network namespace
# (ECONNREFUSED), every pid is ESRCH (or a different, jailed process of
# ours), /proc holds PID 1 and this process only; kill(-1, SIGKILL)
# reaches nothing outside (the test checks the daemon, the other run and
# the waiting prepared jails afterwards).
from attacklib import *
import socket

if ARGS[0] == "victim":
    say("READY")
    sys.stdin.read()
    say("INFO still here")
    done()
    sys.exit(0)

path = ARGS[0]
opts = dict(a.split("=", 1) for a in ARGS[1:])
pids = [int(p) for p in opts["pids"].split(",") if p]
names = [n for n in opts["abstract"].split(",") if n]
victim = opts["victim"].encode()

expect_os("stat " + path, os.stat, path, errs=("ENOENT",))
expect_os("stat " + os.path.dirname(path), os.stat, os.path.dirname(path), errs=("ENOENT",))
# The daemon's socket is a datagram socket (protocol v2); the other types
# are tried too.
for typ, tname in ((socket.SOCK_DGRAM, "dgram"), (socket.SOCK_SEQPACKET, "seqpacket"), (socket.SOCK_STREAM, "stream")):
    s = socket.socket(socket.AF_UNIX, typ)
    expect_os("connect %s %s" % (tname, path), s.connect, path, errs=("ENOENT",))
    s.close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
expect_os("sendto dgram " + path, s.sendto, b"PCR2", path, errs=("ENOENT",))
s.close()
for typ in (socket.SOCK_DGRAM, socket.SOCK_SEQPACKET):
    s = socket.socket(socket.AF_UNIX, typ)
    expect_os("connect via /proc/1/root" + path, s.connect, "/proc/1/root" + path, errs=("EACCES", "ENOENT"))
    s.close()
for n in names:
    for typ in (socket.SOCK_DGRAM, socket.SOCK_SEQPACKET, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_UNIX, typ)
        expect_os("connect @%s" % n, s.connect, "\0" + n, errs=("ECONNREFUSED",))
        s.close()

mine = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
if len(mine) > 2:
    escaped("processes in /proc", mine)
else:
    blocked("processes in /proc", "only %s" % mine)
for p in mine:
    if p == os.getpid():  # our own command line names the marker
        continue
    try:
        cmd = open("/proc/%d/cmdline" % p, "rb").read()
    except OSError:
        continue
    if victim in cmd:
        escaped("the other run's process", "pid %d" % p)
for p in pids:
    if p in mine:
        info("pid %d exists in the jail too (another process)" % p)
        continue
    expect_os("kill(%d, 0)" % p, os.kill, p, 0, errs=("ESRCH",))
    expect_os("kill(%d, SIGKILL)" % p, os.kill, p, 9, errs=("ESRCH",))
    expect_sys("pidfd_open(%d)" % p, "pidfd_open", p, 0, errs=("ESRCH",))
    expect_os("setpriority(%d)" % p, os.setpriority, os.PRIO_PROCESS, p, 19, errs=("ESRCH",))
    expect_os("stat /proc/%d" % p, os.stat, "/proc/%d" % p, errs=("ENOENT",))
kill_all_last()
