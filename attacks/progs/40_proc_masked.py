# Attack: the kernel's knobs and secrets in /proc: read /proc/kcore,
# /proc/kallsyms, /proc/keys, /proc/timer_list, /proc/sched_debug,
# /proc/kmsg; write /proc/sysrq-trigger, /proc/sys/kernel/core_pattern (a
# pipe there runs a program as host root), modprobe, hostname, drop_caches;
# read the kernel log with syslog(2).
# Expected: the secrets are masked (empty or absent), /proc is read-only
# (EROFS/EACCES on every write), syslog(2) is EPERM.
from attacklib import *

for p in ("/proc/kcore", "/proc/kallsyms", "/proc/keys", "/proc/timer_list",
          "/proc/sched_debug", "/proc/kmsg", "/proc/latency_stats"):
    try:
        data = open(p, "rb").read(4096)
    except OSError as e:
        judge("read " + p, ename(e.errno), ("ENOENT", "EACCES", "EPERM"))
        continue
    if data:
        escaped("read " + p, repr(data[:60]))
    else:
        blocked("read " + p, "masked (empty)")
for d in ("/proc/acpi", "/proc/scsi", "/proc/fs", "/proc/irq", "/proc/bus", "/proc/driver", "/proc/tty"):
    if os.path.isdir(d) and os.listdir(d):
        escaped("list " + d, os.listdir(d)[:5])
    else:
        blocked("list " + d, "masked")
for p, v in (("/proc/sysrq-trigger", "h"), ("/proc/sys/kernel/core_pattern", "|/sandbox/x"),
             ("/proc/sys/kernel/modprobe", "/sandbox/x"), ("/proc/sys/kernel/hostname", "pwned"),
             ("/proc/sys/vm/drop_caches", "3"), ("/proc/sys/kernel/panic", "1"),
             ("/proc/self/attr/current", "unconfined"), ("/proc/1/oom_score_adj", "1000"),
             ("/proc/self/oom_score_adj", "-1000"), ("/proc/sys/fs/binfmt_misc/register", ":x:E::x::/x:")):
    try:
        with open(p, "w") as f:
            f.write(v)
        escaped("write " + p, v)
    except OSError as e:
        judge("write " + p, ename(e.errno), ("EROFS", "EACCES", "EPERM", "ENOENT", "EINVAL"))
expect_sys("syslog READ_ALL", "syslog", 3, ctypes.create_string_buffer(4096), 4096)
expect_os("open /dev/kmsg", os.open, "/dev/kmsg", os.O_RDONLY, errs=("ENOENT",))
done()
