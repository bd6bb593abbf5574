package seccomp

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
)

const (
	errnoEPERM  = retErrno | 1
	errnoENOSYS = retErrno | 38
)

func TestDefaultPolicyAMD64(t *testing.T) {
	f := mustCompile(t, AMD64, DefaultPolicy())
	vm := newVM(t, f)
	x86 := func(name string, args ...uint64) data {
		d := data{nr: nr(t, AMD64, name), arch: auditArchX86_64}
		copy(d.args[:], args)
		return d
	}
	const (
		threadFlags = 0x3d0f00 // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID
		forkFlags   = 0x1200011
	)
	cases := []struct {
		what string
		d    data
		want uint32
	}{
		{"read", x86("read", 0), retAllow},
		{"openat", x86("openat"), retAllow},
		{"execve", x86("execve"), retAllow},
		{"clone thread", x86("clone", threadFlags), retAllow},
		{"clone fork", x86("clone", forkFlags), retAllow},
		{"clone NEWUSER", x86("clone", forkFlags|0x10000000), errnoEPERM},
		{"clone NEWNS", x86("clone", 0x20000|17), errnoEPERM},
		{"clone NEWNET", x86("clone", 0x40000000|17), errnoEPERM},
		{"clone NEWCGROUP", x86("clone", 0x02000000|17), errnoEPERM},
		{"clone NEWPID", x86("clone", 0x20000000), errnoEPERM},
		{"clone3", x86("clone3"), errnoENOSYS},
		{"unshare", x86("unshare", 0), errnoEPERM},
		{"setns", x86("setns"), errnoEPERM},
		{"mount", x86("mount"), errnoEPERM},
		{"umount2", x86("umount2"), errnoEPERM},
		{"fsopen", x86("fsopen"), errnoEPERM},
		{"move_mount", x86("move_mount"), errnoEPERM},
		{"open_tree", x86("open_tree"), errnoEPERM},
		{"mount_setattr", x86("mount_setattr"), errnoEPERM},
		{"pivot_root", x86("pivot_root"), errnoEPERM},
		{"chroot", x86("chroot"), errnoEPERM},
		{"ptrace", x86("ptrace"), errnoEPERM},
		{"process_vm_readv", x86("process_vm_readv"), errnoEPERM},
		{"process_vm_writev", x86("process_vm_writev"), errnoEPERM},
		{"bpf", x86("bpf"), errnoEPERM},
		{"perf_event_open", x86("perf_event_open"), errnoEPERM},
		{"userfaultfd", x86("userfaultfd"), errnoEPERM},
		{"keyctl", x86("keyctl"), errnoEPERM},
		{"add_key", x86("add_key"), errnoEPERM},
		{"request_key", x86("request_key"), errnoEPERM},
		{"kexec_load", x86("kexec_load"), errnoEPERM},
		{"kexec_file_load", x86("kexec_file_load"), errnoEPERM},
		{"init_module", x86("init_module"), errnoEPERM},
		{"finit_module", x86("finit_module"), errnoEPERM},
		{"delete_module", x86("delete_module"), errnoEPERM},
		{"io_uring_setup", x86("io_uring_setup"), errnoEPERM},
		{"io_uring_enter", x86("io_uring_enter"), errnoEPERM},
		{"io_uring_register", x86("io_uring_register"), errnoEPERM},
		{"open_by_handle_at", x86("open_by_handle_at"), errnoEPERM},
		{"name_to_handle_at", x86("name_to_handle_at"), errnoEPERM},
		{"reboot", x86("reboot"), errnoEPERM},
		{"swapon", x86("swapon"), errnoEPERM},
		{"acct", x86("acct"), errnoEPERM},
		{"quotactl", x86("quotactl"), errnoEPERM},
		{"lookup_dcookie", x86("lookup_dcookie"), errnoEPERM},
		{"iopl", x86("iopl"), errnoEPERM},
		{"ioperm", x86("ioperm"), errnoEPERM},
		{"syslog", x86("syslog"), errnoEPERM},
		{"settimeofday", x86("settimeofday"), errnoEPERM},
		{"clock_settime", x86("clock_settime"), errnoEPERM},
		{"adjtimex", x86("adjtimex"), errnoEPERM},
		{"sethostname", x86("sethostname"), errnoEPERM},
		{"setdomainname", x86("setdomainname"), errnoEPERM},
		{"fanotify_init", x86("fanotify_init"), errnoEPERM},
		{"pidfd_getfd", x86("pidfd_getfd"), errnoEPERM},
		{"modify_ldt", x86("modify_ldt"), errnoEPERM},
		{"personality query", x86("personality", 0xffffffff), retAllow},
		{"personality PER_LINUX", x86("personality", 0), retAllow},
		{"personality PER_LINUX32", x86("personality", 8), errnoEPERM},
		{"personality ADDR_NO_RANDOMIZE", x86("personality", 0x0040000), errnoEPERM},
		{"ioctl TCGETS", x86("ioctl", 1, 0x5401), retAllow},
		{"ioctl TIOCSTI", x86("ioctl", 1, 0x5412), errnoEPERM},
		{"ioctl TIOCSTI, high bits set", x86("ioctl", 1, 0xdead00005412), errnoEPERM},
		{"ioctl TIOCLINUX", x86("ioctl", 1, 0x541c), errnoEPERM},
		{"ioctl TIOCSETD", x86("ioctl", 1, 0x5423), errnoEPERM},
		{"socket AF_UNIX", x86("socket", 1, 1), retAllow},
		{"socket AF_INET", x86("socket", 2, 2), retAllow},
		{"socket AF_INET6", x86("socket", 10, 1), retAllow},
		{"socket AF_NETLINK", x86("socket", 16, 3), errnoEPERM},
		{"socket AF_PACKET", x86("socket", 17, 3), errnoEPERM},
		{"socket AF_NETLINK, high bits set", x86("socket", 0x100000010, 3), errnoEPERM},
		{"socketpair AF_UNIX", x86("socketpair", 1, 1), retAllow},
		{"socketpair AF_INET", x86("socketpair", 2, 1), errnoEPERM},
		{"seccomp", x86("seccomp"), retAllow},
		{"rseq", x86("rseq"), retAllow},
		{"futex", x86("futex"), retAllow},
		{"mprotect", x86("mprotect", 0, 4096, 7), retAllow},
		{"getrandom", x86("getrandom"), retAllow},
		{"prlimit64 self", x86("prlimit64"), retAllow},
		{"prlimit64 own child", x86("prlimit64", 7), retAllow},
		{"prlimit64 -1", x86("prlimit64", 0xffffffff), retAllow},
		{"prlimit64 PID 1", x86("prlimit64", 1), errnoEPERM},
		{"prlimit64 PID 1 with high bits", x86("prlimit64", 1<<32|1), errnoEPERM},
		{"unknown number", data{nr: 1000, arch: auditArchX86_64}, errnoEPERM},
		{"i386 getpid (int 0x80)", data{nr: 20, arch: auditArchI386}, retKillProcess},
		{"i386 mount", data{nr: 21, arch: auditArchI386}, retKillProcess},
		{"x32 getpid", data{nr: x32SyscallBit | 39, arch: auditArchX86_64}, retKillProcess},
		{"aarch64 data", data{nr: 63, arch: auditArchAARCH64}, retKillProcess},
	}
	for _, c := range cases {
		if got := runVM(t, vm, c.d); got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, actionString(got), actionString(c.want))
		}
	}
	if len(f.Insns) > 400 {
		t.Errorf("default filter has %d instructions; expected a compact tree", len(f.Insns))
	}
}

func TestDefaultPolicyARM64(t *testing.T) {
	f := mustCompile(t, ARM64, DefaultPolicy())
	vm := newVM(t, f)
	arm := func(name string, args ...uint64) data {
		d := data{nr: nr(t, ARM64, name), arch: auditArchAARCH64}
		copy(d.args[:], args)
		return d
	}
	cases := []struct {
		what string
		d    data
		want uint32
	}{
		{"openat", arm("openat"), retAllow},
		{"read", arm("read"), retAllow},
		{"clone fork", arm("clone", 0x1200011), retAllow},
		{"clone NEWUSER", arm("clone", 0x10000000|17), errnoEPERM},
		{"clone3", arm("clone3"), errnoENOSYS},
		{"mount", arm("mount"), errnoEPERM},
		{"unshare", arm("unshare"), errnoEPERM},
		{"socket AF_NETLINK", arm("socket", 16), errnoEPERM},
		{"socket AF_INET", arm("socket", 2), retAllow},
		{"x86_64 data", data{nr: 0, arch: auditArchX86_64}, retKillProcess},
		{"aarch32 data", data{nr: 0, arch: auditArchARM}, retKillProcess},
	}
	for _, c := range cases {
		if got := runVM(t, vm, c.d); got != c.want {
			t.Errorf("%s: got %s, want %s", c.what, actionString(got), actionString(c.want))
		}
	}
	// x32's bit means nothing on arm64: a high number is just unknown.
	if got := runVM(t, vm, data{nr: x32SyscallBit | 63, arch: auditArchAARCH64}); got != errnoEPERM {
		t.Errorf("high syscall number on arm64: got %s", actionString(got))
	}
}

// Every syscall name of the default policy must exist somewhere (a typo
// would otherwise silently allow nothing), and the core ones on both
// architectures.
func TestDefaultPolicyNames(t *testing.T) {
	for _, a := range Arches() {
		prog, err := parse("default.kafel", DefaultPolicy(), a)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range prog.skipped {
			if _, ok := SyscallNumber(AMD64, s); !ok {
				t.Errorf("%s: %s is skipped and not an amd64 syscall either", a, s)
			}
		}
		allowed := map[string]bool{}
		for _, r := range prog.rules {
			if r.action == retAllow {
				allowed[SyscallName(a, r.nr)] = true
			}
		}
		for _, s := range []string{"read", "write", "openat", "close", "mmap", "munmap", "mprotect", "brk",
			"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "futex", "clone", "execve", "exit_group", "wait4",
			"newfstatat", "fstat", "statx", "getdents64", "lseek", "pipe2", "dup3", "fcntl", "ioctl", "getrandom",
			"epoll_pwait", "ppoll", "pselect6", "eventfd2", "socket", "socketpair", "set_robust_list", "rseq",
			"prlimit64", "sched_getaffinity", "sched_yield", "uname", "sysinfo", "getcwd", "umask", "memfd_create",
			"ftruncate", "madvise", "mremap", "kill", "tgkill", "clock_gettime", "clock_nanosleep", "timerfd_create",
			"signalfd4", "pidfd_open", "wait4", "sigaltstack", "getpid", "gettid", "unlinkat", "renameat2",
			"mkdirat", "fchmodat", "linkat", "symlinkat", "readlinkat", "faccessat2", "close_range", "sendmsg", "recvmsg"} {
			if !allowed[s] {
				t.Errorf("%s: %s is not allowed by the default policy", a, s)
			}
		}
	}
}

func TestDefaultCached(t *testing.T) {
	a, err := Compile("", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile("", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if &a.Insns[0] != &b.Insns[0] {
		t.Error("the default filter is compiled again")
	}
	l, err := Compile("", "", Options{Log: true})
	if err != nil {
		t.Fatal(err)
	}
	if l.Flags != 2 || a.Flags != 0 {
		t.Errorf("flags: log %d, plain %d", l.Flags, a.Flags)
	}
}

func TestSemantics(t *testing.T) {
	const x86 = auditArchX86_64
	write, read, getpid := uint32(1), uint32(0), uint32(39)
	cases := []struct {
		policy string
		d      data
		want   uint32
	}{
		// No DEFAULT: kafel kills.
		{`ALLOW { read }`, data{nr: write, arch: x86}, retKillProcess},
		{`ALLOW { read }`, data{nr: read, arch: x86}, retAllow},
		// First matching rule wins.
		{`ERRNO(5) { write { fd == 1 } } ALLOW { write } ERRNO(6) { write } DEFAULT KILL`, data{nr: write, arch: x86, args: [6]uint64{1}}, retErrno | 5},
		{`ERRNO(5) { write { fd == 1 } } ALLOW { write } ERRNO(6) { write } DEFAULT KILL`, data{nr: write, arch: x86, args: [6]uint64{2}}, retAllow},
		{`ALLOW { write } ERRNO(6) { write } DEFAULT KILL`, data{nr: write, arch: x86}, retAllow},
		// USE pastes the policy in place.
		{`POLICY a { ERRNO(7) { getpid } } POLICY b { USE a, ALLOW { getpid } } USE b DEFAULT LOG`, data{nr: getpid, arch: x86}, retErrno | 7},
		{`POLICY a { ERRNO(7) { getpid } } POLICY b { USE a, ALLOW { getpid } } USE b DEFAULT LOG`, data{nr: read, arch: x86}, retLog},
		// A policy that is only defined is not used.
		{`POLICY a { ALLOW { read } } DEFAULT ERRNO(9)`, data{nr: read, arch: x86}, retErrno | 9},
		{`DEFAULT ALLOW KILL_THREAD { getpid }`, data{nr: getpid, arch: x86}, retKillThread},
		{`DEFAULT ALLOW TRAP(3) { getpid }`, data{nr: getpid, arch: x86}, retTrap | 3},
		{`DEFAULT ALLOW DENY { getpid }`, data{nr: getpid, arch: x86}, retKillProcess},
		{`DEFAULT ALLOW KILL { getpid }`, data{nr: read, arch: x86}, retAllow},
		// A DEFAULT ALLOW policy still refuses foreign architectures.
		{`DEFAULT ALLOW`, data{nr: 1, arch: auditArchI386}, retKillProcess},
		{`DEFAULT ALLOW`, data{nr: x32SyscallBit | 1, arch: x86}, retKillProcess},
		// 32-bit arguments: high bits are ignored like the kernel does.
		{`ERRNO(1) { write { fd == 1 } } DEFAULT ALLOW`, data{nr: write, arch: x86, args: [6]uint64{0xffffffff00000001}}, retErrno | 1},
		{`ERRNO(1) { write { fd == -1 } } DEFAULT ALLOW`, data{nr: write, arch: x86, args: [6]uint64{0xffffffff}}, retErrno | 1},
		// Custom argument names keep the known sizes.
		{`ERRNO(1) { ioctl(a, b) { b == 0x5412 } } DEFAULT ALLOW`, data{nr: 16, arch: x86, args: [6]uint64{0, 0x100005412}}, retErrno | 1},
		// 64-bit arguments compare both words.
		{`ERRNO(1) { lseek { offset == 0x100000005 } } DEFAULT ALLOW`, data{nr: 8, arch: x86, args: [6]uint64{0, 5}}, retAllow},
		{`ERRNO(1) { lseek { offset == 0x100000005 } } DEFAULT ALLOW`, data{nr: 8, arch: x86, args: [6]uint64{0, 0x100000005}}, retErrno | 1},
		{`ERRNO(1) { SYSCALL[8] { arg1 > 0xffffffff } } DEFAULT ALLOW`, data{nr: 8, arch: x86, args: [6]uint64{0, 0x100000000}}, retErrno | 1},
		{`ERRNO(1) { SYSCALL[8] { arg1 > 0xffffffff } } DEFAULT ALLOW`, data{nr: 8, arch: x86, args: [6]uint64{0, 0xffffffff}}, retAllow},
		// #define'd names are syscalls too (kafel's custom syscalls).
		{`#define mysys 1000
		  ERRNO(3) { mysys } DEFAULT ALLOW`, data{nr: 1000, arch: x86}, retErrno | 3},
		// Conditions with constant results.
		{`ERRNO(1) { write { 1 == 2 } } DEFAULT ALLOW`, data{nr: write, arch: x86}, retAllow},
		{`ERRNO(1) { write { 1 == 1 } } DEFAULT ALLOW`, data{nr: write, arch: x86}, retErrno | 1},
		// Argument against argument, and masks needing scratch memory.
		{`ERRNO(4) { SYSCALL[1000](a, b, c) { (a & b) == c } } DEFAULT ALLOW`, data{nr: 1000, arch: x86, args: [6]uint64{0x1_0000_00ff, 0x1_0000_000f, 0x1_0000_000f}}, retErrno | 4},
		{`ERRNO(4) { SYSCALL[1000](a, b, c) { (a & b) == c } } DEFAULT ALLOW`, data{nr: 1000, arch: x86, args: [6]uint64{0x1_0000_00ff, 0x1_0000_000f, 0x0_0000_000f}}, retAllow},
		{`ERRNO(4) { SYSCALL[1000](a, b) { a < b } } DEFAULT ALLOW`, data{nr: 1000, arch: x86, args: [6]uint64{0xffffffff, 0x100000000}}, retErrno | 4},
		{`ERRNO(4) { SYSCALL[1000](a, b) { a < b } } DEFAULT ALLOW`, data{nr: 1000, arch: x86, args: [6]uint64{0x100000000, 0xffffffff}}, retAllow},
	}
	for _, c := range cases {
		f := mustCompile(t, AMD64, c.policy)
		if got := runVM(t, newVM(t, f), c.d); got != c.want {
			t.Errorf("%s\n  with %+v: got %s, want %s\n%s", c.policy, c.d, actionString(got), actionString(c.want), f.Disassemble())
		}
	}
}

// refEval is the reference semantics of a resolved program.
func refEval(prog *program, ai *archInfo, d data) uint32 {
	if d.arch != ai.audit || (ai.x32Bit && d.nr&x32SyscallBit != 0) {
		return retKillProcess
	}
	for _, r := range prog.rules {
		if r.nr == d.nr && (r.cond == nil || refCond(r.cond, d.args)) {
			return r.action
		}
	}
	if !prog.defSet {
		return retKillProcess
	}
	return prog.def
}

func refValue(v *vexpr, args [6]uint64) uint64 {
	switch v.kind {
	case vConst:
		return v.c
	case vArg:
		if v.size == 4 {
			return args[v.arg] & 0xffffffff
		}
		return args[v.arg]
	case vAnd:
		return refValue(v.l, args) & refValue(v.r, args)
	}
	return refValue(v.l, args) | refValue(v.r, args)
}

func refCond(c *cexpr, args [6]uint64) bool {
	switch c.kind {
	case cTrue:
		return true
	case cFalse:
		return false
	case cNot:
		return !refCond(c.l, args)
	case cAnd:
		return refCond(c.l, args) && refCond(c.r, args)
	case cOr:
		return refCond(c.l, args) || refCond(c.r, args)
	}
	a, b := refValue(c.a, args), refValue(c.b, args)
	if c.width32 {
		a, b = a&0xffffffff, b&0xffffffff
	}
	return compareConst(c.op, a, b)
}

var edgeValues = []uint64{0, 1, 2, 3, 5, 0x7f, 0xff, 0x5412, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff,
	0x100000000, 0x100000001, 0x100000005, 0x1ffffffff, 0x200000000, 0xffffffff00000000, 0xffffffff00000001,
	0x8000000000000000, 0xfffffffffffffffe, 0xffffffffffffffff}

// randValue writes a random value expression over the declared arguments.
func randValue(r *rand.Rand, depth int) string {
	switch n := r.Intn(10); {
	case n < 3 || depth > 2:
		return fmt.Sprintf("%#x", edgeValues[r.Intn(len(edgeValues))])
	case n < 7:
		return []string{"a", "b", "c", "fd"}[r.Intn(4)]
	case n < 9:
		return "(" + randValue(r, depth+1) + " & " + randValue(r, depth+1) + ")"
	default:
		return "(" + randValue(r, depth+1) + " | " + randValue(r, depth+1) + ")"
	}
}

func randCond(r *rand.Rand, depth int) string {
	switch n := r.Intn(10); {
	case n < 5 || depth > 2:
		op := []string{"==", "!=", "<", "<=", ">", ">="}[r.Intn(6)]
		return randValue(r, 0) + " " + op + " " + randValue(r, 0)
	case n < 7:
		return "(" + randCond(r, depth+1) + " && " + randCond(r, depth+1) + ")"
	case n < 9:
		return "(" + randCond(r, depth+1) + " || " + randCond(r, depth+1) + ")"
	default:
		return "!(" + randCond(r, depth+1) + ")"
	}
}

// TestRandomPolicies compiles random policies and checks the BPF, run in
// x/net/bpf's VM, against the reference semantics on edge-case inputs.
// The policies are large enough to need long-jump trampolines.
func TestRandomPolicies(t *testing.T) {
	seed, iters := int64(1), 300
	if s := os.Getenv("PYCAGE_SECCOMP_FUZZ_SEED"); s != "" {
		seed, _ = strconv.ParseInt(s, 10, 64)
		iters = 2000
	}
	r := rand.New(rand.NewSource(seed))
	actions := []string{"ALLOW", "ERRNO(1)", "ERRNO(2)", "KILL", "LOG", "TRAP(4)"}
	for iter := 0; iter < iters; iter++ {
		var sb strings.Builder
		nrules := 1 + r.Intn(40)
		if iter%10 == 9 {
			nrules = 400
		}
		for i := 0; i < nrules; i++ {
			// fd is argument 0 of syscall 0 (read) and 1 (write), 32-bit.
			sys := r.Intn(12)
			if iter%10 == 9 {
				sys = r.Intn(300)
			}
			header := fmt.Sprintf("SYSCALL[%d](fd, a, b, c)", sys)
			switch {
			case sys <= 1:
				header = []string{"read", "write"}[sys] + "(fd, a, b, c)"
			case r.Intn(4) == 0:
				header = fmt.Sprintf("SYSCALL[%d](a, b, c, fd)", sys)
			}
			cond := ""
			if r.Intn(5) != 0 {
				depth := 0
				if nrules == 400 {
					depth = 3 // a single comparison keeps the filter under 4096
				}
				cond = " { " + randCond(r, depth) + " }"
			}
			fmt.Fprintf(&sb, "%s { %s%s }\n", actions[r.Intn(len(actions))], header, cond)
		}
		if r.Intn(3) != 0 {
			fmt.Fprintf(&sb, "DEFAULT %s\n", actions[r.Intn(len(actions))])
		}
		src := sb.String()
		prog, err := parse("rand.kafel", src, AMD64)
		if err != nil {
			t.Fatalf("%v\n%s", err, src)
		}
		f := mustCompile(t, AMD64, src)
		vm := newVM(t, f)
		ai := archInfos()[AMD64]
		if nrules == 400 {
			ja := 0
			for _, in := range f.Insns {
				if in.Code == 0x05 { // BPF_JMP|BPF_JA
					ja++
				}
			}
			if len(f.Insns) < 1000 || ja == 0 {
				t.Fatalf("a large policy compiled to %d instructions with %d long jumps; the test no longer covers trampolines", len(f.Insns), ja)
			}
		}
		for k := 0; k < 400; k++ {
			d := data{nr: uint32(r.Intn(14)), arch: auditArchX86_64}
			if nrules == 400 {
				d.nr = uint32(r.Intn(310))
			}
			for i := range d.args {
				d.args[i] = edgeValues[r.Intn(len(edgeValues))]
			}
			if k%50 == 0 {
				d.arch = auditArchI386
			}
			got, want := runVM(t, vm, d), refEval(prog, ai, d)
			if got != want {
				t.Fatalf("policy:\n%s\ninput %+v: BPF says %s, reference says %s\n%s", src, d, actionString(got), actionString(want), f.Disassemble())
			}
		}
	}
}
