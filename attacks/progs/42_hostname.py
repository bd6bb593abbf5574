# Attack: rename the host: sethostname and setdomainname, the same through
# /proc/sys/kernel, and check what uname says.
# Expected: EPERM (seccomp), EROFS for /proc/sys; the jail's own UTS
# namespace shows "pycage"; the test checks the host's name is unchanged.
from attacklib import *

expect_sys("sethostname", "sethostname", b"pwned-by-pycage", 15)
expect_sys("setdomainname", "setdomainname", b"pwned-by-pycage", 15)
for p in ("/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname"):
    try:
        with open(p, "w") as f:
            f.write("pwned-by-pycage")
        escaped("write " + p, "")
    except OSError as e:
        judge("write " + p, ename(e.errno), ("EROFS", "EACCES"))
name = os.uname().nodename
if name != "pycage":
    escaped("nodename", name)
else:
    blocked("nodename", name)
done()
