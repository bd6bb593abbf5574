# Attack: overwrite the interpreter or pycage's own binary through
# /proc/self/exe and /proc/1/exe (CVE-2019-5736 style): open them for
# writing directly and by reopening an O_PATH fd through /proc/self/fd.
# Expected: /proc/1/exe is EACCES (init is not dumpable), the interpreter is
# EACCES/ETXTBSY/EROFS; the host binaries' contents are unchanged.
from attacklib import *

errs = ("EACCES", "ETXTBSY", "EROFS", "EPERM")
for p in ("/proc/self/exe", "/proc/1/exe"):
    try:
        fd = os.open(p, os.O_WRONLY)
        os.close(fd)
        escaped("open for write " + p, "")
    except OSError as e:
        judge("open for write " + p, ename(e.errno), errs)
    try:
        fd = os.open(p, os.O_PATH)
    except OSError as e:
        judge("O_PATH " + p, ename(e.errno), errs)
        continue
    try:
        wfd = os.open("/proc/self/fd/%d" % fd, os.O_WRONLY)
        os.write(wfd, b"\x7fELF pwned")
        escaped("reopen for write " + p, "")
    except OSError as e:
        judge("reopen for write " + p, ename(e.errno), errs)
    os.close(fd)
expect_os("readlink /proc/1/exe", os.readlink, "/proc/1/exe", errs=("EACCES",))
# A child that exits leaves /proc/<pid>/exe behind only while it lives:
# try to open its exe for writing while it runs.
pid = os.fork()
if pid == 0:
    import time
    time.sleep(2)
    os._exit(0)
try:
    expect_os("open child's exe for write", os.open, "/proc/%d/exe" % pid, os.O_WRONLY, errs=errs)
finally:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
done()
