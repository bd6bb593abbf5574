# Attack: gain root through the host's setuid-root binaries (su, mount,
# passwd, chfn, newgrp, gpasswd) and setgid ones (chage, expiry), and with a
# setuid copy made in the workspace.
# Expected: every system bind and the workspace are mounted nosuid, so the
# binaries run with our own ids: su/mount fail, a child that execs through
# them never gets euid 0; our own setuid file gives nothing either.
from attacklib import *
import shutil
import stat
import subprocess

found = []
for p in ("/usr/bin/su", "/usr/bin/mount", "/usr/bin/passwd", "/usr/bin/chfn", "/usr/bin/newgrp",
          "/usr/bin/gpasswd", "/usr/bin/chage", "/usr/bin/expiry", "/usr/bin/sudo"):
    try:
        st = os.stat(p)
    except OSError:
        continue
    if st.st_mode & (stat.S_ISUID | stat.S_ISGID):
        found.append(p)
info("setuid/setgid binaries present:", found)
for p in found:
    if not os.statvfs(p).f_flag & os.ST_NOSUID:
        escaped("mount of " + p, "not nosuid")
    else:
        blocked("mount of " + p, "nosuid")
if "/usr/bin/su" in found:
    r = subprocess.run(["/usr/bin/su", "-c", "id -u", "root"], input="\n", capture_output=True, text=True)
    if r.stdout.strip() == "0":
        escaped("su root", r.stdout)
    else:
        blocked("su root", "exit %d" % r.returncode)
if "/usr/bin/mount" in found:
    r = subprocess.run(["/usr/bin/mount", "-t", "tmpfs", "x", "/tmp"], capture_output=True, text=True)
    if r.returncode == 0:
        escaped("mount(8) through setuid", "mounted")
    else:
        blocked("mount(8) through setuid", "exit %d" % r.returncode)
# newgrp runs a shell with the new group; with setuid honoured it would
# start as root. Ask the shell it starts for its effective ids.
if "/usr/bin/newgrp" in found:
    r = subprocess.run(["/usr/bin/newgrp", "sandbox"], input="id -u; id -g\n", capture_output=True, text=True)
    info("newgrp:", r.returncode, r.stdout.split(), r.stderr.strip()[:60])
    if "0" in r.stdout.split():
        escaped("newgrp", r.stdout)
    else:
        blocked("newgrp", "no root ids")
# Our own setuid copy of the interpreter: setuid to ourselves at best.
shutil.copy("/usr/bin/python3.11", "/sandbox/py")
os.chmod("/sandbox/py", 0o6755)
r = subprocess.run(["/sandbox/py", "-c", "import os; print(os.geteuid(), os.getegid())"],
                   capture_output=True, text=True)
if r.stdout.split() != ["65534", "65534"]:
    escaped("own setuid copy", r.stdout + r.stderr)
else:
    blocked("own setuid copy", "euid 65534")
if os.geteuid() != 65534:
    escaped("euid", os.geteuid())
done()
