package jail

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Prepared is a single-use jail built ahead of its command: namespaces,
// file tree, cgroups, PID 1 and the command's process, which waits for its
// argv, environment and stdio. Run hands them over; the rest of the run is
// exactly a cold Run's: the same program up to the execve (rlimits,
// Landlock, capabilities, no_new_privs and the seccomp filter are applied
// by the command's process after it got its request), limits measured from
// the execve, the same Result. A Prepared is used once: Run or Close.
//
// Only the raw spawn path prepares jails (rawOpts.prepared): the request
// comes on a socket of its own; see rawProg.request for its layout.
type Prepared struct {
	mu   sync.Mutex
	used bool
	r    *runner
	proc *rawProc
}

// live keeps every prepared jail reachable until it is run or closed: on
// the CLONE_VM variant its PID 1 runs on memory of this process (the
// program's stacks and arena), which must not be collected under it.
var live sync.Map // *Prepared -> struct{}

// ErrPreparedGone: Run found the prepared jail dead before it used
// anything of the request (its PID 1 or its command's process was killed
// from outside while it waited). The same request can run elsewhere.
var ErrPreparedGone = errors.New("prepared jail: gone before its run (killed while it waited)")

// ErrNotPreparable: the spec needs something a prepared jail cannot give
// (see PrepareKey).
var ErrNotPreparable = errors.New("this spec cannot be prepared ahead (Go spawn path, input or output files, or passed fds)")

// PrepareKey returns a key that is equal for two specs exactly when they
// differ at most in Args, Env and ExecPath (what Prepared.Run supplies),
// and ok=false when the spec cannot be prepared: it takes the Go spawn
// path, writes input files, collects output files or passes host fds.
func (s *Spec) PrepareKey() (key string, ok bool) {
	if s.Files != nil || s.Collect != nil || len(s.PassFDs) > 0 || !spawnRaw(s) {
		return "", false
	}
	c := *s
	c.Args, c.Env, c.ExecPath = nil, nil, ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// Prepare builds a jail for spec (its Args, Env and ExecPath are ignored:
// Run supplies them) and returns once the command's process waits for
// them. The error is a *SetupError naming the step that failed, or
// ErrNotPreparable.
func Prepare(spec *Spec) (*Prepared, error) {
	if _, ok := spec.PrepareKey(); !ok {
		return nil, ErrNotPreparable
	}
	s := *spec
	s.Args, s.Env, s.ExecPath = []string{"(prepared)"}, nil, ""
	// As root, the jail is built at nice 19, on this thread and in PID 1
	// and the command's process (which inherit it): runs going on meanwhile
	// keep the CPU. Both get their niceness back once the jail is ready
	// (lowering it needs CAP_SYS_NICE on the host: not for an unprivileged
	// caller).
	lowPrio, baseNice := false, 0
	if os.Geteuid() == 0 {
		runtime.LockOSThread()
		tid := unix.Gettid()
		if prio, err := unix.Getpriority(unix.PRIO_PROCESS, tid); err == nil {
			baseNice = 20 - prio // the raw syscall's value is 20 - nice
			if unix.Setpriority(unix.PRIO_PROCESS, tid, 19) == nil {
				lowPrio = true
				defer func() {
					if unix.Setpriority(unix.PRIO_PROCESS, tid, baseNice) == nil {
						runtime.UnlockOSThread()
					}
					// else the thread stays locked and exits with this
					// goroutine: no goroutine runs niced after us.
				}()
			}
		}
		if !lowPrio {
			runtime.UnlockOSThread()
		}
	}
	r, _, err := newRunner(&s, true, lowPrio)
	if err != nil {
		return nil, err
	}
	r.baseNice = baseNice
	// PID 1's stdio until the request brings the command's.
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		r.cleanup()
		return nil, setupErr(ExitSetup, "open %s: %v", os.DevNull, err)
	}
	jp, serr := r.startRaw(null, null, null)
	null.Close()
	if serr != nil {
		r.cleanup()
		return nil, serr
	}
	proc := jp.(*rawProc)
	p := &Prepared{r: r, proc: proc}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case m, ok := <-proc.reports():
			switch {
			case !ok:
				p.destroy()
				return nil, setupErr(ExitSetup, "prepare: jail init died during setup")
			case m.Kind == "ready":
				if err := proc.restoreNice(); err != nil {
					p.destroy()
					return nil, setupErr(ExitSetup, "prepare: %v", err)
				}
				// The output pipes and their copiers too: a run then
				// only hands them their writers.
				outs, err := r.newOuts()
				if err != nil {
					p.destroy()
					return nil, setupErr(ExitSetup, "prepare: %v", err)
				}
				r.outs = outs
				r.tl.add("parent: prepared jail ready", time.Time{})
				live.Store(p, struct{}{})
				return p, nil
			case m.Kind == "error":
				p.destroy()
				code := m.ExitCode
				if code == 0 {
					code = ExitSetup
				}
				return nil, &SetupError{Msg: m.Error, ExitCode: code}
			}
		case <-timer.C:
			p.destroy()
			return nil, setupErr(ExitSetup, "prepare: the jail was not ready within 30s")
		}
	}
}

// destroy kills the jail and undoes everything (the jail was not run).
func (p *Prepared) destroy() {
	p.r.abandonOuts()
	p.proc.kill()
	for range p.proc.reports() {
	}
	p.proc.wait()
	p.proc.release()
	p.r.cleanup()
}

// Run runs args in the prepared jail with env (the complete environment,
// as Spec.Env) and stdio; execPath is Spec.ExecPath. It behaves as
// Run(ctx, spec with Args, Env and ExecPath set, stdio) would, and the
// jail is destroyed after it.
func (p *Prepared) Run(ctx context.Context, args, env []string, execPath string, stdio IO) (*Result, error) {
	p.mu.Lock()
	used := p.used
	p.used = true
	p.mu.Unlock()
	if used {
		return nil, errors.New("prepared jail: already used or closed")
	}
	defer live.Delete(p)
	if !p.proc.alive() {
		p.destroy()
		return nil, ErrPreparedGone
	}
	r := p.r
	r.spec.Args, r.spec.Env, r.spec.ExecPath = args, env, execPath
	req, err := p.proc.prog.request(args, env, execPath)
	if err != nil {
		p.destroy()
		e := setupErr(ExitSetup, "%v", err)
		res := r.res
		res.Reason, res.Error, res.ExitCode = ReasonSetupError, e.Msg, e.ExitCode
		return res, e
	}
	r.start = func(in, out, errw *os.File) (jailProc, *SetupError) {
		if err := p.proc.sendRequest(req, in, out, errw); err != nil {
			p.proc.kill()
			for range p.proc.reports() {
			}
			p.proc.wait()
			p.proc.release()
			return nil, setupErr(ExitSetup, "prepared jail: %v", err)
		}
		r.tl.add("parent: request sent", time.Time{})
		return p.proc, nil
	}
	// The outcome is final; PID 1's end, the pid namespace's teardown
	// and the cgroups' removal need not delay the answer.
	r.background = true
	res, err := r.run(ctx, r.prep.filter, stdio)
	r.finish()
	return res, err
}

var teardowns sync.WaitGroup

// WaitTeardowns waits until every finished prepared or RunBackground run
// is torn down: PID 1 reaped, the jail's fds closed, its cgroups removed.
// Those return before that (the outcome is final once PID 1 reports the
// command's end, after it reaped every other process of the jail).
func WaitTeardowns() { teardowns.Wait() }

// Close destroys a prepared jail that was not run (a no-op after Run).
func (p *Prepared) Close() {
	p.mu.Lock()
	used := p.used
	p.used = true
	p.mu.Unlock()
	if used {
		return
	}
	p.destroy()
	live.Delete(p)
}
