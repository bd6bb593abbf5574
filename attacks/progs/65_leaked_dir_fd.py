# Attack: use a descriptor of a host directory that leaked into the jail
# (the kind of hole finding 1 was; here the test hands it in on purpose, as
# fd 3). The mount namespace cannot help: the descriptor bypasses the
# jail's tree, and the directory is world-writable, so the permission
# bits do not stop anything either. Through the descriptor: read and append
# to the canary, create a file, a directory and a symlink, unlink and
# rename files, reopen the directory to list it, go through
# /proc/self/fd/3, fchdir into it, read a file in a subdirectory, execute
# a script that lives there.
# Expected (Landlock applied): every attempt fails with EACCES; the host
# directory is unchanged.
# Control (`control` argument, the run has --landlock off): every attempt
# works (REACHED lines), which shows that Landlock is what refuses them.
# Landlock restricts opening, not descriptors that are already open: the
# entries of fd 3 itself (getdents) and stat(2) relative to it stay
# visible. They are printed as INFO.
from attacklib import *
import subprocess

FD = 3
control = ARGS[0] == "control"
secret = ARGS[1]


def reached(what, detail=""):
    say("REACHED", what, detail)


def attempt(what, fn):
    try:
        r = fn()
    except OSError as e:
        if control:
            unexpected(what, "%s (want success: Landlock is off)" % ename(e.errno))
        else:
            judge(what, ename(e.errno), ("EACCES",))
        return
    if control:
        reached(what, repr(r)[:80])
    else:
        escaped(what, repr(r)[:200])


def read_at(name):
    fd = os.open(name, os.O_RDONLY, dir_fd=FD)
    try:
        data = os.read(fd, 4096).decode()
    finally:
        os.close(fd)
    if secret not in data:
        raise OSError(errno.EIO, "not the canary")
    return "the canary"


def append_canary():
    fd = os.open("canary", os.O_WRONLY | os.O_APPEND, dir_fd=FD)
    try:
        return os.write(fd, b"pwned\n")
    finally:
        os.close(fd)


def create():
    os.close(os.open("pwned-new", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644, dir_fd=FD))
    return "created"


def reopen_and_list():
    fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY, dir_fd=FD)
    try:
        return sorted(os.listdir(fd))
    finally:
        os.close(fd)


def proc_read():
    with open("/proc/self/fd/%d/canary" % FD) as f:
        if secret not in f.read():
            raise OSError(errno.EIO, "not the canary")
    return "the canary"


def fchdir_read():
    os.fchdir(FD)
    try:
        with open("canary") as f:
            if secret not in f.read():
                raise OSError(errno.EIO, "not the canary")
        return "the canary"
    finally:
        os.chdir("/sandbox")


def run_script():
    out = subprocess.run(["/proc/self/fd/%d/tool.sh" % FD], capture_output=True, timeout=10, pass_fds=(FD,))
    if out.returncode != 0:
        raise OSError(errno.EIO, "exit %d" % out.returncode)
    return out.stdout.decode().strip()


attempt("read canary via openat(fd)", lambda: read_at("canary"))
attempt("append to canary via openat(fd)", append_canary)
attempt("create a file via openat(fd)", create)
attempt("mkdir via mkdirat(fd)", lambda: os.mkdir("pwned-dir", dir_fd=FD))
attempt("symlink via symlinkat(fd)", lambda: os.symlink("/etc/passwd", "pwned-link", dir_fd=FD))
attempt("unlink via unlinkat(fd)", lambda: os.unlink("victim", dir_fd=FD))
attempt("rename via renameat(fd)", lambda: os.rename("movable", "pwned-moved", src_dir_fd=FD, dst_dir_fd=FD))
attempt("list via openat(fd, \".\")", reopen_and_list)
attempt("list via /proc/self/fd/3", lambda: sorted(os.listdir("/proc/self/fd/%d" % FD)))
attempt("read via /proc/self/fd/3/canary", proc_read)
attempt("read after fchdir(fd)", fchdir_read)
attempt("read sub/inner via openat(fd)", lambda: read_at("sub/inner"))
attempt("execute tool.sh via /proc/self/fd/3", run_script)

# What Landlock does not cover: the open descriptor itself.
try:
    info("getdents on fd 3 itself (not restricted):", sorted(os.listdir(FD)))
except OSError as e:
    info("getdents on fd 3 itself:", ename(e.errno))
try:
    info("fstatat(fd, canary) (not restricted): size", os.stat("canary", dir_fd=FD).st_size)
except OSError as e:
    info("fstatat(fd, canary):", ename(e.errno))
done()
