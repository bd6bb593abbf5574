# Attack: use file descriptors inherited from outside the jail: the test
# starts pycage with an extra open descriptor on a host canary file (as a
# careless caller would), and pycage itself talks to init over pipes. List
# every descriptor above 2 that was open when the program started, read
# regular files through them and append to them.
# Expected: nothing but stdin, stdout and stderr is open in the command: no
# host file, no pipe of pycage's (see 55 and 56 for what such a pipe gives).
from attacklib import *
import stat

mine = set()
found = []
for f in sorted(int(x) for x in os.listdir("/proc/self/fd")):
    if f <= 2:
        continue
    try:
        target = os.readlink("/proc/self/fd/%d" % f)
        st = os.fstat(f)
    except OSError:
        continue  # the fd listdir itself used
    found.append(f)
    kind = "pipe" if stat.S_ISFIFO(st.st_mode) else "file" if stat.S_ISREG(st.st_mode) else "other"
    detail = "%s %s" % (kind, target)
    if kind == "file":
        os.lseek(f, 0, 0)
        detail += " content %r" % os.read(f, 200)
        try:
            os.write(f, b"\npwned through an inherited fd\n")
            detail += ", appended"
        except OSError as e:
            detail += ", write " + ename(e.errno)
    escaped("inherited fd %d" % f, detail)
if not found:
    blocked("inherited fds", "only 0, 1, 2")
done()
