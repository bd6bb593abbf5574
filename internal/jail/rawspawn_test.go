package jail

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

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
		for _, c := range []struct {
			args []string
			msg  string
			code int
		}{
			{[]string{"nosuchcmd"}, "exec nosuchcmd: not found in PATH=", ExitNotFound},
			{[]string{"/nosuch/cmd"}, "exec /nosuch/cmd: not found inside the jail", ExitNotFound},
			{[]string{"/etc/passwd"}, "exec /etc/passwd: not an executable file", ExitCannotExec},
			{[]string{"/usr"}, "exec /usr: not an executable file", ExitCannotExec},
		} {
			res, _, _, err := run(t, DefaultSpec(c.args), "")
			se, ok := err.(*SetupError)
			if !ok || !strings.Contains(se.Msg, c.msg) || se.ExitCode != c.code || !res.NotFound {
				t.Errorf("%v: %v (%+v)", c.args, err, se)
			}
		}
	})
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
