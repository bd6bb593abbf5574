# Attack: create new namespaces (the first step of most container escapes and
# of exploits that need CAP_SYS_ADMIN in a fresh user namespace): unshare(2)
# with each CLONE_NEW* flag and all together, and util-linux unshare(1).
# Expected: EPERM from the seccomp filter for every flag; unshare(1) fails.
from attacklib import *
import subprocess

for name, flag in NAMESPACE_FLAGS.items():
    expect_sys("unshare " + name, "unshare", flag)
expect_sys("unshare all", "unshare", sum(NAMESPACE_FLAGS.values()))
# High bits above the 32 the kernel reads must not hide the flag.
expect_sys("unshare NEWUSER|1<<32", "unshare", CLONE_NEWUSER | (1 << 32))
if os.path.exists("/usr/bin/unshare"):
    p = subprocess.run(["/usr/bin/unshare", "-r", "-m", "id", "-u"], capture_output=True, text=True)
    if p.returncode == 0:
        escaped("unshare -r -m", p.stdout.strip())
    else:
        blocked("unshare(1) -r -m", "exit %d: %s" % (p.returncode, p.stderr.strip()[:80]))
done()
