package nsjailcfg

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/pycage/pycage/internal/jail"
)

const examples = "../../examples"

// stubHost replaces the host hooks for one test.
func stubHost(t *testing.T) {
	t.Helper()
	oldR, oldU, oldG, oldE := getrlimit, getuid, getgid, environ
	t.Cleanup(func() { getrlimit, getuid, getgid, environ = oldR, oldU, oldG, oldE })
	getrlimit = func(res int) (uint64, uint64, error) { return 1000 + uint64(res), 2000 + uint64(res), nil }
	getuid = func() int { return 1234 }
	getgid = func() int { return 4321 }
	environ = func() []string { return []string{"HOSTVAR=h", "LANG=host"} }
}

// needHostPython skips tests of the example configs, which are written for
// a Debian 12 host with python3.11.
func needHostPython(t *testing.T) {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3.11", "/usr/local/lib", "/lib64"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("the example configs are for a Debian 12 host: %v", err)
		}
	}
}

func rlim(res string, v uint64) jail.Rlimit { return jail.Rlimit{Resource: res, Soft: v, Hard: v} }

func mustParse(t *testing.T, text string) *NsJailConfig {
	t.Helper()
	cfg, err := Parse("test.cfg", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func mustSpec(t *testing.T, text string, args ...string) *jail.Spec {
	t.Helper()
	if len(args) == 0 {
		args = []string{"/bin/true"}
	}
	spec, err := ToSpec(mustParse(t, text), args)
	if err != nil {
		t.Fatalf("ToSpec: %v", err)
	}
	return spec
}

func TestParseAllExamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(examples, "*.cfg"))
	if len(files) < 3 {
		t.Fatalf("expected the example configs, found %v", files)
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestSeedVerbatimFailsOnMissingMandatorySource(t *testing.T) {
	if _, err := os.Stat("/usr/bin/python3.8"); err == nil {
		t.Skip("this host has /usr/bin/python3.8")
	}
	cfg, err := Load(filepath.Join(examples, "seed-verbatim.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = ToSpec(cfg, []string{"python", "-Su", "./hello.py"})
	if err == nil {
		t.Fatal("ToSpec accepted binds of sources that do not exist")
	}
	want := "mount /usr/bin/python3.8 -> /usr/local/bin/python3.8: source does not exist"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	var me *MountError
	if !errors.As(err, &me) {
		t.Errorf("error %v is not a *MountError", err)
	}
}

func TestSeedMapsOntoSpec(t *testing.T) {
	needHostPython(t)
	stubHost(t)
	dir, _ := filepath.Abs(examples)
	t.Setenv("PWD", dir)
	cfg, err := Load(filepath.Join(examples, "seed.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ToSpec(cfg, []string{"python", "-Su", "./hello.py"})
	if err != nil {
		t.Fatalf("ToSpec(seed.cfg): %v", err)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("the engine rejects the seed's Spec: %v", err)
	}
	if got := spec.Args; !reflect.DeepEqual(got, []string{"python", "-Su", "./hello.py"}) || spec.ExecPath != "" {
		t.Errorf("Args %q ExecPath %q", got, spec.ExecPath)
	}
	if spec.Hostname != "sandbox" || spec.Cwd != "/sandbox" {
		t.Errorf("hostname %q cwd %q", spec.Hostname, spec.Cwd)
	}
	if spec.Limits.Wall != 6*time.Second {
		t.Errorf("Wall = %v", spec.Limits.Wall)
	}
	wantEnv := []string{"LANG=C.UTF-8", "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1",
		"VECLIB_MAXIMUM_THREADS=1", "NUMEXPR_NUM_THREADS=1", "PYTHONPATH=/usr/lib/python3/dist-packages",
		"PYTHONIOENCODING=utf-8:strict"}
	if !reflect.DeepEqual(spec.Env, wantEnv) {
		t.Errorf("Env = %q", spec.Env)
	}
	if spec.UID != 65534 || spec.GID != 65534 ||
		!reflect.DeepEqual(spec.UIDMap, []jail.IDMap{{Inside: 65534, Outside: 65534, Count: 1}}) ||
		!reflect.DeepEqual(spec.GIDMap, []jail.IDMap{{Inside: 65534, Outside: 65534, Count: 1}}) {
		t.Errorf("ids: %d %d %v %v", spec.UID, spec.GID, spec.UIDMap, spec.GIDMap)
	}
	all := jail.Namespaces{User: true, Mount: true, PID: true, Net: true, IPC: true, UTS: true, Cgroup: true}
	if spec.Namespaces != all || spec.Net != jail.NetNone || spec.Proc || spec.Dev {
		t.Errorf("namespaces %+v net %q proc %v dev %v", spec.Namespaces, spec.Net, spec.Proc, spec.Dev)
	}
	if len(spec.Mounts) != 11 {
		t.Fatalf("%d mounts, want 11: %+v", len(spec.Mounts), spec.Mounts)
	}
	for _, m := range spec.Mounts {
		if m.Kind != jail.MountBind || m.RW || !m.Mandatory {
			t.Errorf("mount %+v: want a mandatory read-only bind", m)
		}
	}
	if m := spec.Mounts[3]; m.Src != dir || m.Dst != "/sandbox" {
		t.Errorf("sandbox mount %q -> %q, want %q -> /sandbox", m.Src, m.Dst, dir)
	}
	if m := spec.Mounts[8]; m.Src != "/usr/bin/python3.11" || m.Dst != "/usr/local/bin/python3.11" {
		t.Errorf("python mount %q -> %q", m.Src, m.Dst)
	}
	if spec.Limits.Memory != 52428800 || spec.Limits.MemorySwap != 0 || spec.Limits.Pids != 1 {
		t.Errorf("limits %+v", spec.Limits)
	}
	rl := map[string]uint64{}
	for _, r := range spec.Limits.Rlimits {
		if r.Soft != r.Hard {
			t.Errorf("rlimit %s: soft %d != hard %d", r.Resource, r.Soft, r.Hard)
		}
		rl[r.Resource] = r.Soft
	}
	wantRl := map[string]uint64{
		"as": 700 << 20, "core": 0, "cpu": 600, "fsize": 1 << 20, "nofile": 32,
		"nproc": 1000 + 6, "stack": 1000 + 3, "memlock": 1000 + 8, "rtprio": 1000 + 14, "msgqueue": 1000 + 12,
	}
	if !reflect.DeepEqual(rl, wantRl) {
		t.Errorf("rlimits %v, want %v", rl, wantRl)
	}
	if spec.Seccomp == nil || spec.Seccomp.Policy != "" {
		t.Errorf("Seccomp = %+v, want pycage's default policy", spec.Seccomp)
	}
	if spec.KeepCaps != nil || spec.Cgroup.Parent != "" || spec.DisableNoNewPrivs || spec.SkipSetsid {
		t.Errorf("unexpected extras: %+v", spec)
	}
}

func TestSnekboxExample(t *testing.T) {
	needHostPython(t)
	cfg, err := Load(filepath.Join(examples, "snekbox.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ToSpec(cfg, nil)
	if err != nil {
		t.Fatalf("ToSpec(snekbox.cfg): %v", err)
	}
	if err := spec.Validate(); err != nil {
		t.Errorf("the engine rejects the snekbox Spec: %v", err)
	}
	if !reflect.DeepEqual(spec.Args, []string{"/usr/local/bin/python", "-BSqu"}) || spec.ExecPath != "/usr/local/bin/python" {
		t.Errorf("Args %q ExecPath %q", spec.Args, spec.ExecPath)
	}
	var tmpfs []jail.Mount
	for _, m := range spec.Mounts {
		if m.Kind == jail.MountTmpfs {
			tmpfs = append(tmpfs, m)
		}
	}
	if len(tmpfs) != 3 || tmpfs[0].Dst != "/home" || tmpfs[0].Size != 32<<20 || tmpfs[0].Mode != 0o700 ||
		!tmpfs[0].RW || !tmpfs[0].Owned || !tmpfs[0].NoSuid || !tmpfs[0].NoDev {
		t.Errorf("tmpfs mounts %+v", tmpfs)
	}
	if spec.Limits.MemorySwap != 0 || spec.Limits.Memory != 52428800 || spec.Limits.Pids != 6 {
		t.Errorf("limits %+v", spec.Limits)
	}
	// A command after "--" only supplies argv: exec_bin.path is executed.
	spec, err = ToSpec(cfg, []string{"python", "-c", "print(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.ExecPath != "/usr/local/bin/python" || spec.Args[0] != "python" {
		t.Errorf("Args %q ExecPath %q", spec.Args, spec.ExecPath)
	}
}

func TestUnknownFieldHasPosition(t *testing.T) {
	_, err := Parse("sandbox.cfg", []byte("name: \"x\"\nmount {\n  dst: \"/a\"\n  bogus: true\n}\n"))
	if err == nil {
		t.Fatal("unknown field accepted")
	}
	if !strings.HasPrefix(err.Error(), "sandbox.cfg:4:3: ") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("error %q: want sandbox.cfg:4:3: ... bogus", err)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Line != 4 || pe.Column != 3 {
		t.Errorf("ParseError %+v", pe)
	}

	_, err = Parse("sandbox.json", []byte("{\n  \"name\": \"x\",\n  \"bogus\": 1\n}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "sandbox.json:3:3: ") || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("JSON error %v: want sandbox.json:3:3: ... bogus", err)
	}

	// Through Load the name is the file's path.
	p := filepath.Join(t.TempDir(), "bad.cfg")
	os.WriteFile(p, []byte("hostname: \"h\"\n\nclone_newfoo: true\n"), 0o644)
	_, err = Load(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":3:1: ") {
		t.Errorf("Load error %v: want %s:3:1: ...", err, p)
	}

	// A missing required field has no position but names the file.
	_, err = Parse("x.cfg", []byte("mount { src: \"/a\" is_bind: true }"))
	if err == nil || !strings.HasPrefix(err.Error(), "x.cfg: ") || !strings.Contains(err.Error(), "dst") {
		t.Errorf("required-field error %v", err)
	}
	// Bad enum values are errors too.
	if _, err := Parse("x.cfg", []byte("mode: SOMETIMES")); err == nil || !strings.HasPrefix(err.Error(), "x.cfg:1:") {
		t.Errorf("bad enum error %v", err)
	}
}

func TestJSONForm(t *testing.T) {
	needHostPython(t)
	stubHost(t)
	t.Setenv("PWD", "/")
	text, err := Load(filepath.Join(examples, "seed.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := protojson.MarshalOptions{Multiline: true, UseProtoNames: true}.Marshal(text)
	if err != nil {
		t.Fatal(err)
	}
	// By content (first non-space '{') and by extension.
	for _, name := range []string{"seed.conf", "seed.json"} {
		js, err := Parse(name, append([]byte("  \n"), b...))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !proto.Equal(js, text) {
			t.Errorf("%s: JSON form differs from the text form", name)
		}
	}
	// nsjail's own JSON spelling (lowerCamel names are accepted by protojson too).
	cfg, err := Parse("c.json", []byte(`{"hostname": "J", "mount": [{"dst": "/t", "fstype": "tmpfs", "rw": true}],
		"uidmap": [{"inside_id": "0", "outside_id": "", "count": 1}], "rlimit_as_type": "INF", "mode": "ONCE"}`))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ToSpec(cfg, []string{"/bin/sh"})
	if err != nil {
		t.Fatal(err)
	}
	if spec.Hostname != "J" || spec.Mounts[0].Kind != jail.MountTmpfs || spec.UIDMap[0] != (jail.IDMap{Inside: 0, Outside: 1234, Count: 1}) {
		t.Errorf("spec %+v", spec)
	}
	if spec.Limits.Rlimits[0] != (jail.Rlimit{Resource: "as", Soft: jail.RlimInfinity, Hard: jail.RlimInfinity}) {
		t.Errorf("rlimit %+v", spec.Limits.Rlimits[0])
	}
}

func TestDefaultsAreNsjails(t *testing.T) {
	stubHost(t)
	spec := mustSpec(t, "")
	if spec.Hostname != "NSJAIL" || spec.Cwd != "/" || spec.Limits.Wall != 600*time.Second {
		t.Errorf("hostname %q cwd %q wall %v", spec.Hostname, spec.Cwd, spec.Limits.Wall)
	}
	// The caller's own ids on both sides.
	if spec.UID != 1234 || spec.GID != 4321 || spec.UIDMap[0] != (jail.IDMap{Inside: 1234, Outside: 1234, Count: 1}) ||
		spec.GIDMap[0] != (jail.IDMap{Inside: 4321, Outside: 4321, Count: 1}) {
		t.Errorf("ids %d %d %v %v", spec.UID, spec.GID, spec.UIDMap, spec.GIDMap)
	}
	all := jail.Namespaces{User: true, Mount: true, PID: true, Net: true, IPC: true, UTS: true, Cgroup: true}
	if spec.Namespaces != all || spec.Net != jail.NetLoopback || spec.Proc {
		t.Errorf("ns %+v net %q proc %v", spec.Namespaces, spec.Net, spec.Proc)
	}
	if len(spec.Env) != 0 || spec.Env == nil {
		t.Errorf("Env %q, want empty", spec.Env)
	}
	want := []jail.Rlimit{
		rlim("as", 4096<<20), rlim("core", 0), rlim("cpu", 600), rlim("fsize", 1<<20), rlim("nofile", 32),
		rlim("nproc", 1006), rlim("stack", 1003), rlim("memlock", 1008), rlim("rtprio", 1014), rlim("msgqueue", 1012),
	}
	if !reflect.DeepEqual(spec.Limits.Rlimits, want) {
		t.Errorf("rlimits %v", spec.Limits.Rlimits)
	}
	if spec.Limits.Memory != 0 || spec.Limits.Pids != 0 || spec.Limits.CPU != 0 || spec.Limits.Output != 0 {
		t.Errorf("limits %+v", spec.Limits)
	}
}

func TestFieldMapping(t *testing.T) {
	stubHost(t)
	t.Setenv("SRCPREFIX", "/u")
	t.Setenv("DSTPREFIX", "/in")
	t.Setenv("FROMHOST", "yes")
	os.Unsetenv("NOT_SET_ANYWHERE")
	spec := mustSpec(t, `
		hostname: "h" cwd: "/w" time_limit: 0 max_cpus: 2
		keep_env: true envar: "LANG=C.UTF-8" envar: "FROMHOST" envar: "NOT_SET_ANYWHERE" envar: "A=1=2"
		keep_caps: false cap: "cap_net_raw" cap: "CAP_SYS_PTRACE"
		skip_setsid: true disable_no_new_privs: true pass_fd: 1 pass_fd: 5 pass_fd: 5 pass_fd: 7
		rlimit_as_type: INF rlimit_cpu: 3 rlimit_nofile_type: HARD rlimit_stack: 16 rlimit_stack_type: VALUE
		rlimit_memlock: 2 rlimit_memlock_type: VALUE
		clone_newnet: false clone_newipc: false clone_newcgroup: false
		uidmap { inside_id: "root" outside_id: "100000" count: 65536 }
		uidmap { inside_id: "0x10" outside_id: "" }
		gidmap { inside_id: "7" outside_id: "8" count: 2 }
		mount_proc: true
		mount { prefix_src_env: "SRCPREFIX" src: "sr/lib" prefix_dst_env: "DSTPREFIX" dst: "/lib" is_bind: true rw: true is_dir: true noexec: true }
		mount { src: "/does/not/exist" dst: "/opt" is_bind: true mandatory: false }
		mount { dst: "/tmp" fstype: "tmpfs" options: "size=1g,mode=1777,nr_inodes=100" rw: true nosuid: true }
		mount { src: "none" dst: "/tmp2" fstype: "tmpfs" options: "size=50%" }
		mount { dst: "/proc2" fstype: "proc" }
		mount { src: "mqueue" dst: "/dev/mqueue" fstype: "mqueue" options: "x=y" nodev: true }
		mount { src_content: "hi\n" dst: "/etc/greeting" }
		mount { src: "/usr/bin" dst: "/bin" is_symlink: true }
		seccomp_string: "ALLOW { read }" seccomp_string: "DEFAULT KILL" seccomp_log: true
		cgroup_mem_max: 1000 cgroup_mem_memsw_max: 1500 cgroup_pids_max: 9 cgroup_cpu_ms_per_sec: 250
		cgroup_mem_parent: "pycage/nsjail" cgroup_pids_parent: "/pycage/nsjail/"
		`, "prog", "arg")

	if err := spec.Validate(); err != nil {
		t.Errorf("the engine rejects the Spec: %v", err)
	}
	if spec.Hostname != "h" || spec.Cwd != "/w" || spec.Limits.Wall != 0 || spec.Limits.MaxCPUs != 2 {
		t.Errorf("basics %+v", spec)
	}
	wantEnv := []string{"HOSTVAR=h", "LANG=C.UTF-8", "FROMHOST=yes", "A=1=2"}
	if !reflect.DeepEqual(spec.Env, wantEnv) {
		t.Errorf("Env %q, want %q", spec.Env, wantEnv)
	}
	if !reflect.DeepEqual(spec.KeepCaps, []string{"CAP_NET_RAW", "CAP_SYS_PTRACE"}) {
		t.Errorf("KeepCaps %q", spec.KeepCaps)
	}
	if !spec.SkipSetsid || !spec.DisableNoNewPrivs || !reflect.DeepEqual(spec.PassFDs, []int{5, 7}) {
		t.Errorf("process %v %v %v", spec.SkipSetsid, spec.DisableNoNewPrivs, spec.PassFDs)
	}
	rl := map[string]uint64{}
	for _, r := range spec.Limits.Rlimits {
		rl[r.Resource] = r.Hard
	}
	if rl["as"] != jail.RlimInfinity || rl["cpu"] != 3 || rl["nofile"] != 2007 || rl["stack"] != 16<<20 || rl["memlock"] != 2048 {
		t.Errorf("rlimits %v", rl)
	}
	if (spec.Namespaces != jail.Namespaces{User: true, Mount: true, PID: true, UTS: true}) {
		t.Errorf("namespaces %+v", spec.Namespaces)
	}
	wantU := []jail.IDMap{{Inside: 0, Outside: 100000, Count: 65536}, {Inside: 16, Outside: 1234, Count: 1}}
	if spec.UID != 0 || spec.GID != 7 || !reflect.DeepEqual(spec.UIDMap, wantU) ||
		!reflect.DeepEqual(spec.GIDMap, []jail.IDMap{{Inside: 7, Outside: 8, Count: 2}}) {
		t.Errorf("ids %d %d %v %v", spec.UID, spec.GID, spec.UIDMap, spec.GIDMap)
	}
	if !spec.Proc {
		t.Error("mount_proc not mapped")
	}
	tr := true
	want := []jail.Mount{
		{Kind: jail.MountBind, Src: "/usr/lib", Dst: "/in/lib", RW: true, Mandatory: true, IsDir: &tr, NoExec: true},
		{Kind: jail.MountBind, Src: "/does/not/exist", Dst: "/opt"},
		{Kind: jail.MountTmpfs, Dst: "/tmp", RW: true, Mandatory: true, Size: 1 << 30, Mode: 0o1777, Options: "nr_inodes=100", NoSuid: true, Owned: true},
		{Kind: jail.MountTmpfs, Dst: "/tmp2", Mandatory: true, Options: "size=50%", Owned: true},
		{Kind: jail.MountProc, Dst: "/proc2", Mandatory: true},
		{Kind: jail.MountOther, Src: "mqueue", Dst: "/dev/mqueue", FSType: "mqueue", Options: "x=y", Mandatory: true, NoDev: true},
		{Kind: jail.MountFile, Dst: "/etc/greeting", Content: []byte("hi\n"), Mandatory: true},
		{Kind: jail.MountSymlink, Src: "/usr/bin", Dst: "/bin", Mandatory: true},
	}
	if !reflect.DeepEqual(spec.Mounts, want) {
		for i := range spec.Mounts {
			t.Logf("mount %d: %+v", i, spec.Mounts[i])
		}
		t.Errorf("mounts differ")
	}
	if spec.Seccomp == nil || spec.Seccomp.Policy != "ALLOW { read }\nDEFAULT KILL\n" ||
		spec.Seccomp.PolicyName != "seccomp_string" || !spec.Seccomp.Log {
		t.Errorf("seccomp %+v", spec.Seccomp)
	}
	if spec.Limits.Memory != 1000 || spec.Limits.MemorySwap != 1500 || spec.Limits.Pids != 9 || spec.Limits.CPUMsPerSec != 250 {
		t.Errorf("limits %+v", spec.Limits)
	}
	if spec.Cgroup.Parent != "/pycage/nsjail" {
		t.Errorf("cgroup parent %q", spec.Cgroup.Parent)
	}
}

func TestFieldMappingDetails(t *testing.T) {
	stubHost(t)
	// No user namespace: no maps, the ids are the inside ids.
	spec := mustSpec(t, `clone_newuser: false uidmap { inside_id: "5" outside_id: "5" }`)
	if spec.Namespaces.User || spec.UIDMap != nil || spec.GIDMap != nil || spec.UID != 5 || spec.GID != 4321 {
		t.Errorf("no userns: %+v", spec)
	}
	// keep_caps keeps every capability.
	spec = mustSpec(t, `keep_caps: true`)
	if len(spec.KeepCaps) != 41 || spec.KeepCaps[0] != "CAP_CHOWN" {
		t.Errorf("keep_caps: %q", spec.KeepCaps)
	}
	// disable_rl sets no rlimit at all.
	if spec := mustSpec(t, `disable_rl: true rlimit_as: 1`); spec.Limits.Rlimits != nil {
		t.Errorf("disable_rl: %v", spec.Limits.Rlimits)
	}
	// swap alone: memory + swap.
	if spec := mustSpec(t, `cgroup_mem_max: 100 cgroup_mem_swap_max: 50`); spec.Limits.MemorySwap != 150 {
		t.Errorf("swap: %+v", spec.Limits)
	}
	// swap 0 is pycage's default: no swap.
	if spec := mustSpec(t, `cgroup_mem_max: 100 cgroup_mem_swap_max: 0`); spec.Limits.MemorySwap != 0 {
		t.Errorf("swap 0: %+v", spec.Limits)
	}
	// exec_bin with arg0.
	spec, err := ToSpec(mustParse(t, `exec_bin { path: "/bin/busybox" arg: "sh" arg0: "ash" }`), nil)
	if err != nil || !reflect.DeepEqual(spec.Args, []string{"ash", "sh"}) || spec.ExecPath != "/bin/busybox" {
		t.Errorf("exec_bin: %v %+v", err, spec)
	}
	// A policy file is read now.
	p := filepath.Join(t.TempDir(), "policy.kafel")
	os.WriteFile(p, []byte("DEFAULT ALLOW\n"), 0o644)
	spec = mustSpec(t, `seccomp_policy_file: "`+p+`"`)
	if spec.Seccomp.Policy != "DEFAULT ALLOW\n" || spec.Seccomp.PolicyName != p {
		t.Errorf("policy file: %+v", spec.Seccomp)
	}
}

func TestToSpecErrors(t *testing.T) {
	stubHost(t)
	os.Unsetenv("NOT_SET_ANYWHERE")
	cases := []struct{ cfg, want string }{
		{``, "no command"},
		{`cwd: "rel"`, "cwd: \"rel\" is not an absolute path"},
		{`uidmap { inside_id: "no-such-user-xyz" }`, "uidmap[0].inside_id: \"no-such-user-xyz\" is neither a user name"},
		{`gidmap { inside_id: "1" outside_id: "no-such-group-xyz" }`, "gidmap[0].outside_id:"},
		{`uidmap { count: 0 }`, "uidmap[0].count: must be at least 1"},
		{`mount { src: "/nonexistent/x" dst: "/x" is_bind: true }`, "mount /nonexistent/x -> /x: source does not exist"},
		{`mount { dst: "/x" is_bind: true }`, "mount /x: a bind mount needs src"},
		{`mount { src: "/" dst: "x" is_bind: true }`, "mount / -> x: the mount point is not an absolute path"},
		{`mount { src: "/" dst: "/x" }`, "mount / -> /x: nothing to mount"},
		{`mount { dst: "/x" is_symlink: true }`, "a symlink needs src"},
		{`mount { dst: "/x" fstype: "tmpfs" options: "mode=99" }`, "mount /x: options: bad mode"},
		{`mount { prefix_src_env: "NOT_SET_ANYWHERE" src: "/a" dst: "/x" is_bind: true }`, "mount[0].prefix_src_env: environment variable NOT_SET_ANYWHERE is not set"},
		{`rlimit_as: 18446744073709551615`, "rlimit_as: 18446744073709551615 is too large"},
		{`cap: "CAP_FLY"`, "cap[0]: unknown capability"},
		{`pass_fd: -1`, "pass_fd[0]: -1 is not a file descriptor"},
		{`cgroup_mem_max: 10 cgroup_mem_memsw_max: 20 cgroup_mem_swap_max: 5`, "cgroup_mem_memsw_max: cannot be set together with cgroup_mem_swap_max"},
		{`cgroup_mem_memsw_max: 20`, "cgroup_mem_memsw_max: needs cgroup_mem_max"},
		{`cgroup_mem_max: 30 cgroup_mem_memsw_max: 20`, "must be at least cgroup_mem_max"},
		{`cgroup_mem_swap_max: 5`, "cgroup_mem_swap_max: needs cgroup_mem_max"},
		{`cgroup_mem_parent: "a" cgroup_cpu_parent: "b"`, "cgroup_cpu_parent: \"b\" differs from cgroup_mem_parent \"a\""},
		{`cgroup_pids_parent: "../up"`, "must not contain .."},
		{`seccomp_policy_file: "/p" seccomp_string: "x"`, "seccomp_policy_file: cannot be used together with seccomp_string"},
		{`seccomp_policy_file: "/nonexistent/policy"`, "seccomp_policy_file: open /nonexistent/policy"},
	}
	for _, c := range cases {
		args := []string{"/bin/true"}
		if c.cfg == `` {
			args = nil
		}
		_, err := ToSpec(mustParse(t, c.cfg), args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.cfg, err, c.want)
		}
	}
	// All problems are reported together.
	_, err := ToSpec(mustParse(t, `mode: LISTEN daemon: true mount { src: "/nonexistent/a" dst: "/a" is_bind: true }`), []string{"x"})
	for _, w := range []string{"mode: LISTEN", "daemon:", "mount /nonexistent/a -> /a"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("joined error %v lacks %q", err, w)
		}
	}
}

// Every field pycage cannot honour is an error that names it.
func TestUnsupportedFieldsFail(t *testing.T) {
	stubHost(t)
	cases := map[string]string{
		`mode: LISTEN`:                          "mode",
		`mode: RERUN`:                           "mode",
		`mode: EXECVE`:                          "mode",
		`daemon: true`:                          "daemon",
		`disable_tsc: true`:                     "disable_tsc",
		`oom_score_adj: 0`:                      "oom_score_adj",
		`persona_addr_compat_layout: true`:      "persona_addr_compat_layout",
		`persona_mmap_page_zero: true`:          "persona_mmap_page_zero",
		`persona_read_implies_exec: true`:       "persona_read_implies_exec",
		`persona_addr_limit_3gb: true`:          "persona_addr_limit_3gb",
		`persona_addr_no_randomize: true`:       "persona_addr_no_randomize",
		`clone_newtime: true`:                   "clone_newtime",
		`uidmap { use_newidmap: true }`:         "uidmap[0].use_newidmap",
		`gidmap { use_newidmap: true }`:         "gidmap[0].use_newidmap",
		`cgroup_net_cls_classid: 1`:             "cgroup_net_cls_classid",
		`iface_own: "eth0"`:                     "iface_own",
		`macvlan_iface: "eth0"`:                 "macvlan_iface",
		`traffic_rule { action: DROP }`:         "traffic_rule",
		`user_net { backend: PASTA }`:           "user_net",
		`user_net { }`:                          "user_net",
		`exec_bin { path: "/x" exec_fd: true }`: "exec_bin.exec_fd",
		`seccomp_unotify: true`:                 "seccomp_unotify",
	}
	for cfg, field := range cases {
		_, err := ToSpec(mustParse(t, cfg), []string{"/bin/true"})
		var fe *FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != field {
			t.Errorf("%s: error %v, want one naming %s", cfg, err, field)
		}
	}
	// Accepted no-ops.
	mustSpec(t, `name: "n" description: "a" description: "b" log_level: DEBUG log_file: "/x" log_fd: 3
		port: 80 bindhost: "::1" max_conns: 3 max_conns_per_ip: 1 nice_level: 5 no_pivotroot: true
		forward_signals: true silent: true stderr_to_null: true
		cgroup_mem_mount: "/nowhere" cgroup_pids_mount: "/nowhere" cgroup_cpu_mount: "/nowhere"
		cgroup_net_cls_mount: "/nowhere" cgroup_net_cls_parent: "x" cgroupv2_mount: "/nowhere"
		use_cgroupv2: true detect_cgroupv2: true macvlan_vs_ip: "1.2.3.4" macvlan_vs_mo: "bridge"
		seccomp_unotify_report: "/r" mode: ONCE clone_newtime: false`)
	if s := StdioOf(mustParse(t, `silent: true stderr_to_null: true`)); !s.Silent || !s.StderrToNull {
		t.Errorf("StdioOf %+v", s)
	}
}
