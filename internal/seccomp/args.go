package seccomp

import (
	"strings"
	"sync"
)

// argTable names the arguments of the syscalls that policies commonly
// filter on, so that rules can say `write { fd == 1 }` without declaring
// the arguments. Names follow the kernel's SYSCALL_DEFINE parameter names
// (as kafel does); a|b gives an alias. ":4" marks an argument the kernel
// reads as a 32-bit value (int, unsigned int, pid_t, umode_t, ...): pycage
// compares only the low 32 bits of it, because the kernel ignores the high
// half, so a rule like `ioctl { cmd != TIOCSTI }` cannot be bypassed by
// setting high bits. Every other argument is compared as 64 bits.
//
// Written by hand from the kernel's syscall definitions. Syscalls missing
// here can still be filtered: declare the argument names in the rule
// (`foo(a, b) { b == 1 }`) or use arg0..arg5.
const argTable = `
accept fd:4 upeer_sockaddr upeer_addrlen
accept4 fd:4 upeer_sockaddr upeer_addrlen flags:4
access filename|pathname mode:4
add_key _type|type _description|description _payload|payload plen ringid|keyring:4
alarm seconds:4
arch_prctl code|option:4 addr
bind fd:4 umyaddr|addr addrlen:4
bpf cmd:4 uattr|attr size:4
brk brk
capget header dataptr
capset header data
chdir filename|path
chmod filename|pathname mode:4
chown filename|pathname user|owner:4 group:4
chroot filename|path
clock_adjtime which_clock|clockid:4 utx
clock_getres which_clock|clockid:4 tp
clock_gettime which_clock|clockid:4 tp
clock_nanosleep which_clock|clockid:4 flags:4 rqtp rmtp
clock_settime which_clock|clockid:4 tp
clone clone_flags|flags newsp|stack parent_tidptr child_tidptr tls
clone3 uargs|cl_args size
close fd:4
close_range fd:4 max_fd:4 flags:4
connect fd:4 uservaddr|addr addrlen:4
copy_file_range fd_in:4 off_in fd_out:4 off_out len flags:4
creat pathname mode:4
delete_module name_user|name flags:4
dup fildes|oldfd:4
dup2 oldfd:4 newfd:4
dup3 oldfd:4 newfd:4 flags:4
epoll_create size:4
epoll_create1 flags:4
epoll_ctl epfd:4 op:4 fd:4 event
epoll_pwait epfd:4 events maxevents:4 timeout:4 sigmask sigsetsize
epoll_pwait2 epfd:4 events maxevents:4 timeout sigmask sigsetsize
epoll_wait epfd:4 events maxevents:4 timeout:4
eventfd count:4
eventfd2 count:4 flags:4
execve filename|pathname argv envp
execveat fd|dirfd:4 filename|pathname argv envp flags:4
exit error_code|status:4
exit_group error_code|status:4
faccessat dfd|dirfd:4 filename|pathname mode:4
faccessat2 dfd|dirfd:4 filename|pathname mode:4 flags:4
fadvise64 fd:4 offset len advice:4
fallocate fd:4 mode:4 offset len
fanotify_init flags:4 event_f_flags:4
fanotify_mark fanotify_fd:4 flags:4 mask dfd|dirfd:4 pathname
fchdir fd:4
fchmod fd:4 mode:4
fchmodat dfd|dirfd:4 filename|pathname mode:4
fchmodat2 dfd|dirfd:4 filename|pathname mode:4 flags:4
fchown fd:4 user|owner:4 group:4
fchownat dfd|dirfd:4 filename|pathname user|owner:4 group:4 flag|flags:4
fcntl fd:4 cmd:4 arg
fdatasync fd:4
fgetxattr fd:4 name value size
finit_module fd:4 uargs flags:4
flistxattr fd:4 list size
flock fd:4 cmd|operation:4
fremovexattr fd:4 name
fsconfig fd:4 cmd:4 key value aux:4
fsetxattr fd:4 name value size flags:4
fsmount fs_fd:4 flags:4 attr_flags:4
fsopen fs_name flags:4
fspick dfd|dirfd:4 path flags:4
fstat fd:4 statbuf
fstatfs fd:4 buf
fsync fd:4
ftruncate fd:4 length
futex uaddr op:4 val:4 utime|timeout uaddr2 val3:4
getcpu cpup|cpu nodep|node unused
getcwd buf size
getdents fd:4 dirent count:4
getdents64 fd:4 dirent count:4
getgroups gidsetsize|size:4 grouplist|list
getitimer which:4 value
get_mempolicy policy|mode nmask maxnode addr flags
getpeername fd:4 usockaddr|addr usockaddr_len|addrlen
getpgid pid:4
getpriority which:4 who:4
getrandom buf count flags:4
getresgid rgidp egidp sgidp
getresuid ruidp euidp suidp
getrlimit resource:4 rlim
get_robust_list pid:4 head_ptr len_ptr
getrusage who:4 ru
getsid pid:4
getsockname fd:4 usockaddr|addr usockaddr_len|addrlen
getsockopt fd:4 level:4 optname:4 optval optlen
gettimeofday tv tz
getxattr pathname name value size
init_module umod len uargs
inotify_add_watch fd:4 pathname mask:4
inotify_init1 flags:4
inotify_rm_watch fd:4 wd:4
io_uring_enter fd:4 to_submit:4 min_complete:4 flags:4 argp argsz
io_uring_register fd:4 opcode:4 arg nr_args:4
io_uring_setup entries:4 params
ioctl fd:4 cmd|request:4 arg
ioperm from num turn_on:4
iopl level:4
ioprio_get which:4 who:4
ioprio_set which:4 who:4 ioprio:4
kcmp pid1:4 pid2:4 type:4 idx1 idx2
kexec_file_load kernel_fd:4 initrd_fd:4 cmdline_len cmdline_ptr flags
kexec_load entry nr_segments segments flags
keyctl option|operation:4 arg2 arg3 arg4 arg5
kill pid:4 sig:4
lchown filename|pathname user|owner:4 group:4
link oldname|oldpath newname|newpath
linkat olddfd|olddirfd:4 oldname|oldpath newdfd|newdirfd:4 newname|newpath flags:4
listen fd:4 backlog:4
lseek fd:4 offset whence:4
lstat filename|pathname statbuf
madvise start|addr len_in|len|length behavior|advice:4
memfd_create uname|name flags:4
mincore start|addr len vec
mkdir pathname mode:4
mkdirat dfd|dirfd:4 pathname mode:4
mknod filename|pathname mode:4 dev:4
mknodat dfd|dirfd:4 filename|pathname mode:4 dev:4
mlock start|addr len
mlock2 start|addr len flags:4
mlockall flags:4
mmap addr len|length prot flags fd off|offset
mount dev_name|source dir_name|target type|filesystemtype flags|mountflags data
mount_setattr dfd|dirfd:4 path flags:4 uattr size
move_mount from_dfd:4 from_pathname to_dfd:4 to_pathname flags:4
mprotect start|addr len prot
mremap addr|old_address old_len|old_size new_len|new_size flags new_addr|new_address
msync start|addr len flags:4
munlock start|addr len
munmap addr len|length
name_to_handle_at dfd|dirfd:4 name|pathname handle mnt_id flag|flags:4
nanosleep rqtp|req rmtp|rem
newfstatat dfd|dirfd:4 filename|pathname statbuf flag|flags:4
open filename|pathname flags:4 mode:4
open_by_handle_at mountdirfd|mount_fd:4 handle flags:4
open_tree dfd|dirfd:4 filename|pathname flags:4
openat dfd|dirfd:4 filename|pathname flags:4 mode:4
openat2 dfd|dirfd:4 filename|pathname how usize|size
perf_event_open attr_uptr|attr pid:4 cpu:4 group_fd:4 flags
personality personality|persona:4
pidfd_getfd pidfd:4 fd:4 flags:4
pidfd_open pid:4 flags:4
pidfd_send_signal pidfd:4 sig:4 info flags:4
pipe fildes|pipefd
pipe2 fildes|pipefd flags:4
pivot_root new_root put_old
pkey_alloc flags:4 init_val|access_rights:4
pkey_mprotect start|addr len prot pkey:4
poll ufds|fds nfds:4 timeout_msecs|timeout:4
ppoll ufds|fds nfds:4 tsp sigmask sigsetsize
prctl option:4 arg2 arg3 arg4 arg5
pread64 fd:4 buf count pos|offset
preadv fd vec|iov vlen|iovcnt pos_l pos_h
preadv2 fd vec|iov vlen|iovcnt pos_l pos_h flags:4
prlimit64 pid:4 resource:4 new_rlim old_rlim
process_madvise pidfd:4 vec vlen behavior|advice:4 flags:4
process_vm_readv pid:4 lvec liovcnt rvec riovcnt flags
process_vm_writev pid:4 lvec liovcnt rvec riovcnt flags
pselect6 n|nfds:4 inp outp exp tsp sig
ptrace request pid addr data
pwrite64 fd:4 buf count pos|offset
pwritev fd vec|iov vlen|iovcnt pos_l pos_h
pwritev2 fd vec|iov vlen|iovcnt pos_l pos_h flags:4
quotactl cmd:4 special id:4 addr
read fd:4 buf count
readahead fd:4 offset count
readlink path|pathname buf bufsiz:4
readlinkat dfd|dirfd:4 pathname buf bufsiz:4
readv fd vec|iov vlen|iovcnt
reboot magic1:4 magic2:4 cmd|op:4 arg
recvfrom fd:4 ubuf|buf size|len flags:4 addr addr_len|addrlen
recvmmsg fd:4 mmsg|msgvec vlen:4 flags:4 timeout
recvmsg fd:4 msg flags:4
remap_file_pages start size prot pgoff flags
rename oldname|oldpath newname|newpath
renameat olddfd|olddirfd:4 oldname|oldpath newdfd|newdirfd:4 newname|newpath
renameat2 olddfd|olddirfd:4 oldname|oldpath newdfd|newdirfd:4 newname|newpath flags:4
request_key _type|type _description|description _callout_info|callout_info destringid|dest_keyring:4
rmdir pathname
rseq rseq rseq_len:4 flags:4 sig:4
rt_sigaction sig|signum:4 act oact|oldact sigsetsize
rt_sigprocmask how:4 nset|set oset|oldset sigsetsize
rt_sigqueueinfo pid|tgid:4 sig:4 uinfo|info
rt_tgsigqueueinfo tgid:4 pid|tid:4 sig:4 uinfo|info
sched_getaffinity pid:4 len:4 user_mask_ptr|mask
sched_setaffinity pid:4 len:4 user_mask_ptr|mask
sched_setscheduler pid:4 policy:4 param
seccomp op|operation:4 flags:4 uargs|args
select n|nfds:4 inp outp exp tvp
sendfile out_fd:4 in_fd:4 offset count
sendmmsg fd:4 mmsg|msgvec vlen:4 flags:4
sendmsg fd:4 msg flags:4
sendto fd:4 buff|buf len flags:4 addr addr_len|addrlen:4
set_mempolicy mode:4 nmask maxnode
setdomainname name len:4
setfsgid gid:4
setfsuid uid:4
setgid gid:4
setgroups gidsetsize|size:4 grouplist|list
sethostname name len:4
setitimer which:4 value ovalue|old_value
setns fd:4 nstype:4
setpgid pid:4 pgid:4
setpriority which:4 who:4 niceval|prio:4
setregid rgid:4 egid:4
setresgid rgid:4 egid:4 sgid:4
setresuid ruid:4 euid:4 suid:4
setreuid ruid:4 euid:4
setrlimit resource:4 rlim
setsockopt fd:4 level:4 optname:4 optval optlen:4
settimeofday tv tz
setuid uid:4
setxattr pathname name value size flags:4
shmat shmid:4 shmaddr shmflg:4
shmctl shmid:4 cmd:4 buf
shmget key:4 size shmflg:4
shutdown fd:4 how:4
sigaltstack uss|ss uoss|old_ss
signalfd ufd|fd:4 user_mask|mask sizemask
signalfd4 ufd|fd:4 user_mask|mask sizemask flags:4
socket family|domain:4 type:4 protocol:4
socketpair family|domain:4 type:4 protocol:4 usockvec|sv
splice fd_in:4 off_in fd_out:4 off_out len flags:4
stat filename|pathname statbuf
statfs pathname|path buf
statx dfd|dirfd:4 filename|pathname flags:4 mask:4 buffer|statxbuf
swapoff specialfile|path
swapon specialfile|path swap_flags|flags:4
symlink oldname|target newname|linkpath
symlinkat oldname|target newdfd|newdirfd:4 newname|linkpath
sync_file_range fd:4 offset nbytes flags:4
syncfs fd:4
syslog type:4 buf len:4
tee fdin|fd_in:4 fdout|fd_out:4 len flags:4
tgkill tgid:4 pid|tid:4 sig:4
timerfd_create clockid:4 flags:4
timerfd_settime ufd|fd:4 flags:4 utmr|new_value otmr|old_value
tkill pid|tid:4 sig:4
truncate path length
umask mask:4
umount2 name|target flags:4
uname name|buf
unlink pathname
unlinkat dfd|dirfd:4 pathname flag|flags:4
unshare unshare_flags|flags
userfaultfd flags:4
utimensat dfd|dirfd:4 filename|pathname utimes|times flags:4
vmsplice fd:4 iov nr_segs flags:4
wait4 upid|pid:4 stat_addr|wstatus options:4 ru|rusage
waitid which|idtype:4 upid|id:4 infop options:4 ru|rusage
write fd:4 buf count
writev fd vec|iov vlen|iovcnt
`

// argTableARM64 holds the argument lists that differ on arm64.
const argTableARM64 = `
clone clone_flags|flags newsp|stack parent_tidptr tls child_tidptr
`

type argSpec struct {
	names []string
	size  int // 4 or 8 bytes
}

// The tables are parsed on first use, not at package init: every pycage
// process (the CLI, each jail's init and stage) runs the package inits,
// and most never compile a policy.
var (
	argsCommon = sync.OnceValue(func() map[string][]argSpec { return parseArgTable(argTable) })
	argsByArch = sync.OnceValue(func() map[Arch]map[string][]argSpec {
		return map[Arch]map[string][]argSpec{ARM64: parseArgTable(argTableARM64)}
	})
)

func parseArgTable(t string) map[string][]argSpec {
	m := map[string][]argSpec{}
	for _, line := range strings.Split(t, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var specs []argSpec
		for _, a := range f[1:] {
			size := 8
			if n, s, ok := strings.Cut(a, ":"); ok {
				a = n
				if s != "8" {
					size = 4
				}
			}
			specs = append(specs, argSpec{names: strings.Split(a, "|"), size: size})
		}
		m[f[0]] = specs
	}
	return m
}

// syscallArgs returns the known arguments of syscall name on arch.
func syscallArgs(arch Arch, name string) []argSpec {
	if alias, ok := syscallAliases[name]; ok {
		name = alias
	}
	if m := argsByArch()[arch]; m != nil {
		if a, ok := m[name]; ok {
			return a
		}
	}
	return argsCommon()[name]
}
