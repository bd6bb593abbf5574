# Attack: read the host's secrets: /etc/shadow, /etc/gshadow, sudoers, SSH
# host keys, /root and its .ssh, /home, logs, /run (sockets), /boot, /var.
# Expected: none of them exists inside the jail (ENOENT); /etc holds only the
# generated files and the read-only ld.so.cache, alternatives, localtime,
# matplotlibrc and fonts.
from attacklib import *

targets = ["/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/ssh_host_rsa_key",
           "/etc/ssh", "/root", "/root/.ssh/id_rsa", "/root/.bash_history", "/home",
           "/var/log/auth.log", "/var", "/run", "/run/docker.sock", "/boot", "/srv",
           "/opt", "/mnt", "/media", "/work", "/proc/1/root/etc/shadow"]
for p in targets:
    try:
        with open(p, "rb") as f:
            data = f.read(64)
        escaped("read " + p, repr(data[:40]))
    except OSError as e:
        judge("read " + p, ename(e.errno), ("ENOENT", "EACCES"))

# Generated files, plus the few host files the default policy binds
# read-only on purpose (DESIGN.md, internal/jail/defaults.go).
allowed_etc = {"passwd", "group", "hosts", "hostname", "nsswitch.conf", "ld.so.cache",
               "alternatives", "localtime", "matplotlibrc", "fonts"}
extra = sorted(set(os.listdir("/etc")) - allowed_etc)
if extra:
    escaped("host /etc visible", extra)
else:
    blocked("list /etc", "only generated files")
for line in open("/etc/passwd"):
    if line.split(":")[0] not in ("root", "sandbox"):
        escaped("host /etc/passwd", line.strip())
allowed_root = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "dev",
                "proc", "tmp", "sandbox", "attacks"}
extra = sorted(set(os.listdir("/")) - allowed_root)
if extra:
    escaped("unexpected entries in /", extra)
else:
    blocked("list /", "only the jail's tree")
done()
