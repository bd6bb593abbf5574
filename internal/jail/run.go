package jail

// Parent side of a run: cgroups, the spawn of init in new namespaces, the
// clocks (wall, CPU), output limits, teardown and the exact Result.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pycage/pycage/internal/cgroup"
	"github.com/pycage/pycage/internal/seccomp"
	"golang.org/x/sys/unix"
)

// IO is the command's stdio. A nil Stdin reads /dev/null; an *os.File is
// passed in directly. If Stdout and Stderr are the same writer, one pipe
// carries both, so their order is kept exactly.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Signals, if set, are relayed to the command (pycage's own SIGTERM,
	// SIGINT, ...).
	Signals <-chan os.Signal
	// Begin, if set, defers the run's clocks: the wall-time and CPU limits
	// are armed, and Result.Wall and Result.CPU measured, from the moment
	// Begin is closed instead of from the command's start. A warm pool
	// starts an interpreter first and closes Begin when it hands it a
	// program.
	Begin <-chan struct{}
	// OutcomeOnly: the caller uses only the run's outcome (Reason,
	// ExitCode, Signal, Error, the output counts). After a clean end (the
	// command exited 0, nothing stopped it) the cgroup's counters are then
	// not read: Result.CPU, PeakMemory, OOMKills and PidsLimitHit stay
	// zero (`pycage run` without --report: ~0.07 ms less per run). After
	// any other end they are read as always: the reason may depend on
	// them.
	OutcomeOnly bool
}

// SetupError is a failure to build or start the jail. It names the step and
// the object, e.g. "bind /nope -> /nope: source does not exist (ENOENT)".
type SetupError struct {
	Msg string
	// ExitCode is 125 for setup failures, 126 for a command that cannot be
	// executed, 127 for a command that is not found.
	ExitCode int
}

func (e *SetupError) Error() string { return e.Msg }

// Exit codes of pycage itself (the command's own codes pass through).
const (
	ExitSetup      = 125
	ExitCannotExec = 126
	ExitNotFound   = 127
)

func setupErr(code int, format string, a ...any) *SetupError {
	return &SetupError{Msg: fmt.Sprintf(format, a...), ExitCode: code}
}

// traceOn prints a timeline of each run to stderr (PYCAGE_TRACE=1).
var traceOn = os.Getenv("PYCAGE_TRACE") == "1"

// timeline collects the events of one run for PYCAGE_TRACE; nil when off.
type timeline struct {
	mu sync.Mutex
	t0 time.Time
	ev []tlEvent
}

type tlEvent struct {
	at   time.Time
	what string
}

func newTimeline() *timeline {
	if !traceOn {
		return nil
	}
	return &timeline{t0: time.Now()}
}

// add records what happened at t (now if t is zero).
func (tl *timeline) add(what string, t time.Time) {
	if tl == nil {
		return
	}
	if t.IsZero() {
		t = time.Now()
	}
	tl.mu.Lock()
	tl.ev = append(tl.ev, tlEvent{t, what})
	tl.mu.Unlock()
}

// print writes the events in time order, in ms since Run began.
func (tl *timeline) print() {
	if tl == nil {
		return
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	sort.SliceStable(tl.ev, func(i, j int) bool { return tl.ev[i].at.Before(tl.ev[j].at) })
	var sb strings.Builder
	sb.WriteString("pycage trace (ms since jail.Run):")
	for _, e := range tl.ev {
		fmt.Fprintf(&sb, "\n  %7.3f  %s", float64(e.at.Sub(tl.t0))/1e6, e.what)
	}
	sb.WriteString("\n")
	os.Stderr.WriteString(sb.String())
}

var (
	cgMu       sync.Mutex
	cgManagers = map[string]*cgroup.Manager{}
)

// cgroupManager opens (once per parent) the cgroup manager.
func cgroupManager(parent string) (*cgroup.Manager, error) {
	cgMu.Lock()
	defer cgMu.Unlock()
	if m, ok := cgManagers[parent]; ok {
		return m, nil
	}
	m, err := cgroup.Open(parent)
	if err != nil {
		return nil, err
	}
	cgManagers[parent] = m
	return m, nil
}

var (
	defaultFilterOnce sync.Once
	defaultFilter     *seccomp.Filter
	defaultFilterErr  error
	defaultLogOnce    sync.Once
	defaultLogFilter  *seccomp.Filter
	defaultLogErr     error
)

// prepared is what Run computes while it makes the cgroups.
type prepared struct {
	filter    *seccomp.Filter
	filterErr error
	// The raw path: the bind trees the parent opened and the program.
	trees      map[int]int
	prog       *rawProg
	progErr    *SetupError
	filterDone time.Time
	done       time.Time
}

func prepare(spec *Spec, raw, ahead, lowPrio bool) *prepared {
	p := &prepared{}
	defer func() { p.done = time.Now() }()
	var rawDone chan struct{}
	if raw {
		// The program does not need the filter to be compiled (ahead: no
		// hurry, all on this thread).
		rawDone = make(chan struct{})
		work := func() {
			defer close(rawDone)
			p.trees, p.prog, p.progErr = prepareRaw(spec, ahead, lowPrio)
		}
		if ahead {
			work()
		} else {
			go work()
		}
	}
	p.filter, p.filterErr = compileFilter(spec.Seccomp)
	p.filterDone = time.Now()
	if !raw {
		return p
	}
	<-rawDone
	if p.filterErr == nil && p.progErr == nil {
		if err := p.prog.setFilter(p.filter); err != nil {
			p.progErr = setupErr(ExitSetup, "%v", err)
		}
	}
	return p
}

// release closes what the parent still holds (the bind trees).
func (p *prepared) release() {
	for i, fd := range p.trees {
		unix.Close(fd)
		delete(p.trees, i)
	}
}

// compileFilter compiles the spec's policy; the default one is compiled
// once per process.
func compileFilter(s *Seccomp) (*seccomp.Filter, error) {
	if s == nil {
		return nil, nil
	}
	if s.Policy == "" {
		if s.Log {
			defaultLogOnce.Do(func() { defaultLogFilter, defaultLogErr = seccomp.Compile("default", "", seccomp.Options{Log: true}) })
			return defaultLogFilter, defaultLogErr
		}
		defaultFilterOnce.Do(func() { defaultFilter, defaultFilterErr = seccomp.Compile("default", "", seccomp.Options{}) })
		return defaultFilter, defaultFilterErr
	}
	name := s.PolicyName
	if name == "" {
		name = "seccomp policy"
	}
	return seccomp.Compile(name, s.Policy, seccomp.Options{Log: s.Log})
}

// Validate checks a Spec for mistakes a user can make, before any jail is built.
func (s *Spec) Validate() error {
	if len(s.Args) == 0 || s.Args[0] == "" {
		return errors.New("no command given")
	}
	if s.Cwd == "" || s.Cwd[0] != '/' {
		return fmt.Errorf("cwd %q: must be an absolute path", s.Cwd)
	}
	for _, m := range s.Mounts {
		if m.Dst == "" || m.Dst[0] != '/' {
			return fmt.Errorf("mount %s -> %q: destination must be an absolute path", m.Src, m.Dst)
		}
		if m.Kind == MountBind && (m.Src == "" || m.Src[0] != '/') {
			return fmt.Errorf("bind %q -> %s: source must be an absolute path", m.Src, m.Dst)
		}
		if m.Size < 0 {
			return fmt.Errorf("mount %s: negative size", m.Dst)
		}
	}
	l := s.Limits
	for name, v := range map[string]int64{"time limit": int64(l.Wall), "cpu limit": int64(l.CPU),
		"memory": l.Memory, "memory+swap": l.MemorySwap, "pids": l.Pids, "output": l.Output, "cpu_ms_per_sec": l.CPUMsPerSec} {
		if v < 0 {
			return fmt.Errorf("%s: negative value %d", name, v)
		}
	}
	for _, r := range l.Rlimits {
		if !ValidRlimit(r.Resource) {
			return fmt.Errorf("rlimit %q: unknown resource", r.Resource)
		}
		if r.Soft > r.Hard {
			return fmt.Errorf("rlimit %s: soft %d above hard %d", r.Resource, r.Soft, r.Hard)
		}
	}
	for _, f := range s.Files {
		if err := validRelPath(f.Path); err != nil {
			return fmt.Errorf("file %q: %v", f.Path, err)
		}
	}
	if s.Nice < 0 || s.Nice > 19 {
		return fmt.Errorf("nice %d: must be 0..19 (a negative niceness needs a privilege the jail does not have)", s.Nice)
	}
	for _, c := range s.KeepCaps {
		if _, err := CapByName(c); err != nil {
			return err
		}
	}
	// The jail's users must never be the host's root: with a user
	// namespace, an id mapped to host uid 0 would own and read the host's
	// root files through every bind.
	for _, m := range append(append([]IDMap(nil), s.UIDMap...), s.GIDMap...) {
		if m.Outside == 0 && os.Geteuid() == 0 {
			return fmt.Errorf("id map %d -> host %d (count %d): the jail may not map to the host's root; map to an unprivileged id such as 65534", m.Inside, m.Outside, m.Count)
		}
	}
	if s.Namespaces.Mount == false && (len(s.Mounts) > 0 || s.Proc || s.Dev) {
		return errors.New("mounts need a mount namespace")
	}
	return nil
}

// needsCgroups lists the cgroup features the limits need.
func (l *Limits) cgroupNeeds() []string {
	var need []string
	if l.Memory > 0 {
		need = append(need, "memory")
	}
	if l.Pids > 0 {
		need = append(need, "pids")
	}
	if l.CPU > 0 {
		need = append(need, "cpuacct")
	}
	if l.CPUMsPerSec > 0 {
		need = append(need, "cpu")
	}
	if l.MaxCPUs > 0 {
		need = append(need, "cpuset")
	}
	return need
}

// Run builds a fresh jail for spec, runs the command in it and tears
// everything down. The Result is always filled in; err is a *SetupError
// when the jail could not be built or the command not started.
func Run(ctx context.Context, spec *Spec, stdio IO) (*Result, error) {
	r, res, err := newRunner(spec, false, false)
	if err != nil {
		return res, err
	}
	defer r.cleanup()
	return r.run(ctx, r.prep.filter, stdio)
}

// RunBackground is Run, except that on the raw spawn path it returns as
// soon as the outcome is final (PID 1 reports the command's end after it
// reaped every other process of the jail) and tears the jail down in the
// background: PID 1's end, the namespaces', the cgroups' removal (~0.7 ms
// here). WaitTeardowns waits for those. For a caller that answers someone
// (the service, the daemon); one that exits after the run uses Run.
func RunBackground(ctx context.Context, spec *Spec, stdio IO) (*Result, error) {
	r, res, err := newRunner(spec, false, false)
	if err != nil {
		return res, err
	}
	r.background = true
	res, err = r.run(ctx, r.prep.filter, stdio)
	r.finish()
	return res, err
}

// finish tears a run down: at once, or (a background run that reached
// PID 1's exit record) in a goroutine counted by WaitTeardowns.
func (r *runner) finish() {
	if r.teardown == nil {
		r.cleanup()
		return
	}
	teardowns.Add(1)
	go func() {
		defer teardowns.Done()
		r.teardown()
		r.cleanup()
	}()
}

// newRunner does the parent's part of a run up to the spawn: the spec is
// checked, the cgroups are made while the seccomp filter (and on the raw
// path the bind trees and the child program; ahead: a prepared jail's
// program) are prepared. On an error everything is undone and the Result
// says why. Otherwise the caller runs r.cleanup once the run is over.
func newRunner(spec *Spec, ahead, lowPrio bool) (*runner, *Result, error) {
	tl := newTimeline()
	res := &Result{Limits: spec.Limits}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		tl.print()
	}
	setupFail := func(e *SetupError) (*runner, *Result, error) {
		cleanup()
		res.Reason = ReasonSetupError
		res.Error = e.Msg
		res.ExitCode = e.ExitCode
		res.NotFound = e.ExitCode == ExitNotFound || e.ExitCode == ExitCannotExec
		return nil, res, e
	}
	if err := spec.Validate(); err != nil {
		return setupFail(setupErr(ExitSetup, "invalid spec: %v", err))
	}
	raw := ahead || spawnRaw(spec)
	// The CPU-bound preparation (the seccomp filter; on the raw path also
	// the bind trees and the child program) runs while the cgroups are
	// made. A seccomp error still comes before any cgroup error.
	prepCh := make(chan *prepared, 1)
	if ahead {
		// No hurry: on this (possibly niced) thread.
		prepCh <- prepare(spec, raw, ahead, lowPrio)
	} else {
		go func() { prepCh <- prepare(spec, raw, ahead, false) }()
	}
	var pr *prepared
	prep := func() *prepared {
		if pr == nil {
			pr = <-prepCh
		}
		return pr
	}
	cleanups = append(cleanups, func() { prep().release() })
	setupFail0 := setupFail
	setupFail = func(e *SetupError) (*runner, *Result, error) {
		if p := prep(); p.filterErr != nil {
			e = setupErr(ExitSetup, "seccomp: %v", p.filterErr)
		}
		return setupFail0(e)
	}

	// cgroups
	var group *cgroup.Group
	needs := spec.Limits.cgroupNeeds()
	if !spec.Cgroup.Disable {
		mgr, err := cgroupManager(spec.Cgroup.Parent)
		if err != nil {
			if !spec.AllowWeaker {
				return setupFail(setupErr(ExitSetup, "cgroups: %v (pass --allow-weaker to run without cgroups)", err))
			}
			res.Weakened = append(res.Weakened, needs...)
		} else {
			for _, n := range needs {
				if !mgr.Supports(n) && !spec.AllowWeaker {
					return setupFail(setupErr(ExitSetup, "cgroup %s: the limit cannot be enforced on this host (%s); pass --allow-weaker to run anyway", n, mgr.Describe()))
				}
			}
			// The pids limit counts the command's tasks only, not init's Go
			// threads: the command gets a cgroup leaf of its own. On the raw
			// path, PID 1 is not in the run's cgroups at all, only the
			// command's processes (rawProc.placeCommand): no split.
			cl := cgroup.Limits{Memory: spec.Limits.Memory, MemorySwap: spec.Limits.MemorySwap, Pids: spec.Limits.Pids,
				CPUMsPerSec: spec.Limits.CPUMsPerSec, AllowWeaker: spec.AllowWeaker, SplitCommand: spec.Limits.Pids > 0 && !raw}
			if spec.Limits.MaxCPUs > 0 {
				cl.CPUs = cpuList(spec.Limits.MaxCPUs)
			}
			group, err = mgr.New(cl)
			switch {
			case err != nil && !spec.AllowWeaker:
				return setupFail(setupErr(ExitSetup, "%v (pass --allow-weaker to run anyway)", err))
			case err != nil:
				group = nil
				res.Weakened = append(res.Weakened, needs...)
			default:
				cleanups = append(cleanups, func() {
					group.Remove()
					tl.add("cgroups removed", time.Time{})
				})
				res.Weakened = group.Weakened()
				if ahead {
					// Opens the counters' files now: the run's final
					// read is then preads only (cgroup.Group.readStat).
					group.Stats()
				}
			}
		}
	} else if len(needs) > 0 {
		if !spec.AllowWeaker {
			return setupFail(setupErr(ExitSetup, "cgroups are disabled but the limits need them (%v); pass --allow-weaker to run anyway", needs))
		}
		res.Weakened = append(res.Weakened, needs...)
	}

	tl.add("cgroups made", time.Time{})
	p := prep()
	if p.filterErr != nil {
		return setupFail(setupErr(ExitSetup, "seccomp: %v", p.filterErr))
	}
	if ahead && p.progErr != nil {
		return setupFail(p.progErr)
	}
	tl.add("seccomp filter compiled (in parallel with the cgroups)", p.filterDone)
	tl.add("bind trees opened, program compiled (in parallel), filter set", p.done)
	r := &runner{spec: spec, group: group, res: res, raw: raw, prep: p, tl: tl, cleanup: cleanup, lowPrio: lowPrio}
	return r, res, nil
}

func cpuList(n int) string {
	if n <= 1 {
		return "0"
	}
	if m := runtime.NumCPU(); n > m {
		n = m
	}
	return fmt.Sprintf("0-%d", n-1)
}

type runner struct {
	spec  *Spec
	group *cgroup.Group
	res   *Result
	raw   bool // the raw spawn path (rawspawn.go), else the Go init
	prep  *prepared
	tl    *timeline
	proc  jailProc
	// cleanup undoes newRunner (cgroups, bind trees) and prints the trace.
	cleanup func()
	// start replaces the spawn (startRaw, startGo): a prepared jail's
	// command gets its request.
	start func(stdin, stdout, stderr *os.File) (jailProc, *SetupError)
	// background: run returns as soon as the outcome is final (PID 1's
	// exit record) and leaves teardown (set then) for the caller to run
	// after it: reap PID 1, close its fds. Raw path only.
	background bool
	teardown   func()
	// lowPrio: a prepared jail built at nice 19 (rawOpts.lowPrio);
	// baseNice is the niceness its PID 1 and command get back.
	lowPrio  bool
	baseNice int
	// outs are the output streams made ahead (a prepared jail), for run;
	// copiers counts the streams' copiers.
	outs    *[2]outStream
	copiers sync.WaitGroup

	mu       sync.Mutex
	reason   Reason // why we stopped the run, if we did
	killOnce sync.Once
	done     chan struct{}
}

// jailProc is the jail's init as the runner drives it, whichever path
// started it: the Go init (goProc) or the raw-clone PID 1 (rawProc).
type jailProc interface {
	// reports delivers "started", "error" and "exit" and is closed when
	// init closed its report pipe.
	reports() <-chan report
	kill()                  // SIGKILL init, and with it the whole pid namespace
	killAll()               // ask init to kill every process and still report
	signal(sig unix.Signal) // relay a signal to the command
	wait() error            // reap init
	release()               // close what is left (after wait)
}

func (r *runner) idMaps() ([]syscall.SysProcIDMap, []syscall.SysProcIDMap) {
	conv := func(m []IDMap, inside uint32, own int) []syscall.SysProcIDMap {
		if len(m) == 0 {
			outside := 65534
			if os.Geteuid() != 0 {
				outside = own
			}
			return []syscall.SysProcIDMap{{ContainerID: int(inside), HostID: outside, Size: 1}}
		}
		out := make([]syscall.SysProcIDMap, len(m))
		for i, e := range m {
			out[i] = syscall.SysProcIDMap{ContainerID: int(e.Inside), HostID: int(e.Outside), Size: int(e.Count)}
		}
		return out
	}
	return conv(r.spec.UIDMap, r.spec.UID, os.Geteuid()), conv(r.spec.GIDMap, r.spec.GID, os.Getegid())
}

// hostID is the id on the host of id inside (the overflow id if unmapped).
func hostID(m []syscall.SysProcIDMap, inside uint32) uint32 {
	for _, e := range m {
		if int(inside) >= e.ContainerID && int(inside) < e.ContainerID+e.Size {
			return uint32(e.HostID + int(inside) - e.ContainerID)
		}
	}
	return 65534
}

func (r *runner) run(ctx context.Context, filter *seccomp.Filter, stdio IO) (*Result, error) {
	spec, res := r.spec, r.res
	fail := func(e *SetupError) (*Result, error) {
		res.Reason = ReasonSetupError
		res.Error = e.Msg
		res.ExitCode = e.ExitCode
		res.NotFound = e.ExitCode == ExitNotFound || e.ExitCode == ExitCannotExec
		return res, e
	}
	if !spec.Namespaces.User && os.Geteuid() != 0 {
		return fail(setupErr(ExitSetup, "a jail without a user namespace needs root"))
	}

	// stdio: the command's ends of the pipes (closed here once init has
	// them) and the copiers of the parent's ends.
	var closeAfterStart []io.Closer
	closeAll := func() {
		for _, c := range closeAfterStart {
			c.Close()
		}
	}
	copiers := &r.copiers
	// The output streams first (a prepared jail made them ahead): from
	// here on every way out closes their ends and waits for the copiers.
	outs := r.outs
	r.outs = nil
	if outs == nil {
		var err error
		if outs, err = r.newOuts(); err != nil {
			return fail(setupErr(ExitSetup, "%v", err))
		}
	}
	var stdin, stdout, stderr *os.File
	closeAfterStart = append(closeAfterStart, outs[0].w, outs[1].w)
	if stdio.Stdout != nil && stdio.Stdout == stdio.Stderr {
		// One pipe for both: their order is kept (counted as stdout).
		outs[0].dst <- stdio.Stdout
		outs[1].dst <- io.Discard
		stdout, stderr = outs[0].w, outs[0].w
	} else {
		out, errw := stdio.Stdout, stdio.Stderr
		if out == nil {
			out = io.Discard
		}
		if errw == nil {
			errw = io.Discard
		}
		outs[0].dst <- out
		outs[1].dst <- errw
		stdout, stderr = outs[0].w, outs[1].w
	}
	switch in := stdio.Stdin.(type) {
	case nil:
		f, err := os.Open(os.DevNull)
		if err != nil {
			closeAll()
			copiers.Wait()
			return fail(setupErr(ExitSetup, "open %s: %v", os.DevNull, err))
		}
		stdin = f
		closeAfterStart = append(closeAfterStart, f)
	case *os.File:
		stdin = in
	default:
		pr, pw, err := os.Pipe()
		if err != nil {
			closeAll()
			copiers.Wait()
			return fail(setupErr(ExitSetup, "pipe stdin: %v", err))
		}
		stdin = pr
		closeAfterStart = append(closeAfterStart, pr)
		go func() {
			io.Copy(pw, in)
			pw.Close()
		}()
	}

	r.tl.add("parent: stdio ready, spawning", time.Time{})
	r.done = make(chan struct{})
	var proc jailProc
	var startErr *SetupError
	switch {
	case r.start != nil:
		proc, startErr = r.start(stdin, stdout, stderr)
	case r.raw:
		proc, startErr = r.startRaw(stdin, stdout, stderr)
	default:
		proc, startErr = r.startGo(filter, stdin, stdout, stderr)
	}
	closeAll()
	if startErr != nil {
		copiers.Wait()
		return fail(startErr)
	}
	r.tl.add("parent: init spawned", time.Time{})
	bgTeardown := false
	defer func() {
		if !bgTeardown {
			proc.release()
		}
	}()

	var started, tExit time.Time
	var exitMsg *report
	var setupMsg *report
	// Setup must finish in bounded time too.
	setupTimer := time.NewTimer(30*time.Second + spec.Limits.Wall)
	defer setupTimer.Stop()
	var wallTimer <-chan time.Time
	ctxDone := ctx.Done()
	sigs := stdio.Signals
	reports := proc.reports()
	var beginCh <-chan struct{}
	var cpuBase time.Duration
	var wallT, cpuT *time.Timer
	armClocks := func() {
		if spec.Limits.Wall > 0 {
			wallT = time.NewTimer(spec.Limits.Wall)
			wallTimer = wallT.C
		}
		if spec.Limits.CPU > 0 && r.group != nil {
			cpuT = r.watchCPU(cpuBase, spec.Limits.CPU+cpuBase)
		}
	}
	defer func() {
		if wallT != nil {
			wallT.Stop()
		}
		if cpuT != nil {
			cpuT.Stop()
		}
	}()
loop:
	for {
		select {
		case m, ok := <-reports:
			if !ok {
				break loop
			}
			switch m.Kind {
			case "started":
				started = time.Now()
				r.tl.add("parent: started", started)
				setupTimer.Stop()
				if stdio.Begin != nil {
					beginCh = stdio.Begin
					break
				}
				armClocks()
			case "error":
				mm := m
				setupMsg = &mm
			case "exit":
				mm := m
				exitMsg = &mm
				tExit = time.Now()
				if r.background && r.raw && setupMsg == nil {
					// PID 1 reports once every other process of the
					// jail is reaped: the outcome is final. Its own end
					// (the jail's mounts go with it) is background work.
					if rp, ok := proc.(*rawProc); ok && rp.lowPrio {
						unix.Setpriority(unix.PRIO_PROCESS, rp.pid, 19)
					}
					break loop
				}
			}
		case <-beginCh:
			beginCh = nil
			started = time.Now()
			r.tl.add("parent: begin (the program was handed over)", started)
			if r.group != nil {
				cpuBase, _ = r.group.CPUUsage()
			}
			armClocks()
		case <-wallTimer:
			r.stop(ReasonWallTimeout)
			wallTimer = nil
		case <-setupTimer.C:
			r.stop(ReasonSetupError)
		case <-ctxDone:
			r.stop(ReasonCanceled)
			ctxDone = nil
		case s := <-sigs:
			if sig, ok := s.(syscall.Signal); ok {
				proc.signal(sig)
				r.tl.add(fmt.Sprintf("parent: %v relayed", sig), time.Time{})
			}
		}
	}
	var waitErr error
	if r.background && exitMsg != nil && r.raw {
		bgTeardown = true
		r.teardown = func() {
			proc.wait()
			proc.release()
			for range proc.reports() {
			}
		}
	} else {
		waitErr = proc.wait()
	}
	close(r.done)
	end := time.Now()
	if beginCh != nil && exitMsg != nil {
		// The command ended before Begin was seen here; its closer (the
		// pool's reader of the zygote's "R") may be a moment behind.
		bt := time.NewTimer(100 * time.Millisecond)
		select {
		case <-beginCh:
			started = end
			if r.group != nil {
				cpuBase, _ = r.group.CPUUsage()
			}
		case <-bt.C:
		}
		bt.Stop()
	}
	copiers.Wait()
	tCopied := time.Now()
	if r.group != nil && !bgTeardown {
		r.group.Kill()
	}

	if !started.IsZero() {
		res.Wall = end.Sub(started)
	}
	r.mu.Lock()
	stopped := r.reason
	r.mu.Unlock()
	clean := exitMsg != nil && setupMsg == nil && stopped == "" && exitMsg.Status == 0
	if r.group != nil && !(stdio.OutcomeOnly && clean) {
		if st, err := r.group.Stats(); err == nil {
			res.CPU = st.CPU - cpuBase
			res.PeakMemory = st.MemoryPeak
			res.OOMKills = st.OOMKills
			res.PidsLimitHit = st.PidsLimitHit
		}
	}
	if setupMsg != nil {
		code := setupMsg.ExitCode
		if code == 0 {
			code = ExitSetup
		}
		return fail(&SetupError{Msg: setupMsg.Error, ExitCode: code})
	}

	if started.IsZero() {
		if stopped == ReasonCanceled {
			res.Reason = ReasonCanceled
			res.ExitCode = 128 + int(unix.SIGKILL)
			res.Signal = int(unix.SIGKILL)
			return res, nil
		}
		msg := fmt.Sprintf("jail init died during setup: %v", waitErr)
		if stopped == ReasonSetupError {
			msg = fmt.Sprintf("jail setup did not finish within %v", 30*time.Second+spec.Limits.Wall)
		}
		return fail(setupErr(ExitSetup, "%s", msg))
	}
	r.tl.add("parent: the command's exit reported", tExit)
	r.tl.add("parent: init reaped", end)
	r.tl.add("parent: output closed", tCopied)
	r.tl.add("parent: cgroups killed and read", time.Time{})

	// The command's own status, when init lived to report it.
	status := -1
	if exitMsg != nil {
		status = exitMsg.Status
		res.Files, res.FilesError = exitMsg.Files, exitMsg.FilesError
		if rp, ok := proc.(*rawProc); ok && spec.Collect != nil {
			uids, gids := r.idMaps()
			res.Files, res.FilesError = rp.collect(spec.Collect, hostID(uids, spec.UID), hostID(gids, spec.GID))
			r.tl.add("parent: output files collected", time.Time{})
		}
	}
	if status >= 0 {
		ws := unix.WaitStatus(status)
		switch {
		case ws.Exited():
			res.ExitCode = ws.ExitStatus()
			res.Reason = ReasonExited
		case ws.Signaled():
			res.Signal = int(ws.Signal())
			res.ExitCode = 128 + res.Signal
			res.Reason = ReasonSignaled
		}
	} else {
		// Init was killed (by us, or by the OOM killer): the whole jail
		// died with SIGKILL.
		res.Signal = int(unix.SIGKILL)
		res.ExitCode = 128 + res.Signal
		res.Reason = ReasonSignaled
	}
	switch {
	case stopped != "":
		res.Reason = stopped
		if stopped != ReasonOutputLimit || status < 0 {
			res.Signal = int(unix.SIGKILL)
			res.ExitCode = 128 + res.Signal
		}
	case res.OOMKills > 0 && res.Signal == int(unix.SIGKILL):
		res.Reason = ReasonOOM
	case res.PidsLimitHit && res.Reason != ReasonExited || res.PidsLimitHit && res.ExitCode != 0:
		res.Reason = ReasonPidsLimit
	}
	return res, nil
}

// setProc makes p the run's init for stop, before p may start the command.
func (r *runner) setProc(p jailProc) {
	r.mu.Lock()
	r.proc = p
	r.mu.Unlock()
}

// goProc is a jail whose init is pycage re-executed (init.go).
type goProc struct {
	cmd  *exec.Cmd
	ctlW *os.File
	repR *os.File
	evs  chan report
}

// startGo starts the Go init in new namespaces and sends it its payload.
func (r *runner) startGo(filter *seccomp.Filter, stdin, stdout, stderr *os.File) (jailProc, *SetupError) {
	spec := r.spec
	// Init (or the stage) applies exactly this, or fails the setup.
	r.res.Landlock, r.res.LandlockABI = landlockResult(spec)
	ns := spec.Namespaces
	var flags uintptr
	for _, f := range []struct {
		on   bool
		flag uintptr
	}{{ns.User, unix.CLONE_NEWUSER}, {ns.Mount, unix.CLONE_NEWNS}, {ns.PID, unix.CLONE_NEWPID},
		{ns.Net, unix.CLONE_NEWNET}, {ns.IPC, unix.CLONE_NEWIPC}, {ns.UTS, unix.CLONE_NEWUTS}} {
		if f.on {
			flags |= f.flag
		}
	}
	attr := &syscall.SysProcAttr{
		Cloneflags:  flags,
		Credential:  &syscall.Credential{Uid: spec.UID, Gid: spec.GID, NoSetGroups: true},
		AmbientCaps: initAmbient(spec.KeepCaps),
		Pdeathsig:   syscall.SIGKILL,
	}
	if ns.User {
		attr.UidMappings, attr.GidMappings = r.idMaps()
		attr.GidMappingsEnableSetgroups = false
	}
	if r.group != nil {
		if fd, ok := r.group.UnifiedFD(); ok {
			attr.UseCgroupFD = true
			attr.CgroupFD = fd
		}
	}

	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, setupErr(ExitSetup, "pipe ctl: %v", err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, setupErr(ExitSetup, "pipe report: %v", err)
	}
	defer ctlR.Close()
	defer repW.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{initArg},
		Env:         []string{},
		Dir:         "/",
		Stdin:       stdin,
		Stdout:      stdout,
		Stderr:      stderr,
		ExtraFiles:  []*os.File{ctlR, repW},
		SysProcAttr: attr,
	}
	// Pass fds are the caller's: hand init dups of them, so that no
	// *os.File here owns (and one day closes, by finalizer) the caller's fd.
	var passFiles []*os.File
	for _, fd := range spec.PassFDs {
		d, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			for _, f := range passFiles {
				f.Close()
			}
			return nil, setupErr(ExitSetup, "pass fd %d: %s", fd, errText(err))
		}
		f := os.NewFile(uintptr(d), fmt.Sprintf("pass-fd-%d", fd))
		passFiles = append(passFiles, f)
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	defer func() {
		for _, f := range passFiles {
			f.Close()
		}
	}()
	// With a split group, the command joins <run>/cmd itself (see the
	// stage): it gets the cgroup.procs files of that leaf, opened here.
	var cgFiles []*os.File
	if r.group != nil && spec.Limits.Pids > 0 {
		var err error
		cgFiles, err = r.group.CommandProcs()
		if err != nil {
			ctlW.Close()
			repR.Close()
			return nil, setupErr(ExitSetup, "open the command's cgroup: %v", err)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, cgFiles...)
	}
	// As root, the parent opens the bind trees (payload.TreeMounts): a
	// source under a directory the jail's user cannot enter still works.
	var treeMounts []int
	var treeFiles []*os.File
	if ns.Mount && os.Geteuid() == 0 {
		trees, err := OpenBindTrees(spec)
		if err != nil {
			for _, f := range cgFiles {
				f.Close()
			}
			ctlW.Close()
			repR.Close()
			return nil, setupErr(ExitSetup, "%v", err)
		}
		treeMounts = make([]int, 0, len(trees))
		for i := range trees {
			treeMounts = append(treeMounts, i)
		}
		sort.Ints(treeMounts)
		for _, i := range treeMounts {
			treeFiles = append(treeFiles, os.NewFile(uintptr(trees[i]), fmt.Sprintf("bind-tree-%d", i)))
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, treeFiles...)
	}
	err = cmd.Start()
	nCgroupFDs := len(cgFiles)
	for _, f := range cgFiles {
		f.Close()
	}
	for _, f := range treeFiles {
		f.Close()
	}
	if err != nil {
		ctlW.Close()
		repR.Close()
		return nil, setupErr(ExitSetup, "start jail init: %v", err)
	}
	p := &goProc{cmd: cmd, ctlW: ctlW, repR: repR, evs: make(chan report, 4)}
	pid := cmd.Process.Pid
	r.setProc(p)

	pl := payload{Spec: spec, Direct: canStartDirect(spec) && nCgroupFDs == 0, CgroupFDs: nCgroupFDs, TreeMounts: treeMounts}
	if filter != nil {
		pl.Filter = make([]SockFilter, len(filter.Insns))
		for i, in := range filter.Insns {
			pl.Filter[i] = SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		pl.FilterFlags = filter.Flags
	}
	var startErr *SetupError
	if r.group != nil {
		if err := r.group.Add(pid); err != nil {
			startErr = setupErr(ExitSetup, "%v", err)
		}
	}
	if startErr == nil {
		if err := json.NewEncoder(ctlW).Encode(&pl); err != nil {
			startErr = setupErr(ExitSetup, "send payload to jail init: %v", err)
		}
	}
	if startErr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		p.release()
		return nil, startErr
	}
	// Reports from init.
	go func() {
		defer close(p.evs)
		dec := json.NewDecoder(repR)
		for {
			var m report
			if err := dec.Decode(&m); err != nil {
				return
			}
			p.evs <- m
		}
	}()
	return p, nil
}

func (p *goProc) reports() <-chan report { return p.evs }
func (p *goProc) kill()                  { p.cmd.Process.Kill() }
func (p *goProc) killAll()               { p.ctlW.Write([]byte(`{"cmd":"kill"}` + "\n")) }
func (p *goProc) signal(sig unix.Signal) {
	fmt.Fprintf(p.ctlW, `{"cmd":"signal","signal":%d}`+"\n", int(sig))
}
func (p *goProc) wait() error { return p.cmd.Wait() }
func (p *goProc) release() {
	p.ctlW.Close()
	p.repR.Close()
}

// canStartDirect says whether init may start the command itself (the fast
// path, see startDirect): only under pycage's own default policy (or none),
// without RLIMIT_AS and without kept capabilities.
func canStartDirect(spec *Spec) bool {
	if spec.Seccomp != nil && spec.Seccomp.Policy != "" || len(spec.KeepCaps) > 0 || spec.DisableNoNewPrivs || spec.Nice != 0 {
		return false
	}
	for _, r := range spec.Limits.Rlimits {
		if r.Resource == "as" || r.Resource == "data" {
			return false
		}
	}
	return true
}

// stop ends the run for reason (the first reason wins). When output files
// are to be collected, init is asked to kill everything and still report;
// otherwise (or if it does not answer in time) init is killed, which kills
// every process of its pid namespace.
func (r *runner) stop(reason Reason) {
	r.mu.Lock()
	if r.reason == "" {
		r.reason = reason
	}
	proc := r.proc
	r.mu.Unlock()
	r.killOnce.Do(func() {
		hard := func() {
			proc.kill()
			if r.group != nil {
				r.group.Kill()
			}
		}
		if r.spec.Collect != nil && reason != ReasonCanceled && reason != ReasonSetupError {
			proc.killAll()
			grace := r.spec.Collect.Timeout + time.Second
			if r.spec.Collect.Timeout <= 0 {
				grace = 6 * time.Second
			}
			go func() {
				select {
				case <-time.After(grace):
					hard()
				case <-r.done:
				}
			}()
			return
		}
		hard()
	})
}

// watchCPU checks the cgroup's CPU usage (used now, at the start) against
// limit from a timer, each time at the earliest moment the limit could be
// reached (usage cannot grow faster than the number of CPUs; at most 250
// ms apart), so the check is exact to a few ms and cheap: a run shorter
// than the first wait costs no goroutine and no read. The caller stops the
// timer when the run ends.
func (r *runner) watchCPU(used, limit time.Duration) *time.Timer {
	ncpu := time.Duration(runtime.NumCPU())
	wait := func(used time.Duration) time.Duration {
		return min(max((limit-used)/ncpu, 2*time.Millisecond), 250*time.Millisecond)
	}
	var t *time.Timer
	check := func() {
		select {
		case <-r.done:
			return
		default:
		}
		used, err := r.group.CPUUsage()
		if err != nil {
			return
		}
		if used >= limit {
			r.stop(ReasonCPUTimeout)
			return
		}
		t.Reset(wait(used))
	}
	t = time.AfterFunc(time.Hour, check) // armed once t is set
	t.Reset(wait(used))
	return t
}

// outStream is one output stream of a run: a pipe whose write end (w) the
// command gets, and a copier that reads the other end to the writer it
// receives on dst (once: a prepared jail's streams are made before the
// writer is known; the copier takes it at its first data or EOF, so the
// run's send wakes no one). dst closed: the stream was never used.
type outStream struct {
	w   *os.File
	dst chan io.Writer
}

// newOuts makes the run's stdout and stderr streams and starts their
// copiers (counted in r.copiers).
func (r *runner) newOuts() (*[2]outStream, error) {
	var outs [2]outStream
	counts := [2]struct {
		n     *int64
		trunc *bool
	}{{&r.res.StdoutBytes, &r.res.StdoutTruncated}, {&r.res.StderrBytes, &r.res.StderrTruncated}}
	for i := range outs {
		pr, pw, err := os.Pipe()
		if err != nil {
			if i == 1 {
				outs[0].w.Close()
				close(outs[0].dst)
			}
			return nil, fmt.Errorf("pipe %s: %v", [2]string{"stdout", "stderr"}[i], err)
		}
		outs[i] = outStream{w: pw, dst: make(chan io.Writer, 1)}
		r.copiers.Add(1)
		go func(dst <-chan io.Writer, n *int64, trunc *bool) {
			defer r.copiers.Done()
			defer pr.Close()
			r.copyOut(pr, dst, r.spec.Limits.Output, n, trunc)
		}(outs[i].dst, counts[i].n, counts[i].trunc)
	}
	return &outs, nil
}

// abandonOuts ends output streams that were made ahead and never used.
func (r *runner) abandonOuts() {
	if r.outs == nil {
		return
	}
	for _, o := range r.outs {
		o.w.Close()
		close(o.dst)
	}
	r.outs = nil
	r.copiers.Wait()
}

// copyOut copies one output stream to the writer it receives on dstc,
// keeping at most limit bytes; past it the run is stopped with reason
// output-limit and the rest is drained.
func (r *runner) copyOut(src io.Reader, dstc <-chan io.Writer, limit int64, n *int64, trunc *bool) {
	buf := make([]byte, 32<<10)
	var dst io.Writer
	for {
		k, err := src.Read(buf)
		if dst == nil {
			var ok bool
			if dst, ok = <-dstc; !ok {
				return
			}
		}
		if k > 0 {
			chunk := buf[:k]
			if limit > 0 && *n+int64(k) > limit {
				chunk = chunk[:limit-*n]
				if !*trunc {
					*trunc = true
					r.stop(ReasonOutputLimit)
				}
			}
			if len(chunk) > 0 {
				dst.Write(chunk)
				*n += int64(len(chunk))
			}
		}
		if err != nil {
			return
		}
	}
}
