// Package runcmd is `pycage run`: its flags, the run and its report.
//
// It is a package of its own, not part of package main, for start-up time:
// its init (start.go) runs the whole `pycage run` before Go initialises the
// packages only the service and the nsjail mode need.
package runcmd

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pycage/pycage/internal/jail"
	"github.com/pycage/pycage/internal/runtimes"
	"github.com/pycage/pycage/internal/units"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type sizeFlag struct{ v *int64 }

func (f sizeFlag) String() string {
	if f.v == nil {
		return ""
	}
	return fmt.Sprint(*f.v)
}
func (f sizeFlag) Set(s string) error {
	n, err := units.ParseSize(s)
	if err != nil {
		return err
	}
	if n < 0 {
		n = 0 // "max": no limit
	}
	*f.v = n
	return nil
}

type durFlag struct{ v *time.Duration }

func (f durFlag) String() string {
	if f.v == nil {
		return ""
	}
	return f.v.String()
}
func (f durFlag) Set(s string) error {
	d, err := units.ParseDuration(s)
	if err != nil {
		return err
	}
	*f.v = d
	return nil
}

type intFlag struct{ v *int64 }

func (f intFlag) String() string {
	if f.v == nil {
		return ""
	}
	return fmt.Sprint(*f.v)
}
func (f intFlag) Set(s string) error {
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || fmt.Sprint(n) != strings.TrimSpace(s) {
		return fmt.Errorf("invalid number %q", s)
	}
	if n < 0 {
		return fmt.Errorf("invalid number %q: must be >= 0", s)
	}
	*f.v = n
	return nil
}

// Invocation is one `pycage run`: its arguments and everything it would
// otherwise take from the process (environment, working directory, stdio,
// signals). A cold `pycage run` is an Invocation of the process's own
// values (Run); `pycage daemon` makes one per client request.
type Invocation struct {
	// Args are the arguments after "run".
	Args []string
	// Environ is the caller's environment (--keep-env passes it in).
	Environ []string
	// Dir is the caller's working directory: relative paths of the flags
	// (--report, --seccomp-policy, --runtimes-config) are resolved against
	// it. "" is the process's own working directory.
	Dir string
	// Stdin, Stdout and Stderr are the command's stdio; Stdout also gets
	// --help and --list-runtimes, Stderr pycage's own messages and
	// --report -.
	Stdin, Stdout, Stderr *os.File
	// Signals are relayed to the command while it runs.
	Signals <-chan os.Signal
	// Context, if set, is given to Runner: cancelling it stops the run.
	Context context.Context
	// Runner runs the spec; nil is jail.Run. key is the spec's PrepareKey
	// when RunWith knows it (a FlagCache hit), else "".
	Runner func(ctx context.Context, spec *jail.Spec, key string, stdio jail.IO) (*jail.Result, error)
	// Flags, if set, keeps what the flags made of a spec for later
	// invocations with the same flags.
	Flags *FlagCache

	// notify, if set, is called right before the run (a cold run's
	// signal.Notify: see RunSpecIO).
	notify func()
}

// path resolves a path given in a flag against inv.Dir.
func (inv *Invocation) path(p string) string {
	if inv.Dir == "" || p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(inv.Dir, p)
}

// asGiven puts the path as the user gave it back into err, so that a
// message reads as a cold run's ("open x.json: ..."), not with inv.Dir.
func asGiven(err error, p string) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		pe.Path = p
	}
	return err
}

// readFile reads a file named in a flag.
func (inv *Invocation) readFile(p string) ([]byte, error) {
	b, err := os.ReadFile(inv.path(p))
	return b, asGiven(err, p)
}

// coldInvocation is `pycage run args` of this process.
func coldInvocation(args []string) *Invocation {
	sigs := make(chan os.Signal, 4)
	return &Invocation{
		Args: args, Environ: os.Environ(),
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		Signals: sigs,
		notify: func() {
			signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
		},
	}
}

// runOptions are the flags of `pycage run` that are not Spec fields directly.
type runOptions struct {
	inv     *Invocation
	report  string
	quiet   bool
	netMode string

	// --runtime NAME and where runtimes come from (see runtimes.go).
	runtime        string
	runtimesPyenv  string
	runtimesConfig string
	listRuntimes   bool
	rt             *runtimes.Runtime // the selected runtime, after finish

	// uncacheable: a flag's meaning depends on more than its text (files,
	// the environment): a FlagCache does not keep the spec.
	uncacheable bool
}

// newRunFlags binds the flags of `pycage run` onto spec.
func newRunFlags(spec *jail.Spec, o *runOptions) (*flag.FlagSet, func() error) {
	fs := flag.NewFlagSet("pycage run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := &spec.Limits
	var (
		nofile, fsize, stack, core, as         int64 = jail.DefaultNoFile, jail.DefaultFSize, jail.DefaultStack, 0, 0
		wsSize, tmpSize                        int64 = jail.DefaultWorkspaceSize, jail.DefaultTmpSize
		envs, binds, bindsRW, tmpfs            listFlag
		keepEnv, noProc, noSeccomp, seccompLog bool
		seccompFile, cwd, landlockMode         string
		maxCPUs                                int64
	)
	fs.Var(durFlag{&l.Wall}, "time-limit", "wall-clock limit (10s; 0 = none)")
	fs.Var(durFlag{&l.CPU}, "cpu-limit", "CPU time limit, all processes (10s; 0 = none)")
	fs.Var(sizeFlag{&l.Memory}, "memory", "memory limit, no swap (256M; 0 = none)")
	fs.Var(intFlag{&l.Pids}, "pids", "most tasks at once (64; 0 = none)")
	fs.Var(intFlag{&nofile}, "nofile", "most open files per process (256)")
	fs.Var(sizeFlag{&fsize}, "fsize", "largest file a process may write (64M)")
	fs.Var(sizeFlag{&wsSize}, "workspace-size", "size of the writable workspace tmpfs (64M)")
	fs.Var(sizeFlag{&tmpSize}, "tmp-size", "size of the /tmp tmpfs (64M)")
	fs.Var(sizeFlag{&stack}, "stack", "stack rlimit (8M)")
	fs.Var(sizeFlag{&core}, "core", "core dump rlimit (0)")
	fs.Var(sizeFlag{&as}, "rlimit-as", "address-space rlimit (0 = off; the cgroup is the memory limit)")
	fs.Var(sizeFlag{&l.Output}, "output-limit", "most bytes kept per output stream (1M)")
	fs.Var(intFlag{&maxCPUs}, "max-cpus", "pin to this many CPUs (0 = all)")
	fs.StringVar(&o.netMode, "net", "none", "network: none | loopback")
	fs.Var(&envs, "env", "K=V environment variable (repeatable)")
	fs.BoolVar(&keepEnv, "keep-env", false, "pass pycage's own environment in (unsafe for secrets)")
	fs.Var(&binds, "bind", "SRC[:DST] read-only bind mount (repeatable)")
	fs.Var(&bindsRW, "bind-rw", "SRC[:DST] writable bind mount (repeatable)")
	fs.Var(&tmpfs, "tmpfs", "DST[:SIZE] extra tmpfs (repeatable)")
	fs.StringVar(&cwd, "cwd", jail.DefaultWorkspace, "workspace and working directory (fresh tmpfs)")
	fs.StringVar(&spec.Hostname, "hostname", jail.DefaultHostname, "hostname inside")
	fs.BoolVar(&noProc, "no-proc", false, "do not mount /proc")
	fs.StringVar(&seccompFile, "seccomp-policy", "", "kafel policy file (default: the built-in Python allowlist)")
	fs.BoolVar(&noSeccomp, "no-seccomp", false, "run without a syscall filter (unsafe)")
	fs.BoolVar(&seccompLog, "seccomp-log", false, "log refused syscalls to the kernel log")
	fs.StringVar(&landlockMode, "landlock", "auto", "Landlock confinement of the command's files to the jail's tree: auto (where the kernel has it; the report says) | on (required) | off")
	fs.StringVar(&spec.Cgroup.Parent, "cgroup-parent", "", "parent cgroup (default: pycage/ under pycage's own cgroup)")
	fs.BoolVar(&spec.AllowWeaker, "allow-weaker", false, "run even if a limit cannot be enforced on this host")
	fs.StringVar(&o.report, "report", "", "write a JSON report of the run to FILE (- for stderr)")
	fs.BoolVar(&o.quiet, "quiet", false, "no pycage messages on stderr")
	fs.StringVar(&o.runtime, "runtime", "", "run under runtime NAME: its interpreter replaces a python/python3/python3.X CMD (no CMD: it reads the program from stdin); its prefix and lib dirs are bound")
	fs.StringVar(&o.runtimesPyenv, "runtimes-pyenv", "", "also offer the Pythons of this pyenv root (DIR/versions/*) as runtimes")
	fs.StringVar(&o.runtimesConfig, "runtimes-config", "", "also offer the runtimes of this serve config file (runtimes, discover_pyenv, no_system_python, default_runtime)")
	fs.BoolVar(&o.listRuntimes, "list-runtimes", false, "list the runtimes (name, version, path, lib dirs) and exit")

	finish := func() error {
		o.uncacheable = keepEnv || len(binds) > 0 || len(bindsRW) > 0 || seccompFile != "" ||
			o.runtime != "" || o.runtimesPyenv != "" || o.runtimesConfig != "" || o.listRuntimes
		switch o.netMode {
		case "none":
			spec.Net = jail.NetNone
		case "loopback":
			spec.Net = jail.NetLoopback
		default:
			return fmt.Errorf("--net %q: want none or loopback", o.netMode)
		}
		if !filepath.IsAbs(cwd) {
			return fmt.Errorf("--cwd %q: must be an absolute path", cwd)
		}
		// Workspace: the default tmpfs moves to --cwd with --workspace-size.
		for i := range spec.Mounts {
			m := &spec.Mounts[i]
			if m.Kind == jail.MountTmpfs && m.Dst == jail.DefaultWorkspace {
				m.Dst, m.Size = cwd, wsSize
			} else if m.Kind == jail.MountTmpfs && m.Dst == "/tmp" {
				m.Size = tmpSize
			}
		}
		spec.Cwd = cwd
		if cwd != jail.DefaultWorkspace {
			for i, e := range spec.Env {
				if strings.HasPrefix(e, "HOME=") {
					spec.Env[i] = "HOME=" + cwd
				}
			}
			spec.EtcFiles = jail.EtcFiles(spec.UID, spec.GID, cwd, spec.Hostname)
		} else {
			spec.EtcFiles = jail.EtcFiles(spec.UID, spec.GID, cwd, spec.Hostname)
		}
		if o.runtime != "" {
			rt, err := selectRuntime(o)
			if err != nil {
				return err
			}
			o.rt = rt
			rt.Apply(spec) // before --env: the user's variables win
		}
		if keepEnv {
			spec.Env = append(append([]string(nil), o.inv.Environ...), spec.Env...)
		}
		for _, e := range envs {
			if !strings.Contains(e, "=") {
				return fmt.Errorf("--env %q: want K=V", e)
			}
			spec.Env = runtimes.SetEnv(spec.Env, e)
		}
		for _, b := range binds {
			m, err := parseBind(b, false)
			if err != nil {
				return err
			}
			spec.Mounts = append(spec.Mounts, m)
		}
		for _, b := range bindsRW {
			m, err := parseBind(b, true)
			if err != nil {
				return err
			}
			spec.Mounts = append(spec.Mounts, m)
		}
		for _, t := range tmpfs {
			dst, size, _ := strings.Cut(t, ":")
			m := jail.Mount{Kind: jail.MountTmpfs, Dst: dst, RW: true, Mode: 0o1777}
			if size != "" {
				n, err := units.ParseSize(size)
				if err != nil {
					return fmt.Errorf("--tmpfs %q: %v", t, err)
				}
				m.Size = n
			}
			if !filepath.IsAbs(dst) {
				return fmt.Errorf("--tmpfs %q: destination must be absolute", t)
			}
			spec.Mounts = append(spec.Mounts, m)
		}
		spec.Proc = !noProc
		if noSeccomp {
			spec.Seccomp = nil
		} else {
			spec.Seccomp = &jail.Seccomp{Log: seccompLog}
			if seccompFile != "" {
				b, err := o.inv.readFile(seccompFile)
				if err != nil {
					return fmt.Errorf("--seccomp-policy: %v", err)
				}
				spec.Seccomp.Policy, spec.Seccomp.PolicyName = string(b), seccompFile
			}
		}
		switch m := jail.LandlockMode(landlockMode); m {
		case jail.LandlockAuto, jail.LandlockOn, jail.LandlockOff:
			spec.Landlock = m
		default:
			return fmt.Errorf("--landlock %q: want auto, on or off", landlockMode)
		}
		l.MaxCPUs = int(maxCPUs)
		l.Rlimits = []jail.Rlimit{
			{Resource: "nofile", Soft: uint64(nofile), Hard: uint64(nofile)},
			{Resource: "core", Soft: uint64(core), Hard: uint64(core)},
			{Resource: "stack", Soft: uint64(stack), Hard: uint64(stack)},
			{Resource: "msgqueue", Soft: 0, Hard: 0},
			{Resource: "sigpending", Soft: jail.DefaultSigPending, Hard: jail.DefaultSigPending},
		}
		if fsize > 0 {
			l.Rlimits = append(l.Rlimits, jail.Rlimit{Resource: "fsize", Soft: uint64(fsize), Hard: uint64(fsize)})
		}
		if as > 0 {
			l.Rlimits = append(l.Rlimits, jail.Rlimit{Resource: "as", Soft: uint64(as), Hard: uint64(as)})
		}
		return nil
	}
	return fs, finish
}

func parseBind(s string, rw bool) (jail.Mount, error) {
	src, dst, ok := strings.Cut(s, ":")
	if !ok {
		dst = src
	}
	name := "--bind"
	if rw {
		name = "--bind-rw"
	}
	if !filepath.IsAbs(src) || !filepath.IsAbs(dst) {
		return jail.Mount{}, fmt.Errorf("%s %q: paths must be absolute", name, s)
	}
	if _, err := os.Stat(src); err != nil {
		return jail.Mount{}, fmt.Errorf("%s %q: source %s does not exist", name, s, src)
	}
	return jail.Mount{Kind: jail.MountBind, Src: src, Dst: dst, RW: rw, Mandatory: true, NoDev: true}, nil
}

// IsNsjail reports whether the arguments of `pycage run` name an nsjail
// config (--config, -C): nsjail's flags then apply (package main's
// nsjail mode), not Run's.
func IsNsjail(args []string) bool {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "--config" || a == "-C" || strings.HasPrefix(a, "--config=") {
			return true
		}
	}
	return false
}

// Run is `pycage run ARGS` (ARGS without "run"; no nsjail config, see
// IsNsjail) of this process and returns pycage's exit code. With
// PYCAGE_DAEMON set, the daemon at that socket runs it (client.go).
func Run(args []string) int {
	if sock := os.Getenv(DaemonEnv); sock != "" {
		return runViaDaemon(sock, args)
	}
	return RunWith(*coldInvocation(args))
}

// RunWith is `pycage run` of inv and returns pycage's exit code.
func RunWith(inv Invocation) int {
	if inv.Flags != nil {
		if p, cmd := inv.Flags.lookup(inv.Args); p != nil {
			spec := p.spec.Clone()
			spec.Args = cmd
			return inv.runCommand(spec, p.key, p.report, p.quiet)
		}
	}
	spec := jail.DefaultSpec(nil)
	o := runOptions{inv: &inv}
	fs, finish := newRunFlags(spec, &o)
	fs.Usage = func() {}
	if err := fs.Parse(inv.Args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(inv.Stdout)
			fmt.Fprintln(inv.Stdout, "usage: pycage run [flags] -- CMD ARGS...")
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(inv.Stderr, "pycage run: %v\n", err)
		return jail.ExitSetup
	}
	if o.listRuntimes {
		return listRuntimes(&o)
	}
	if err := finish(); err != nil {
		fmt.Fprintf(inv.Stderr, "pycage run: %v\n", err)
		return jail.ExitSetup
	}
	if inv.Flags != nil {
		inv.Flags.store(inv.Args, len(inv.Args)-fs.NArg(), spec, &o)
	}
	spec.Args = fs.Args()
	if o.rt != nil {
		switch {
		case len(spec.Args) == 0:
			spec.Args = []string{o.rt.Path, "-"} // the program comes on stdin
		case runtimes.IsPythonCommand(spec.Args[0]):
			spec.Args[0] = o.rt.Path
		}
	}
	return inv.runCommand(spec, "", o.report, o.quiet)
}

// runCommand is the end of RunWith once spec has its flags and Args; key
// is its PrepareKey if known (see Runner).
func (inv *Invocation) runCommand(spec *jail.Spec, key, report string, quiet bool) int {
	if len(spec.Args) == 0 {
		fmt.Fprintln(inv.Stderr, "pycage run: no command given (usage: pycage run [flags] -- CMD ARGS...)")
		return jail.ExitSetup
	}
	if filepath.IsAbs(spec.Args[0]) {
		n := len(spec.Mounts)
		spec.AddInterpreter(spec.Args[0])
		if len(spec.Mounts) != n {
			key = "" // a mount more: another key
		}
	}
	return inv.runSpec(spec, jail.IO{Stdin: reader(inv.Stdin), Stdout: writer(inv.Stdout), Stderr: writer(inv.Stderr)}, key, report, quiet)
}

// reader and writer keep a nil *os.File a nil interface (jail.IO: nil is
// /dev/null, discarded output).
func reader(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}

func writer(f *os.File) io.Writer {
	if f == nil {
		return nil
	}
	return f
}

// RunSpecIO runs a Spec in this process (nsjail mode), relaying pycage's
// SIGTERM/SIGINT/SIGHUP/SIGQUIT to the command, and returns pycage's exit
// code. The caller exits then: the signals stay caught.
func RunSpecIO(spec *jail.Spec, stdio jail.IO, reportPath string, quiet bool) int {
	return coldInvocation(nil).runSpec(spec, stdio, "", reportPath, quiet)
}

// runSpec runs spec with stdio (its Signals are inv's) and reports as
// `pycage run` does: --report, pycage's messages on inv.Stderr, the exit
// code.
func (inv *Invocation) runSpec(spec *jail.Spec, stdio jail.IO, key, reportPath string, quiet bool) int {
	if inv.notify != nil {
		inv.notify()
	}
	stdio.Signals = inv.Signals
	stdio.OutcomeOnly = reportPath == ""
	ctx := inv.Context
	if ctx == nil {
		ctx = context.Background()
	}
	runner := inv.Runner
	if runner == nil {
		runner = func(ctx context.Context, spec *jail.Spec, _ string, stdio jail.IO) (*jail.Result, error) {
			return jail.Run(ctx, spec, stdio)
		}
	}
	mark("jail.Run")
	res, err := runner(ctx, spec, key, stdio)
	mark("jail.Run returned")
	// No signal.Stop: pycage exits right after the run (both callers), and
	// Stop costs as much as Notify, a round trip per signal. A signal from
	// here on is dropped instead of killing pycage, whose command is done.
	if reportPath != "" {
		inv.writeReport(reportPath, res)
	}
	if err != nil {
		fmt.Fprintf(inv.Stderr, "pycage: %v\n", err)
		var se *jail.SetupError
		if errors.As(err, &se) {
			return se.ExitCode
		}
		return jail.ExitSetup
	}
	if !quiet && len(res.Weakened) > 0 {
		fmt.Fprintf(inv.Stderr, "pycage: warning: not enforced on this host (--allow-weaker): %s\n", strings.Join(res.Weakened, ", "))
	}
	if !quiet {
		switch res.Reason {
		case jail.ReasonWallTimeout, jail.ReasonCPUTimeout, jail.ReasonOOM, jail.ReasonOutputLimit, jail.ReasonPidsLimit:
			fmt.Fprintf(inv.Stderr, "pycage: run stopped: %s\n", res.Reason)
		}
	}
	return res.ExitCode
}

// reportJSON is the --report format: durations in seconds, sizes in bytes.
type reportJSON struct {
	Reason          jail.Reason `json:"reason"`
	ExitCode        int         `json:"exit_code"`
	Signal          int         `json:"signal"`
	Error           string      `json:"error,omitempty"`
	WallSeconds     float64     `json:"wall_time"`
	CPUSeconds      float64     `json:"cpu_time"`
	PeakMemory      int64       `json:"peak_memory"`
	OOMKills        int64       `json:"oom_kills"`
	PidsLimitHit    bool        `json:"pids_limit_hit"`
	StdoutBytes     int64       `json:"stdout_bytes"`
	StderrBytes     int64       `json:"stderr_bytes"`
	StdoutTruncated bool        `json:"stdout_truncated"`
	StderrTruncated bool        `json:"stderr_truncated"`
	Limits          limitsJSON  `json:"limits"`
	Weakened        []string    `json:"weakened,omitempty"`
	Landlock        string      `json:"landlock,omitempty"`
	LandlockABI     int         `json:"landlock_abi,omitempty"`
}

type limitsJSON struct {
	WallSeconds float64       `json:"time_limit"`
	CPUSeconds  float64       `json:"cpu_limit"`
	Memory      int64         `json:"memory"`
	Pids        int64         `json:"pids"`
	Output      int64         `json:"output"`
	CPUMsPerSec int64         `json:"cpu_ms_per_sec,omitempty"`
	MaxCPUs     int           `json:"max_cpus,omitempty"`
	Rlimits     []jail.Rlimit `json:"rlimits"`
}

func toReport(res *jail.Result) reportJSON {
	l := res.Limits
	return reportJSON{
		Reason: res.Reason, ExitCode: res.ExitCode, Signal: res.Signal, Error: res.Error,
		WallSeconds: res.Wall.Seconds(), CPUSeconds: res.CPU.Seconds(), PeakMemory: res.PeakMemory,
		OOMKills: res.OOMKills, PidsLimitHit: res.PidsLimitHit,
		StdoutBytes: res.StdoutBytes, StderrBytes: res.StderrBytes,
		StdoutTruncated: res.StdoutTruncated, StderrTruncated: res.StderrTruncated,
		Weakened: res.Weakened, Landlock: res.Landlock, LandlockABI: res.LandlockABI,
		Limits: limitsJSON{WallSeconds: l.Wall.Seconds(), CPUSeconds: l.CPU.Seconds(), Memory: l.Memory,
			Pids: l.Pids, Output: l.Output, CPUMsPerSec: l.CPUMsPerSec, MaxCPUs: l.MaxCPUs, Rlimits: l.Rlimits},
	}
}

func (inv *Invocation) writeReport(path string, res *jail.Result) {
	b, _ := json.Marshal(toReport(res))
	b = append(b, '\n')
	if path == "-" {
		inv.Stderr.Write(b)
		return
	}
	if err := os.WriteFile(inv.path(path), b, 0o644); err != nil {
		fmt.Fprintf(inv.Stderr, "pycage: write report %s: %v\n", path, asGiven(err, path))
	}
}

// runtimesFile is the part of a serve config file `pycage run
// --runtimes-config` reads; other keys are ignored.
type runtimesFile struct {
	Runtimes       []runtimes.Config `json:"runtimes"`
	DiscoverPyenv  string            `json:"discover_pyenv"`
	NoSystemPython bool              `json:"no_system_python"`
	DefaultRuntime string            `json:"default_runtime"`
}

// loadRuntimeSet builds the runtimes `pycage run` knows: the system
// Python, those of --runtimes-config, and --runtimes-pyenv's. Nothing is
// run: names come from the file names (python3 -> python3.11) and pyenv's
// version dirs.
func loadRuntimeSet(o *runOptions) (*runtimes.Set, error) {
	var f runtimesFile
	if o.runtimesConfig != "" {
		b, err := o.inv.readFile(o.runtimesConfig)
		if err != nil {
			return nil, fmt.Errorf("--runtimes-config: %v", err)
		}
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("--runtimes-config %s: %v", o.runtimesConfig, err)
		}
	}
	if o.runtimesPyenv != "" {
		f.DiscoverPyenv = o.runtimesPyenv
	}
	return runtimes.Load(runtimes.Options{NoSystem: f.NoSystemPython, Configs: f.Runtimes, PyenvRoot: f.DiscoverPyenv, Default: f.DefaultRuntime})
}

// selectRuntime finds --runtime NAME; a missing or unusable one is an
// error naming the available runtimes.
func selectRuntime(o *runOptions) (*runtimes.Runtime, error) {
	set, err := loadRuntimeSet(o)
	if err != nil {
		return nil, err
	}
	rt, ok := set.Lookup(o.runtime)
	if !ok {
		hint := ""
		if o.runtimesPyenv == "" && o.runtimesConfig == "" {
			hint = "; more with --runtimes-pyenv DIR or --runtimes-config FILE"
		}
		return nil, fmt.Errorf("--runtime %q: no such runtime (available: %s%s)", o.runtime, strings.Join(set.Names(), ", "), hint)
	}
	if !rt.Usable() {
		return nil, fmt.Errorf("--runtime %q: not usable: %s", o.runtime, rt.Problem)
	}
	return rt, nil
}

// listRuntimes prints one line per runtime: name, version, path, lib dirs.
func listRuntimes(o *runOptions) int {
	set, err := loadRuntimeSet(o)
	if err != nil {
		fmt.Fprintf(o.inv.Stderr, "pycage run: %v\n", err)
		return jail.ExitSetup
	}
	for _, rt := range set.List() {
		line := fmt.Sprintf("%-16s %-10s %s", rt.Name, rt.Version, rt.Path)
		if len(rt.LibDirs) > 0 {
			line += " lib_dirs=" + strings.Join(rt.LibDirs, ":")
		}
		if rt.Default {
			line += " (default)"
		}
		if rt.Problem != "" {
			line += " UNUSABLE: " + rt.Problem
		}
		fmt.Fprintln(o.inv.Stdout, line)
	}
	return 0
}
