# Attack: symlink and hard-link tricks from the writable workspace: links to
# host paths (the test's canary, /etc/shadow), to /proc/1/root and
# /proc/self/root, long ../ chains, a link farm that swaps a directory for
# a symlink while a reader walks it, and hard links to read-only files.
# Argument: the canary's host path.
# Expected: every link resolves inside the jail (ENOENT or EACCES, never host
# content); hard links across mounts are EXDEV (or EPERM with
# protected_hardlinks); the host's canary is untouched.
from attacklib import *
import threading

canary = ARGS[0]
os.chdir("/sandbox")
links = {"l_canary": canary, "l_shadow": "/etc/shadow", "l_init_root": "/proc/1/root" + canary,
         "l_self_root": "/proc/self/root" + canary, "l_dotdot": "../" * 30 + canary.lstrip("/"),
         "l_cwd": "/proc/self/cwd/../../../../" + canary.lstrip("/")}
for name, target in links.items():
    os.symlink(target, name)
    try:
        data = open(name, "rb").read()
        escaped("follow %s -> %s" % (name, target), repr(data[:40]))
    except OSError as e:
        judge("follow %s -> %s" % (name, target), ename(e.errno), ("ENOENT", "EACCES"))
# A chain: a -> b -> c -> ... -> canary.
prev = canary
for i in range(30):
    os.symlink(prev, "chain%d" % i)
    prev = "chain%d" % i
expect_os("follow chain of 30", open, prev, "rb", errs=("ENOENT", "ELOOP"))
os.symlink("loop_b", "loop_a")
os.symlink("loop_a", "loop_b")
expect_os("follow loop", open, "loop_a", "rb", errs=("ELOOP",))
# Hard links to files on the read-only binds.
for src in ("/usr/bin/env", "/etc/passwd", "/etc/ld.so.cache", "/proc/self/exe"):
    expect_os("hardlink " + src, os.link, src, "/sandbox/hl", errs=("EXDEV", "EPERM"))
fd = os.open("/usr/bin/env", os.O_RDONLY)
expect_os("linkat /proc/self/fd -> workspace", os.link, "/proc/self/fd/%d" % fd, "/sandbox/hl2",
          errs=("EXDEV", "EPERM", "ENOENT"))
os.close(fd)
# Swap race: a directory flips between a real dir and a symlink to the
# canary's directory while another thread opens through it.
os.mkdir("race_dir")
stop = threading.Event()


def flipper():
    d = os.path.dirname(canary)
    while not stop.is_set():
        try:
            os.rename("race_dir", "race_real")
            os.symlink(d, "race_dir")
            os.unlink("race_dir")
            os.rename("race_real", "race_dir")
        except OSError:
            pass


t = threading.Thread(target=flipper)
t.start()
hits = 0
for i in range(3000):
    try:
        open("race_dir/" + os.path.basename(canary), "rb").read()
        hits += 1
    except OSError:
        pass
stop.set()
t.join()
if hits:
    escaped("symlink swap race", "%d reads" % hits)
else:
    blocked("symlink swap race", "no read reached the host")
done()
