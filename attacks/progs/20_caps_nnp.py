# Attack: find a privilege left over: every capability set, no_new_privs,
# the seccomp mode, for this process and for a freshly exec'd child; try to
# raise ambient capabilities, clear no_new_privs, keep capabilities with
# SECBIT tricks.
# Expected: all capability sets are 0, NoNewPrivs is 1, Seccomp is 2
# (filter), in the child too; every prctl that would add privileges fails.
from attacklib import *
import subprocess

check = """
st = {l.split(':')[0]: l.split(':')[1].strip() for l in open('/proc/self/status')}
print(' '.join(st[k] for k in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp')))
"""
for who, out in (("self", None), ("exec'd child", subprocess.run([sys.executable, "-c", check],
                                                                  capture_output=True, text=True).stdout)):
    if out is None:
        st = status_fields()
        vals = [st[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp")]
    else:
        vals = out.split()
    if any(int(v, 16) for v in vals[:5]):
        escaped("capabilities of " + who, vals[:5])
    else:
        blocked("capabilities of " + who, "all zero")
    if vals[5] != "1":
        escaped("no_new_privs of " + who, vals[5])
    else:
        blocked("no_new_privs of " + who, "set")
    if vals[6] != "2":
        escaped("seccomp of " + who, vals[6])
    else:
        blocked("seccomp of " + who, "filter mode")
PR_CAP_AMBIENT, RAISE, PR_SET_NO_NEW_PRIVS, PR_SET_SECUREBITS, PR_CAPBSET_READ = 47, 2, 38, 28, 23
expect_sys("raise ambient CAP_SYS_ADMIN", "prctl", PR_CAP_AMBIENT, RAISE, 21, 0, 0)
expect_sys("clear no_new_privs", "prctl", PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0, errs=("EINVAL",))
expect_sys("set securebits KEEP_CAPS|NO_SETUID_FIXUP", "prctl", PR_SET_SECUREBITS, 0x14, 0, 0, 0)
r, err = syscall("prctl", PR_CAPBSET_READ, 21, 0, 0, 0)
if r == 1:
    escaped("CAP_SYS_ADMIN in bounding set", "")
else:
    blocked("bounding set", "CAP_SYS_ADMIN absent")
done()
