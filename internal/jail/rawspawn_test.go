package jail

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pycage/pycage/internal/landlock"
	"github.com/pycage/pycage/internal/seccomp"
	"golang.org/x/sys/unix"
)

// TestMain lets the Go path work in this package's tests: a jail's init
// and stage are the test binary re-executed.
func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

func testFilter(t testing.TB) *seccomp.Filter {
	f, err := compileFilter(&Seccomp{})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCompileRawDefault checks the program of the default policy: well
// formed, every op described, the sections in order, the command's
// section ending with the exec op.
func TestCompileRawDefault(t *testing.T) {
	spec := DefaultSpec([]string{"python3", "-c", "pass"})
	p, err := compileRaw(spec, testFilter(t), rawOpts{rootBase: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ops) != len(p.desc) {
		t.Fatalf("%d ops, %d descriptions", len(p.ops), len(p.desc))
	}
	if !(0 < p.preEnd && p.preEnd < p.setupEnd && p.setupEnd < p.postEnd && p.postEnd < len(p.ops)) {
		t.Fatalf("sections: pre %d setup %d post %d ops %d", p.preEnd, p.setupEnd, p.postEnd, len(p.ops))
	}
	for i, d := range p.desc {
		if d.step == "" {
			t.Errorf("op %d (nr %d) has no description", i, p.ops[i].nr)
		}
	}
	last := p.ops[len(p.ops)-1]
	if last.nr != macroExec || !p.desc[len(p.ops)-1].exec {
		t.Fatalf("the last op is %d, not the exec", last.nr)
	}
	// The candidates follow PATH.
	want := []string{"/usr/local/bin/python3", "/usr/bin/python3", "/bin/python3"}
	if strings.Join(p.execNames, ":") != strings.Join(want, ":") {
		t.Fatalf("exec candidates %v, want %v", p.execNames, want)
	}
	// The seccomp op comes after no_new_privs and before the exec.
	var nnp, filt int
	for i, op := range p.ops {
		switch {
		case op.nr == unix.SYS_PRCTL && op.a[0] == unix.PR_SET_NO_NEW_PRIVS:
			nnp = i
		case op.nr == unix.SYS_SECCOMP:
			filt = i
		}
	}
	if !(p.postEnd <= nnp && nnp < filt && filt < len(p.ops)-1) {
		t.Fatalf("no_new_privs at %d, seccomp at %d, exec at %d", nnp, filt, len(p.ops)-1)
	}
	// Without setFilter the seccomp op fails (no execve without the filter).
	q, err := compileRaw(spec, nil, rawOpts{rootBase: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if op := q.ops[q.filterOp]; op.nr != unix.SYS_SECCOMP || op.a[2] != 0 {
		t.Fatalf("unset filter op: %+v", op)
	}
	// pivot_root is in PID 1's setup.
	for i, op := range p.ops {
		if op.nr == unix.SYS_PIVOT_ROOT && !(p.preEnd <= i && i < p.setupEnd) {
			t.Fatalf("pivot_root at %d outside the setup section", i)
		}
	}
}

// TestRawMessages checks the op table -> error text: step and object,
// ENOENT overrides, exec exit codes.
func TestRawMessages(t *testing.T) {
	spec := DefaultSpec([]string{"nosuchcmd"})
	spec.Mounts = append(spec.Mounts, Mount{Kind: MountBind, Src: "/nope", Dst: "/x", Mandatory: true})
	p, err := compileRaw(spec, nil, rawOpts{rootBase: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	find := func(step, object string) int {
		for i, d := range p.desc {
			if d.step == step && d.object == object {
				return i
			}
		}
		t.Fatalf("no op %q %q", step, object)
		return -1
	}
	cases := []struct {
		op    int
		errno unix.Errno
		aux   int
		msg   string
		code  int
	}{
		{find("bind", "/nope -> /x"), unix.ENOENT, 0, "bind /nope -> /x: source does not exist (ENOENT)", ExitSetup},
		{find("bind", "/nope -> /x"), unix.EACCES, 0, "bind /nope -> /x: EACCES", ExitSetup},
		{find("mount tmpfs", "/sandbox"), unix.ENOSPC, 0, "mount tmpfs /sandbox: ENOSPC", ExitSetup},
		{find("pivot_root", "(new root)"), unix.EINVAL, 0, "pivot_root (new root): EINVAL", ExitSetup},
		{find("setrlimit", "nofile (soft 256, hard 256)"), unix.EPERM, 0, "setrlimit nofile (soft 256, hard 256): EPERM", ExitSetup},
		{find("drop capabilities", ""), unix.EPERM, 0, "drop capabilities: EPERM", ExitSetup},
		{len(p.ops) - 1, unix.ENOENT, 2, "exec nosuchcmd: not found in PATH=/usr/local/bin:/usr/bin:/bin inside the jail", ExitNotFound},
		{len(p.ops) - 1, unix.EACCES, 1, "exec /usr/bin/nosuchcmd: not an executable file (EACCES)", ExitCannotExec},
		{len(p.ops) - 1, unix.ENOEXEC, 0, "exec /usr/local/bin/nosuchcmd: ENOEXEC", ExitCannotExec},
	}
	for _, c := range cases {
		msg, code := p.message(c.op, int(c.errno), c.aux)
		if msg != c.msg || code != c.code {
			t.Errorf("op %d %v: %q (%d), want %q (%d)", c.op, c.errno, msg, code, c.msg, c.code)
		}
	}
	// A name with a slash is tried as is.
	spec.Args = []string{"/etc/passwd"}
	p, err = compileRaw(spec, nil, rawOpts{rootBase: "/tmp"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.execNames) != 1 || p.execNames[0] != "/etc/passwd" || p.pathEnv != "" {
		t.Fatalf("candidates %v PATH %q", p.execNames, p.pathEnv)
	}
	if msg, code := p.message(len(p.ops)-1, int(unix.ENOENT), 0); msg != "exec /etc/passwd: not found inside the jail" || code != ExitNotFound {
		t.Fatalf("%q %d", msg, code)
	}
	// NUL bytes cannot reach execve.
	spec.Args = []string{"a\x00b"}
	if _, err := compileRaw(spec, nil, rawOpts{}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Fatalf("NUL in argv: %v", err)
	}
	// What the raw path does not do.
	spec.Args = []string{"true"}
	spec.Collect = &CollectSpec{}
	if _, err := compileRaw(spec, nil, rawOpts{}); err != nil || !spawnRaw(spec) {
		t.Fatalf("Collect on the raw path: %v", err)
	}
	spec.Namespaces.Mount = false
	if _, err := compileRaw(spec, nil, rawOpts{}); err == nil || spawnRaw(spec) {
		t.Fatal("Collect without a mount namespace on the raw path")
	}
	spec.Namespaces.Mount = true
	spec.Files = make([]File, rawMaxFiles+1)
	if spawnRaw(spec) {
		t.Fatal("more input files than a raw program holds on the raw path")
	}
	spec.Files = nil
	spec.Namespaces.PID = false
	if _, err := compileRaw(spec, nil, rawOpts{}); err == nil || spawnRaw(spec) {
		t.Fatal("no pid namespace on the raw path")
	}
}

// TestRawParentTrees checks that parent-opened trees are preset in their
// slots with the fds of the layout and that PID 1 opens none itself.
func TestRawParentTrees(t *testing.T) {
	spec := DefaultSpec([]string{"true"})
	trees := map[int]int{}
	for i, m := range spec.Mounts {
		if m.Kind == MountBind {
			trees[i] = 100 + i
		}
	}
	p, err := compileRaw(spec, nil, rawOpts{rootBase: "/tmp", trees: trees})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.treeFDs) != len(trees) {
		t.Fatalf("%d tree fds for %d trees", len(p.treeFDs), len(trees))
	}
	for i, op := range p.ops {
		if op.nr == unix.SYS_OPEN_TREE && p.desc[i].step == "bind" && !strings.HasPrefix(p.desc[i].object, "/dev/") {
			t.Fatalf("op %d: PID 1 opens %s itself", i, p.desc[i].object)
		}
	}
	for j, fd := range p.treeFDs {
		if int(fd) != int(p.repFD)+1+j {
			t.Fatalf("tree %d at fd %d", j, fd)
		}
	}
}

func BenchmarkCompileRaw(b *testing.B) {
	spec := DefaultSpec([]string{"python3", "-c", "pass"})
	f := testFilter(b)
	for b.Loop() {
		if _, err := compileRaw(spec, f, rawOpts{rootBase: "/tmp"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileDefaultFilter(b *testing.B) {
	for b.Loop() {
		if _, err := seccomp.Compile("default", "", seccomp.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// needRoot skips kernel tests that need root (cgroups, id maps onto 65534).
func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// runBoth runs a spec on both spawn paths.
func runBoth(t *testing.T, f func(t *testing.T)) {
	for _, mode := range []string{"raw", "go"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("PYCAGE_SPAWN", mode)
			f(t)
		})
	}
}

func run(t *testing.T, spec *Spec, stdin string) (*Result, string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	res, err := Run(context.Background(), spec, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return res, out.String(), errb.String(), err
}

func TestRawRunBasics(t *testing.T) {
	needRoot(t)
	runBoth(t, func(t *testing.T) {
		spec := DefaultSpec([]string{"sh", "-c", "echo out; echo err >&2; cat; id -u; exit 3"})
		res, out, errs, err := run(t, spec, "in\n")
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonExited || res.ExitCode != 3 || out != "out\nin\n65534\n" || errs != "err\n" {
			t.Fatalf("%+v out %q err %q", res, out, errs)
		}
	})
}

// TestRawSetupErrors: failures name the step and the object on both paths.
func TestRawSetupErrors(t *testing.T) {
	needRoot(t)
	runBoth(t, func(t *testing.T) {
		spec := DefaultSpec([]string{"true"})
		spec.Mounts = append(spec.Mounts, Mount{Kind: MountTmpfs, Dst: "/t", Options: "x"},
			Mount{Kind: MountOther, FSType: "nosuchfs", Dst: "/y"})
		_, _, _, err := run(t, spec, "")
		if err == nil || !strings.Contains(err.Error(), "mount nosuchfs /y: ENODEV") {
			t.Fatalf("unknown fs: %v", err)
		}
		spec = DefaultSpec([]string{"true"})
		spec.Mounts = append(spec.Mounts, Mount{Kind: MountOther, FSType: "tmpfs", Dst: "/y", Options: "nr_inodes=x"})
		_, _, _, err = run(t, spec, "")
		if err == nil || !strings.Contains(err.Error(), `mount tmpfs /y: option "nr_inodes=x"`) {
			t.Fatalf("bad option: %v", err)
		}
		spec = DefaultSpec([]string{"true"})
		spec.Cwd = "/usr/pycage-nonexistent"
		spec.Mounts = spec.Mounts[:len(spec.Mounts)-2]
		_, _, _, err = run(t, spec, "")
		if err == nil || !strings.Contains(err.Error(), "mkdir (cwd) /usr/pycage-nonexistent: EROFS") {
			t.Fatalf("cwd in a read-only bind: %v", err)
		}
		spec = DefaultSpec([]string{"true"})
		spec.Limits.Rlimits = append(spec.Limits.Rlimits, Rlimit{Resource: "nofile", Soft: 1 << 30, Hard: 1 << 30})
		_, _, _, err = run(t, spec, "")
		if err == nil || !strings.Contains(err.Error(), "setrlimit nofile (soft 1073741824, hard 1073741824): EPERM") {
			t.Fatalf("rlimit: %v", err)
		}
		for _, c := range execErrors {
			res, _, _, err := run(t, DefaultSpec(c.args), "")
			se, ok := err.(*SetupError)
			if !ok || !strings.Contains(se.Msg, c.msg) || se.ExitCode != c.code || !res.NotFound {
				t.Errorf("%v: %v (%+v)", c.args, err, se)
			}
		}
	})
}

// execErrors are commands that cannot be executed in the default jail,
// with the error and exit code they give (cold and prepared runs alike).
var execErrors = []execError{
	{[]string{"nosuchcmd"}, "exec nosuchcmd: not found in PATH=", ExitNotFound},
	{[]string{"/nosuch/cmd"}, "exec /nosuch/cmd: not found inside the jail", ExitNotFound},
	{[]string{"/etc/passwd"}, "exec /etc/passwd: not an executable file", ExitCannotExec},
	{[]string{"/usr"}, "exec /usr: not an executable file", ExitCannotExec},
}

type execError struct {
	args []string
	msg  string
	code int
}

// TestRawPID1Signals: PID 1 survives every signal sent from inside the
// jail, relays TERM sent from outside to the command, and takes the
// command's orphans down with it.
func TestRawPID1Signals(t *testing.T) {
	needRoot(t)
	t.Setenv("PYCAGE_SPAWN", "raw")
	// From inside: nothing happens to PID 1, the command goes on.
	spec := DefaultSpec([]string{"sh", "-c", "for s in TERM KILL SEGV USR1 HUP INT QUIT STOP; do kill -s $s 1; done; sleep 0.2; echo alive"})
	res, out, errs, err := run(t, spec, "")
	if err != nil || res.ExitCode != 0 || out != "alive\n" {
		t.Fatalf("%v %+v %q %q", err, res, out, errs)
	}
	// From outside (the host): SIGTERM to PID 1 reaches the command.
	spec = DefaultSpec([]string{"sh", "-c", "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done"})
	pr, pw, _ := os.Pipe()
	done := make(chan struct{})
	var res2 *Result
	go func() {
		defer close(done)
		res2, _ = Run(context.Background(), spec, IO{Stdout: pw, Stderr: os.Stderr})
		pw.Close()
	}()
	buf := make([]byte, 6)
	if _, err := pr.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q %v", buf, err)
	}
	pid1 := jailPID1(t, spec.Args[2])
	syscall.Kill(pid1, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the command did not get the relayed SIGTERM")
	}
	rest := make([]byte, 64)
	n, _ := pr.Read(rest)
	if res2.ExitCode != 7 || string(rest[:n]) != "got TERM\n" {
		t.Fatalf("%+v %q", res2, rest[:n])
	}
}

// TestSignalDuringSetup: a signal relayed while the jail is being built
// reaches the command once it runs; it never breaks the setup.
func TestSignalDuringSetup(t *testing.T) {
	needRoot(t)
	runBoth(t, func(t *testing.T) {
		for i := 0; i < 5; i++ {
			sigs := make(chan os.Signal, 1)
			sigs <- syscall.SIGTERM
			spec := DefaultSpec([]string{"sh", "-c", "trap 'exit 7' TERM; sleep 0.3"})
			res, err := Run(context.Background(), spec, IO{Signals: sigs})
			if err != nil || !(res.ExitCode == 7 || res.Signal == int(syscall.SIGTERM)) {
				t.Fatalf("%v %+v", err, res)
			}
		}
	})
}

// TestRawKeepCaps: a kept capability is the command's (ambient, permitted,
// effective, bounding), nothing else is; no_new_privs is set. (Raw path
// only: on the Go path the stage has no capability left to drop the
// bounding set with, and fails with "drop capabilities: EPERM".)
func TestRawKeepCaps(t *testing.T) {
	needRoot(t)
	t.Setenv("PYCAGE_SPAWN", "raw")
	func(t *testing.T) {
		spec := DefaultSpec([]string{"sh", "-c", "grep -E '^(Cap|NoNewPrivs)' /proc/self/status"})
		spec.KeepCaps = []string{"CAP_NET_RAW"}
		_, out, errs, err := run(t, spec, "")
		if err != nil {
			t.Fatal(err, errs)
		}
		want := "CapInh:\t0000000000002000\nCapPrm:\t0000000000002000\nCapEff:\t0000000000002000\nCapBnd:\t0000000000002000\nCapAmb:\t0000000000002000\nNoNewPrivs:\t1\n"
		if out != want {
			t.Fatalf("got\n%s\nwant\n%s", out, want)
		}
	}(t)
}

// TestRawPID1CommandLine: the jail cannot read pycage's command line
// through PID 1 (which never exec'd on the raw path).
func TestRawPID1CommandLine(t *testing.T) {
	needRoot(t)
	runBoth(t, func(t *testing.T) {
		spec := DefaultSpec([]string{"sh", "-c", "cat /proc/1/cmdline /proc/1/task/1/cmdline; echo; cat /proc/1/comm"})
		spec.Mounts = append(spec.Mounts, Mount{Kind: MountProc, Dst: "/proc2"})
		spec.Args[2] += "; cat /proc2/1/cmdline"
		_, out, errs, err := run(t, spec, "")
		if err != nil {
			t.Fatal(err, errs)
		}
		if strings.Contains(out, os.Args[0]) || strings.Contains(out, "test.") {
			t.Fatalf("pycage's command line is visible inside: %q", out)
		}
	})
}

// jailPID1 finds the host pid of the raw PID 1 whose command line is
// pycage's own and whose child runs cmd.
func jailPID1(t *testing.T, marker string) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		out, _ := exec.Command("pgrep", "-f", "-o", "-P", "1", marker).Output()
		_ = out
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil || !strings.Contains(string(b), marker) {
				continue
			}
			st, err := os.ReadFile("/proc/" + e.Name() + "/status")
			if err != nil {
				continue
			}
			// The command's parent is PID 1 in its namespace; on the
			// host, its PPid is the raw PID 1.
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "NSpid:") && strings.HasSuffix(strings.TrimSpace(l), "\t2") {
					for _, l2 := range strings.Split(string(st), "\n") {
						if strings.HasPrefix(l2, "PPid:") {
							var ppid int
							for _, c := range strings.TrimSpace(strings.TrimPrefix(l2, "PPid:")) {
								ppid = ppid*10 + int(c-'0')
							}
							return ppid
						}
					}
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no jail PID 1 found")
	return 0
}

// TestWorkspaceFiles: input files are placed before the command starts, as
// the jail's user, and output files are collected after the run, with the
// same answer on both spawn paths: only regular files the jail's user can
// read, symlinks and fifos never followed, hidden names skipped, untouched
// input files left out, limits enforced.
func TestWorkspaceFiles(t *testing.T) {
	needRoot(t)
	var answers []string
	runBoth(t, func(t *testing.T) {
		spec := DefaultSpec([]string{"sh", "-c", `
set -e
ls -ln in.txt sub/deep/run.sh | awk '{print $1, $3, $4, $5}'
cat in.txt
sub/deep/run.sh
echo changed >> touched.txt
echo new > out.txt
mkdir -p d/e && echo nested > d/e/f.txt
echo secret > locked.txt && chmod 000 locked.txt
mkdir closed && echo x > closed/x.txt && chmod 000 closed
ln -s /etc/passwd link.txt
mkfifo fifo
echo h > .hidden
`})
		spec.Files = []File{
			{Path: "in.txt", Content: []byte("input\n")},
			{Path: "touched.txt", Content: []byte("old\n")},
			{Path: "sub/deep/run.sh", Content: []byte("#!/bin/sh\necho script ran\n"), Mode: 0o755},
		}
		spec.Collect = &CollectSpec{MaxFiles: 10, MaxBytes: 1 << 20, MaxDepth: 5, Timeout: 5 * time.Second, SkipHidden: true, OnlyChanged: true}
		res, out, errs, err := run(t, spec, "")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("%v %+v\n%s%s", err, res, out, errs)
		}
		want := "-rw-r--r-- 65534 65534 6\n-rwxr-xr-x 65534 65534 26\ninput\nscript ran\n"
		if out != want {
			t.Fatalf("stdout %q, want %q", out, want)
		}
		var got []string
		for _, f := range res.Files {
			got = append(got, f.Path+"="+string(f.Content))
		}
		ans := strings.Join(got, ",") + " err=" + res.FilesError
		if ans != "d/e/f.txt=nested\n,out.txt=new\n,touched.txt=old\nchanged\n err=" {
			t.Fatalf("files: %s", ans)
		}
		answers = append(answers, ans)

		// Limits: more files than allowed is an error naming the limit.
		spec.Collect.MaxFiles = 2
		res, _, _, err = run(t, spec, "")
		if err != nil || !strings.Contains(res.FilesError, "too many files") {
			t.Fatalf("max files: %v %q", err, res.FilesError)
		}
		// An input file that does not fit the workspace is a setup error
		// that names the file.
		spec.Files = []File{{Path: "big.bin", Content: make([]byte, 2<<20)}}
		spec.Mounts = append([]Mount(nil), spec.Mounts...)
		for i, m := range spec.Mounts {
			if m.Dst == spec.Cwd {
				spec.Mounts[i].Size = 1 << 20
			}
		}
		res, _, _, err = run(t, spec, "")
		if err == nil || res.Reason != ReasonSetupError || !strings.Contains(res.Error, "big.bin") || !strings.Contains(res.Error, "ENOSPC") {
			t.Fatalf("too big an input file: %v %+v", err, res)
		}
	})
	if len(answers) == 2 && answers[0] != answers[1] {
		t.Fatalf("paths differ: %q vs %q", answers[0], answers[1])
	}
}

// TestLandlockPlan: the ruleset of the default policy, and when there is
// none or the run must fail (pure: any ABI can be asked for).
func TestLandlockPlan(t *testing.T) {
	ro := uint64(landlock.Execute | landlock.ReadFile | landlock.ReadDir)
	dev := uint64(landlock.ReadFile | landlock.WriteFile | landlock.ReadDir | landlock.IoctlDev)
	rw := landlock.HandledFS(7)
	spec := DefaultSpec([]string{"python3"})
	if spec.Landlock != LandlockAuto {
		t.Fatalf("default Landlock %q, want auto", spec.Landlock)
	}
	p, err := landlockPlan(spec, 7)
	if err != nil || p == nil {
		t.Fatalf("%v %v", p, err)
	}
	want := []landlock.Rule{
		{Path: "/", Access: ro, Kind: "ro"},
		{Path: "/dev", Access: dev, Kind: "dev"},
		{Path: "/dev/shm", Access: rw, Kind: "rw"},
		{Path: "/sandbox", Access: rw, Kind: "rw"},
		{Path: "/tmp", Access: rw, Kind: "rw"},
	}
	if !reflect.DeepEqual(p.Rules, want) {
		t.Fatalf("default rules\n%+v\nwant\n%+v", p.Rules, want)
	}
	if p.ABI != 7 || p.HandledFS != rw || p.Scoped != landlock.ScopeAbstractUnixSocket|landlock.ScopeSignal {
		t.Fatalf("default ruleset: ABI %d handled %#x scoped %#x", p.ABI, p.HandledFS, p.Scoped)
	}
	// Every rw bind gets a rule (optional when its source may be missing);
	// read-only binds, symlinks and extra /proc mounts do not.
	spec.Mounts = append(spec.Mounts,
		Mount{Kind: MountBind, Src: "/srv", Dst: "/data", RW: true},
		Mount{Kind: MountBind, Src: "/opt", Dst: "/opt", RW: false, Mandatory: true},
		Mount{Kind: MountSymlink, Src: "/data", Dst: "/d", RW: true},
		Mount{Kind: MountProc, Dst: "/proc2", RW: true},
		Mount{Kind: MountFile, Dst: "/etc/rw.conf", RW: true})
	p, _ = landlockPlan(spec, 7)
	if got := p.Rules[len(want):]; !reflect.DeepEqual(got, []landlock.Rule{
		{Path: "/data", Access: rw, Kind: "rw", Optional: true},
		{Path: "/etc/rw.conf", Access: rw, Kind: "rw"},
	}) {
		t.Fatalf("extra rules %+v", got)
	}

	// What Result.Landlock says, on this kernel.
	spec = DefaultSpec([]string{"true"})
	if st, abi := landlockResult(spec); landlock.ABI() >= landlock.MinABI && (st != LandlockApplied || abi != min(landlock.ABI(), landlock.MaxABI)) ||
		landlock.ABI() < landlock.MinABI && (st != LandlockUnavailable || abi != 0) {
		t.Errorf("result %q ABI %d on a kernel with %s", st, abi, landlock.Describe(landlock.ABI()))
	}
	spec.Landlock = LandlockOff
	if st, abi := landlockResult(spec); st != LandlockNotApplied || abi != 0 {
		t.Errorf("off: result %q ABI %d", st, abi)
	}

	for _, c := range []struct {
		mode   LandlockMode
		mount  bool
		abi    int
		policy bool
		err    string
	}{
		{"", true, 7, true, ""},
		{LandlockAuto, true, 2, true, ""},
		{LandlockAuto, true, 1, false, ""},
		{LandlockAuto, true, 0, false, ""},
		{LandlockAuto, false, 7, false, ""},
		{LandlockOff, true, 7, false, ""},
		{LandlockOn, true, 7, true, ""},
		{LandlockOn, true, 1, false, "landlock: not available on this kernel (Landlock ABI 1; pycage needs ABI 2 or later"},
		{LandlockOn, true, 0, false, "landlock: not available on this kernel (Landlock none;"},
		{LandlockOn, false, 7, false, "landlock: needs a mount namespace"},
		{"maybe", true, 7, false, `landlock "maybe": want auto, on or off`},
	} {
		s := DefaultSpec([]string{"true"})
		s.Landlock, s.Namespaces.Mount = c.mode, c.mount
		p, err := landlockPlan(s, c.abi)
		if (p != nil) != c.policy || (c.err == "") != (err == nil) || err != nil && !strings.HasPrefix(err.Error(), c.err) {
			t.Errorf("%q mount %v ABI %d: policy %v, err %v (want policy %v, err %q)", c.mode, c.mount, c.abi, p != nil, err, c.policy, c.err)
		}
	}
}

// arenaStr reads the NUL-terminated string at arena offset off.
func arenaStr(p *rawProg, off uintptr) string {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&p.mem[0])), len(p.mem)*8)[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// TestCompileRawLandlock checks the raw program's Landlock ops: in the
// command's section, after its setsid and before its capabilities are
// dropped (restrict_self without no_new_privs), one O_PATH open and one
// rule per path of the policy, the ruleset attr as the ABI wants it.
func TestCompileRawLandlock(t *testing.T) {
	spec := DefaultSpec([]string{"python3", "-c", "pass"})
	spec.Mounts = append(spec.Mounts, Mount{Kind: MountBind, Src: "/srv", Dst: "/data", RW: true})
	p, err := compileRaw(spec, testFilter(t), rawOpts{rootBase: "/tmp", landlockABI: 7})
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := landlockPlan(spec, 7)
	if p.landlock != LandlockApplied || p.landlockABI != 7 {
		t.Fatalf("status %q ABI %d", p.landlock, p.landlockABI)
	}
	create, restrict, setsid, capDrop, nnp := -1, -1, -1, -1, -1
	var rules []int
	for i, op := range p.ops {
		switch {
		case op.nr == unix.SYS_LANDLOCK_CREATE_RULESET:
			create = i
		case op.nr == unix.SYS_LANDLOCK_RESTRICT_SELF:
			restrict = i
		case op.nr == macroLLRule:
			rules = append(rules, i)
		case op.nr == unix.SYS_SETSID && i >= p.postEnd:
			setsid = i
		case op.nr == unix.SYS_PRCTL && op.a[0] == unix.PR_CAPBSET_DROP && capDrop < 0:
			capDrop = i
		case op.nr == unix.SYS_PRCTL && op.a[0] == unix.PR_SET_NO_NEW_PRIVS:
			nnp = i
		}
	}
	if !(p.postEnd <= setsid && setsid < create && create < restrict && restrict < capDrop && capDrop < nnp && nnp < p.filterOp) {
		t.Fatalf("order: command %d, setsid %d, create %d, restrict %d, cap drop %d, nnp %d, seccomp %d",
			p.postEnd, setsid, create, restrict, capDrop, nnp, p.filterOp)
	}
	// The ruleset attr: handled_access_fs, handled_access_net, scoped.
	c := p.ops[create]
	if w := c.a[0] / 8; p.mem[w] != pol.HandledFS || p.mem[w+1] != 0 || p.mem[w+2] != pol.Scoped || c.a[1] != 24 {
		t.Fatalf("ruleset attr %#x %#x %#x size %d", p.mem[w], p.mem[w+1], p.mem[w+2], c.a[1])
	}
	if len(rules) != len(pol.Rules) {
		t.Fatalf("%d rule ops for %d rules", len(rules), len(pol.Rules))
	}
	for k, i := range rules {
		r, op, open := pol.Rules[k], p.ops[i], p.ops[i-1]
		if create >= i || i >= restrict {
			t.Errorf("rule %s at op %d, outside %d..%d", r.Path, i, create, restrict)
		}
		if open.nr != unix.SYS_OPENAT || arenaStr(p, open.a[1]) != r.Path || open.a[2] != unix.O_PATH|unix.O_CLOEXEC {
			t.Errorf("rule %s: open op %+v (%q)", r.Path, open, arenaStr(p, open.a[1]))
		}
		if op.a[2] != uintptr(r.Access) || op.a[4] != landlock.FileRights || op.a[0] != uintptr(c.out) || op.a[1] != uintptr(open.out) {
			t.Errorf("rule %s: op %+v", r.Path, op)
		}
		if d := p.desc[i]; d.step != "landlock add rule" || d.object != r.Object() || p.desc[i-1] != d {
			t.Errorf("rule %s: descriptions %+v %+v", r.Path, p.desc[i-1], d)
		}
		// An optional rule's path may be missing: its ops are skipped.
		if r.Optional != (open.skipOn == uint16(unix.ENOENT)) {
			t.Errorf("rule %s: optional %v, skipOn %d", r.Path, r.Optional, open.skipOn)
		}
	}
	if op := p.ops[restrict]; op.a[0] != uintptr(c.out) || op.a[1] != 0 {
		t.Fatalf("restrict op %+v", op)
	}
	for _, m := range []struct{ op int }{{rules[0]}, {rules[0] - 1}} {
		if msg, code := p.message(m.op, int(unix.EBADF), 0); msg != "landlock add rule / (ro): EBADF" || code != ExitSetup {
			t.Errorf("message %q %d", msg, code)
		}
	}
	if msg, _ := p.message(restrict, int(unix.EPERM), 0); msg != "landlock restrict self: EPERM" {
		t.Errorf("message %q", msg)
	}

	// No ruleset: a kernel without Landlock (auto), or off.
	for _, c := range []struct {
		mode   LandlockMode
		abi    int
		status string
	}{{LandlockAuto, 0, LandlockUnavailable}, {LandlockAuto, 1, LandlockUnavailable}, {LandlockOff, 7, LandlockNotApplied}} {
		spec.Landlock = c.mode
		q, err := compileRaw(spec, nil, rawOpts{rootBase: "/tmp", landlockABI: c.abi})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range q.ops {
			if op.nr == unix.SYS_LANDLOCK_CREATE_RULESET || op.nr == macroLLRule || op.nr == unix.SYS_LANDLOCK_RESTRICT_SELF {
				t.Fatalf("%s ABI %d: a Landlock op", c.mode, c.abi)
			}
		}
		if q.landlock != c.status || len(q.ops) != len(p.ops)-(restrict-create+2) {
			t.Fatalf("%s ABI %d: status %q, %d ops (with Landlock %d)", c.mode, c.abi, q.landlock, len(q.ops), len(p.ops))
		}
	}
	// Required but unavailable: the program is not compiled.
	spec.Landlock = LandlockOn
	if _, err := compileRaw(spec, nil, rawOpts{rootBase: "/tmp", landlockABI: 1}); err == nil || !strings.Contains(err.Error(), "landlock: not available") {
		t.Fatalf("on without Landlock: %v", err)
	}
}

func needLandlock(t *testing.T) {
	if landlock.ABI() < landlock.MinABI {
		t.Skipf("no Landlock ABI %d on this kernel (%s)", landlock.MinABI, landlock.Describe(landlock.ABI()))
	}
}

// wantLandlock checks Result.Landlock (both paths fill it in).
func wantLandlock(t *testing.T, res *Result, want string) {
	t.Helper()
	if res.Landlock == want {
		return
	}
	t.Errorf("Result.Landlock %q (ABI %d), want %q", res.Landlock, res.LandlockABI, want)
}

// landlockWorkload is ordinary Python that touches every kind of file
// access a program needs: it must work under the default policy with
// Landlock applied.
const landlockWorkload = `
import asyncio, ctypes, hashlib, mmap, os, shutil, signal, socket, sqlite3, subprocess, sys
import tempfile, threading, time
import multiprocessing as mp
from multiprocessing import shared_memory

def sq(x):
    return x * x

def main():
    # threads
    out = []
    ts = [threading.Thread(target=lambda i=i: out.append(sq(i))) for i in range(8)]
    [t.start() for t in ts]; [t.join() for t in ts]
    assert sorted(out) == [i * i for i in range(8)]
    # subprocess, a script written to the workspace and run
    assert subprocess.run(["sh", "-c", "echo hi"], capture_output=True).stdout == b"hi\n"
    with open("run.sh", "w") as f:
        f.write("#!/bin/sh\necho script\n")
    os.chmod("run.sh", 0o755)
    assert subprocess.run(["./run.sh"], capture_output=True).stdout == b"script\n"
    # multiprocessing: fork, spawn, forkserver; queues, locks, a manager
    for ctx in ("fork", "spawn", "forkserver"):
        with mp.get_context(ctx).Pool(2) as p:
            assert p.map(sq, range(5)) == [0, 1, 4, 9, 16], ctx
    q = mp.Queue(); l = mp.Lock()
    with l:
        q.put(1)
    assert q.get(timeout=5) == 1
    with mp.Manager() as m:
        d = m.dict(); d["a"] = 1
        assert d["a"] == 1
    shm = shared_memory.SharedMemory(create=True, size=4096)
    shm.buf[0] = 7; shm.close(); shm.unlink()
    # sqlite3 with a journal and WAL in the workspace
    db = sqlite3.connect("t.db"); db.execute("pragma journal_mode=wal")
    db.execute("create table t(x)"); db.executemany("insert into t values(?)", [(i,) for i in range(100)])
    db.commit(); assert db.execute("select sum(x) from t").fetchone()[0] == 4950; db.close()
    # files: tempfile, renames and links between directories, truncation
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(d + "/a/b"); os.makedirs(d + "/c")
        with open(d + "/a/b/f", "w") as f:
            f.write("x" * 100)
        os.rename(d + "/a/b/f", d + "/c/f")
        os.link(d + "/c/f", d + "/a/g")
        shutil.move(d + "/a", d + "/c/a")
        os.truncate(d + "/c/f", 10)
        with open(d + "/c/f", "w") as f:
            f.write("y")
        os.mkfifo(d + "/fifo")
        s = socket.socket(socket.AF_UNIX); s.bind(d + "/sock"); s.listen(1)
        c = socket.socket(socket.AF_UNIX); c.connect(d + "/sock"); c.close(); s.close()
        os.symlink("c/f", d + "/l"); assert open(d + "/l").read() == "y"
    shutil.copy("run.sh", "/tmp/run.sh"); os.rename("/tmp/run.sh", "/tmp/run2.sh")
    # abstract unix sockets between processes of the run
    name = b"\0pycage-ll-" + str(os.getpid()).encode()
    srv = socket.socket(socket.AF_UNIX); srv.bind(name); srv.listen(1)
    if os.fork() == 0:
        c = socket.socket(socket.AF_UNIX); c.connect(name); c.send(b"x"); os._exit(0)
    conn, _ = srv.accept(); assert conn.recv(1) == b"x"; os.wait()
    # signals to our own children
    p = subprocess.Popen(["sleep", "10"]); p.send_signal(signal.SIGTERM); assert p.wait() == -signal.SIGTERM
    os.kill(os.getpid(), 0)
    # devices and /proc
    with open("/dev/null", "w") as f:
        f.write("x")
    assert len(open("/dev/urandom", "rb").read(16)) == 16
    assert open("/dev/zero", "rb").read(4) == b"\0\0\0\0"
    try:
        with open("/dev/full", "w") as f:
            f.write("x"); f.flush()
        raise AssertionError("/dev/full accepted a write")
    except OSError as e:
        assert e.errno == 28, e
    assert "NoNewPrivs" in open("/proc/self/status").read()
    assert os.listdir("/proc/self/fd")
    with open("/dev/shm/m", "w+b") as f:
        f.truncate(4096); mm = mmap.mmap(f.fileno(), 4096); mm[0] = 1; mm.close()
    os.unlink("/dev/shm/m")
    # ctypes, hashlib, asyncio with a subprocess
    libc = ctypes.CDLL(None); assert libc.getpid() == os.getpid()
    hashlib.sha256(b"x").hexdigest()
    async def a():
        pr = await asyncio.create_subprocess_exec("true"); return await pr.wait()
    assert asyncio.run(a()) == 0
    try:
        import numpy
        assert numpy.arange(10).sum() == 45
    except ImportError:
        pass
    # reading the system tree, executing from it
    assert open("/etc/passwd").read().startswith("root:")
    assert os.listdir("/usr/bin")
    # and under Landlock: the host directory passed in opens nothing
    try:
        os.open(".", os.O_RDONLY, dir_fd=int(sys.argv[1]))
        raise AssertionError("a host directory opened")
    except PermissionError:
        pass
    print("workload ok")

if __name__ == "__main__":
    main()
`

// TestLandlockPythonWorks: stdlib-heavy Python runs under the default
// policy with Landlock applied, on both spawn paths.
func TestLandlockPythonWorks(t *testing.T) {
	needRoot(t)
	needLandlock(t)
	runBoth(t, func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(dir+"/w.py", []byte(landlockWorkload), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		hostDir := t.TempDir()
		os.Chmod(hostDir, 0o777) // only Landlock refuses it
		host, err := os.Open(hostDir)
		if err != nil {
			t.Fatal(err)
		}
		defer host.Close()
		spec := DefaultSpec([]string{"python3", "/w/w.py", strconv.Itoa(int(host.Fd()))})
		spec.PassFDs = []int{int(host.Fd())}
		spec.Mounts = append(spec.Mounts, Mount{Kind: MountBind, Src: dir, Dst: "/w", Mandatory: true, NoDev: true})
		spec.Limits.Wall, spec.Limits.CPU = 60*time.Second, 60*time.Second
		res, out, errs, err := run(t, spec, "")
		if err != nil || res.ExitCode != 0 || out != "workload ok\n" {
			t.Fatalf("%v %+v\nstdout %s\nstderr %s", err, res, out, errs)
		}
		wantLandlock(t, res, LandlockApplied)
	})
}

// TestLandlockLeakedFD: a host directory's descriptor passed into the jail
// (PassFDs) opens nothing under Landlock, also with no_new_privs disabled
// (the ruleset is enforced while the command still has CAP_SYS_ADMIN in
// its user namespace), and everything with Landlock off (the control).
func TestLandlockLeakedFD(t *testing.T) {
	needRoot(t)
	needLandlock(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	if err := os.WriteFile(dir+"/f", []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir+"/f", 0o666)
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	fd := int(d.Fd())
	prog := `
import os, sys
fd = int(sys.argv[1])
nnp = [l.split()[1] for l in open("/proc/self/status") if l.startswith("NoNewPrivs")][0]
res = []
for what, fn in (("read", lambda: os.read(os.open("f", os.O_RDONLY, dir_fd=fd), 64)),
                 ("write", lambda: os.open("f", os.O_WRONLY | os.O_APPEND, dir_fd=fd)),
                 ("create", lambda: os.open("new", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)),
                 ("list", lambda: os.listdir("/proc/self/fd/%d" % fd))):
    try:
        fn(); res.append(what + "=ok")
    except OSError as e:
        res.append(what + "=" + os.strerror(e.errno))
print("nnp=" + nnp, *res)
`
	runBoth(t, func(t *testing.T) {
		for _, c := range []struct {
			mode  LandlockMode
			nnp   bool
			out   string
			state string
		}{
			{LandlockAuto, true, "nnp=1 read=Permission denied write=Permission denied create=Permission denied list=Permission denied\n", LandlockApplied},
			{LandlockOn, false, "nnp=0 read=Permission denied write=Permission denied create=Permission denied list=Permission denied\n", LandlockApplied},
			{LandlockOff, true, "nnp=1 read=ok write=ok create=ok list=ok\n", LandlockNotApplied},
		} {
			os.Remove(dir + "/new")
			spec := DefaultSpec([]string{"python3", "-c", prog, strconv.Itoa(fd)})
			spec.PassFDs = []int{fd}
			spec.Landlock, spec.DisableNoNewPrivs = c.mode, !c.nnp
			if !c.nnp {
				spec.Seccomp = nil // a filter needs no_new_privs once the capabilities are gone
			}
			res, out, errs, err := run(t, spec, "")
			if err != nil || res.ExitCode != 0 || out != c.out {
				t.Fatalf("%s (nnp %v): %v %+v\nstdout %q, want %q\nstderr %s", c.mode, c.nnp, err, res, out, c.out, errs)
			}
			wantLandlock(t, res, c.state)
		}
	})
	if b, _ := os.ReadFile(dir + "/f"); string(b) != "host secret\n" {
		t.Fatalf("host file %q", b)
	}
}

// TestLandlockSetupErrors: "on" where Landlock cannot apply fails with a
// message naming Landlock, on both paths; auto then runs and says so.
func TestLandlockSetupErrors(t *testing.T) {
	needRoot(t)
	runBoth(t, func(t *testing.T) {
		noMount := func(mode LandlockMode) *Spec {
			s := DefaultSpec([]string{"true"})
			s.Namespaces.Mount, s.Mounts, s.Proc, s.Dev, s.Cwd = false, nil, false, false, "/"
			s.Landlock = mode
			return s
		}
		res, _, _, err := run(t, noMount(LandlockOn), "")
		if err == nil || res.Reason != ReasonSetupError || !strings.Contains(res.Error, "landlock: needs a mount namespace") {
			t.Fatalf("on without a mount namespace: %v %+v", err, res)
		}
		res, _, _, err = run(t, noMount(LandlockAuto), "")
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("auto without a mount namespace: %v %+v", err, res)
		}
		wantLandlock(t, res, LandlockUnavailable)
		spec := DefaultSpec([]string{"true"})
		spec.Landlock = "maybe"
		res, _, _, err = run(t, spec, "")
		if err == nil || !strings.Contains(res.Error, `landlock "maybe": want auto, on or off`) {
			t.Fatalf("bad mode: %v %+v", err, res)
		}
	})
}
