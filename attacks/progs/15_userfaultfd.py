# Attack: userfaultfd (used to win kernel races by stalling page faults),
# through the syscall (user-mode-only too) and /dev/userfaultfd.
# Expected: the syscall is EPERM (seccomp); /dev/userfaultfd does not exist.
from attacklib import *

O_CLOEXEC, O_NONBLOCK, UFFD_USER_MODE_ONLY = 0o2000000, 0o4000, 1
for flags, name in ((O_CLOEXEC, "plain"), (O_CLOEXEC | UFFD_USER_MODE_ONLY, "user-mode-only"),
                    (O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY, "nonblock")):
    r, err = expect_sys("userfaultfd " + name, "userfaultfd", flags)
    if err is None:
        os.close(r)
expect_os("open /dev/userfaultfd", os.open, "/dev/userfaultfd", os.O_RDWR, errs=("ENOENT",))
done()
