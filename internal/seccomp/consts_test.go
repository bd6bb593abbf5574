package seccomp

import (
	"testing"

	"golang.org/x/sys/unix"
)

// The builtin constants must match the kernel's values as x/sys knows
// them for the native architecture.
func TestBuiltinConsts(t *testing.T) {
	arch := NativeArch()
	if arch == "" {
		t.Skip("unsupported architecture")
	}
	want := map[string]uint64{
		"CLONE_VM": unix.CLONE_VM, "CLONE_FS": unix.CLONE_FS, "CLONE_FILES": unix.CLONE_FILES,
		"CLONE_SIGHAND": unix.CLONE_SIGHAND, "CLONE_PIDFD": unix.CLONE_PIDFD, "CLONE_PTRACE": unix.CLONE_PTRACE,
		"CLONE_VFORK": unix.CLONE_VFORK, "CLONE_PARENT": unix.CLONE_PARENT, "CLONE_THREAD": unix.CLONE_THREAD,
		"CLONE_NEWNS": unix.CLONE_NEWNS, "CLONE_SYSVSEM": unix.CLONE_SYSVSEM, "CLONE_SETTLS": unix.CLONE_SETTLS,
		"CLONE_PARENT_SETTID": unix.CLONE_PARENT_SETTID, "CLONE_CHILD_CLEARTID": unix.CLONE_CHILD_CLEARTID,
		"CLONE_DETACHED": unix.CLONE_DETACHED, "CLONE_UNTRACED": unix.CLONE_UNTRACED,
		"CLONE_CHILD_SETTID": unix.CLONE_CHILD_SETTID, "CLONE_NEWCGROUP": unix.CLONE_NEWCGROUP,
		"CLONE_NEWUTS": unix.CLONE_NEWUTS, "CLONE_NEWIPC": unix.CLONE_NEWIPC, "CLONE_NEWUSER": unix.CLONE_NEWUSER,
		"CLONE_NEWPID": unix.CLONE_NEWPID, "CLONE_NEWNET": unix.CLONE_NEWNET, "CLONE_IO": unix.CLONE_IO,
		"CLONE_NEWTIME": unix.CLONE_NEWTIME,
		"AF_UNIX":       unix.AF_UNIX, "AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6, "AF_NETLINK": unix.AF_NETLINK,
		"AF_PACKET": unix.AF_PACKET, "AF_KEY": unix.AF_KEY, "AF_ALG": unix.AF_ALG, "AF_VSOCK": unix.AF_VSOCK,
		"AF_XDP": unix.AF_XDP, "AF_BLUETOOTH": unix.AF_BLUETOOTH, "AF_CAN": unix.AF_CAN, "AF_TIPC": unix.AF_TIPC,
		"AF_RDS": unix.AF_RDS, "AF_X25": unix.AF_X25, "AF_AX25": unix.AF_AX25, "AF_IPX": unix.AF_IPX,
		"AF_APPLETALK": unix.AF_APPLETALK,
		"SOCK_STREAM":  unix.SOCK_STREAM, "SOCK_DGRAM": unix.SOCK_DGRAM, "SOCK_RAW": unix.SOCK_RAW,
		"SOCK_SEQPACKET": unix.SOCK_SEQPACKET, "SOCK_NONBLOCK": unix.SOCK_NONBLOCK, "SOCK_CLOEXEC": unix.SOCK_CLOEXEC,
		"O_WRONLY": unix.O_WRONLY, "O_RDWR": unix.O_RDWR, "O_CREAT": unix.O_CREAT, "O_EXCL": unix.O_EXCL,
		"O_NOCTTY": unix.O_NOCTTY, "O_TRUNC": unix.O_TRUNC, "O_APPEND": unix.O_APPEND, "O_NONBLOCK": unix.O_NONBLOCK,
		"O_DSYNC": unix.O_DSYNC, "O_ASYNC": unix.O_ASYNC, "O_NOATIME": unix.O_NOATIME, "O_CLOEXEC": unix.O_CLOEXEC,
		"O_SYNC": unix.O_SYNC, "O_PATH": unix.O_PATH, "O_TMPFILE": unix.O_TMPFILE, "O_DIRECT": unix.O_DIRECT,
		"O_DIRECTORY": unix.O_DIRECTORY, "O_NOFOLLOW": unix.O_NOFOLLOW,
		"AT_EMPTY_PATH": unix.AT_EMPTY_PATH, "AT_SYMLINK_NOFOLLOW": unix.AT_SYMLINK_NOFOLLOW, "AT_REMOVEDIR": unix.AT_REMOVEDIR,
		"PROT_READ": unix.PROT_READ, "PROT_WRITE": unix.PROT_WRITE, "PROT_EXEC": unix.PROT_EXEC,
		"PROT_GROWSDOWN": unix.PROT_GROWSDOWN, "PROT_GROWSUP": unix.PROT_GROWSUP,
		"MAP_SHARED": unix.MAP_SHARED, "MAP_PRIVATE": unix.MAP_PRIVATE, "MAP_SHARED_VALIDATE": unix.MAP_SHARED_VALIDATE,
		"MAP_FIXED": unix.MAP_FIXED, "MAP_ANONYMOUS": unix.MAP_ANONYMOUS, "MAP_GROWSDOWN": unix.MAP_GROWSDOWN,
		"MAP_DENYWRITE": unix.MAP_DENYWRITE, "MAP_EXECUTABLE": unix.MAP_EXECUTABLE, "MAP_LOCKED": unix.MAP_LOCKED,
		"MAP_NORESERVE": unix.MAP_NORESERVE, "MAP_POPULATE": unix.MAP_POPULATE, "MAP_NONBLOCK": unix.MAP_NONBLOCK,
		"MAP_STACK": unix.MAP_STACK, "MAP_HUGETLB": unix.MAP_HUGETLB, "MAP_SYNC": unix.MAP_SYNC,
		"MAP_FIXED_NOREPLACE": unix.MAP_FIXED_NOREPLACE,
		"TCGETS":              unix.TCGETS, "TCSETS": unix.TCSETS, "TIOCSCTTY": unix.TIOCSCTTY, "TIOCGPGRP": unix.TIOCGPGRP,
		"TIOCSPGRP": unix.TIOCSPGRP, "TIOCSTI": unix.TIOCSTI, "TIOCGWINSZ": unix.TIOCGWINSZ, "TIOCSWINSZ": unix.TIOCSWINSZ,
		"TIOCLINUX": unix.TIOCLINUX, "TIOCCONS": unix.TIOCCONS, "TIOCNOTTY": unix.TIOCNOTTY, "TIOCSETD": unix.TIOCSETD, "TIOCGETD": unix.TIOCGETD, "F_DUPFD": unix.F_DUPFD, "F_GETFD": unix.F_GETFD, "F_SETFD": unix.F_SETFD, "F_GETFL": unix.F_GETFL,
		"F_SETFL": unix.F_SETFL, "F_GETLK": unix.F_GETLK, "F_SETLK": unix.F_SETLK, "F_SETLKW": unix.F_SETLKW,
		"F_SETOWN": unix.F_SETOWN, "F_GETOWN": unix.F_GETOWN, "F_SETSIG": unix.F_SETSIG, "F_GETSIG": unix.F_GETSIG,
		"F_OFD_GETLK": unix.F_OFD_GETLK, "F_OFD_SETLK": unix.F_OFD_SETLK, "F_OFD_SETLKW": unix.F_OFD_SETLKW,
		"F_SETLEASE": unix.F_SETLEASE, "F_GETLEASE": unix.F_GETLEASE, "F_NOTIFY": unix.F_NOTIFY,
		"F_DUPFD_CLOEXEC": unix.F_DUPFD_CLOEXEC, "F_SETPIPE_SZ": unix.F_SETPIPE_SZ, "F_GETPIPE_SZ": unix.F_GETPIPE_SZ,
		"F_ADD_SEALS": unix.F_ADD_SEALS, "F_GET_SEALS": unix.F_GET_SEALS,
		"PR_SET_PDEATHSIG": unix.PR_SET_PDEATHSIG, "PR_GET_PDEATHSIG": unix.PR_GET_PDEATHSIG,
		"PR_GET_DUMPABLE": unix.PR_GET_DUMPABLE, "PR_SET_DUMPABLE": unix.PR_SET_DUMPABLE,
		"PR_SET_KEEPCAPS": unix.PR_SET_KEEPCAPS, "PR_SET_NAME": unix.PR_SET_NAME, "PR_GET_NAME": unix.PR_GET_NAME,
		"PR_GET_SECCOMP": unix.PR_GET_SECCOMP, "PR_SET_SECCOMP": unix.PR_SET_SECCOMP,
		"PR_CAPBSET_READ": unix.PR_CAPBSET_READ, "PR_CAPBSET_DROP": unix.PR_CAPBSET_DROP,
		"PR_SET_SECUREBITS": unix.PR_SET_SECUREBITS, "PR_SET_MM": unix.PR_SET_MM,
		"PR_SET_CHILD_SUBREAPER": unix.PR_SET_CHILD_SUBREAPER, "PR_SET_NO_NEW_PRIVS": unix.PR_SET_NO_NEW_PRIVS,
		"PR_GET_NO_NEW_PRIVS": unix.PR_GET_NO_NEW_PRIVS, "PR_SET_PTRACER": unix.PR_SET_PTRACER,
		"PR_CAP_AMBIENT": unix.PR_CAP_AMBIENT, "PR_SET_VMA": unix.PR_SET_VMA,
		"SECCOMP_SET_MODE_STRICT": unix.SECCOMP_SET_MODE_STRICT, "SECCOMP_SET_MODE_FILTER": unix.SECCOMP_SET_MODE_FILTER,
		"SECCOMP_GET_ACTION_AVAIL": unix.SECCOMP_GET_ACTION_AVAIL, "SECCOMP_GET_NOTIF_SIZES": unix.SECCOMP_GET_NOTIF_SIZES,
		"SECCOMP_FILTER_FLAG_TSYNC": unix.SECCOMP_FILTER_FLAG_TSYNC, "SECCOMP_FILTER_FLAG_LOG": unix.SECCOMP_FILTER_FLAG_LOG,
		"SECCOMP_FILTER_FLAG_SPEC_ALLOW":   unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
		"SECCOMP_FILTER_FLAG_NEW_LISTENER": unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
		"MADV_NORMAL":                      unix.MADV_NORMAL, "MADV_RANDOM": unix.MADV_RANDOM, "MADV_SEQUENTIAL": unix.MADV_SEQUENTIAL,
		"MADV_WILLNEED": unix.MADV_WILLNEED, "MADV_DONTNEED": unix.MADV_DONTNEED, "MADV_FREE": unix.MADV_FREE,
		"MADV_REMOVE": unix.MADV_REMOVE, "MADV_DONTFORK": unix.MADV_DONTFORK, "MADV_DOFORK": unix.MADV_DOFORK,
		"MADV_MERGEABLE": unix.MADV_MERGEABLE, "MADV_HUGEPAGE": unix.MADV_HUGEPAGE, "MADV_NOHUGEPAGE": unix.MADV_NOHUGEPAGE,
		"MADV_DONTDUMP": unix.MADV_DONTDUMP, "MADV_HWPOISON": unix.MADV_HWPOISON,
		"SIGHUP": uint64(unix.SIGHUP), "SIGINT": uint64(unix.SIGINT), "SIGQUIT": uint64(unix.SIGQUIT),
		"SIGILL": uint64(unix.SIGILL), "SIGTRAP": uint64(unix.SIGTRAP), "SIGABRT": uint64(unix.SIGABRT),
		"SIGBUS": uint64(unix.SIGBUS), "SIGFPE": uint64(unix.SIGFPE), "SIGKILL": uint64(unix.SIGKILL),
		"SIGUSR1": uint64(unix.SIGUSR1), "SIGSEGV": uint64(unix.SIGSEGV), "SIGUSR2": uint64(unix.SIGUSR2),
		"SIGPIPE": uint64(unix.SIGPIPE), "SIGALRM": uint64(unix.SIGALRM), "SIGTERM": uint64(unix.SIGTERM),
		"SIGCHLD": uint64(unix.SIGCHLD), "SIGCONT": uint64(unix.SIGCONT), "SIGSTOP": uint64(unix.SIGSTOP),
		"SIGTSTP": uint64(unix.SIGTSTP), "SIGSYS": uint64(unix.SIGSYS),
		"PTRACE_TRACEME": unix.PTRACE_TRACEME, "PTRACE_PEEKTEXT": unix.PTRACE_PEEKTEXT,
		"PTRACE_PEEKDATA": unix.PTRACE_PEEKDATA, "PTRACE_POKETEXT": unix.PTRACE_POKETEXT,
		"PTRACE_POKEDATA": unix.PTRACE_POKEDATA, "PTRACE_CONT": unix.PTRACE_CONT, "PTRACE_KILL": unix.PTRACE_KILL,
		"PTRACE_ATTACH": unix.PTRACE_ATTACH, "PTRACE_DETACH": unix.PTRACE_DETACH, "PTRACE_SEIZE": unix.PTRACE_SEIZE,
		"PTRACE_INTERRUPT": unix.PTRACE_INTERRUPT,
		"EPERM":            uint64(unix.EPERM), "ENOENT": uint64(unix.ENOENT), "ESRCH": uint64(unix.ESRCH),
		"EINTR": uint64(unix.EINTR), "EIO": uint64(unix.EIO), "ENXIO": uint64(unix.ENXIO), "E2BIG": uint64(unix.E2BIG),
		"ENOEXEC": uint64(unix.ENOEXEC), "EBADF": uint64(unix.EBADF), "ECHILD": uint64(unix.ECHILD),
		"EAGAIN": uint64(unix.EAGAIN), "ENOMEM": uint64(unix.ENOMEM), "EACCES": uint64(unix.EACCES),
		"EFAULT": uint64(unix.EFAULT), "EBUSY": uint64(unix.EBUSY), "EEXIST": uint64(unix.EEXIST),
		"EXDEV": uint64(unix.EXDEV), "ENODEV": uint64(unix.ENODEV), "ENOTDIR": uint64(unix.ENOTDIR),
		"EISDIR": uint64(unix.EISDIR), "EINVAL": uint64(unix.EINVAL), "ENFILE": uint64(unix.ENFILE),
		"EMFILE": uint64(unix.EMFILE), "ENOTTY": uint64(unix.ENOTTY), "EFBIG": uint64(unix.EFBIG),
		"ENOSPC": uint64(unix.ENOSPC), "ESPIPE": uint64(unix.ESPIPE), "EROFS": uint64(unix.EROFS),
		"EMLINK": uint64(unix.EMLINK), "EPIPE": uint64(unix.EPIPE), "EDOM": uint64(unix.EDOM),
		"ERANGE": uint64(unix.ERANGE), "ENOSYS": uint64(unix.ENOSYS), "ENOTSUP": uint64(unix.ENOTSUP),
		"EOPNOTSUPP": uint64(unix.EOPNOTSUPP), "EAFNOSUPPORT": uint64(unix.EAFNOSUPPORT),
		"EADDRINUSE": uint64(unix.EADDRINUSE), "EADDRNOTAVAIL": uint64(unix.EADDRNOTAVAIL),
		"ENETUNREACH": uint64(unix.ENETUNREACH), "ECONNREFUSED": uint64(unix.ECONNREFUSED),
		"EPROTONOSUPPORT": uint64(unix.EPROTONOSUPPORT), "ESOCKTNOSUPPORT": uint64(unix.ESOCKTNOSUPPORT),
	}
	for name, w := range want {
		got, ok := builtinConst(arch, name)
		if !ok {
			t.Errorf("%s is not a builtin constant", name)
		} else if got != w {
			t.Errorf("%s = %#x, want %#x", name, got, w)
		}
	}
	if v, _ := builtinConst(arch, "AT_FDCWD"); int64(v) != unix.AT_FDCWD {
		t.Errorf("AT_FDCWD = %#x", v)
	}
}

// Syscall numbers of the generated table against x/sys for the native arch.
func TestSyscallTable(t *testing.T) {
	arch := NativeArch()
	for name, want := range map[string]uint32{
		"read": unix.SYS_READ, "openat": unix.SYS_OPENAT, "clone": unix.SYS_CLONE, "clone3": unix.SYS_CLONE3,
		"mount": unix.SYS_MOUNT, "unshare": unix.SYS_UNSHARE, "seccomp": unix.SYS_SECCOMP, "ioctl": unix.SYS_IOCTL,
		"socket": unix.SYS_SOCKET, "personality": unix.SYS_PERSONALITY, "newfstatat": unix.SYS_NEWFSTATAT,
	} {
		if got, ok := SyscallNumber(arch, name); !ok || got != want {
			t.Errorf("%s: %d %v, want %d", name, got, ok, want)
		}
	}
	if got, _ := SyscallNumber(arch, "newfstat"); got != unix.SYS_FSTAT {
		t.Errorf("alias newfstat = %d", got)
	}
	if SyscallName(arch, unix.SYS_WRITE) != "write" {
		t.Error("SyscallName(write)")
	}
	if len(SyscallNames(AMD64)) < 350 || len(SyscallNames(ARM64)) < 290 {
		t.Errorf("tables look short: %d, %d", len(SyscallNames(AMD64)), len(SyscallNames(ARM64)))
	}
}
