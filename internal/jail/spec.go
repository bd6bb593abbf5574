// Package jail is pycage's engine: a Spec says what to run and how it is
// isolated, Run builds a fresh jail for it and returns an exact Result.
//
// Every front end (CLI flags, nsjail configs, the HTTP service) only builds a
// Spec; only this package (and its init side) touches the kernel.
package jail

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/pycage/pycage/internal/landlock"
)

// Spec is the single description of one run. It is plain data: it is sent to
// the jail's init over a pipe as JSON, so every field must survive encoding.
type Spec struct {
	// Args is the command line. Args[0] is looked up on the jail's PATH
	// (from Env) inside the jail when it contains no slash.
	Args []string `json:"args"`
	// ExecPath, when set, is the file executed instead of looking up Args[0]
	// (nsjail's exec_bin); Args[0] is then only argv[0].
	ExecPath string `json:"exec_path,omitempty"`
	// Env is the complete environment of the command (K=V). The host
	// environment is never passed in implicitly.
	Env []string `json:"env"`
	// Cwd is the working directory inside the jail.
	Cwd string `json:"cwd"`
	// Hostname inside the jail's UTS namespace.
	Hostname string `json:"hostname"`
	// UID and GID of the command inside the jail.
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	// UIDMap/GIDMap are the user namespace's id maps. Empty means one
	// entry: UID/GID inside -> 65534 outside when pycage runs as root, the
	// caller's own id otherwise. UID/GID must be mapped.
	UIDMap []IDMap `json:"uid_map,omitempty"`
	GIDMap []IDMap `json:"gid_map,omitempty"`

	Namespaces Namespaces `json:"namespaces"`
	// Net is "none" (no interface up) or "loopback" (a private lo is up).
	Net NetMode `json:"net"`

	// Mounts build the jail's file tree, in order, on top of an empty
	// tmpfs root. Parents of a mount point are created as needed.
	Mounts []Mount `json:"mounts"`
	// Proc mounts a fresh /proc of the jail's pid namespace (read-only).
	Proc bool `json:"proc"`
	// Dev builds a minimal /dev (null zero full random urandom tty, shm, fd links).
	Dev bool `json:"dev"`
	// EtcFiles are generated files placed under /etc (passwd, group, hosts).
	// Keys are absolute paths inside the jail.
	EtcFiles map[string]string `json:"etc_files,omitempty"`

	Limits Limits `json:"limits"`

	// Seccomp is the syscall filter; nil means no filter (only when the
	// user explicitly disabled it).
	Seccomp *Seccomp `json:"seccomp,omitempty"`

	// KeepCaps keeps the listed capabilities (names like "CAP_NET_RAW")
	// in the command's ambient set. Empty: every capability set is empty.
	KeepCaps []string `json:"keep_caps,omitempty"`
	// DisableNoNewPrivs leaves no_new_privs unset (nsjail compat; unsafe).
	DisableNoNewPrivs bool `json:"disable_no_new_privs,omitempty"`
	// Landlock confines the command's file access to the jail's own tree
	// with a Landlock ruleset (defence in depth behind the mount
	// namespace; internal/landlock). "" means LandlockAuto.
	Landlock LandlockMode `json:"landlock,omitempty"`
	// Nice is the command's niceness, 0..19 (nsjail's nice_level; raising
	// it needs no privilege, lowering below 0 would, and the jail has none).
	Nice int `json:"nice,omitempty"`
	// SkipSetsid keeps the command in init's session (nsjail compat).
	SkipSetsid bool `json:"skip_setsid,omitempty"`
	// PassFDs are host fds passed into the jail with the same numbers.
	PassFDs []int `json:"pass_fds,omitempty"`

	// Files are written into the workspace (Cwd) before the command starts,
	// as the jail's user. Paths are relative to Cwd.
	Files []File `json:"files,omitempty"`
	// Collect, when set, makes init return the files created or modified in
	// Cwd by the run, read from inside the jail's own view.
	Collect *CollectSpec `json:"collect,omitempty"`

	// Cgroup places the run in cgroups. See Limits for what they enforce.
	Cgroup CgroupSpec `json:"cgroup"`
	// AllowWeaker accepts limits that cannot be enforced on this host (for
	// example no writable memory cgroup) instead of failing. Off by default.
	AllowWeaker bool `json:"allow_weaker,omitempty"`
}

// LandlockMode says whether a run's command is put under Landlock.
type LandlockMode string

const (
	// LandlockAuto applies Landlock when the kernel has it (ABI 2+) and
	// the jail has a mount namespace; Result.Landlock says whether it did.
	LandlockAuto LandlockMode = "auto"
	// LandlockOn requires it: a run that cannot have it is a setup error.
	LandlockOn LandlockMode = "on"
	// LandlockOff does without.
	LandlockOff LandlockMode = "off"
)

// Values of Result.Landlock.
const (
	LandlockApplied     = "applied"     // the command ran under pycage's ruleset
	LandlockNotApplied  = "off"         // Spec.Landlock was "off"
	LandlockUnavailable = "unavailable" // auto, and this kernel or jail cannot have it
)

// IDMap is one line of /proc/PID/uid_map or gid_map.
type IDMap struct {
	Inside  uint32 `json:"inside"`
	Outside uint32 `json:"outside"`
	Count   uint32 `json:"count"`
}

// Namespaces selects the namespaces a jail gets. The default policy enables all.
type Namespaces struct {
	User   bool `json:"user"`
	Mount  bool `json:"mount"`
	PID    bool `json:"pid"`
	Net    bool `json:"net"`
	IPC    bool `json:"ipc"`
	UTS    bool `json:"uts"`
	Cgroup bool `json:"cgroup"`
}

// NetMode says which network a jail has inside its own net namespace.
type NetMode string

const (
	NetNone     NetMode = "none"
	NetLoopback NetMode = "loopback"
)

// MountKind says what a Mount is.
type MountKind string

const (
	MountBind    MountKind = "bind"    // bind Src (host path) to Dst
	MountTmpfs   MountKind = "tmpfs"   // fresh tmpfs at Dst, Size bytes (0 = kernel default)
	MountProc    MountKind = "proc"    // procfs at Dst
	MountFile    MountKind = "file"    // a file at Dst with Content (nsjail src_content)
	MountSymlink MountKind = "symlink" // a symlink at Dst pointing to Src
	MountDir     MountKind = "dir"     // an empty directory at Dst
	MountOther   MountKind = "fs"      // any other fstype (FSType) with Options
)

// Mount is one entry of the jail's file tree.
type Mount struct {
	Kind MountKind `json:"kind"`
	Src  string    `json:"src,omitempty"`
	Dst  string    `json:"dst"`
	// RW makes the mount writable; binds and files are read-only otherwise.
	RW bool `json:"rw,omitempty"`
	// Mandatory: a missing bind source is an error. When false the mount is
	// skipped if its source does not exist.
	Mandatory bool `json:"mandatory"`
	// IsDir forces the mount point to be a directory (else guessed from Src).
	IsDir   *bool  `json:"is_dir,omitempty"`
	Size    int64  `json:"size,omitempty"`    // tmpfs size in bytes
	Mode    uint32 `json:"mode,omitempty"`    // tmpfs root / file mode; 0 = default
	Content []byte `json:"content,omitempty"` // MountFile content
	FSType  string `json:"fstype,omitempty"`  // MountOther
	Options string `json:"options,omitempty"` // extra fs data (e.g. "mode=1777")
	NoSuid  bool   `json:"nosuid,omitempty"`
	NoDev   bool   `json:"nodev,omitempty"`
	NoExec  bool   `json:"noexec,omitempty"`
	// Owned gives a tmpfs or file to the jail's user (workspace, /tmp).
	Owned bool `json:"owned,omitempty"`
}

// Limits bounds a run. Zero means "no limit" for each field; the CLI and
// the service fill in the documented defaults before calling Run.
type Limits struct {
	Wall time.Duration `json:"wall"` // wall-clock time, enforced with ms accuracy
	CPU  time.Duration `json:"cpu"`  // user+sys of all processes of the run (cgroup)
	// Memory is the cgroup memory limit in bytes; swap is disabled with it.
	Memory int64 `json:"memory"`
	// MemorySwap, when >0, is nsjail's mem_memsw_max / mem_swap_max
	// (total memory+swap). Default: equal to Memory (no swap).
	MemorySwap  int64 `json:"memory_swap,omitempty"`
	Pids        int64 `json:"pids"`                     // tasks in the run's cgroup
	CPUMsPerSec int64 `json:"cpu_ms_per_sec,omitempty"` // CPU bandwidth (nsjail cgroup_cpu_ms_per_sec)
	MaxCPUs     int   `json:"max_cpus,omitempty"`       // pin to this many CPUs
	// Output is the most bytes kept per output stream (stdout, stderr);
	// the run is stopped with reason output-limit when exceeded.
	Output int64 `json:"output"`
	// Rlimits are applied to the command (and inherited by its children).
	Rlimits []Rlimit `json:"rlimits,omitempty"`
}

// Rlimit is one setrlimit(2) call. Resource is a name: "as", "core", "cpu",
// "data", "fsize", "nofile", "nproc", "stack", "memlock", "msgqueue", "rtprio", "sigpending".
type Rlimit struct {
	Resource string `json:"resource"`
	Soft     uint64 `json:"soft"`
	Hard     uint64 `json:"hard"`
}

// RlimInfinity is the value of an unlimited rlimit.
const RlimInfinity = ^uint64(0)

// Seccomp describes the syscall filter of a run.
type Seccomp struct {
	// Policy is a kafel-language policy text. Empty means pycage's default
	// Python allowlist.
	Policy string `json:"policy,omitempty"`
	// PolicyName names the source of Policy for error messages (a file name).
	PolicyName string `json:"policy_name,omitempty"`
	// Log makes the kernel log refused syscalls (SECCOMP_FILTER_FLAG_LOG
	// and the LOG action for the default deny).
	Log bool `json:"log,omitempty"`
}

// File is an input file placed into the workspace before the run.
type File struct {
	Path    string `json:"path"`
	Content []byte `json:"content"`
	Mode    uint32 `json:"mode,omitempty"` // default 0644
}

// CollectSpec bounds the collection of output files from the workspace.
type CollectSpec struct {
	MaxFiles   int           `json:"max_files"`
	MaxBytes   int64         `json:"max_bytes"`
	MaxDepth   int           `json:"max_depth"`
	Timeout    time.Duration `json:"timeout"`
	SkipHidden bool          `json:"skip_hidden"` // names starting with . or _
	// Since: only files modified at or after the run's start are returned
	// (input files the run did not touch are left out).
	OnlyChanged bool `json:"only_changed"`
}

// CgroupSpec says where the run's cgroups live.
type CgroupSpec struct {
	// Parent is the parent cgroup path (relative to each hierarchy's root),
	// e.g. "/pycage". Empty: "pycage" nested under the cgroup pycage runs in.
	Parent string `json:"parent,omitempty"`
	// Disable runs without cgroups. Limits that need them then fail unless
	// AllowWeaker is set.
	Disable bool `json:"disable,omitempty"`
}

// Reason says exactly why a run ended.
type Reason string

const (
	ReasonExited      Reason = "exited"
	ReasonSignaled    Reason = "signaled"
	ReasonWallTimeout Reason = "wall-timeout"
	ReasonCPUTimeout  Reason = "cpu-timeout"
	ReasonOOM         Reason = "oom"
	ReasonPidsLimit   Reason = "pids-limit-hit"
	ReasonOutputLimit Reason = "output-limit"
	ReasonCanceled    Reason = "canceled"
	ReasonSetupError  Reason = "setup-error"
)

// Result is the exact report of one run.
type Result struct {
	Reason   Reason `json:"reason"`
	ExitCode int    `json:"exit_code"` // the command's exit code; 128+signal when signaled
	Signal   int    `json:"signal,omitempty"`
	// Error is the setup error (step and object) when Reason is setup-error.
	Error string `json:"error,omitempty"`
	// NotFound is set when the command could not be found or executed
	// (exit codes 127 and 126 by convention).
	NotFound bool `json:"not_found,omitempty"`

	Wall         time.Duration `json:"wall_ns"`
	CPU          time.Duration `json:"cpu_ns"`
	PeakMemory   int64         `json:"peak_memory_bytes"`
	OOMKills     int64         `json:"oom_kills,omitempty"`
	PidsLimitHit bool          `json:"pids_limit_hit,omitempty"`

	StdoutBytes     int64 `json:"stdout_bytes"`
	StderrBytes     int64 `json:"stderr_bytes"`
	StdoutTruncated bool  `json:"stdout_truncated,omitempty"`
	StderrTruncated bool  `json:"stderr_truncated,omitempty"`

	Files      []OutFile `json:"files,omitempty"`
	FilesError string    `json:"files_error,omitempty"`
	Limits     Limits    `json:"limits"`
	// Weakened lists the limits that were asked for but not enforced
	// (only possible with AllowWeaker).
	Weakened []string `json:"weakened,omitempty"`
	// Landlock says whether the command ran under Landlock: "applied",
	// "off" or "unavailable" (Spec.Landlock auto on a kernel without
	// Landlock ABI 2+, or a jail without a mount namespace). Empty when the
	// run failed before this was decided.
	Landlock string `json:"landlock,omitempty"`
	// LandlockABI is the Landlock ABI the ruleset used (when applied).
	LandlockABI int `json:"landlock_abi,omitempty"`
}

// OutFile is a file collected from the workspace after the run.
type OutFile struct {
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	Content []byte `json:"content"`
}

// landlockPlan decides the command's Landlock ruleset for spec on a kernel
// with Landlock ABI abi (0: none): nil when there is none to apply, an
// error when Spec.Landlock is "on" and it cannot be applied. Both spawn
// paths use it (the raw path in the parent, the Go path in init).
func landlockPlan(spec *Spec, abi int) (*landlock.Policy, error) {
	switch spec.Landlock {
	case LandlockOff:
		return nil, nil
	case "", LandlockAuto, LandlockOn:
	default:
		return nil, fmt.Errorf("landlock %q: want auto, on or off", spec.Landlock)
	}
	on := spec.Landlock == LandlockOn
	if !spec.Namespaces.Mount {
		if on {
			return nil, errors.New("landlock: needs a mount namespace (without one the command's file tree is the host's)")
		}
		return nil, nil
	}
	if abi < landlock.MinABI {
		if on {
			return nil, fmt.Errorf("landlock: not available on this kernel (Landlock %s; pycage needs ABI %d or later, Linux 5.19+, with landlock in the lsm= boot list)",
				landlock.Describe(abi), landlock.MinABI)
		}
		return nil, nil
	}
	return landlock.Compute(landlockTree(spec), abi), nil
}

// landlockTree is what of spec's file tree the ruleset needs: every mount
// point and whether it is writable (symlinks are not objects of rules).
func landlockTree(spec *Spec) landlock.Tree {
	t := landlock.Tree{Dev: spec.Dev}
	for _, m := range spec.Mounts {
		switch m.Kind {
		case MountSymlink:
			continue
		case MountProc:
			m.RW = false // always mounted read-only
		}
		t.Mounts = append(t.Mounts, landlock.Mount{Path: m.Dst, Writable: m.RW, Optional: m.Kind == MountBind && !m.Mandatory})
	}
	return t
}

// landlockResult is what Result.Landlock and Result.LandlockABI say for
// spec on this kernel (when landlockPlan did not fail).
func landlockResult(spec *Spec) (string, int) {
	if spec.Landlock == LandlockOff {
		return LandlockNotApplied, 0
	}
	p, err := landlockPlan(spec, landlock.ABI())
	if err != nil || p == nil {
		return LandlockUnavailable, 0
	}
	return LandlockApplied, p.ABI
}

// Clone returns a deep copy of s: nothing of the copy (slices, maps,
// pointers) is shared with s, so either may be changed without the other
// (TestSpecClone checks every field).
func (s *Spec) Clone() *Spec {
	c := *s
	c.Args = slices.Clone(s.Args)
	c.Env = slices.Clone(s.Env)
	c.UIDMap = slices.Clone(s.UIDMap)
	c.GIDMap = slices.Clone(s.GIDMap)
	c.Mounts = slices.Clone(s.Mounts)
	for i := range c.Mounts {
		m := &c.Mounts[i]
		if m.IsDir != nil {
			v := *m.IsDir
			m.IsDir = &v
		}
		m.Content = slices.Clone(m.Content)
	}
	c.EtcFiles = maps.Clone(s.EtcFiles)
	c.Limits.Rlimits = slices.Clone(s.Limits.Rlimits)
	if s.Seccomp != nil {
		v := *s.Seccomp
		c.Seccomp = &v
	}
	c.KeepCaps = slices.Clone(s.KeepCaps)
	c.PassFDs = slices.Clone(s.PassFDs)
	c.Files = slices.Clone(s.Files)
	for i := range c.Files {
		c.Files[i].Content = slices.Clone(s.Files[i].Content)
	}
	if s.Collect != nil {
		v := *s.Collect
		c.Collect = &v
	}
	return &c
}
