package nsjailcfg

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// ErrHelp is returned by ParseArgs for -h, --help and -?.
var ErrHelp = errors.New("nsjail: help requested")

// flagDef is one of nsjail's command-line flags.
type flagDef struct {
	long  string
	short byte // 0: none
	arg   bool
	help  string
	apply func(p *argParser, v string) error
}

// argParser holds the state of one ParseArgs call. A few of nsjail's flags
// have no config field; they are kept here and turned into mounts at the end.
type argParser struct {
	cfg      *NsJailConfig
	chroot   string
	rootRW   bool
	procPath string
	procRW   bool
}

// ParseArgs parses nsjail's command line (the arguments after the program
// name) the way nsjail does: flags are applied in order, so --config loads
// the file at that point (its fields, with nsjail's defaults for the ones it
// leaves out, replace what earlier flags set; its lists are appended) and
// later flags override it. Both "--flag value" and "--flag=value", unique
// prefixes of long flags, "-C file", "-Cfile" and grouped short flags
// ("-Mo", "-Nq") are accepted. Arguments that are not flags, and everything
// after "--", are the command.
//
// Flags without a config field become config entries: --chroot a bind
// mount of the directory at "/" (first), --proc_path/--proc_rw a proc
// mount, --exec_file exec_bin.path.
func ParseArgs(argv []string) (*NsJailConfig, []string, error) {
	p := &argParser{
		// nsjail's command-line defaults differ from the config defaults
		// in two places: no wall-time limit, and /proc is mounted.
		cfg:      &NsJailConfig{TimeLimit: proto.Uint32(0)},
		procPath: "/proc",
	}
	var command []string
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "--":
			command = append(command, argv[i+1:]...)
			i = len(argv)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			f, err := lookupLong(name)
			if err != nil {
				return nil, nil, err
			}
			if f.arg && !hasVal {
				if i+1 >= len(argv) {
					return nil, nil, fmt.Errorf("flag --%s needs a value", f.long)
				}
				i++
				val = argv[i]
			} else if !f.arg && hasVal {
				return nil, nil, fmt.Errorf("flag --%s takes no value", f.long)
			}
			if err := f.apply(p, val); err != nil {
				return nil, nil, flagError(f, val, err)
			}
		case len(a) > 1 && a[0] == '-':
			// One or more short flags; one taking a value ends the group.
			for j := 1; j < len(a); j++ {
				f := lookupShort(a[j])
				if f == nil {
					return nil, nil, fmt.Errorf("unknown flag -%c", a[j])
				}
				val := ""
				if f.arg {
					if j+1 < len(a) {
						val = a[j+1:]
					} else if i+1 < len(argv) {
						i++
						val = argv[i]
					} else {
						return nil, nil, fmt.Errorf("flag -%c needs a value", a[j])
					}
				}
				if err := f.apply(p, val); err != nil {
					return nil, nil, flagError(f, val, err)
				}
				if f.arg {
					break
				}
			}
		default:
			command = append(command, a)
		}
	}
	if err := p.finish(); err != nil {
		return nil, nil, err
	}
	return p.cfg, command, nil
}

func flagError(f *flagDef, val string, err error) error {
	if errors.Is(err, ErrHelp) {
		return err
	}
	if f.arg {
		return fmt.Errorf("--%s %q: %w", f.long, val, err)
	}
	return fmt.Errorf("--%s: %w", f.long, err)
}

func lookupLong(name string) (*flagDef, error) {
	var matches []*flagDef
	defs := flagDefs()
	for i := range defs {
		f := &defs[i]
		if f.long == "" {
			continue
		}
		if f.long == name {
			return f, nil
		}
		if strings.HasPrefix(f.long, name) && name != "" {
			matches = append(matches, f)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, fmt.Errorf("unknown flag --%s", name)
	}
	var names []string
	for _, m := range matches {
		names = append(names, "--"+m.long)
	}
	return nil, fmt.Errorf("ambiguous flag --%s: %s", name, strings.Join(names, ", "))
}

func lookupShort(c byte) *flagDef {
	defs := flagDefs()
	for i := range defs {
		if defs[i].short == c {
			return &defs[i]
		}
	}
	return nil
}

// finish turns the flag-only settings into config entries.
func (p *argParser) finish() error {
	c := p.cfg
	if p.rootRW && p.chroot == "" {
		return errors.New("--rw without --chroot: pycage's root tmpfs is always read-only; mount a writable tmpfs (-T) where the command writes")
	}
	if p.chroot != "" {
		root := &MountPt{
			Src:    proto.String(p.chroot),
			Dst:    proto.String("/"),
			IsBind: proto.Bool(true),
			Rw:     proto.Bool(p.rootRW),
			IsDir:  proto.Bool(true),
		}
		c.Mount = append([]*MountPt{root}, c.Mount...)
	}
	c.MountProc = proto.Bool(false)
	if p.procPath != "" {
		if p.procPath == "/proc" && !p.procRW {
			c.MountProc = proto.Bool(true)
		} else {
			c.Mount = append(c.Mount, &MountPt{
				Dst:    proto.String(p.procPath),
				Fstype: proto.String("proc"),
				Rw:     proto.Bool(p.procRW),
			})
		}
	}
	return nil
}

// keptIfUnset are the fields nsjail only applies when a config file sets
// them (the *_parent ones are ours: an unset parent keeps pycage's default).
var keptIfUnset = map[protoreflect.Name]bool{
	"log_fd": true, "log_file": true, "log_level": true,
	"seccomp_policy_file": true, "macvlan_iface": true, "oom_score_adj": true,
	"exec_bin": true, "user_net": true, "seccomp_unotify_report": true,
	"cgroup_mem_parent": true, "cgroup_pids_parent": true, "cgroup_cpu_parent": true,
}

// loadConfig applies a config file on top of what the flags so far set, as
// nsjail does: scalar fields take the file's value (its default when the
// file leaves it out), lists are appended.
func (p *argParser) loadConfig(file string) error {
	fc, err := Load(file)
	if err != nil {
		return err
	}
	if !fc.GetMountProc() {
		p.procPath = ""
	}
	d, s := p.cfg.ProtoReflect(), fc.ProtoReflect()
	fields := d.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		switch {
		case fd.Name() == "mount_proc":
			// Handled through procPath.
		case fd.IsList():
			if !s.Has(fd) {
				continue
			}
			dl, sl := d.Mutable(fd).List(), s.Get(fd).List()
			for j := 0; j < sl.Len(); j++ {
				dl.Append(sl.Get(j))
			}
		case keptIfUnset[fd.Name()]:
			if s.Has(fd) {
				d.Set(fd, s.Get(fd))
			}
		default:
			if s.Has(fd) {
				d.Set(fd, s.Get(fd))
			} else {
				d.Clear(fd)
			}
		}
	}
	return nil
}

// parseNum reads an unsigned number like strtoull(s, 0, 0): decimal, 0x
// hex or 0 octal.
func parseNum(s string, bitSize int) (uint64, error) {
	n, err := strconv.ParseUint(s, 0, bitSize)
	if err != nil {
		return 0, fmt.Errorf("not a number")
	}
	return n, nil
}

func setU32(dst **uint32) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		n, err := parseNum(v, 32)
		if err != nil {
			return err
		}
		*dst = proto.Uint32(uint32(n))
		return nil
	}
}

// cfgU32 and friends address a field of the parser's config.
func cfgU32(get func(*NsJailConfig) **uint32) func(*argParser, string) error {
	return func(p *argParser, v string) error { return setU32(get(p.cfg))(p, v) }
}

func cfgU64(get func(*NsJailConfig) **uint64) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		n, err := parseNum(v, 64)
		if err != nil {
			return err
		}
		*get(p.cfg) = proto.Uint64(n)
		return nil
	}
}

func cfgStr(get func(*NsJailConfig) **string) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		*get(p.cfg) = proto.String(v)
		return nil
	}
}

func cfgTrue(get func(*NsJailConfig) **bool) func(*argParser, string) error {
	return func(p *argParser, _ string) error {
		*get(p.cfg) = proto.Bool(true)
		return nil
	}
}

func cfgFalse(get func(*NsJailConfig) **bool) func(*argParser, string) error {
	return func(p *argParser, _ string) error {
		*get(p.cfg) = proto.Bool(false)
		return nil
	}
}

// rlimitFlag: a number (in the field's unit), or max/hard, def/soft, inf.
func rlimitFlag(val func(*NsJailConfig) **uint64, typ func(*NsJailConfig) **RLimit) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		t := RLimit_VALUE
		switch strings.ToLower(v) {
		case "inf":
			t = RLimit_INF
		case "def", "soft":
			t = RLimit_SOFT
		case "max", "hard":
			t = RLimit_HARD
		default:
			n, err := parseNum(v, 64)
			if err != nil {
				return errors.New("needs a number or max, hard, def, soft, inf")
			}
			*val(p.cfg) = proto.Uint64(n)
		}
		*typ(p.cfg) = t.Enum()
		return nil
	}
}

// idFlag: inside[:outside[:count]] for --user/--group (and -U/-G, which
// use new[ug]idmap).
func idFlag(group, newidmap bool) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		parts := strings.Split(v, ":")
		m := &IdMap{InsideId: proto.String(parts[0])}
		if len(parts) > 1 {
			m.OutsideId = proto.String(parts[1])
		}
		m.Count = proto.Uint32(1)
		if len(parts) > 2 && parts[2] != "" {
			n, err := parseNum(parts[2], 32)
			if err != nil {
				return fmt.Errorf("count: %w", err)
			}
			if n > 0 {
				m.Count = proto.Uint32(uint32(n))
			}
		}
		if newidmap {
			m.UseNewidmap = proto.Bool(true)
		}
		if group {
			p.cfg.Gidmap = append(p.cfg.Gidmap, m)
		} else {
			p.cfg.Uidmap = append(p.cfg.Uidmap, m)
		}
		return nil
	}
}

// bindFlag: src[:dst] for -R and -B.
func bindFlag(rw bool) func(*argParser, string) error {
	return func(p *argParser, v string) error {
		src, dst, _ := strings.Cut(v, ":")
		dst, _, _ = strings.Cut(dst, ":")
		if dst == "" {
			dst = src
		}
		p.cfg.Mount = append(p.cfg.Mount, &MountPt{
			Src: proto.String(src), Dst: proto.String(dst),
			IsBind: proto.Bool(true), Rw: proto.Bool(rw),
		})
		return nil
	}
}

// flagDefs is nsjail's flag table, built on first use: every pycage process
// (`pycage run` included) initialises this package, few parse nsjail flags.
var flagDefs = sync.OnceValue(func() []flagDef {
	c := func(f func(*NsJailConfig) **bool) func(*argParser, string) error { return cfgTrue(f) }
	defs := []flagDef{
		{"help", 'h', false, "this help", func(*argParser, string) error { return ErrHelp }},
		{"mode", 'M', true, "mode: o (once; the only one pycage runs), l (listen), r (rerun), e (execve)", func(p *argParser, v string) error {
			if v == "" {
				return errors.New("needs one of l, o, r, e")
			}
			switch v[0] {
			case 'l':
				p.cfg.Mode = Mode_LISTEN.Enum()
			case 'o':
				p.cfg.Mode = Mode_ONCE.Enum()
			case 'r':
				p.cfg.Mode = Mode_RERUN.Enum()
			case 'e':
				p.cfg.Mode = Mode_EXECVE.Enum()
			default:
				return errors.New("needs one of l, o, r, e")
			}
			return nil
		}},
		{"config", 'C', true, "config file (text or JSON); later flags override it", func(p *argParser, v string) error { return p.loadConfig(v) }},
		{"exec_file", 'x', true, "file to execute (default: the command's argv[0])", func(p *argParser, v string) error {
			if p.cfg.ExecBin == nil {
				p.cfg.ExecBin = &Exe{}
			}
			p.cfg.ExecBin.Path = proto.String(v)
			return nil
		}},
		{"execute_fd", 0, false, "execveat() a host fd (not supported)", func(p *argParser, _ string) error {
			if p.cfg.ExecBin == nil {
				p.cfg.ExecBin = &Exe{Path: proto.String("")}
			}
			p.cfg.ExecBin.ExecFd = proto.Bool(true)
			return nil
		}},
		{"chroot", 'c', true, "directory bound (read-only) as the jail's /", func(p *argParser, v string) error { p.chroot = v; return nil }},
		{"no_pivotroot", 0, false, "accepted; pycage always uses pivot_root", c(func(c *NsJailConfig) **bool { return &c.NoPivotroot })},
		{"rw", 0, false, "the --chroot mount is writable", func(p *argParser, _ string) error { p.rootRW = true; return nil }},
		{"user", 'u', true, "inside[:outside[:count]] uid map entry (names or numbers)", idFlag(false, false)},
		{"group", 'g', true, "inside[:outside[:count]] gid map entry (names or numbers)", idFlag(true, false)},
		{"hostname", 'H', true, "hostname (default: NSJAIL)", cfgStr(func(c *NsJailConfig) **string { return &c.Hostname })},
		{"cwd", 'D', true, "working directory in the jail (default: /)", cfgStr(func(c *NsJailConfig) **string { return &c.Cwd })},
		{"port", 'p', true, "TCP port; selects mode LISTEN (not supported)", func(p *argParser, v string) error {
			if err := setU32(&p.cfg.Port)(p, v); err != nil {
				return err
			}
			p.cfg.Mode = Mode_LISTEN.Enum()
			return nil
		}},
		{"bindhost", 0, true, "LISTEN mode only", cfgStr(func(c *NsJailConfig) **string { return &c.Bindhost })},
		{"max_conns", 0, true, "LISTEN mode only", cfgU32(func(c *NsJailConfig) **uint32 { return &c.MaxConns })},
		{"max_conns_per_ip", 'i', true, "LISTEN mode only", cfgU32(func(c *NsJailConfig) **uint32 { return &c.MaxConnsPerIp })},
		{"log", 'l', true, "nsjail's log file (accepted, pycage logs to stderr)", cfgStr(func(c *NsJailConfig) **string { return &c.LogFile })},
		{"log_fd", 'L', true, "nsjail's log fd (accepted)", func(p *argParser, v string) error {
			n, err := strconv.ParseInt(v, 0, 32)
			if err != nil {
				return errors.New("not a number")
			}
			p.cfg.LogFd = proto.Int32(int32(n))
			return nil
		}},
		{"time_limit", 't', true, "wall-clock limit in seconds (0: none, the default)", cfgU32(func(c *NsJailConfig) **uint32 { return &c.TimeLimit })},
		{"max_cpus", 0, true, "number of CPUs (0: no limit)", cfgU32(func(c *NsJailConfig) **uint32 { return &c.MaxCpus })},
		{"daemon", 'd', false, "not supported", c(func(c *NsJailConfig) **bool { return &c.Daemon })},
		{"verbose", 'v', false, "log level DEBUG", func(p *argParser, _ string) error { p.cfg.LogLevel = LogLevel_DEBUG.Enum(); return nil }},
		{"quiet", 'q', false, "log level WARNING", func(p *argParser, _ string) error { p.cfg.LogLevel = LogLevel_WARNING.Enum(); return nil }},
		{"really_quiet", 'Q', false, "log level FATAL", func(p *argParser, _ string) error { p.cfg.LogLevel = LogLevel_FATAL.Enum(); return nil }},
		{"keep_env", 'e', false, "pass the caller's environment", c(func(c *NsJailConfig) **bool { return &c.KeepEnv })},
		{"env", 'E', true, "K=V, or K for the caller's value", func(p *argParser, v string) error { p.cfg.Envar = append(p.cfg.Envar, v); return nil }},
		{"keep_caps", 0, false, "keep every capability", c(func(c *NsJailConfig) **bool { return &c.KeepCaps })},
		{"cap", 0, true, "keep this capability, e.g. CAP_NET_RAW", func(p *argParser, v string) error { p.cfg.Cap = append(p.cfg.Cap, v); return nil }},
		{"silent", 0, false, "stdin, stdout, stderr are /dev/null", c(func(c *NsJailConfig) **bool { return &c.Silent })},
		{"stderr_to_null", 0, false, "stderr is /dev/null", c(func(c *NsJailConfig) **bool { return &c.StderrToNull })},
		{"skip_setsid", 0, false, "no new session", c(func(c *NsJailConfig) **bool { return &c.SkipSetsid })},
		{"pass_fd", 0, true, "pass this fd into the jail", func(p *argParser, v string) error {
			n, err := strconv.ParseInt(v, 0, 32)
			if err != nil {
				return errors.New("not a number")
			}
			p.cfg.PassFd = append(p.cfg.PassFd, int32(n))
			return nil
		}},
		{"disable_no_new_privs", 0, false, "leave no_new_privs unset (unsafe)", c(func(c *NsJailConfig) **bool { return &c.DisableNoNewPrivs })},
		{"rlimit_as", 0, true, "RLIMIT_AS in MiB (default 4096)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitAs }, func(c *NsJailConfig) **RLimit { return &c.RlimitAsType })},
		{"rlimit_core", 0, true, "RLIMIT_CORE in MiB (default 0)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitCore }, func(c *NsJailConfig) **RLimit { return &c.RlimitCoreType })},
		{"rlimit_cpu", 0, true, "RLIMIT_CPU in seconds (default 600)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitCpu }, func(c *NsJailConfig) **RLimit { return &c.RlimitCpuType })},
		{"rlimit_fsize", 0, true, "RLIMIT_FSIZE in MiB (default 1)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitFsize }, func(c *NsJailConfig) **RLimit { return &c.RlimitFsizeType })},
		{"rlimit_nofile", 0, true, "RLIMIT_NOFILE (default 32)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitNofile }, func(c *NsJailConfig) **RLimit { return &c.RlimitNofileType })},
		{"rlimit_nproc", 0, true, "RLIMIT_NPROC (default soft)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitNproc }, func(c *NsJailConfig) **RLimit { return &c.RlimitNprocType })},
		{"rlimit_stack", 0, true, "RLIMIT_STACK in MiB (default soft)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitStack }, func(c *NsJailConfig) **RLimit { return &c.RlimitStackType })},
		{"rlimit_memlock", 0, true, "RLIMIT_MEMLOCK in KiB (default soft)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitMemlock }, func(c *NsJailConfig) **RLimit { return &c.RlimitMemlockType })},
		{"rlimit_rtprio", 0, true, "RLIMIT_RTPRIO (default soft)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitRtprio }, func(c *NsJailConfig) **RLimit { return &c.RlimitRtprioType })},
		{"rlimit_msgqueue", 0, true, "RLIMIT_MSGQUEUE in bytes (default soft)", rlimitFlag(func(c *NsJailConfig) **uint64 { return &c.RlimitMsgqueue }, func(c *NsJailConfig) **RLimit { return &c.RlimitMsgqueueType })},
		{"disable_rlimits", 0, false, "set no rlimit (inherit pycage's)", c(func(c *NsJailConfig) **bool { return &c.DisableRl })},
		{"persona_addr_compat_layout", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.PersonaAddrCompatLayout })},
		{"persona_mmap_page_zero", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.PersonaMmapPageZero })},
		{"persona_read_implies_exec", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.PersonaReadImpliesExec })},
		{"persona_addr_limit_3gb", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.PersonaAddrLimit_3Gb })},
		{"persona_addr_no_randomize", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.PersonaAddrNoRandomize })},
		{"disable_clone_newnet", 'N', false, "share the host's network", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewnet })},
		{"disable_clone_newuser", 0, false, "no user namespace (needs root)", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewuser })},
		{"disable_clone_newns", 0, false, "no mount namespace", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewns })},
		{"disable_clone_newpid", 0, false, "no pid namespace", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewpid })},
		{"disable_clone_newipc", 0, false, "no IPC namespace", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewipc })},
		{"disable_clone_newuts", 0, false, "no UTS namespace", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewuts })},
		{"disable_clone_newcgroup", 0, false, "no cgroup namespace", cfgFalse(func(c *NsJailConfig) **bool { return &c.CloneNewcgroup })},
		{"enable_clone_newtime", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.CloneNewtime })},
		{"uid_mapping", 'U', true, "uid map entry written by newuidmap (not supported)", idFlag(false, true)},
		{"gid_mapping", 'G', true, "gid map entry written by newgidmap (not supported)", idFlag(true, true)},
		{"bindmount_ro", 'R', true, "src[:dst] read-only bind mount", bindFlag(false)},
		{"bindmount", 'B', true, "src[:dst] writable bind mount", bindFlag(true)},
		{"tmpfsmount", 'T', true, "dst: a 4 MiB tmpfs", func(p *argParser, v string) error {
			p.cfg.Mount = append(p.cfg.Mount, &MountPt{
				Dst: proto.String(v), Fstype: proto.String("tmpfs"),
				Options: proto.String("size=4194304"), Rw: proto.Bool(true), IsDir: proto.Bool(true),
			})
			return nil
		}},
		{"mount", 'm', true, "src:dst:fstype:options", func(p *argParser, v string) error {
			parts := strings.Split(v, ":")
			get := func(i int) string {
				if i < len(parts) {
					return parts[i]
				}
				return ""
			}
			src, dst, fstype := get(0), get(1), get(2)
			if dst == "" {
				dst = src
			}
			opts := ""
			if len(parts) > 3 {
				opts = strings.Join(parts[3:], ":")
			}
			p.cfg.Mount = append(p.cfg.Mount, &MountPt{
				Src: proto.String(src), Dst: proto.String(dst), Fstype: proto.String(fstype),
				Options: proto.String(opts), Rw: proto.Bool(true),
			})
			return nil
		}},
		{"symlink", 's', true, "src:dst symlink (dst points to src)", func(p *argParser, v string) error {
			src, dst, _ := strings.Cut(v, ":")
			dst, _, _ = strings.Cut(dst, ":")
			p.cfg.Mount = append(p.cfg.Mount, &MountPt{
				Src: proto.String(src), Dst: proto.String(dst),
				IsSymlink: proto.Bool(true), IsDir: proto.Bool(false),
			})
			return nil
		}},
		{"disable_proc", 0, false, "no /proc", func(p *argParser, _ string) error { p.procPath = ""; return nil }},
		{"proc_path", 0, true, "where /proc is mounted (default /proc)", func(p *argParser, v string) error { p.procPath = v; return nil }},
		{"proc_rw", 0, false, "a writable /proc", func(p *argParser, _ string) error { p.procRW = true; return nil }},
		{"seccomp_policy", 'P', true, "kafel policy file", cfgStr(func(c *NsJailConfig) **string { return &c.SeccompPolicyFile })},
		{"seccomp_string", 0, true, "kafel policy text", func(p *argParser, v string) error { p.cfg.SeccompString = []string{v}; return nil }},
		{"seccomp_log", 0, false, "log refused syscalls", c(func(c *NsJailConfig) **bool { return &c.SeccompLog })},
		{"nice_level", 0, true, "niceness of the command (0..19; default 19)", func(p *argParser, v string) error {
			n, err := strconv.ParseInt(v, 0, 32)
			if err != nil {
				return errors.New("not a number")
			}
			p.cfg.NiceLevel = proto.Int32(int32(n))
			return nil
		}},
		{"cgroup_mem_max", 0, true, "memory limit in bytes (0: none)", cfgU64(func(c *NsJailConfig) **uint64 { return &c.CgroupMemMax })},
		{"cgroup_mem_memsw_max", 0, true, "memory+swap limit in bytes", cfgU64(func(c *NsJailConfig) **uint64 { return &c.CgroupMemMemswMax })},
		{"cgroup_mem_swap_max", 0, true, "swap limit in bytes (-1: not set)", func(p *argParser, v string) error {
			n, err := strconv.ParseInt(v, 0, 64)
			if err != nil {
				return errors.New("not a number")
			}
			p.cfg.CgroupMemSwapMax = proto.Int64(n)
			return nil
		}},
		{"cgroup_mem_mount", 0, true, "accepted; pycage finds the controller", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupMemMount })},
		{"cgroup_mem_parent", 0, true, "parent cgroup (pycage creates it)", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupMemParent })},
		{"cgroup_pids_max", 0, true, "task limit (0: none)", cfgU64(func(c *NsJailConfig) **uint64 { return &c.CgroupPidsMax })},
		{"cgroup_pids_mount", 0, true, "accepted; pycage finds the controller", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupPidsMount })},
		{"cgroup_pids_parent", 0, true, "parent cgroup (pycage creates it)", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupPidsParent })},
		{"cgroup_net_cls_classid", 0, true, "not supported", cfgU32(func(c *NsJailConfig) **uint32 { return &c.CgroupNetClsClassid })},
		{"cgroup_net_cls_mount", 0, true, "accepted", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupNetClsMount })},
		{"cgroup_net_cls_parent", 0, true, "accepted", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupNetClsParent })},
		{"cgroup_cpu_ms_per_sec", 0, true, "CPU ms per second (0: no limit)", cfgU32(func(c *NsJailConfig) **uint32 { return &c.CgroupCpuMsPerSec })},
		{"cgroup_cpu_mount", 0, true, "accepted; pycage finds the controller", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupCpuMount })},
		{"cgroup_cpu_parent", 0, true, "parent cgroup (pycage creates it)", cfgStr(func(c *NsJailConfig) **string { return &c.CgroupCpuParent })},
		{"cgroupv2_mount", 0, true, "accepted; pycage detects v1/v2", cfgStr(func(c *NsJailConfig) **string { return &c.Cgroupv2Mount })},
		{"use_cgroupv2", 0, false, "accepted; pycage detects v1/v2", c(func(c *NsJailConfig) **bool { return &c.UseCgroupv2 })},
		{"detect_cgroupv2", 0, false, "accepted; pycage detects v1/v2", c(func(c *NsJailConfig) **bool { return &c.DetectCgroupv2 })},
		{"iface_no_lo", 0, false, "no loopback interface", c(func(c *NsJailConfig) **bool { return &c.IfaceNoLo })},
		{"iface_own", 0, true, "not supported", func(p *argParser, v string) error { p.cfg.IfaceOwn = append(p.cfg.IfaceOwn, v); return nil }},
		{"macvlan_iface", 'I', true, "not supported", cfgStr(func(c *NsJailConfig) **string { return &c.MacvlanIface })},
		{"macvlan_vs_ip", 0, true, "MACVLAN only", cfgStr(func(c *NsJailConfig) **string { return &c.MacvlanVsIp })},
		{"macvlan_vs_nm", 0, true, "MACVLAN only", cfgStr(func(c *NsJailConfig) **string { return &c.MacvlanVsNm })},
		{"macvlan_vs_gw", 0, true, "MACVLAN only", cfgStr(func(c *NsJailConfig) **string { return &c.MacvlanVsGw })},
		{"macvlan_vs_ma", 0, true, "MACVLAN only", cfgStr(func(c *NsJailConfig) **string { return &c.MacvlanVsMa })},
		{"macvlan_vs_mo", 0, true, "MACVLAN only", func(p *argParser, v string) error {
			switch strings.ToLower(v) {
			case "private", "vepa", "bridge", "passthru":
			default:
				return errors.New("needs private, vepa, bridge or passthru")
			}
			p.cfg.MacvlanVsMo = proto.String(v)
			return nil
		}},
		{"disable_tsc", 0, false, "not supported", c(func(c *NsJailConfig) **bool { return &c.DisableTsc })},
		{"forward_signals", 0, false, "accepted; pycage's init relays signals", c(func(c *NsJailConfig) **bool { return &c.ForwardSignals })},
	}
	// getopt's "-?" is help too.
	return append(defs, flagDef{"", '?', false, "this help", func(*argParser, string) error { return ErrHelp }})
})

// Usage writes the list of nsjail flags ParseArgs understands.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "nsjail-compatible flags ([flags] -- command [args]); see docs/nsjail-compat.md:")
	defs := append([]flagDef(nil), flagDefs()...)
	sort.SliceStable(defs, func(i, j int) bool { return defs[i].long < defs[j].long })
	for _, f := range defs {
		if f.long == "" {
			continue
		}
		name := "--" + f.long
		if f.short != 0 {
			name += "|-" + string(f.short)
		}
		if f.arg {
			name += " VALUE"
		}
		fmt.Fprintf(w, "  %-34s %s\n", name, f.help)
	}
}
