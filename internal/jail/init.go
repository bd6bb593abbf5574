package jail

// Child side, part 1: pycage's init. The parent starts /proc/self/exe with
// argv[0] = initArg inside new namespaces. Init is PID 1 of the jail: it
// builds the file tree, starts the stage (which becomes the command), reaps
// every process, relays signals, and when the command exits kills whatever is
// left and reports the exact status.
//
// File descriptors handed to init (named, as gVisor does):
//   0,1,2  the command's stdio
//   3      ctl: payload JSON from the parent, then commands
//   4      report: JSON messages to the parent
//   5...   PassFDs, in order

import (
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pycage/pycage/internal/landlock"
	"golang.org/x/sys/unix"
)

const (
	initArg  = "pycage:init"
	stageArg = "pycage:stage"

	ctlFD      = 3
	reportFD   = 4
	passFDBase = 5
)

// SockFilter is one classic BPF instruction (struct sock_filter).
type SockFilter struct {
	Code uint16 `json:"c"`
	Jt   uint8  `json:"t"`
	Jf   uint8  `json:"f"`
	K    uint32 `json:"k"`
}

// payload is what the parent sends init.
type payload struct {
	Spec        *Spec        `json:"spec"`
	Filter      []SockFilter `json:"filter,omitempty"`
	FilterFlags uint         `json:"filter_flags,omitempty"`
	// Direct: init starts the command itself (see startDirect) instead of
	// through a stage.
	Direct bool `json:"direct,omitempty"`
	// TreeMounts lists, in fd order after the cgroup files, the indexes in
	// Spec.Mounts of the bind trees the parent opened (nil: init opens them).
	TreeMounts []int `json:"tree_mounts,omitempty"`
	// CgroupFDs is how many cgroup.procs files of the command's own cgroup
	// leaf follow the pass fds; the stage moves itself there before execve.
	CgroupFDs int `json:"cgroup_fds,omitempty"`
}

// command is a parent -> init request after the payload.
type command struct {
	Cmd    string `json:"cmd"` // "kill" (kill all, then collect and report) or "signal"
	Signal int    `json:"signal,omitempty"`
}

// report is an init -> parent message.
type report struct {
	Kind       string    `json:"kind"` // "error", "started", "exit"
	Error      string    `json:"error,omitempty"`
	ExitCode   int       `json:"exit_code,omitempty"` // for errors: 125, 126 or 127
	Status     int       `json:"status,omitempty"`    // raw wait status of the command
	SetupNs    int64     `json:"setup_ns,omitempty"`  // time init spent building the jail
	Files      []OutFile `json:"files,omitempty"`
	FilesError string    `json:"files_error,omitempty"`
	trace      string    // extra timeline for PYCAGE_TRACE (raw path)
}

// Main runs the child side when this process is a jail's init or stage and
// never returns then. Call it first in main() (and in TestMain).
func Main() {
	if len(os.Args) == 0 {
		return
	}
	switch os.Args[0] {
	case initArg:
		runInit()
	case stageArg:
		runStage()
	}
}

func runInit() {
	t0 := time.Now()
	// Namespaces set with unshare are per thread: keep setup on one thread.
	runtime.LockOSThread()
	// No process of the jail may ptrace or read the memory of init.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	// Nothing init holds may reach the command unless handed over on
	// purpose (stdio, pass fds, the cgroup files of the stage): not the
	// ctl/report pipes, not fds pycage itself inherited from its caller.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		for fd := 3; fd < 1024; fd++ {
			unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
		}
	}

	rep := os.NewFile(reportFD, "report")
	enc := json.NewEncoder(rep)
	send := func(m report) { enc.Encode(m) }
	die := func(err error, code int) {
		send(report{Kind: "error", Error: err.Error(), ExitCode: code})
		os.Exit(1)
	}

	ctl := os.NewFile(ctlFD, "ctl")
	dec := json.NewDecoder(ctl)
	var p payload
	if err := dec.Decode(&p); err != nil {
		die(fail("read", "payload", err), 125)
	}
	spec := p.Spec

	// Signals sent from inside the jail must not kill init (Go would die on
	// most of them). The parent relays signals over ctl, never by signal,
	// so that a process of the jail cannot fake them.
	ignoreSignals()

	if spec.Namespaces.Cgroup && p.CgroupFDs == 0 {
		// After the parent placed us in the run's cgroups, so that the
		// jail sees its own cgroup as the root. (With a command leaf, the
		// stage does it once it is in that leaf.)
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			die(fail("unshare", "cgroup namespace", err), 125)
		}
	}

	cfg := stageConfig{
		Args: spec.Args, ExecPath: spec.ExecPath, Env: spec.Env, Cwd: spec.Cwd,
		Rlimits: spec.Limits.Rlimits, Filter: p.Filter, FilterFlags: p.FilterFlags,
		NoNewPrivs: !spec.DisableNoNewPrivs, KeepCaps: spec.KeepCaps, Nice: spec.Nice,
		UnshareCgroup: spec.Namespaces.Cgroup && p.CgroupFDs > 0,
	}
	// The command's Landlock ruleset (the same decision as the raw path's,
	// on the same kernel); applied by whoever becomes the command.
	pol, err := landlockPlan(spec, landlock.ABI())
	if err != nil {
		die(err, 125)
	}
	cfg.Landlock = pol
	var stage int
	var started time.Time
	if p.Direct {
		// Fast path: init itself takes on the command's limits and filter
		// and forks+execs it directly (one Go start-up less per run).
		if err := setupJail(spec, &p); err != nil {
			die(err, 125)
		}
		started = time.Now()
		pid, code, err := startDirect(spec, cfg)
		if err != nil {
			die(err, code)
		}
		stage = pid
	} else {
		// Start the stage now: its Go runtime starts while we build the
		// tree. It shares our mount namespace, so pivot_root moves it along.
		pid, stageCtl, stageErr, err := startStage(spec, &p, &cfg)
		if err != nil {
			die(err, 125)
		}
		stage = pid
		if err := setupJail(spec, &p); err != nil {
			stageCtl.Close()
			unix.Kill(stage, unix.SIGKILL)
			die(err, 125)
		}
		started = time.Now()
		if err := json.NewEncoder(stageCtl).Encode(&cfg); err != nil {
			die(fail("start", "command", err), 125)
		}
		stageCtl.Close()
		var serr stageError
		if err := json.NewDecoder(stageErr).Decode(&serr); err == nil {
			// The stage failed before exec; reap it and report.
			var ws unix.WaitStatus
			unix.Wait4(stage, &ws, 0, nil)
			send(report{Kind: "error", Error: serr.Error, ExitCode: serr.Code})
			os.Exit(1)
		}
		stageErr.Close()
		// Init keeps no privilege while the command runs.
		dropAllCaps()
	}
	send(report{Kind: "started", SetupNs: int64(time.Since(t0))})

	// Parent commands.
	killed := make(chan struct{}, 1)
	go func() {
		for {
			var c command
			if err := dec.Decode(&c); err != nil {
				return
			}
			switch c.Cmd {
			case "kill":
				unix.Kill(-1, unix.SIGKILL)
				select {
				case killed <- struct{}{}:
				default:
				}
			case "signal":
				unix.Kill(stage, syscall.Signal(c.Signal))

			}
		}
	}()

	// Reap everything; when the command exits, kill the rest.
	status := -1
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil { // ECHILD: nobody left
			break
		}
		if pid == stage {
			status = int(ws)
			unix.Kill(-1, unix.SIGKILL)
		}
	}

	msg := report{Kind: "exit", Status: status}
	if spec.Collect != nil {
		msg.Files, msg.FilesError = collectFiles(spec, started)
	}
	send(msg)
	rep.Close()
	os.Exit(0)
}

// ignoreSignals makes init deaf to signals, so a process of the jail cannot
// kill it with kill(1, sig). It catches and drops them rather than setting
// SIG_IGN, because ignored dispositions would be inherited by the command.
func ignoreSignals() {
	drop := make(chan os.Signal, 16)
	signal.Notify(drop)
	go func() {
		for range drop {
		}
	}()
}

// setupJail builds the jail's world: file tree, network, hostname, root.
func setupJail(spec *Spec, p *payload) error {
	if spec.Namespaces.Mount {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			return fail("make private", "/", err)
		}
		r := &rootfs{base: "/tmp", uid: spec.UID, gid: spec.GID}
		if _, err := os.Stat(r.base); err != nil {
			r.base = "/mnt"
		}
		var given map[int]int
		if p.TreeMounts != nil {
			given = map[int]int{}
			base := passFDBase + len(spec.PassFDs) + p.CgroupFDs
			for k, idx := range p.TreeMounts {
				given[idx] = base + k
			}
		}
		if err := r.openHostTrees(spec, given); err != nil {
			return err
		}
		var etc int64
		for _, c := range spec.EtcFiles {
			etc += int64(len(c))
		}
		for _, m := range spec.Mounts {
			etc += int64(len(m.Content))
		}
		if err := r.mountRoot(1<<20 + etc); err != nil {
			return err
		}
		if err := r.build(spec); err != nil {
			return err
		}
		if spec.Cwd != "" {
			fd, err := r.mkdirAll(spec.Cwd)
			if err != nil {
				return fail("mkdir", "(cwd) "+spec.Cwd, err)
			}
			unix.Close(fd)
		}
		if err := writeInputFiles(r, spec); err != nil {
			return err
		}
		if err := unix.Fchdir(r.rootFD); err != nil {
			return fail("chdir", "(new root)", err)
		}
		if err := unix.PivotRoot(".", "."); err != nil {
			return fail("pivot_root", "(new root)", err)
		}
		if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
			return fail("detach", "(old root)", err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fail("chdir", "/", err)
		}
		unix.Close(r.rootFD)
		// Nothing more is created in the root or /dev: make them read-only.
		if !r.keepRootRW {
			if err := unix.MountSetattr(unix.AT_FDCWD, "/", 0, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
				return fail("remount read-only", "/", err)
			}
		}
		if spec.Dev {
			if err := unix.MountSetattr(unix.AT_FDCWD, "/dev", 0, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}); err != nil {
				return fail("remount read-only", "/dev", err)
			}
		}
	}
	if spec.Namespaces.Net && spec.Net == NetLoopback {
		if err := loopbackUp(); err != nil {
			return fail("bring up", "lo", err)
		}
	}
	if spec.Namespaces.UTS && spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fail("sethostname", spec.Hostname, err)
		}
	}
	return nil
}

func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}

// writeInputFiles places Spec.Files into the workspace, as the jail's user,
// never outside it (RESOLVE_BENEATH).
func writeInputFiles(r *rootfs, spec *Spec) error {
	if len(spec.Files) == 0 {
		return nil
	}
	ws, err := r.openIn(spec.Cwd, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fail("open", "(workspace) "+spec.Cwd, err)
	}
	defer unix.Close(ws)
	for _, f := range spec.Files {
		if err := validRelPath(f.Path); err != nil {
			return fail("write file", f.Path, err)
		}
		dir, base := "", f.Path
		if i := strings.LastIndexByte(f.Path, '/'); i >= 0 {
			dir, base = f.Path[:i], f.Path[i+1:]
		}
		dfd, err := mkdirBeneath(ws, dir)
		if err != nil {
			return fail("write file", f.Path, err)
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		fd, err := unix.Openat(dfd, base, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
		unix.Close(dfd)
		if err != nil {
			return fail("write file", f.Path, err)
		}
		fh := os.NewFile(uintptr(fd), f.Path)
		_, err = fh.Write(f.Content)
		fh.Close()
		if err != nil {
			if err2, ok := err.(*os.PathError); ok {
				err = err2.Err
			}
			return fail("write file", f.Path, err)
		}
	}
	return nil
}

// validRelPath accepts a clean relative path that stays below its root.
func validRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) {
		return fmt.Errorf("path must be relative, non-empty and without NUL")
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("path may not contain ..")
		}
	}
	return nil
}

// mkdirBeneath creates dir (relative) below the directory root and returns
// an fd of it usable with openat.
func mkdirBeneath(root int, dir string) (int, error) {
	fd, err := unix.Openat(root, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if dir == "" {
		return fd, nil
	}
	for _, part := range strings.Split(dir, "/") {
		if part == "" || part == "." {
			continue
		}
		if err := unix.Mkdirat(fd, part, 0o755); err != nil && err != unix.EEXIST {
			unix.Close(fd)
			return -1, err
		}
		next, err := unix.Openat2(fd, part, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC | unix.O_NOFOLLOW,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
		})
		unix.Close(fd)
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}
