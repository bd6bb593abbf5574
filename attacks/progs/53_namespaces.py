# Attack: find a namespace shared with the host: compare our namespace ids
# with the host's (the test passes its own /proc/self/ns links), look at the
# id maps, and at who PID 1 is.
# Arguments: name=link pairs of the host's namespaces.
# Expected: user, mnt, pid, net, ipc, uts and cgroup namespaces all differ
# from the host's; uid_map and gid_map map only 65534 to host 65534;
# setgroups is denied; PID 1 is pycage's init (its command line is
# "pycage:init" or hidden, never pycage's own command line).
from attacklib import *

host = dict(a.split("=", 1) for a in ARGS)
for name, link in sorted(host.items()):
    mine = os.readlink("/proc/self/ns/" + name)
    if mine == link:
        escaped("namespace " + name, "shared with the host: " + mine)
    else:
        blocked("namespace " + name, "own " + mine)
for f in ("uid_map", "gid_map"):
    m = open("/proc/self/" + f).read().split()
    if m != ["65534", "65534", "1"]:
        escaped(f, m)
    else:
        blocked(f, "65534 -> 65534 only")
sg = open("/proc/self/setgroups").read().strip()
if sg != "deny":
    escaped("setgroups", sg)
else:
    blocked("setgroups", sg)
for f, v in (("/proc/self/uid_map", "0 0 1"), ("/proc/self/gid_map", "0 0 1"), ("/proc/self/setgroups", "allow")):
    try:
        with open(f, "w") as fh:
            fh.write(v)
        escaped("write " + f, v)
    except OSError as e:
        judge("write " + f, ename(e.errno), ("EPERM", "EROFS", "EACCES"))
cmd = open("/proc/1/cmdline").read().split("\0")[0]
if cmd == "pycage:init":
    blocked("PID 1", cmd)
elif cmd == "":
    blocked("PID 1", "its command line is hidden (raw spawn path)")
else:
    unexpected("PID 1", cmd)  # e.g. pycage's own command line, flags and all
done()
