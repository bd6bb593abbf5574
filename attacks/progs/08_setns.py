# Attack: join other namespaces: setns(2) on our own and on init's namespace
# files, and the nsfs ioctls that hand out the parent (host) user namespace.
# Expected: init's ns files are EACCES; setns is EPERM (seccomp);
# NS_GET_PARENT / NS_GET_USERNS give no fd of a namespace outside the jail.
from attacklib import *

for ns in ("user", "mnt", "pid", "net", "ipc", "uts", "cgroup"):
    expect_os("open /proc/1/ns/" + ns, os.open, "/proc/1/ns/" + ns, os.O_RDONLY, errs=("EACCES",))
    fd = os.open("/proc/self/ns/" + ns, os.O_RDONLY)
    expect_sys("setns own " + ns, "setns", fd, 0)
    os.close(fd)
NS_GET_USERNS, NS_GET_PARENT = 0xb701, 0xb702
fd = os.open("/proc/self/ns/user", os.O_RDONLY)
expect_sys("NS_GET_PARENT of our user ns", "ioctl", fd, NS_GET_PARENT, errs=("EPERM",))
os.close(fd)
fd = os.open("/proc/self/ns/net", os.O_RDONLY)
r, err = syscall("ioctl", fd, NS_GET_USERNS)
if err is None:
    # The owner of our net ns must be our own user ns, not the host's.
    if os.fstat(r).st_ino != os.stat("/proc/self/ns/user").st_ino:
        escaped("NS_GET_USERNS", "owner is outside the jail")
    else:
        blocked("NS_GET_USERNS", "owner is the jail's own user ns")
    r2, err2 = syscall("setns", r, 0)
    judge("setns owner user ns", err2, ("EPERM",))
else:
    blocked("NS_GET_USERNS", err)
done()
