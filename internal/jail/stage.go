package jail

// Child side, part 2: the stage. Init starts it before building the tree (so
// its start-up overlaps the mounts); it waits for its config, then becomes
// the command: rlimits, cwd, its Landlock ruleset, every capability
// dropped, no_new_privs, seccomp last, execve. Doing seccomp here (and not in init) means a policy applies
// from the command's execve on, as in nsjail, and never to init itself.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"unsafe"

	"github.com/pycage/pycage/internal/landlock"
	"golang.org/x/sys/unix"
)

type stageConfig struct {
	Args        []string     `json:"args"`
	ExecPath    string       `json:"exec_path,omitempty"`
	Env         []string     `json:"env"`
	Cwd         string       `json:"cwd"`
	Rlimits     []Rlimit     `json:"rlimits,omitempty"`
	Filter      []SockFilter `json:"filter,omitempty"`
	FilterFlags uint         `json:"filter_flags,omitempty"`
	NoNewPrivs  bool         `json:"nnp"`
	Nice        int          `json:"nice,omitempty"`
	KeepCaps    []string     `json:"keep_caps,omitempty"`
	// CgroupFDs are the stage's fds of the command leaf's cgroup.procs
	// files (pids last); UnshareCgroup makes the cgroup namespace there.
	CgroupFDs     []int `json:"cgroup_fds,omitempty"`
	UnshareCgroup bool  `json:"unshare_cgroup,omitempty"`
	// Landlock is the command's ruleset (nil: none), built in the jail's
	// tree and enforced before the capabilities are dropped.
	Landlock *landlock.Policy `json:"landlock,omitempty"`
}

type stageError struct {
	Error string `json:"error"`
	Code  int    `json:"code"`
}

// startStage forks the stage with the command's stdio and pass fds. It
// returns its pid, the pipe to send its config on, and the pipe its errors
// come back on (EOF there means execve succeeded).
func startStage(spec *Spec, p *payload, cfg *stageConfig) (int, *os.File, *os.File, error) {
	cfgR, cfgW, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, fail("pipe", "stage config", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return 0, nil, nil, fail("pipe", "stage errors", err)
	}
	used := map[int]bool{}
	maxFD := 2
	for _, fd := range spec.PassFDs {
		used[fd] = true
		if fd > maxFD {
			maxFD = fd
		}
	}
	free := func() int {
		for fd := 3; ; fd++ {
			if !used[fd] {
				used[fd] = true
				if fd > maxFD {
					maxFD = fd
				}
				return fd
			}
		}
	}
	cfgFD, errFD := free(), free()
	cgFDs := make([]int, p.CgroupFDs)
	for i := range cgFDs {
		cgFDs[i] = free()
	}
	cfg.CgroupFDs = cgFDs
	files := make([]uintptr, maxFD+1)
	for i := range files {
		files[i] = ^uintptr(0) // closed in the child
	}
	files[0], files[1], files[2] = 0, 1, 2
	for i, fd := range spec.PassFDs {
		files[fd] = uintptr(passFDBase + i)
	}
	files[cfgFD], files[errFD] = cfgR.Fd(), errW.Fd()
	cgBase := passFDBase + len(spec.PassFDs)
	for i, fd := range cgFDs {
		files[fd] = uintptr(cgBase + i)
	}
	pid, err := syscall.ForkExec("/proc/self/exe",
		[]string{stageArg, fmt.Sprint(cfgFD), fmt.Sprint(errFD)},
		&syscall.ProcAttr{
			Dir: "/",
			// No async preemption signals between installing the filter
			// and execve: a strict user policy may not allow rt_sigreturn.
			Env:   []string{"GODEBUG=asyncpreemptoff=1"},
			Files: files,
			Sys:   &syscall.SysProcAttr{Setsid: !spec.SkipSetsid, Pdeathsig: syscall.SIGKILL},
		})
	cfgR.Close()
	errW.Close()
	// Only the stage may hold the cgroup files (they carry root's right
	// to move processes): init drops its copies at once.
	for i := 0; i < p.CgroupFDs; i++ {
		unix.Close(cgBase + i)
	}
	if err != nil {
		return 0, nil, nil, fail("start", "stage", err)
	}
	return pid, cfgW, errR, nil
}

func runStage() {
	runtime.LockOSThread()
	debug.SetGCPercent(-1)
	if len(os.Args) < 3 {
		os.Exit(125)
	}
	var cfgFD, errFD int
	fmt.Sscan(os.Args[1], &cfgFD)
	fmt.Sscan(os.Args[2], &errFD)
	errPipe := os.NewFile(uintptr(errFD), "stage-errors")
	syscall.CloseOnExec(errFD)
	die := func(code int, format string, a ...any) {
		json.NewEncoder(errPipe).Encode(stageError{Error: fmt.Sprintf(format, a...), Code: code})
		os.Exit(code)
	}
	// Blocks until init has finished the tree and pivoted into it.
	cfgPipe := os.NewFile(uintptr(cfgFD), "stage-config")
	var cfg stageConfig
	if err := json.NewDecoder(cfgPipe).Decode(&cfg); err != nil {
		os.Exit(125) // init failed and closed the pipe; it reports
	}
	cfgPipe.Close()

	if err := unix.Chdir(cfg.Cwd); err != nil {
		die(125, "chdir %s: %s", cfg.Cwd, errText(err))
	}
	if cfg.Nice != 0 {
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, cfg.Nice); err != nil {
			die(125, "setpriority nice %d: %s", cfg.Nice, errText(err))
		}
	}
	exe, code, err := lookPath(cfg)
	if err != nil {
		die(code, "%v", err)
	}
	argv, err := syscall.SlicePtrFromStrings(cfg.Args)
	if err != nil {
		die(125, "exec %s: %v", exe, err)
	}
	envv, err := syscall.SlicePtrFromStrings(cfg.Env)
	if err != nil {
		die(125, "exec %s: %v", exe, err)
	}
	exeP, err := syscall.BytePtrFromString(exe)
	if err != nil {
		die(125, "exec %s: %v", exe, err)
	}
	var prog *unix.SockFprog
	if len(cfg.Filter) > 0 {
		insns := make([]unix.SockFilter, len(cfg.Filter))
		for i, f := range cfg.Filter {
			insns[i] = unix.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
		}
		prog = &unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	}
	caps, err := prepareCaps(cfg.KeepCaps)
	if err != nil {
		die(125, "drop capabilities: %v", err)
	}
	for _, fd := range cfg.CgroupFDs {
		syscall.CloseOnExec(fd)
	}
	// The Landlock ruleset is built now (it opens paths and allocates);
	// it is enforced below with one raw syscall. Its fd is close-on-exec.
	llFD := -1
	if cfg.Landlock != nil {
		fd, err := landlock.Build(cfg.Landlock)
		if err != nil {
			die(125, "%v", err)
		}
		llFD = fd
	}
	// The limits last, once nothing allocates any more: an RLIMIT_AS
	// below the Go runtime's reservations (nsjail's rlimit_as: 700, in
	// MiB) would make the next mapping of the heap fail.
	for _, rl := range cfg.Rlimits {
		res, ok := rlimitResources[rl.Resource]
		if !ok {
			die(125, "setrlimit %s: unknown resource", rl.Resource)
		}
		lim := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		// syscall.Setrlimit (not unix's) so Go does not restore its own
		// saved RLIMIT_NOFILE at execve.
		if err := syscall.Setrlimit(res, &lim); err != nil {
			die(125, "setrlimit %s (soft %d, hard %d): %s", rl.Resource, rl.Soft, rl.Hard, errText(err))
		}
	}
	zero := []byte("0")

	// From here on: raw syscalls only, nothing that allocates or enters
	// the scheduler. Once the stage is in the command's cgroup leaf it may
	// be over that leaf's pids limit (its Go threads count until execve
	// ends them), so the Go runtime must not need a new thread.
	for _, fd := range cfg.CgroupFDs {
		if _, _, e := syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&zero[0])), 1); e != 0 {
			die(125, "join the command's cgroup (fd %d): %s", fd, errText(e))
		}
	}
	if cfg.UnshareCgroup {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, unix.CLONE_NEWCGROUP, 0, 0); e != 0 {
			die(125, "unshare cgroup namespace: %s", errText(e))
		}
	}
	// Landlock on this (locked) thread, which execs the command, while it
	// still has CAP_SYS_ADMIN in the jail's user namespace: no_new_privs
	// is not needed (and may be disabled).
	if llFD >= 0 {
		if e := landlock.RestrictSelf(llFD); e != 0 {
			die(125, "landlock restrict self: %s", errText(e))
		}
	}
	if e := caps.apply(); e != 0 {
		die(125, "drop capabilities: %s", errText(e))
	}
	resetSignals()
	if cfg.NoNewPrivs {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
			die(125, "set no_new_privs: %s", errText(e))
		}
	}
	if prog != nil {
		if _, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(cfg.FilterFlags), uintptr(unsafe.Pointer(prog))); e != 0 {
			die(125, "install seccomp filter: %s", errText(e))
		}
	}
	_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(exeP)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	code = 126
	if e == unix.ENOENT {
		code = 127
	}
	die(code, "exec %s: %s", exe, errText(e))
}

// lookPath finds the command inside the jail: an explicit ExecPath, a path
// with a slash, or a search of the jail's PATH.
func lookPath(cfg stageConfig) (string, int, error) {
	if len(cfg.Args) == 0 {
		return "", 125, fmt.Errorf("exec: no command")
	}
	name := cfg.Args[0]
	if cfg.ExecPath != "" {
		name = cfg.ExecPath
	}
	if strings.Contains(name, "/") {
		code, err := checkExec(name)
		return name, code, err
	}
	pathEnv := ""
	for _, kv := range cfg.Env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if _, err := checkExec(p); err == nil {
			return p, 0, nil
		}
	}
	return "", 127, fmt.Errorf("exec %s: not found in PATH=%s inside the jail", name, pathEnv)
}

func checkExec(p string) (int, error) {
	st, err := os.Stat(p)
	if err != nil {
		return 127, fmt.Errorf("exec %s: not found inside the jail", p)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return 126, fmt.Errorf("exec %s: not an executable file", p)
	}
	return 0, nil
}

// resetSignals gives the command default signal dispositions: handlers
// reset at execve anyway, but ignored signals (init ignores most) would be
// inherited.
func resetSignals() {
	var zero [4]uint64 // struct sigaction with SIG_DFL, no flags, empty mask
	for s := 1; s <= 64; s++ {
		if s == int(unix.SIGKILL) || s == int(unix.SIGSTOP) {
			continue
		}
		syscall.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&zero)), 0, 8, 0, 0)
	}
	var empty uint64
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&empty)), 0, 8, 0, 0)
}

var rlimitResources = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU,
	"data": unix.RLIMIT_DATA, "fsize": unix.RLIMIT_FSIZE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "stack": unix.RLIMIT_STACK, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "rtprio": unix.RLIMIT_RTPRIO, "sigpending": unix.RLIMIT_SIGPENDING,
	"nice": unix.RLIMIT_NICE, "rttime": unix.RLIMIT_RTTIME,
}

// ValidRlimit reports whether name is a resource Rlimit accepts.
func ValidRlimit(name string) bool { _, ok := rlimitResources[name]; return ok }

// startDirect is the fast path used with pycage's default seccomp policy
// (which allows everything init does afterwards: wait4, kill, read, write,
// futex...): init drops its capabilities, sets the command's rlimits,
// Landlock ruleset (on its locked thread), no_new_privs and seccomp filter
// on itself, then forks and execs the command with Go's os.StartProcess.
// The filter, the ruleset and the limits are inherited.
// Not used for user policies (they apply from the command's execve on, as
// in nsjail), RLIMIT_AS (would starve init's Go runtime) or kept capabilities.
func startDirect(spec *Spec, cfg stageConfig) (int, int, error) {
	if err := unix.Chdir(cfg.Cwd); err != nil {
		return 0, 125, fail("chdir", cfg.Cwd, err)
	}
	exe, code, err := lookPath(cfg)
	if err != nil {
		return 0, code, err
	}
	for _, rl := range cfg.Rlimits {
		res, ok := rlimitResources[rl.Resource]
		if !ok {
			return 0, 125, fail("setrlimit", rl.Resource, fmt.Errorf("unknown resource"))
		}
		lim := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		if err := syscall.Setrlimit(res, &lim); err != nil {
			return 0, 125, fail("setrlimit", fmt.Sprintf("%s (soft %d, hard %d)", rl.Resource, rl.Soft, rl.Hard), err)
		}
	}
	// Landlock on init's locked thread, which forks the command (the
	// domain is inherited), before the capabilities are dropped.
	if cfg.Landlock != nil {
		rs, err := landlock.Build(cfg.Landlock)
		if err != nil {
			return 0, 125, err
		}
		e := landlock.RestrictSelf(rs)
		unix.Close(rs)
		if e != 0 {
			return 0, 125, fail("landlock restrict self", "", e)
		}
	}
	last := lastCap()
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return 0, 125, fail("drop bounding capability", fmt.Sprint(c), err)
		}
	}
	dropAllCaps()
	if cfg.NoNewPrivs {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return 0, 125, fail("set", "no_new_privs", err)
		}
	}
	if len(cfg.Filter) > 0 {
		insns := make([]unix.SockFilter, len(cfg.Filter))
		for i, f := range cfg.Filter {
			insns[i] = unix.SockFilter{Code: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
		}
		prog := &unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
		// This thread (locked) forks the command, so the filter is inherited.
		if _, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(cfg.FilterFlags), uintptr(unsafe.Pointer(prog))); e != 0 {
			return 0, 125, fail("install", "seccomp filter", e)
		}
	}
	// syscall.ForkExec, not os.StartProcess: the os package probes pidfd
	// support with an extra fork on first use, which init does not need.
	files := []uintptr{0, 1, 2}
	for i, fd := range spec.PassFDs {
		for len(files) <= fd {
			files = append(files, ^uintptr(0))
		}
		files[fd] = uintptr(passFDBase + i)
	}
	pid, err := syscall.ForkExec(exe, cfg.Args, &syscall.ProcAttr{
		Dir: cfg.Cwd, Env: cfg.Env, Files: files,
		Sys: &syscall.SysProcAttr{Setsid: !spec.SkipSetsid, Pdeathsig: syscall.SIGKILL},
	})
	if err != nil {
		code := 126
		if errors.Is(err, syscall.ENOENT) {
			code = 127
		}
		var en syscall.Errno
		if errors.As(err, &en) {
			return 0, code, fmt.Errorf("exec %s: %s", exe, errText(en))
		}
		return 0, code, fmt.Errorf("exec %s: %v", exe, err)
	}
	return pid, 0, nil
}
