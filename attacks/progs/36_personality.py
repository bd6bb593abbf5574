# Attack: change the execution domain: personality(READ_IMPLIES_EXEC) (makes
# every readable mapping executable), ADDR_NO_RANDOMIZE (turns off ASLR for
# the next exec), PER_LINUX32, MMAP_PAGE_ZERO, and setarch(8).
# Expected: EPERM for every persona but PER_LINUX and the query 0xffffffff;
# the persona stays PER_LINUX.
from attacklib import *
import subprocess

for name, val in (("READ_IMPLIES_EXEC", 0x0400000), ("ADDR_NO_RANDOMIZE", 0x0040000),
                  ("PER_LINUX32", 0x0008), ("MMAP_PAGE_ZERO", 0x0100000),
                  ("PER_BSD", 0x0006), ("READ_IMPLIES_EXEC|high bits", 0x0400000 | (1 << 32))):
    expect_sys("personality " + name, "personality", val)
r, err = syscall("personality", 0xffffffff)
if err is not None or r != 0:
    escaped("persona", "%d %s" % (r, err))
else:
    blocked("persona", "PER_LINUX")
if os.path.exists("/usr/bin/setarch"):
    p = subprocess.run(["/usr/bin/setarch", "x86_64", "-R", "true"], capture_output=True, text=True)
    if p.returncode == 0:
        escaped("setarch -R", "ran")
    else:
        blocked("setarch -R", "exit %d" % p.returncode)
done()
