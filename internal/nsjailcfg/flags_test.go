package nsjailcfg

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/jail"
)

func writeCfg(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sandbox.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func parseArgsSpec(t *testing.T, argv ...string) (*jail.Spec, *NsJailConfig, []string) {
	t.Helper()
	cfg, cmd, err := ParseArgs(argv)
	if err != nil {
		t.Fatalf("ParseArgs(%q): %v", argv, err)
	}
	spec, err := ToSpec(cfg, cmd)
	if err != nil {
		t.Fatalf("ToSpec(%q): %v", argv, err)
	}
	return spec, cfg, cmd
}

func TestSeedCommandLine(t *testing.T) {
	needHostPython(t)
	dir, _ := filepath.Abs(examples)
	t.Setenv("PWD", dir)
	spec, _, cmd := parseArgsSpec(t, "--config", filepath.Join(examples, "seed.cfg"), "--", "python", "-Su", "./hello.py")
	if !reflect.DeepEqual(cmd, []string{"python", "-Su", "./hello.py"}) {
		t.Errorf("command %q", cmd)
	}
	// The config's values, not the command line's defaults.
	if spec.Limits.Wall != 6*time.Second || spec.Proc || spec.Hostname != "sandbox" || len(spec.Mounts) != 11 {
		t.Errorf("spec %+v", spec)
	}
}

func TestCommandLineDefaults(t *testing.T) {
	stubHost(t)
	spec, _, cmd := parseArgsSpec(t, "--", "/bin/sh", "-c", "echo hi")
	if !reflect.DeepEqual(cmd, []string{"/bin/sh", "-c", "echo hi"}) {
		t.Errorf("command %q", cmd)
	}
	// nsjail's command line: no time limit and /proc mounted.
	if spec.Limits.Wall != 0 || !spec.Proc || spec.Hostname != "NSJAIL" || spec.Cwd != "/" || spec.Net != jail.NetLoopback {
		t.Errorf("spec %+v", spec)
	}
}

func TestFlagForms(t *testing.T) {
	stubHost(t)
	t.Setenv("FROMHOST", "v")
	spec, cfg, cmd := parseArgsSpec(t,
		"-Mo", "-H", "host", "--cwd=/tmp", "-Nq", "--time_limit", "7", "--max_cpus=2",
		"-u", "65534", "-u", "1:2:3", "-g", "65534:65534", "-E", "A=1", "--env=FROMHOST", "-e",
		"-R", "/usr", "-R", "/usr/lib:/lib", "-B", "/tmp:/work", "-T", "/scratch",
		"-m", "none:/dev/shm:tmpfs:size=1m,mode=1777", "-m", "/etc:/x:bind:a:b", "-s", "/usr/bin:/bin",
		"--rlimit_as", "max", "--rlimit_cpu=soft", "--rlimit_fsize", "inf", "--rlimit_nofile", "0x40",
		"--rlimit_stack", "def", "--rlimit_core", "hard", "--rlimit_memlock", "16",
		"--cgroup_mem_max", "1048576", "--cgroup_pids_max=10", "--cgroup_cpu_ms_per_sec", "500",
		"--cgroup_mem_swap_max", "0", "--cap", "CAP_NET_RAW", "--pass_fd", "4", "--skip_setsid",
		"--seccomp_string", "ALLOW { read } DEFAULT KILL", "--seccomp_log",
		"--disable_clone_newipc", "--disable_clone_newcgroup", "--iface_no_lo",
		"--disable_proc", "--verb", // unique prefix of --verbose
		"python", "--", "-c", "print(1)") // operands before "--" come first, as with getopt
	if !reflect.DeepEqual(cmd, []string{"python", "-c", "print(1)"}) {
		t.Errorf("command %q", cmd)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("the engine rejects the Spec: %v", err)
	}
	if cfg.GetMode() != Mode_ONCE || cfg.GetLogLevel() != LogLevel_DEBUG {
		t.Errorf("mode %v log level %v", cfg.GetMode(), cfg.GetLogLevel())
	}
	if spec.Hostname != "host" || spec.Cwd != "/tmp" || spec.Limits.Wall != 7*time.Second || spec.Limits.MaxCPUs != 2 {
		t.Errorf("basics %+v", spec)
	}
	if spec.Namespaces.Net || spec.Namespaces.IPC || spec.Namespaces.Cgroup || !spec.Namespaces.PID || spec.Net != jail.NetNone || spec.Proc {
		t.Errorf("namespaces %+v net %q proc %v", spec.Namespaces, spec.Net, spec.Proc)
	}
	wantU := []jail.IDMap{{Inside: 65534, Outside: 1234, Count: 1}, {Inside: 1, Outside: 2, Count: 3}}
	if !reflect.DeepEqual(spec.UIDMap, wantU) || !reflect.DeepEqual(spec.GIDMap, []jail.IDMap{{Inside: 65534, Outside: 65534, Count: 1}}) {
		t.Errorf("maps %v %v", spec.UIDMap, spec.GIDMap)
	}
	if !reflect.DeepEqual(spec.Env, []string{"HOSTVAR=h", "LANG=host", "A=1", "FROMHOST=v"}) {
		t.Errorf("env %q", spec.Env)
	}
	f := false
	tr := true
	want := []jail.Mount{
		{Kind: jail.MountBind, Src: "/usr", Dst: "/usr", Mandatory: true},
		{Kind: jail.MountBind, Src: "/usr/lib", Dst: "/lib", Mandatory: true},
		{Kind: jail.MountBind, Src: "/tmp", Dst: "/work", RW: true, Mandatory: true},
		{Kind: jail.MountTmpfs, Dst: "/scratch", RW: true, Mandatory: true, IsDir: &tr, Size: 4 << 20, Owned: true},
		{Kind: jail.MountTmpfs, Dst: "/dev/shm", RW: true, Mandatory: true, Size: 1 << 20, Mode: 0o1777, Owned: true},
		{Kind: jail.MountOther, Src: "/etc", Dst: "/x", FSType: "bind", Options: "a:b", RW: true, Mandatory: true},
		{Kind: jail.MountSymlink, Src: "/usr/bin", Dst: "/bin", Mandatory: true, IsDir: &f},
	}
	if !reflect.DeepEqual(spec.Mounts, want) {
		for i, m := range spec.Mounts {
			t.Logf("mount %d: %+v", i, m)
		}
		t.Error("mounts differ")
	}
	rl := map[string]uint64{}
	for _, r := range spec.Limits.Rlimits {
		rl[r.Resource] = r.Soft
	}
	wantRl := map[string]uint64{"as": 2009, "cpu": 1000, "fsize": jail.RlimInfinity, "nofile": 64, "stack": 1003,
		"core": 2004, "memlock": 16 << 10, "nproc": 1006, "rtprio": 1014, "msgqueue": 1012}
	if !reflect.DeepEqual(rl, wantRl) {
		t.Errorf("rlimits %v want %v", rl, wantRl)
	}
	if spec.Limits.Memory != 1<<20 || spec.Limits.MemorySwap != 0 || spec.Limits.Pids != 10 || spec.Limits.CPUMsPerSec != 500 {
		t.Errorf("limits %+v", spec.Limits)
	}
	if !reflect.DeepEqual(spec.KeepCaps, []string{"CAP_NET_RAW"}) || !reflect.DeepEqual(spec.PassFDs, []int{4}) || !spec.SkipSetsid {
		t.Errorf("process %+v", spec)
	}
	if spec.Seccomp.Policy != "ALLOW { read } DEFAULT KILL\n" || !spec.Seccomp.Log {
		t.Errorf("seccomp %+v", spec.Seccomp)
	}
}

// nsjail applies flags in order: a config replaces what earlier flags set
// (with its defaults for fields it leaves out) and later flags override it.
func TestConfigAndFlagOrder(t *testing.T) {
	stubHost(t)
	withTL := writeCfg(t, "time_limit: 6\nhostname: \"cfg\"\nmount_proc: true\nenvar: \"C=1\"\n"+
		"mount { dst: \"/t\" fstype: \"tmpfs\" }\nrlimit_as: 100\ncgroup_pids_parent: \"P\"\n")
	noTL := writeCfg(t, "hostname: \"cfg\"\n")

	s, _, _ := parseArgsSpec(t, "-C", withTL, "--time_limit", "3", "-H", "flag", "--", "x")
	if s.Limits.Wall != 3*time.Second || s.Hostname != "flag" {
		t.Errorf("flags after the config: wall %v hostname %q", s.Limits.Wall, s.Hostname)
	}
	s, _, _ = parseArgsSpec(t, "--time_limit", "3", "-H", "flag", "--config", withTL, "--", "x")
	if s.Limits.Wall != 6*time.Second || s.Hostname != "cfg" {
		t.Errorf("flags before the config: wall %v hostname %q", s.Limits.Wall, s.Hostname)
	}
	// A field the config leaves out takes nsjail's config default.
	s, _, _ = parseArgsSpec(t, "--time_limit", "3", "--rlimit_as", "7", "-C", noTL, "--", "x")
	if s.Limits.Wall != 600*time.Second || s.Limits.Rlimits[0].Soft != 4096<<20 || s.Proc {
		t.Errorf("config defaults: wall %v as %d proc %v", s.Limits.Wall, s.Limits.Rlimits[0].Soft, s.Proc)
	}
	// Lists are appended in order; the config's mount_proc decides /proc.
	s, _, _ = parseArgsSpec(t, "-E", "A=1", "-T", "/a", "--config="+withTL, "-E", "B=2", "-T", "/b", "x")
	if !reflect.DeepEqual(s.Env, []string{"A=1", "C=1", "B=2"}) {
		t.Errorf("env %q", s.Env)
	}
	var dsts []string
	for _, m := range s.Mounts {
		dsts = append(dsts, m.Dst)
	}
	if !reflect.DeepEqual(dsts, []string{"/a", "/t", "/b"}) || !s.Proc {
		t.Errorf("mounts %q proc %v", dsts, s.Proc)
	}
	if s.Cgroup.Parent != "/P" {
		t.Errorf("parent %q", s.Cgroup.Parent)
	}
	// --disable_proc after the config wins; a parent set by a flag survives a
	// config that does not set one.
	s, _, _ = parseArgsSpec(t, "--cgroup_mem_parent", "Q", "-C", noTL, "--disable_proc", "x")
	if s.Proc || s.Cgroup.Parent != "/Q" {
		t.Errorf("proc %v parent %q", s.Proc, s.Cgroup.Parent)
	}
	// A bad config file is reported with its position.
	bad := writeCfg(t, "hostname: \"h\"\nfoo: 1\n")
	if _, _, err := ParseArgs([]string{"-C", bad, "--", "x"}); err == nil || !strings.Contains(err.Error(), bad+":2:1: unknown field: foo") {
		t.Errorf("bad config: %v", err)
	}
}

func TestFlagOnlySettings(t *testing.T) {
	stubHost(t)
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "bin"), 0o755)
	os.WriteFile(filepath.Join(root, "f"), nil, 0o644)
	os.Symlink("usr/lib", filepath.Join(root, "lib"))
	s, cfg, _ := parseArgsSpec(t, "--chroot", root, "--rw", "-R", "/usr", "--proc_path", "/p", "--proc_rw", "-x", "/bin/busybox", "--", "sh", "-c", "x")
	if m := cfg.GetMount()[0]; m.GetSrc() != root || m.GetDst() != "/" || !m.GetIsBind() || !m.GetRw() {
		t.Errorf("chroot entry %v", m)
	}
	// The bind at "/" shows the directory's entries on pycage's root.
	tr, f := true, false
	want := []jail.Mount{
		{Kind: jail.MountBind, Src: root + "/bin", Dst: "/bin", RW: true, Mandatory: true, IsDir: &tr},
		{Kind: jail.MountBind, Src: root + "/f", Dst: "/f", RW: true, Mandatory: true, IsDir: &f},
		{Kind: jail.MountSymlink, Src: "usr/lib", Dst: "/lib", Mandatory: true},
		{Kind: jail.MountBind, Src: "/usr", Dst: "/usr", Mandatory: true},
	}
	if !reflect.DeepEqual(s.Mounts[:4], want) {
		for i, m := range s.Mounts {
			t.Logf("mount %d: %+v", i, m)
		}
		t.Error("chroot mounts differ")
	}
	if m := s.Mounts[len(s.Mounts)-1]; !reflect.DeepEqual(m, jail.Mount{Kind: jail.MountProc, Dst: "/p", RW: true, Mandatory: true}) || s.Proc {
		t.Errorf("proc mount %+v proc %v", m, s.Proc)
	}
	if s.ExecPath != "/bin/busybox" || !reflect.DeepEqual(s.Args, []string{"sh", "-c", "x"}) {
		t.Errorf("exec %q %q", s.ExecPath, s.Args)
	}
	if _, _, err := ParseArgs([]string{"--rw", "--", "x"}); err == nil || !strings.Contains(err.Error(), "--rw without --chroot") {
		t.Errorf("--rw alone: %v", err)
	}
	// A root that is not a directory, or not a bind, is an error.
	for _, argv := range [][]string{{"-c", "/etc/passwd", "--", "x"}, {"-m", "none:/:tmpfs", "--", "x"}, {"-c", "/nonexistent", "--", "x"}} {
		cfg, cmd, err := ParseArgs(argv)
		if err == nil {
			_, err = ToSpec(cfg, cmd)
		}
		if err == nil || !strings.Contains(err.Error(), "-> /:") && !strings.Contains(err.Error(), "mount /:") {
			t.Errorf("%q: %v", argv, err)
		}
	}
}

// As with nsjail's getopt, flags after the first operand are still flags:
// a command with options needs "--".
func TestOperandsAndFlagsMix(t *testing.T) {
	cfg, cmd, err := ParseArgs([]string{"python", "-H", "h", "x.py"})
	if err != nil || !reflect.DeepEqual(cmd, []string{"python", "x.py"}) || cfg.GetHostname() != "h" {
		t.Errorf("cmd %q hostname %q err %v", cmd, cfg.GetHostname(), err)
	}
	_, cmd, err = ParseArgs([]string{"--", "python", "-H", "h"})
	if err != nil || !reflect.DeepEqual(cmd, []string{"python", "-H", "h"}) {
		t.Errorf("cmd %q err %v", cmd, err)
	}
	// A lone "-" is an operand.
	_, cmd, _ = ParseArgs([]string{"python", "-"})
	if !reflect.DeepEqual(cmd, []string{"python", "-"}) {
		t.Errorf("cmd %q", cmd)
	}
}

func TestRelativeBindSource(t *testing.T) {
	wd, _ := os.Getwd()
	s, _, _ := parseArgsSpec(t, "-R", ".:/here", "--", "x")
	if s.Mounts[0].Src != wd || s.Mounts[0].Dst != "/here" {
		t.Errorf("mount %+v, want %s -> /here", s.Mounts[0], wd)
	}
}

func TestFlagErrors(t *testing.T) {
	cases := map[string][]string{
		"unknown flag --bogus":                  {"--bogus", "--", "x"},
		"unknown flag -Z":                       {"-Z"},
		"ambiguous flag --cgroup_mem":           {"--cgroup_mem", "1"},
		"flag --time_limit needs a value":       {"--time_limit"},
		"flag -t needs a value":                 {"-t"},
		"flag --keep_env takes no value":        {"--keep_env=yes"},
		"--time_limit \"abc\": not a number":    {"--time_limit", "abc"},
		"--rlimit_as \"lots\": needs a number":  {"--rlimit_as", "lots"},
		"--mode \"x\": needs one of l, o, r, e": {"-M", "x"},
		"--macvlan_vs_mo \"odd\"":               {"--macvlan_vs_mo", "odd"},
		"--config":                              {"-C", "/nonexistent/sandbox.cfg"},
	}
	for want, argv := range cases {
		_, _, err := ParseArgs(argv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", argv, err, want)
		}
	}
	for _, h := range [][]string{{"-h"}, {"--help"}, {"-?"}, {"--he"}} {
		if _, _, err := ParseArgs(h); !errors.Is(err, ErrHelp) {
			t.Errorf("%q: %v, want ErrHelp", h, err)
		}
	}
	var b bytes.Buffer
	Usage(&b)
	for _, w := range []string{"--config|-C VALUE", "--bindmount_ro|-R VALUE", "--disable_proc", "--iface_no_lo"} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("usage lacks %q", w)
		}
	}
}

// Flags for features pycage lacks parse, and ToSpec names the field.
func TestUnsupportedFlagsFail(t *testing.T) {
	stubHost(t)
	cases := map[string][]string{
		"mode":                      {"-Ml"},
		"daemon":                    {"-d"},
		"clone_newtime":             {"--enable_clone_newtime"},
		"persona_addr_no_randomize": {"--persona_addr_no_randomize"},
		"uidmap[0].use_newidmap":    {"-U", "0:100000:65536"},
		"gidmap[0].use_newidmap":    {"-G", "0:100000:65536"},
		"macvlan_iface":             {"-I", "eth0"},
		"iface_own":                 {"--iface_own", "eth0"},
		"cgroup_net_cls_classid":    {"--cgroup_net_cls_classid", "3"},
		"disable_tsc":               {"--disable_tsc"},
		"exec_bin.exec_fd":          {"-x", "/bin/true", "--execute_fd"},
	}
	for field, argv := range cases {
		cfg, cmd, err := ParseArgs(append(argv, "--", "/bin/true"))
		if err != nil {
			t.Errorf("%q: ParseArgs: %v", argv, err)
			continue
		}
		_, err = ToSpec(cfg, cmd)
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%q: error %v, want one naming %s", argv, err, field)
		}
	}
	// --port selects LISTEN, as in nsjail.
	cfg, _, _ := ParseArgs([]string{"--port", "9000"})
	if cfg.GetMode() != Mode_LISTEN || cfg.GetPort() != 9000 {
		t.Errorf("--port: mode %v port %d", cfg.GetMode(), cfg.GetPort())
	}
}
