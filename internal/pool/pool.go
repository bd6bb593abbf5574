// Package pool keeps pre-started, single-use Python sandboxes: each is a
// complete jail (namespaces, file tree, cgroup, seccomp filter) whose
// interpreter has started and waits for one program. A request takes one,
// the pool starts a replacement in the background, and the used sandbox is
// destroyed after its run. Nothing passes between runs: every sandbox is a
// fresh jail built exactly like a cold run's.
//
// The interpreter runs zygote.py: it waits for one JSON line on stdin
// (argv and input files), places the files, signals "ready" on a pipe and
// becomes the program, with the semantics of `python3 [flags] ARGS...`
// (sys.argv, __main__, __file__, sys.path[0], tracebacks, exit codes). The
// run's clocks start at that signal (jail.IO.Begin), so the limits and the
// reported times cover the user's code only.
package pool

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

//go:embed zygote.py
var zygoteSource string

// ZygotePath is where the zygote program is placed in a pool's jails.
const ZygotePath = "/pycage/zygote.py"

// zygoteStub is the -c program of a pool's interpreter: it runs the zygote
// in __main__, as if it had been given with -c.
const zygoteStub = "exec(compile(open('" + ZygotePath + "').read(), '<pycage-zygote>', 'exec'))"

// Zygote returns the zygote program with the modules to import before
// waiting (preload) filled in.
func Zygote(preload []string) string {
	var b strings.Builder
	b.WriteString("_PYCAGE_PRELOAD = [")
	for i, m := range preload {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", m)
	}
	b.WriteString("]\n")
	b.WriteString(zygoteSource)
	return b.String()
}

// Options configure one pool.
type Options struct {
	// Size is how many idle sandboxes the pool keeps ready.
	Size int
	// Preload are modules imported before a sandbox waits (e.g. numpy):
	// a program importing them then finds them already loaded.
	Preload []string
	// Merged: the sandboxes' stdout and stderr are one pipe (write order
	// kept), as snekbox's /eval needs.
	Merged bool
}

// Stats are a pool's counters.
type Stats struct {
	Hits, Misses, Failures int64
	Idle                   int
	LastRefill             time.Duration
}

// Pool is the set of ready sandboxes of one kind (runtime, flags, limits).
type Pool struct {
	name  string
	build func() *jail.Spec // the cold spec; Args is replaced with the zygote
	opt   Options
	idle  chan *sandbox

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // every sandbox's jail.Run and the filler

	mu    sync.Mutex
	stats Stats
	kick  chan struct{}

	// OnRefill, if set, is called with the time each new sandbox took to
	// become ready (for metrics).
	OnRefill func(time.Duration)
}

// New starts a pool. interp is the interpreter path and flags its options
// (e.g. -B -u); build returns the cold Spec of this kind of run (limits,
// mounts, env, collection) — its Args are replaced.
func New(name string, interp string, flags []string, build func() *jail.Spec, opt Options) *Pool {
	if opt.Size < 1 {
		opt.Size = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	zy := Zygote(opt.Preload)
	p := &Pool{
		name: name,
		build: func() *jail.Spec {
			s := build()
			// The zygote is a read-only file of the jail, not argv: the
			// command line stays short in ps and /proc.
			s.Mounts = append(s.Mounts, jail.Mount{Kind: jail.MountFile, Dst: ZygotePath, Content: []byte(zy), Mode: 0o444})
			s.Args = append(append([]string{interp}, flags...), "-c", zygoteStub)
			s.ExecPath = ""
			s.Files = nil
			return s
		},
		opt:    opt,
		idle:   make(chan *sandbox, opt.Size),
		ctx:    ctx,
		cancel: cancel,
		kick:   make(chan struct{}, 1),
	}
	p.wg.Add(1)
	go p.fill()
	return p
}

// fill keeps the pool full, one sandbox at a time (a refill never takes
// more than one CPU away from requests).
func (p *Pool) fill() {
	defer p.wg.Done()
	backoff := 100 * time.Millisecond
	for {
		for len(p.idle) < cap(p.idle) {
			if p.ctx.Err() != nil {
				return
			}
			t0 := time.Now()
			sb, err := p.start()
			if err != nil {
				p.mu.Lock()
				p.stats.Failures++
				p.mu.Unlock()
				select {
				case <-time.After(backoff):
				case <-p.ctx.Done():
					return
				}
				if backoff < 5*time.Second {
					backoff *= 2
				}
				continue
			}
			backoff = 100 * time.Millisecond
			d := time.Since(t0)
			p.mu.Lock()
			p.stats.LastRefill = d
			p.mu.Unlock()
			if p.OnRefill != nil {
				p.OnRefill(d)
			}
			select {
			case p.idle <- sb:
			case <-p.ctx.Done():
				sb.kill()
				return
			}
		}
		select {
		case <-p.kick:
		case <-p.ctx.Done():
			return
		}
	}
}

// Take returns a ready sandbox, or nil when none is ready (the caller
// then runs cold). It never waits.
func (p *Pool) Take() *Sandbox {
	select {
	case sb := <-p.idle:
		p.mu.Lock()
		p.stats.Hits++
		p.mu.Unlock()
		select {
		case p.kick <- struct{}{}:
		default:
		}
		return &Sandbox{sb: sb}
	default:
		p.mu.Lock()
		p.stats.Misses++
		p.mu.Unlock()
		return nil
	}
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Idle = len(p.idle)
	return s
}

// Close destroys the idle sandboxes and waits until every jail of the pool
// is gone (cgroups removed).
func (p *Pool) Close() {
	p.cancel()
	for {
		select {
		case sb := <-p.idle:
			sb.kill()
			continue
		default:
		}
		break
	}
	p.wg.Wait()
	// A sandbox the filler put in after the drain above.
	for {
		select {
		case sb := <-p.idle:
			sb.kill()
			<-sb.done
			continue
		default:
		}
		jail.WaitTeardowns()
		return
	}
}

// sandbox is one started jail waiting in the zygote.
type sandbox struct {
	stdin  *os.File // the program's stdin (request line first)
	ready  *os.File // fd 3 of the zygote: "W" waiting, "R" running
	out    *swapWriter
	errw   *swapWriter
	begin  chan struct{}
	cancel context.CancelFunc
	done   chan outcome
}

type outcome struct {
	res *jail.Result
	err error
}

// start builds one sandbox and waits until its zygote is waiting.
func (p *Pool) start() (*sandbox, error) {
	spec := p.build()
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	rdR, rdW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	// The zygote reports on the write end of the ready pipe, passed in at
	// the same fd number (it removes the variable before the program runs).
	rfd := int(rdW.Fd())
	spec.PassFDs = []int{rfd}
	spec.Env = append(spec.Env, fmt.Sprintf("PYCAGE_READY_FD=%d", rfd))
	sb := &sandbox{stdin: inW, ready: rdR, out: &swapWriter{}, errw: &swapWriter{}, begin: make(chan struct{}), done: make(chan outcome, 1)}
	ctx, cancel := context.WithCancel(p.ctx)
	sb.cancel = cancel
	stdio := jail.IO{Stdin: inR, Stdout: sb.out, Stderr: sb.errw, Begin: sb.begin}
	if p.opt.Merged {
		stdio.Stderr = sb.out
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		// The outcome goes at PID 1's exit record; the jail's teardown
		// follows in the background (Close waits for it).
		res, err := jail.RunBackground(ctx, spec, stdio)
		sb.done <- outcome{res, err}
	}()
	// jail.Run has dup'd the fds into the jail once the command started;
	// our copies of the jail's ends go as soon as it reports back.
	waitErr := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := io.ReadFull(rdR, b)
		if err == nil && b[0] != 'W' {
			err = fmt.Errorf("zygote said %q, want W", b)
		}
		waitErr <- err
	}()
	select {
	case err = <-waitErr:
	case o := <-sb.done:
		sb.done <- o
		err = fmt.Errorf("sandbox ended before it was ready: %v", describe(o))
	case <-time.After(60 * time.Second):
		err = errors.New("sandbox not ready within 60s")
	}
	inR.Close()
	rdW.Close()
	if err != nil {
		sb.kill()
		<-sb.done
		return nil, err
	}
	if sb.out.n > 0 || sb.errw.n > 0 {
		sb.kill()
		<-sb.done
		return nil, errors.New("the zygote wrote output before its run")
	}
	return sb, nil
}

func describe(o outcome) string {
	if o.err != nil {
		return o.err.Error()
	}
	if o.res == nil {
		return "no result"
	}
	return fmt.Sprintf("reason %s, exit code %d", o.res.Reason, o.res.ExitCode)
}

func (sb *sandbox) kill() {
	sb.cancel()
	sb.stdin.Close()
	sb.ready.Close()
}

// Sandbox is a sandbox taken from a pool, good for one Run.
type Sandbox struct{ sb *sandbox }

// Request is one program for a sandbox.
type Request struct {
	// Args are the interpreter's arguments after its flags, as for a cold
	// run: ["-c", code, ...], ["main.py", ...], ["-m", "mod", ...], ["-"].
	Args  []string
	Files []jail.File
	Stdin []byte
}

// ErrNotReady means the sandbox could not take the request before the
// program started; nothing of the program ran, so the caller may run it
// cold instead.
var ErrNotReady = errors.New("sandbox not usable")

// Supported reports whether args can run in a sandbox (else: run cold).
func Supported(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch a := args[0]; {
	case a == "-c" || a == "-m":
		return len(args) >= 2
	case a == "-":
		return true
	case strings.HasPrefix(a, "-"):
		return false // other interpreter options: only a cold run has them
	}
	return true
}

type reqLine struct {
	Argv  []string `json:"argv"`
	Files [][3]any `json:"files"`
}

// Run gives the program to the sandbox and waits for its result. stdout
// and stderr receive the program's output (the same writer when the pool
// is merged).
func (s *Sandbox) Run(ctx context.Context, req Request, stdout, stderr io.Writer) (*jail.Result, error) {
	sb := s.sb
	defer sb.kill()
	line := reqLine{Argv: req.Args, Files: [][3]any{}}
	for _, f := range req.Files {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		line.Files = append(line.Files, [3]any{f.Path, base64.StdEncoding.EncodeToString(f.Content), mode})
	}
	b, err := json.Marshal(line)
	if err != nil {
		return nil, err
	}
	sb.out.set(stdout)
	if stderr != nil {
		sb.errw.set(stderr)
	}
	// Feed the request and the program's stdin; a program that does not
	// read its stdin must not block the feeder forever.
	go func() {
		sb.stdin.Write(append(b, '\n'))
		if len(req.Stdin) > 0 {
			io.Copy(sb.stdin, bytes.NewReader(req.Stdin))
		}
		sb.stdin.Close()
	}()
	// "R": the program runs, the clocks start. The reader closes begin
	// itself, at once: a short program may end (and the jail report it)
	// before this function's select below would have.
	ready := make(chan error, 1)
	go func() {
		c := make([]byte, 1)
		_, err := io.ReadFull(sb.ready, c)
		if err == nil && c[0] != 'R' {
			err = fmt.Errorf("zygote said %q, want R", c)
		}
		if err == nil {
			close(sb.begin)
		}
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			sb.cancel()
			<-sb.done
			return nil, fmt.Errorf("%w: %v", ErrNotReady, err)
		}
	case o := <-sb.done:
		// The jail is gone, so the ready pipe has its "R" or its EOF.
		if err := <-ready; err != nil {
			return nil, fmt.Errorf("%w: it ended before the program started: %s", ErrNotReady, describe(o))
		}
		return o.res, o.err
	case <-ctx.Done():
		sb.cancel()
		o := <-sb.done
		return o.res, o.err
	}
	stop := context.AfterFunc(ctx, sb.cancel)
	defer stop()
	o := <-sb.done
	return o.res, o.err
}

// swapWriter forwards to a writer set when the sandbox is taken; before
// that it only counts (a zygote writing early is discarded).
type swapWriter struct {
	mu sync.Mutex
	w  io.Writer
	n  int64
}

func (s *swapWriter) set(w io.Writer) {
	s.mu.Lock()
	s.w = w
	s.mu.Unlock()
}

func (s *swapWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil {
		s.n += int64(len(b))
		return len(b), nil
	}
	return s.w.Write(b)
}
