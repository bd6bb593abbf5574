# Attack: climb out of the jail's root: /proc/1/root/.., /proc/1/cwd,
# /proc/self/root/../.., /proc/self/cwd/../../.., "/.." and fds of init.
# Expected: init's /proc entries are EACCES (init is not dumpable); every
# climb from our own root ends at the jail's "/" (same inode as "/").
from attacklib import *

def opener(p):
    os.close(os.open(p, os.O_RDONLY))


for p, op in [("/proc/1/root", os.listdir), ("/proc/1/root/..", os.listdir),
              ("/proc/1/root/etc", os.listdir), ("/proc/1/cwd", os.listdir),
              ("/proc/1/fd", os.listdir), ("/proc/1/map_files", os.listdir),
              ("/proc/1/fd/3", opener), ("/proc/1/fd/4", opener),
              ("/proc/1/environ", opener), ("/proc/1/ns/mnt", opener),
              ("/proc/1/root", os.readlink), ("/proc/1/cwd", os.readlink)]:
    expect_os("%s %s" % (op.__name__, p), op, p, errs=("EACCES",))

root = os.stat("/")
for p in ("/..", "/../../..", "/proc/self/root/..", "/proc/self/root/../../..",
          "/proc/self/cwd/../../../..", "/sandbox/../..", "/proc/self/root/proc/self/root/.."):
    st = os.stat(p)
    if (st.st_dev, st.st_ino) != (root.st_dev, root.st_ino):
        escaped("climb " + p, "left the jail's root")
    else:
        blocked("climb " + p, "stays at the jail root")
# chdir up from the workspace with a directory fd kept open.
fd = os.open("/sandbox", os.O_RDONLY)
os.chdir("/sandbox")
for _ in range(20):
    os.chdir("..")
st = os.stat(".")
if (st.st_dev, st.st_ino) != (root.st_dev, root.st_ino):
    escaped("chdir .. x20", os.getcwd())
else:
    blocked("chdir .. x20", "stays at the jail root")
os.close(fd)
done()
