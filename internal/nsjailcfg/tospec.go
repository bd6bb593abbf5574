package nsjailcfg

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pycage/pycage/internal/jail"
)

// FieldError is a config field pycage cannot honour, or a bad value.
type FieldError struct {
	Field string // nsjail's field name, e.g. "mode" or "uidmap[0].count"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}

// MountError is a mount entry that cannot be built, e.g. a missing mandatory
// bind source. It names the mount as nsjail does: "mount SRC -> DST".
type MountError struct {
	Src, Dst string
	Msg      string
}

func (e *MountError) Error() string {
	if e.Src == "" {
		return fmt.Sprintf("mount %s: %s", e.Dst, e.Msg)
	}
	return fmt.Sprintf("mount %s -> %s: %s", e.Src, e.Dst, e.Msg)
}

// Stdio says how nsjail would wire the command's standard streams. They are
// not part of a jail.Spec (the streams are jail.Run's IO argument), so the
// caller applies them.
type Stdio struct {
	Silent       bool // stdin, stdout and stderr are /dev/null (nsjail "silent")
	StderrToNull bool // stderr is /dev/null (nsjail "stderr_to_null")
}

// StdioOf returns the config's stdio settings.
func StdioOf(cfg *NsJailConfig) Stdio {
	return Stdio{Silent: cfg.GetSilent(), StderrToNull: cfg.GetStderrToNull()}
}

// Hooks into the host, replaced by tests.
var (
	getrlimit = func(res int) (cur, max uint64, err error) {
		var rl unix.Rlimit
		if err := unix.Getrlimit(res, &rl); err != nil {
			return 0, 0, err
		}
		return rl.Cur, rl.Max, nil
	}
	lookupEnv = os.LookupEnv
	environ   = os.Environ
	getuid    = os.Getuid
	getgid    = os.Getgid
	statPath  = func(p string) error { _, err := os.Stat(p); return err }
	readFile  = os.ReadFile
	readDir   = os.ReadDir
	readlink  = os.Readlink
)

// ToSpec maps a config plus the command (args after "--"; if empty,
// exec_bin) onto a Spec. Every field that pycage cannot honour is an error
// naming the field; all such errors are returned together. Host-dependent
// values (the caller's ids and rlimits, environment variables, bind sources,
// the seccomp policy file) are resolved now, so errors come before any jail
// is built.
func ToSpec(cfg *NsJailConfig, args []string) (*jail.Spec, error) {
	if cfg == nil {
		cfg = &NsJailConfig{}
	}
	errs := unsupported(cfg)
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	spec := &jail.Spec{
		Cwd:      cfg.GetCwd(),
		Hostname: cfg.GetHostname(),
	}

	// The command. As in nsjail, exec_bin.path stays the executed file even
	// when the arguments come from the command line.
	if len(args) > 0 {
		spec.Args = append([]string(nil), args...)
	} else if eb := cfg.GetExecBin(); eb != nil {
		spec.Args = append([]string{eb.GetPath()}, eb.GetArg()...)
		if eb.Arg0 != nil {
			spec.Args[0] = eb.GetArg0()
		}
	}
	if eb := cfg.GetExecBin(); eb != nil && eb.GetPath() != "" {
		spec.ExecPath = eb.GetPath()
	}
	if len(spec.Args) == 0 {
		add(errors.New("no command: give one after \"--\" or in exec_bin"))
	}
	if !path.IsAbs(spec.Cwd) {
		add(fieldErr("cwd", "%q is not an absolute path", spec.Cwd))
	}

	spec.Env = buildEnv(cfg)

	// Users and groups. nsjail's default map is the caller's id on both sides.
	uids, err := idMaps("uidmap", cfg.GetUidmap(), false)
	add(err)
	gids, err := idMaps("gidmap", cfg.GetGidmap(), true)
	add(err)
	if len(uids) > 0 {
		spec.UID = uids[0].Inside
	}
	if len(gids) > 0 {
		spec.GID = gids[0].Inside
	}
	if cfg.GetCloneNewuser() {
		spec.UIDMap, spec.GIDMap = uids, gids
	}

	spec.Namespaces = jail.Namespaces{
		User:   cfg.GetCloneNewuser(),
		Mount:  cfg.GetCloneNewns(),
		PID:    cfg.GetCloneNewpid(),
		Net:    cfg.GetCloneNewnet(),
		IPC:    cfg.GetCloneNewipc(),
		UTS:    cfg.GetCloneNewuts(),
		Cgroup: cfg.GetCloneNewcgroup(),
	}
	// nsjail brings lo up in a new net namespace unless iface_no_lo.
	if cfg.GetIfaceNoLo() {
		spec.Net = jail.NetNone
	} else {
		spec.Net = jail.NetLoopback
	}

	mounts, merrs := buildMounts(cfg)
	spec.Mounts = mounts
	errs = append(errs, merrs...)
	spec.Proc = cfg.GetMountProc()

	// Limits.
	spec.Limits.Wall = time.Duration(cfg.GetTimeLimit()) * time.Second
	if !cfg.GetDisableRl() {
		rls, rerrs := buildRlimits(cfg)
		spec.Limits.Rlimits = rls
		errs = append(errs, rerrs...)
	}
	if err := memoryLimits(cfg, &spec.Limits); err != nil {
		add(err)
	}
	spec.Limits.Pids = int64(min(cfg.GetCgroupPidsMax(), uint64(1)<<62))
	spec.Limits.CPUMsPerSec = int64(cfg.GetCgroupCpuMsPerSec())
	spec.Limits.MaxCPUs = int(cfg.GetMaxCpus())
	parent, err := cgroupParent(cfg)
	add(err)
	spec.Cgroup.Parent = parent

	// Seccomp. Without a policy nsjail installs no filter; pycage applies its
	// default allowlist instead (a nil Seccomp would mean "no filter").
	sc, err := buildSeccomp(cfg)
	add(err)
	spec.Seccomp = sc

	// Capabilities and process details.
	caps, err := keptCaps(cfg)
	add(err)
	spec.KeepCaps = caps
	spec.DisableNoNewPrivs = cfg.GetDisableNoNewPrivs()
	spec.SkipSetsid = cfg.GetSkipSetsid()
	// nice_level (nsjail's default 19) applies to the command.
	if n := cfg.GetNiceLevel(); n < 0 || n > 19 {
		add(fieldErr("nice_level", "%d: pycage supports 0..19 (a negative niceness needs a privilege the jail does not have)", n))
	} else {
		spec.Nice = int(n)
	}
	for i, fd := range cfg.GetPassFd() {
		switch {
		case fd < 0:
			add(fieldErr(fmt.Sprintf("pass_fd[%d]", i), "%d is not a file descriptor", fd))
		case fd <= 2: // always passed
		default:
			if !containsInt(spec.PassFDs, int(fd)) {
				spec.PassFDs = append(spec.PassFDs, int(fd))
			}
		}
	}

	if len(errs) > 0 {
		return nil, errorList(errs)
	}
	return spec, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// unsupported lists every field whose value asks for a feature pycage does
// not have. Fields that change nothing observable about the run (names,
// logging, LISTEN-only settings, cgroup mount points) are accepted.
func unsupported(cfg *NsJailConfig) []error {
	var errs []error
	bad := func(cond bool, field, why string) {
		if cond {
			errs = append(errs, fieldErr(field, "%s", why))
		}
	}
	switch cfg.GetMode() {
	case Mode_ONCE:
	case Mode_LISTEN:
		bad(true, "mode", "LISTEN (a jail per TCP connection) is not supported: pycage runs a command once (mode ONCE)")
	case Mode_RERUN:
		bad(true, "mode", "RERUN (run the command forever) is not supported: pycage runs a command once (mode ONCE)")
	case Mode_EXECVE:
		bad(true, "mode", "EXECVE (exec without a supervisor) is not supported: pycage always supervises the run (mode ONCE)")
	default:
		bad(true, "mode", fmt.Sprintf("unknown mode %d", cfg.GetMode()))
	}
	bad(cfg.GetDaemon(), "daemon", "pycage does not go into the background")
	bad(cfg.GetDisableTsc(), "disable_tsc", "disabling rdtsc is not supported")
	bad(cfg.OomScoreAdj != nil, "oom_score_adj", "setting the OOM score is not supported")
	bad(cfg.GetPersonaAddrCompatLayout(), "persona_addr_compat_layout", "personality(2) flags are not supported")
	bad(cfg.GetPersonaMmapPageZero(), "persona_mmap_page_zero", "personality(2) flags are not supported")
	bad(cfg.GetPersonaReadImpliesExec(), "persona_read_implies_exec", "personality(2) flags are not supported")
	bad(cfg.GetPersonaAddrLimit_3Gb(), "persona_addr_limit_3gb", "personality(2) flags are not supported")
	bad(cfg.GetPersonaAddrNoRandomize(), "persona_addr_no_randomize", "personality(2) flags are not supported")
	bad(cfg.GetCloneNewtime(), "clone_newtime", "time namespaces are not supported")
	for i, m := range cfg.GetUidmap() {
		bad(m.GetUseNewidmap(), fmt.Sprintf("uidmap[%d].use_newidmap", i), "maps written by newuidmap are not supported (pycage writes uid_map itself)")
	}
	for i, m := range cfg.GetGidmap() {
		bad(m.GetUseNewidmap(), fmt.Sprintf("gidmap[%d].use_newidmap", i), "maps written by newgidmap are not supported (pycage writes gid_map itself)")
	}
	bad(cfg.GetCgroupNetClsClassid() != 0, "cgroup_net_cls_classid", "the net_cls cgroup is not supported")
	bad(len(cfg.GetIfaceOwn()) > 0, "iface_own", "moving host interfaces into the jail is not supported")
	bad(cfg.GetMacvlanIface() != "", "macvlan_iface", "MACVLAN interfaces are not supported")
	bad(len(cfg.GetTrafficRule()) > 0, "traffic_rule", "traffic rules are not supported")
	bad(cfg.UserNet != nil, "user_net", "user-mode networking is not supported")
	bad(cfg.GetExecBin().GetExecFd(), "exec_bin.exec_fd", "executing a host file descriptor is not supported")
	bad(cfg.GetSeccompUnotify(), "seccomp_unotify", "seccomp user notification is not supported")
	return errs
}

// buildEnv: a clean environment (or the caller's with keep_env), then
// envar in order; "K" alone takes the caller's value of K and is skipped
// when K is not set, as in nsjail.
func buildEnv(cfg *NsJailConfig) []string {
	var env []string
	if cfg.GetKeepEnv() {
		env = append(env, environ()...)
	}
	set := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		for i, e := range env {
			if ek, _, _ := strings.Cut(e, "="); ek == k {
				env[i] = kv
				return
			}
		}
		env = append(env, kv)
	}
	for _, e := range cfg.GetEnvar() {
		if strings.Contains(e, "=") {
			set(e)
			continue
		}
		if v, ok := lookupEnv(e); ok {
			set(e + "=" + v)
		}
	}
	if env == nil {
		env = []string{}
	}
	return env
}

// idMaps resolves nsjail's string ids: "" is the caller's id, a name is
// looked up on the host (first, as nsjail does), else a number.
func idMaps(field string, maps []*IdMap, group bool) ([]jail.IDMap, error) {
	self := uint32(getuid())
	if group {
		self = uint32(getgid())
	}
	if len(maps) == 0 {
		return []jail.IDMap{{Inside: self, Outside: self, Count: 1}}, nil
	}
	var out []jail.IDMap
	var errs []error
	for i, m := range maps {
		f := fmt.Sprintf("%s[%d]", field, i)
		in, err := resolveID(m.GetInsideId(), self, group)
		if err != nil {
			errs = append(errs, fieldErr(f+".inside_id", "%v", err))
		}
		outID, err := resolveID(m.GetOutsideId(), self, group)
		if err != nil {
			errs = append(errs, fieldErr(f+".outside_id", "%v", err))
		}
		if m.GetCount() == 0 {
			errs = append(errs, fieldErr(f+".count", "must be at least 1"))
		}
		out = append(out, jail.IDMap{Inside: in, Outside: outID, Count: m.GetCount()})
	}
	if len(errs) > 0 {
		return nil, errorList(errs)
	}
	return out, nil
}

func resolveID(s string, self uint32, group bool) (uint32, error) {
	if s == "" {
		return self, nil
	}
	if group {
		if g, err := user.LookupGroup(s); err == nil {
			if n, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
				return uint32(n), nil
			}
		}
	} else if u, err := user.Lookup(s); err == nil {
		if n, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
			return uint32(n), nil
		}
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil || n == 0xffffffff {
		what := "user"
		if group {
			what = "group"
		}
		return 0, fmt.Errorf("%q is neither a %s name on this host nor a number", s, what)
	}
	return uint32(n), nil
}

// buildMounts maps nsjail's mount entries in order. A mandatory bind whose
// source does not exist is an error here, before any jail is built.
func buildMounts(cfg *NsJailConfig) ([]jail.Mount, []error) {
	var out []jail.Mount
	var errs []error
	for i, mp := range cfg.GetMount() {
		m, err := buildMount(i, mp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if m.Dst == "/" {
			ms, err := expandRoot(m)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, ms...)
			continue
		}
		out = append(out, m)
	}
	return out, errs
}

// expandRoot turns a bind of a directory at "/" (nsjail's --chroot, or a
// config's mount with dst "/") into what it shows: one bind per entry of the
// directory, symlinks recreated as symlinks, on pycage's own root tmpfs. The
// directory is read now; entries it gains later do not appear in the jail.
// The jail's "/" itself stays read-only even when rw is set (the entries
// under it are writable then).
func expandRoot(m jail.Mount) ([]jail.Mount, error) {
	if m.Kind != jail.MountBind {
		return nil, &MountError{Src: m.Src, Dst: "/", Msg: "only a bind mount of a directory can be the jail's root"}
	}
	if !m.Mandatory {
		if err := statPath(m.Src); err != nil {
			return nil, nil // skipped, as a missing optional bind is
		}
	}
	entries, err := readDir(m.Src)
	if err != nil {
		return nil, &MountError{Src: m.Src, Dst: "/", Msg: "the jail's root must be a directory: " + err.Error()}
	}
	var out []jail.Mount
	for _, e := range entries {
		src := path.Join(m.Src, e.Name())
		dst := "/" + e.Name()
		if e.Type()&os.ModeSymlink != 0 {
			target, err := readlink(src)
			if err != nil {
				return nil, &MountError{Src: src, Dst: dst, Msg: err.Error()}
			}
			out = append(out, jail.Mount{Kind: jail.MountSymlink, Src: target, Dst: dst, Mandatory: true})
			continue
		}
		sub := m
		sub.Src, sub.Dst = src, dst
		isDir := e.IsDir()
		sub.IsDir = &isDir
		out = append(out, sub)
	}
	return out, nil
}

func buildMount(i int, mp *MountPt) (jail.Mount, error) {
	field := fmt.Sprintf("mount[%d]", i)
	src, dst := mp.GetSrc(), mp.GetDst()
	if e := mp.GetPrefixSrcEnv(); e != "" {
		v, ok := lookupEnv(e)
		if !ok {
			return jail.Mount{}, fieldErr(field+".prefix_src_env", "environment variable %s is not set", e)
		}
		src = v + src
	}
	if e := mp.GetPrefixDstEnv(); e != "" {
		v, ok := lookupEnv(e)
		if !ok {
			return jail.Mount{}, fieldErr(field+".prefix_dst_env", "environment variable %s is not set", e)
		}
		dst = v + dst
	}
	if !path.IsAbs(dst) {
		return jail.Mount{}, &MountError{Src: src, Dst: dst, Msg: "the mount point is not an absolute path"}
	}
	m := jail.Mount{
		Src:       src,
		Dst:       path.Clean(dst),
		RW:        mp.GetRw(),
		Mandatory: mp.GetMandatory(),
		NoSuid:    mp.GetNosuid(),
		NoDev:     mp.GetNodev(),
		NoExec:    mp.GetNoexec(),
	}
	if mp.IsDir != nil {
		d := mp.GetIsDir()
		m.IsDir = &d
	}
	fstype := mp.GetFstype()
	switch {
	case mp.GetIsSymlink():
		m.Kind = jail.MountSymlink
		if src == "" {
			return jail.Mount{}, &MountError{Dst: dst, Msg: "a symlink needs src (its target)"}
		}
	case len(mp.GetSrcContent()) > 0:
		m.Kind = jail.MountFile
		m.Src = ""
		m.Content = append([]byte(nil), mp.GetSrcContent()...)
	case mp.GetIsBind():
		m.Kind = jail.MountBind
		if src == "" {
			return jail.Mount{}, &MountError{Dst: dst, Msg: "a bind mount needs src"}
		}
		// nsjail mounts a relative source relative to its own cwd.
		if !filepath.IsAbs(src) {
			abs, err := filepath.Abs(src)
			if err != nil {
				return jail.Mount{}, &MountError{Src: src, Dst: dst, Msg: err.Error()}
			}
			src = abs
			m.Src = abs
		}
		if err := statPath(src); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return jail.Mount{}, &MountError{Src: src, Dst: dst, Msg: "source: " + err.Error()}
			}
			if m.Mandatory {
				return jail.Mount{}, &MountError{Src: src, Dst: dst, Msg: "source does not exist"}
			}
		}
	case fstype == "tmpfs":
		m.Kind = jail.MountTmpfs
		m.Src = ""
		// nsjail mounts it as the jail's user, so the user owns it.
		m.Owned = true
		size, mode, rest, err := tmpfsOptions(mp.GetOptions())
		if err != nil {
			return jail.Mount{}, &MountError{Dst: dst, Msg: "options: " + err.Error()}
		}
		m.Size, m.Mode, m.Options = size, mode, rest
	case fstype == "proc":
		m.Kind = jail.MountProc
		m.Src = ""
		m.Options = mp.GetOptions()
	case fstype != "":
		m.Kind = jail.MountOther
		m.FSType = fstype
		m.Options = mp.GetOptions()
	default:
		return jail.Mount{}, &MountError{Src: src, Dst: dst, Msg: "nothing to mount: set is_bind, fstype, src_content or is_symlink"}
	}
	return m, nil
}

// tmpfsOptions takes size= and mode= out of a tmpfs option string; the
// rest is passed on unchanged.
func tmpfsOptions(opts string) (size int64, mode uint32, rest string, err error) {
	var keep []string
	for _, o := range strings.Split(opts, ",") {
		if o == "" {
			continue
		}
		k, v, _ := strings.Cut(o, "=")
		switch k {
		case "size":
			n, ok := parseSize(v)
			if !ok {
				keep = append(keep, o) // e.g. "50%": left to the kernel
				continue
			}
			size = n
		case "mode":
			n, perr := strconv.ParseUint(v, 8, 32)
			if perr != nil || n > 0o7777 {
				return 0, 0, "", fmt.Errorf("bad mode %q", v)
			}
			mode = uint32(n)
		default:
			keep = append(keep, o)
		}
	}
	return size, mode, strings.Join(keep, ","), nil
}

// parseSize reads a tmpfs size: bytes with an optional k, m, g, t, p or e
// suffix (powers of 1024), as the kernel does.
func parseSize(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	shift := 0
	switch s[len(s)-1] {
	case 'k', 'K':
		shift = 10
	case 'm', 'M':
		shift = 20
	case 'g', 'G':
		shift = 30
	case 't', 'T':
		shift = 40
	case 'p', 'P':
		shift = 50
	case 'e', 'E':
		shift = 60
	}
	if shift > 0 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 0, 63)
	if err != nil || (shift > 0 && n > (1<<(63-shift))-1) {
		return 0, false
	}
	return int64(n << shift), true
}

type rlimitField struct {
	name  string // nsjail's field, without "rlimit_"
	res   int
	value uint64
	typ   RLimit
	unit  uint64
}

// buildRlimits: nsjail sets soft and hard to the same value; SOFT and HARD
// read pycage's own current limits.
func buildRlimits(cfg *NsJailConfig) ([]jail.Rlimit, []error) {
	fields := []rlimitField{
		{"as", unix.RLIMIT_AS, cfg.GetRlimitAs(), cfg.GetRlimitAsType(), 1 << 20},
		{"core", unix.RLIMIT_CORE, cfg.GetRlimitCore(), cfg.GetRlimitCoreType(), 1 << 20},
		{"cpu", unix.RLIMIT_CPU, cfg.GetRlimitCpu(), cfg.GetRlimitCpuType(), 1},
		{"fsize", unix.RLIMIT_FSIZE, cfg.GetRlimitFsize(), cfg.GetRlimitFsizeType(), 1 << 20},
		{"nofile", unix.RLIMIT_NOFILE, cfg.GetRlimitNofile(), cfg.GetRlimitNofileType(), 1},
		{"nproc", unix.RLIMIT_NPROC, cfg.GetRlimitNproc(), cfg.GetRlimitNprocType(), 1},
		{"stack", unix.RLIMIT_STACK, cfg.GetRlimitStack(), cfg.GetRlimitStackType(), 1 << 20},
		{"memlock", unix.RLIMIT_MEMLOCK, cfg.GetRlimitMemlock(), cfg.GetRlimitMemlockType(), 1 << 10},
		{"rtprio", unix.RLIMIT_RTPRIO, cfg.GetRlimitRtprio(), cfg.GetRlimitRtprioType(), 1},
		{"msgqueue", unix.RLIMIT_MSGQUEUE, cfg.GetRlimitMsgqueue(), cfg.GetRlimitMsgqueueType(), 1},
	}
	var out []jail.Rlimit
	var errs []error
	for _, f := range fields {
		v, err := rlimitValue(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, jail.Rlimit{Resource: f.name, Soft: v, Hard: v})
	}
	return out, errs
}

func rlimitValue(f rlimitField) (uint64, error) {
	switch f.typ {
	case RLimit_VALUE:
		hi, lo := bits.Mul64(f.value, f.unit)
		if hi != 0 || lo == jail.RlimInfinity {
			return 0, fieldErr("rlimit_"+f.name, "%d is too large", f.value)
		}
		return lo, nil
	case RLimit_SOFT, RLimit_HARD:
		cur, max, err := getrlimit(f.res)
		if err != nil {
			return 0, fieldErr("rlimit_"+f.name+"_type", "reading the current limit: %v", err)
		}
		if f.typ == RLimit_SOFT {
			return cur, nil
		}
		return max, nil
	case RLimit_INF:
		return jail.RlimInfinity, nil
	}
	return 0, fieldErr("rlimit_"+f.name+"_type", "unknown type %d", f.typ)
}

// memoryLimits maps cgroup_mem_max and the two swap settings. pycage's
// default is no swap at all (memory+swap = memory).
func memoryLimits(cfg *NsJailConfig, l *jail.Limits) error {
	mem := cfg.GetCgroupMemMax()
	memsw := cfg.GetCgroupMemMemswMax()
	swap := cfg.GetCgroupMemSwapMax()
	const maxInt = uint64(1<<63 - 1)
	if mem > maxInt {
		return fieldErr("cgroup_mem_max", "%d is too large", mem)
	}
	l.Memory = int64(mem)
	switch {
	case memsw > 0 && swap >= 0:
		return fieldErr("cgroup_mem_memsw_max", "cannot be set together with cgroup_mem_swap_max")
	case memsw > 0:
		if mem == 0 {
			return fieldErr("cgroup_mem_memsw_max", "needs cgroup_mem_max")
		}
		if memsw < mem || memsw > maxInt {
			return fieldErr("cgroup_mem_memsw_max", "%d must be at least cgroup_mem_max (%d)", memsw, mem)
		}
		l.MemorySwap = int64(memsw)
	case swap > 0:
		if mem == 0 {
			return fieldErr("cgroup_mem_swap_max", "needs cgroup_mem_max")
		}
		if uint64(swap) > maxInt-mem {
			return fieldErr("cgroup_mem_swap_max", "%d is too large", swap)
		}
		l.MemorySwap = int64(mem) + swap
	}
	return nil
}

// cgroupParent: the *_parent fields given in the config become the run's
// parent cgroup. pycage has one parent for every controller (and creates
// it), so they must agree; unset ones keep pycage's default.
func cgroupParent(cfg *NsJailConfig) (string, error) {
	type p struct{ field, val string }
	var set []p
	if cfg.CgroupMemParent != nil {
		set = append(set, p{"cgroup_mem_parent", cfg.GetCgroupMemParent()})
	}
	if cfg.CgroupPidsParent != nil {
		set = append(set, p{"cgroup_pids_parent", cfg.GetCgroupPidsParent()})
	}
	if cfg.CgroupCpuParent != nil {
		set = append(set, p{"cgroup_cpu_parent", cfg.GetCgroupCpuParent()})
	}
	if len(set) == 0 {
		return "", nil
	}
	norm := func(s string) string { return path.Clean("/" + strings.Trim(s, "/")) }
	for _, q := range set[1:] {
		if norm(q.val) != norm(set[0].val) {
			return "", fieldErr(q.field, "%q differs from %s %q: pycage uses one parent cgroup for all controllers", q.val, set[0].field, set[0].val)
		}
	}
	if strings.Contains(set[0].val, "..") {
		return "", fieldErr(set[0].field, "%q must not contain ..", set[0].val)
	}
	return norm(set[0].val), nil
}

func buildSeccomp(cfg *NsJailConfig) (*jail.Seccomp, error) {
	sc := &jail.Seccomp{Log: cfg.GetSeccompLog()}
	file := cfg.GetSeccompPolicyFile()
	strs := cfg.GetSeccompString()
	switch {
	case file != "" && len(strs) > 0:
		return nil, fieldErr("seccomp_policy_file", "cannot be used together with seccomp_string")
	case file != "":
		b, err := readFile(file)
		if err != nil {
			return nil, fieldErr("seccomp_policy_file", "%v", err)
		}
		sc.Policy, sc.PolicyName = string(b), file
	case len(strs) > 0:
		var b strings.Builder
		for _, s := range strs {
			b.WriteString(s)
			b.WriteByte('\n')
		}
		sc.Policy, sc.PolicyName = b.String(), "seccomp_string"
	}
	return sc, nil
}

// capNames are the capabilities of linux/capability.h, in number order.
var capNames = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
}

// keptCaps: keep_caps keeps every capability; cap lists single ones.
func keptCaps(cfg *NsJailConfig) ([]string, error) {
	if cfg.GetKeepCaps() {
		return append([]string(nil), capNames...), nil
	}
	var out []string
	var errs []error
	for i, c := range cfg.GetCap() {
		name := strings.ToUpper(c)
		if !strings.HasPrefix(name, "CAP_") {
			name = "CAP_" + name
		}
		known := false
		for _, k := range capNames {
			if k == name {
				known = true
				break
			}
		}
		if !known {
			errs = append(errs, fieldErr(fmt.Sprintf("cap[%d]", i), "unknown capability %q", c))
			continue
		}
		out = append(out, name)
	}
	return out, errorList(errs)
}
