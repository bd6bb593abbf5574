package jail

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func prepare1(t *testing.T, spec *Spec) *Prepared {
	t.Helper()
	p, err := Prepare(spec)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return p
}

func runPrepared(t *testing.T, spec *Spec, stdin string) (*Result, string, string, error) {
	t.Helper()
	p := prepare1(t, spec)
	var out, errb bytes.Buffer
	res, err := p.Run(context.Background(), spec.Args, spec.Env, spec.ExecPath, IO{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return res, out.String(), errb.String(), err
}

// bothVM runs f with PID 1 sharing pycage's memory (CLONE_VM, the default
// as root) and with a forked PID 1 (PYCAGE_SPAWN=rawfork).
func bothVM(t *testing.T, f func(t *testing.T)) {
	for _, mode := range []string{"raw", "rawfork"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("PYCAGE_SPAWN", mode)
			f(t)
		})
	}
}

// jailGone fails unless every cgroup directory of the jail is gone.
func jailGone(t *testing.T, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("cgroup %s survived the jail", d)
		}
	}
}

// TestPreparedBasics: a prepared jail runs its command as a cold run
// would: argv, environment (and PATH lookup), stdin, stdout, stderr, the
// jail's user, the exit code; and leaves nothing behind.
func TestPreparedBasics(t *testing.T) {
	needRoot(t)
	bothVM(t, func(t *testing.T) {
		spec := DefaultSpec([]string{"sh", "-c", "echo out; echo err >&2; cat; id -u; echo \"$FOO\" \"$0\" \"$1\"; exit 3", "zero", "one two"})
		spec.Env = append(spec.Env, "FOO=bar")
		p := prepare1(t, spec)
		dirs := p.r.group.Dirs()
		var out, errb bytes.Buffer
		res, err := p.Run(context.Background(), spec.Args, spec.Env, "", IO{Stdin: strings.NewReader("in\n"), Stdout: &out, Stderr: &errb})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonExited || res.ExitCode != 3 || out.String() != "out\nin\n65534\nbar zero one two\n" || errb.String() != "err\n" {
			t.Fatalf("%+v out %q err %q", res, out.String(), errb.String())
		}
		WaitTeardowns()
		jailGone(t, dirs)
		if _, err := p.Run(context.Background(), spec.Args, spec.Env, "", IO{}); err == nil {
			t.Fatal("a prepared jail ran twice")
		}
	})
}

// TestPreparedErrors: the command's own failures read as on a cold run.
func TestPreparedErrors(t *testing.T) {
	needRoot(t)
	for _, c := range append(execErrors, execError{[]string{"a\x00b"}, "exec", ExitSetup}) {
		spec := DefaultSpec(c.args)
		res, _, _, err := runPrepared(t, spec, "")
		se, ok := err.(*SetupError)
		if !ok || !strings.Contains(se.Msg, c.msg) || se.ExitCode != c.code || res.ExitCode != c.code || res.Reason != ReasonSetupError {
			t.Errorf("%q: %v (%+v)", c.args, err, res)
		}
		cres, _, _, cerr := run(t, spec, "")
		if cerr == nil || cerr.Error() != err.Error() || cres.ExitCode != res.ExitCode {
			t.Errorf("%q: prepared %v, cold %v", c.args, err, cerr)
		}
	}
	// A jail that cannot be built fails in Prepare (and Run), naming the
	// step: PID 1's error, also when the command's process (which PID 1
	// forked before the mounts) died with it before the parent put it in
	// the run's cgroups (that failed with ESRCH, and once was the error).
	spec := DefaultSpec([]string{"true"})
	spec.Mounts = append(spec.Mounts, Mount{Kind: MountOther, FSType: "nosuchfs", Dst: "/y"})
	for i := 0; i < 25; i++ {
		if _, err := Prepare(spec); err == nil || !strings.Contains(err.Error(), "mount nosuchfs /y: ENODEV") {
			t.Fatalf("bad mount, Prepare %d: %v", i, err)
		}
		if _, err := Run(context.Background(), spec, IO{}); err == nil || !strings.Contains(err.Error(), "mount nosuchfs /y: ENODEV") {
			t.Fatalf("bad mount, Run %d: %v", i, err)
		}
	}
	spec = DefaultSpec([]string{"true"})
	spec.Files = []File{{Path: "a", Content: []byte("x")}}
	if _, err := Prepare(spec); err != ErrNotPreparable {
		t.Fatalf("input files: %v", err)
	}
}

// TestPreparedClocks: the limits count from the command's execve, not
// from Prepare: a jail that waited longer than its wall limit still gives
// the command all of it, and a command that overruns it is stopped.
func TestPreparedClocks(t *testing.T) {
	needRoot(t)
	spec := DefaultSpec([]string{"sleep", "0.1"})
	spec.Limits.Wall = 400 * time.Millisecond
	p := prepare1(t, spec)
	p2 := prepare1(t, spec)
	time.Sleep(600 * time.Millisecond)
	res, err := p.Run(context.Background(), spec.Args, spec.Env, "", IO{})
	if err != nil || res.Reason != ReasonExited || res.ExitCode != 0 {
		t.Fatalf("sleep 0.1 in a jail prepared 600 ms ago (limit 400 ms): %v %+v", err, res)
	}
	res, err = p2.Run(context.Background(), []string{"sleep", "5"}, spec.Env, "", IO{})
	if err != nil || res.Reason != ReasonWallTimeout || res.Wall < 400*time.Millisecond || res.Wall > 700*time.Millisecond {
		t.Fatalf("sleep 5 (limit 400 ms): %v %+v", err, res)
	}
}

// TestPreparedFresh: two prepared jails of one spec share nothing: a file
// one run leaves in /tmp and its processes are not in the other's.
func TestPreparedFresh(t *testing.T) {
	needRoot(t)
	spec := DefaultSpec([]string{"sh"})
	a, b := prepare1(t, spec), prepare1(t, spec)
	var out bytes.Buffer
	res, err := a.Run(context.Background(), []string{"sh", "-c", "echo x > /tmp/mark; echo y > mark; set -- /proc/[0-9]*; echo $#"}, spec.Env, "", IO{Stdout: &out})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "2" { // PID 1, sh
		t.Fatalf("first: %v %+v %q", err, res, out.String())
	}
	out.Reset()
	res, err = b.Run(context.Background(), []string{"sh", "-c", "ls -A /tmp .; cat /tmp/mark mark 2>&1; set -- /proc/[0-9]*; echo $#"}, spec.Env, "", IO{Stdout: &out})
	if err != nil || out.String() != ".:\n\n/tmp:\ncat: /tmp/mark: No such file or directory\ncat: mark: No such file or directory\n2\n" {
		t.Fatalf("second: %v %+v %q", err, res, out.String())
	}
}

// TestPreparedClose: closing an unused prepared jail kills it and removes
// its cgroups; its PID 1 is gone.
func TestPreparedClose(t *testing.T) {
	needRoot(t)
	bothVM(t, func(t *testing.T) {
		p := prepare1(t, DefaultSpec([]string{"true"}))
		dirs, pid := p.r.group.Dirs(), p.proc.pid
		if err := syscall.Kill(pid, 0); err != nil {
			t.Fatalf("PID 1 of a prepared jail: %v", err)
		}
		p.Close()
		p.Close()
		jailGone(t, dirs)
		if err := syscall.Kill(pid, 0); err == nil {
			t.Fatalf("PID 1 (%d) survived Close", pid)
		}
		if _, err := p.Run(context.Background(), []string{"true"}, nil, "", IO{}); err == nil {
			t.Fatal("a closed prepared jail ran")
		}
	})
}

// TestPreparedOutputs: a prepared jail's output pipes (made, with their
// copiers, at Prepare) carry the streams as a cold run's do: separate
// writers, one writer for both (in order), the output limit; an unused
// jail's streams go with Close (no goroutine, no fd left).
func TestPreparedOutputs(t *testing.T) {
	needRoot(t)
	spec := DefaultSpec([]string{"sh"})
	script := []string{"sh", "-c", "echo a; echo b >&2; echo c"}
	var out, errb bytes.Buffer
	res, err := prepare1(t, spec).Run(context.Background(), script, spec.Env, "", IO{Stdout: &out, Stderr: &errb})
	if err != nil || out.String() != "a\nc\n" || errb.String() != "b\n" || res.StdoutBytes != 4 || res.StderrBytes != 2 {
		t.Errorf("separate writers: %v %+v stdout %q stderr %q", err, res, out.String(), errb.String())
	}
	var both bytes.Buffer
	res, err = prepare1(t, spec).Run(context.Background(), script, spec.Env, "", IO{Stdout: &both, Stderr: &both})
	if err != nil || both.String() != "a\nb\nc\n" || res.StdoutBytes != 6 || res.StderrBytes != 0 {
		t.Errorf("one writer: %v %+v output %q", err, res, both.String())
	}
	lim := DefaultSpec([]string{"sh"})
	lim.Limits.Output = 10
	out.Reset()
	res, err = prepare1(t, lim).Run(context.Background(), []string{"sh", "-c", "yes | head -c 100000"}, lim.Env, "", IO{Stdout: &out})
	if err != nil || res.Reason != ReasonOutputLimit || out.Len() != 10 || !res.StdoutTruncated {
		t.Errorf("output limit: %v %+v, %d bytes kept", err, res, out.Len())
	}
	WaitTeardowns()
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	g0, f0 := runtime.NumGoroutine(), fds()
	for i := 0; i < 5; i++ {
		prepare1(t, spec).Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for (runtime.NumGoroutine() > g0 || fds() > f0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g, f := runtime.NumGoroutine(), fds(); g > g0 || f > f0 {
		t.Errorf("after 5 prepared jails closed unused: %d goroutines (were %d), %d fds (were %d)", g, g0, f, f0)
	}
}

// TestPreparedLimits: the cgroup limits and the seccomp filter hold in a
// prepared jail (the command's process joined the run's cgroups before it
// was let go), signals are relayed and a canceled context kills the run.
func TestPreparedLimits(t *testing.T) {
	needRoot(t)
	spec := DefaultSpec([]string{"python3"})
	spec.Limits.Memory = 64 << 20
	res, _, _, err := runPrepared(t, spec, "")
	_ = res
	if err != nil {
		t.Fatal(err)
	}
	p := prepare1(t, spec)
	res, err = p.Run(context.Background(), []string{"python3", "-c", "b = bytearray(200 << 20); print(len(b))"}, spec.Env, "", IO{})
	if err != nil || res.Reason != ReasonOOM {
		t.Fatalf("200 MiB under a 64 MiB limit: %v %+v", err, res)
	}
	p = prepare1(t, spec)
	var out bytes.Buffer
	res, err = p.Run(context.Background(), []string{"python3", "-c", "import socket\ntry:\n socket.socket(socket.AF_PACKET)\nexcept OSError as e: print(e.errno)"}, spec.Env, "", IO{Stdout: &out})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != fmt.Sprint(int(syscall.EPERM)) {
		t.Fatalf("AF_PACKET socket: %v %+v %q", err, res, out.String())
	}
	p = prepare1(t, spec)
	sigs := make(chan os.Signal, 1)
	go func() { time.Sleep(300 * time.Millisecond); sigs <- syscall.SIGTERM }()
	res, err = p.Run(context.Background(), []string{"sleep", "10"}, spec.Env, "", IO{Signals: sigs})
	if err != nil || res.Reason != ReasonSignaled || res.ExitCode != 143 {
		t.Fatalf("SIGTERM relayed: %v %+v", err, res)
	}
	p = prepare1(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	res, err = p.Run(ctx, []string{"sleep", "10"}, spec.Env, "", IO{})
	if err != nil || res.Reason != ReasonCanceled {
		t.Fatalf("canceled: %v %+v", err, res)
	}
}

// TestPreparedLargeRequest: a command line near the limit works; beyond
// it the error says so.
func TestPreparedLargeRequest(t *testing.T) {
	needRoot(t)
	spec := DefaultSpec([]string{"sh"})
	env := append([]string{}, spec.Env...)
	for i := 0; i < 100; i++ {
		env = append(env, fmt.Sprintf("V%d=%s", i, strings.Repeat("x", 3000)))
	}
	var out bytes.Buffer
	p := prepare1(t, spec)
	res, err := p.Run(context.Background(), []string{"sh", "-c", "env | grep -c '^V'"}, env, "", IO{Stdout: &out})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "100" {
		t.Fatalf("300 KB of environment: %v %+v %q", err, res, out.String())
	}
	p = prepare1(t, spec)
	res, err = p.Run(context.Background(), []string{"true", strings.Repeat("y", rawReqMax)}, env, "", IO{})
	if err == nil || !strings.Contains(err.Error(), "too large for a prepared jail") || res.ExitCode != ExitSetup {
		t.Fatalf("too large: %v %+v", err, res)
	}
}

// TestPreparedFilterOrder: with the default policy the command's process
// waits for its request after its seccomp filter is installed (the
// filter allows the receive); with a policy that refuses recvmsg it waits
// before it, and the command still runs under that policy.
func TestPreparedFilterOrder(t *testing.T) {
	needRoot(t)
	recvAt := func(p *Prepared) string {
		prog := p.proc.prog
		switch {
		case prog.ops[prog.recvAfter].nr == macroRecvReq && prog.ops[prog.recvBefore].nr == macroNop:
			return "after"
		case prog.ops[prog.recvBefore].nr == macroRecvReq && prog.ops[prog.recvAfter].nr == macroNop:
			return "before"
		}
		return "broken"
	}
	spec := DefaultSpec([]string{"true"})
	p := prepare1(t, spec)
	if at := recvAt(p); at != "after" {
		t.Errorf("default policy: receive %s the filter", at)
	}
	if res, err := p.Run(context.Background(), []string{"true"}, spec.Env, "", IO{}); err != nil || res.ExitCode != 0 {
		t.Fatalf("default policy: %v %+v", err, res)
	}
	spec.Seccomp = &Seccomp{Policy: "ERRNO(1) { recvmsg }\nDEFAULT ALLOW\n"}
	p = prepare1(t, spec)
	if at := recvAt(p); at != "before" {
		t.Errorf("policy refusing recvmsg: receive %s the filter", at)
	}
	var out bytes.Buffer
	res, err := p.Run(context.Background(), []string{"python3", "-c", "import socket\na, b = socket.socketpair()\ntry:\n a.recvmsg(1)\nexcept OSError as e: print(e.errno)"}, spec.Env, "", IO{Stdout: &out})
	if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "1" {
		t.Fatalf("policy refusing recvmsg: %v %+v %q", err, res, out.String())
	}
}

// TestPreparedGone: a prepared jail killed while it waits (PID 1, or the
// command's process) gives ErrPreparedGone, with nothing of the request
// used, and leaves nothing behind.
func TestPreparedGone(t *testing.T) {
	needRoot(t)
	for _, victim := range []string{"PID 1", "command"} {
		spec := DefaultSpec([]string{"true"})
		p := prepare1(t, spec)
		dirs := p.r.group.Dirs()
		pid := p.proc.pid
		if victim == "command" {
			c, err := childPID(pid)
			if err != nil {
				t.Fatal(err)
			}
			pid = c
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		var out bytes.Buffer
		res, err := p.Run(context.Background(), []string{"echo", "hi"}, spec.Env, "", IO{Stdout: &out})
		if err != ErrPreparedGone || res != nil || out.Len() != 0 {
			t.Errorf("%s killed: %v %+v %q", victim, err, res, out.String())
		}
		WaitTeardowns()
		jailGone(t, dirs)
	}
}

// TestPreparedNice: as root a jail is prepared at nice 19 (PID 1 and the
// command's process while they are built), and once ready both have their
// niceness back (before the request: that costs no time in the run): the
// command the one a cold run gives it (the caller's, or Spec.Nice), PID 1
// the caller's.
func TestPreparedNice(t *testing.T) {
	needRoot(t)
	nice := func(pid int) int {
		prio, err := unix.Getpriority(unix.PRIO_PROCESS, pid)
		if err != nil {
			t.Fatal(err)
		}
		return 20 - prio
	}
	base := nice(0)
	for _, want := range []int{0, 7} {
		spec := DefaultSpec([]string{"sh"})
		spec.Nice = want
		if want == 0 {
			want = base
		}
		p := prepare1(t, spec)
		cmd, err := childPID(p.proc.pid)
		if err != nil {
			t.Fatal(err)
		}
		if n1, nc := nice(p.proc.pid), nice(cmd); n1 != base || nc != want {
			t.Errorf("ready: PID 1 nice %d, command nice %d, want %d, %d", n1, nc, base, want)
		}
		var out bytes.Buffer
		res, err := p.Run(context.Background(), []string{"sh", "-c", "cut -d' ' -f19 /proc/self/stat; cut -d' ' -f19 /proc/1/stat"}, spec.Env, "", IO{Stdout: &out})
		if err != nil || res.ExitCode != 0 || out.String() != fmt.Sprintf("%d\n%d\n", want, base) {
			t.Errorf("Spec.Nice %d: %v %+v: nice of the command, PID 1: %q (want %d, %d)", spec.Nice, err, res, out.String(), want, base)
		}
	}
	if n := nice(0); n != base {
		t.Errorf("the caller's thread left at nice %d (was %d)", n, base)
	}
}
