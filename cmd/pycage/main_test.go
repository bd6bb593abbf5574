package main

// Black-box tests of the real pycage binary against the real kernel: they
// build the binary once (static, CGO_ENABLED=0) and run it as a user would.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

var pycageBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pycage-test-bin-")
	if err != nil {
		panic(err)
	}
	pycageBin = filepath.Join(dir, "pycage")
	// Built as README.md builds it: with the raw client of a daemon as the
	// ELF entry (fastclient_amd64.go).
	build := exec.Command("go", "build", "-ldflags=-E=main.fastEntry", "-o", pycageBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build pycage: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runOut struct {
	stdout, stderr string
	code           int
	report         map[string]any
	pid            int // of the pycage process
}

// pycage runs the binary with args and optional stdin.
func pycage(t *testing.T, stdin string, args ...string) runOut {
	t.Helper()
	rep := filepath.Join(t.TempDir(), "report.json")
	if len(args) > 0 && args[0] == "run" {
		args = append([]string{"run", "--report", rep}, args[1:]...)
	}
	r := capture(t, exec.Command(pycageBin, args...), stdin)
	if b, err := os.ReadFile(rep); err == nil {
		json.Unmarshal(b, &r.report)
	}
	return r
}

// capture runs cmd with stdin and returns its output and exit code (a
// command that cannot be run at all fails the test).
func capture(t *testing.T, cmd *exec.Cmd, stdin string) runOut {
	t.Helper()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := runOut{stdout: out.String(), stderr: errb.String()}
	if cmd.Process != nil {
		r.pid = cmd.Process.Pid
	}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", cmd.Args, err)
	}
	return r
}

func py(t *testing.T, code string, flags ...string) runOut {
	t.Helper()
	args := append([]string{"run"}, flags...)
	args = append(args, "--", "python3", "-c", code)
	return pycage(t, "", args...)
}

func wantCode(t *testing.T, r runOut, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
}

func wantReason(t *testing.T, r runOut, reason string) {
	t.Helper()
	if got := r.report["reason"]; got != reason {
		t.Fatalf("reason %v, want %s\nreport: %v\nstdout: %.500s\nstderr: %.500s", got, reason, r.report, r.stdout, r.stderr)
	}
}

func TestHelloAndExitCodes(t *testing.T) {
	r := pycage(t, "print('hello from stdin')\n", "run", "--", "python3", "-")
	wantCode(t, r, 0)
	if r.stdout != "hello from stdin\n" {
		t.Fatalf("stdout %q", r.stdout)
	}
	wantReason(t, r, "exited")
	wantCode(t, py(t, "import sys; sys.exit(42)"), 42)
	r = py(t, "import os, signal; os.kill(os.getpid(), signal.SIGTERM)")
	wantCode(t, r, 128+15)
	wantReason(t, r, "signaled")
	if r.report["signal"] != float64(15) {
		t.Fatalf("signal %v", r.report["signal"])
	}
	r = py(t, "import sys; print('out'); print('err', file=sys.stderr)")
	if r.stdout != "out\n" || r.stderr != "err\n" {
		t.Fatalf("stdout %q stderr %q", r.stdout, r.stderr)
	}
}

func TestIdentityAndCapabilities(t *testing.T) {
	r := py(t, `
import os
st = open("/proc/self/status").read()
caps = {l.split(":")[0]: l.split()[1] for l in st.splitlines() if l.startswith("Cap")}
nnp = [l.split()[1] for l in st.splitlines() if l.startswith("NoNewPrivs")][0]
print(os.getuid(), os.getgid(), os.geteuid(), os.getgroups(), caps, nnp)
`)
	wantCode(t, r, 0)
	want := "65534 65534 65534 [65534] {'CapInh': '0000000000000000', 'CapPrm': '0000000000000000', 'CapEff': '0000000000000000', 'CapBnd': '0000000000000000', 'CapAmb': '0000000000000000'} 1\n"
	if r.stdout != want && r.stdout != strings.Replace(want, "[65534]", "[]", 1) {
		t.Fatalf("got  %q\nwant %q", r.stdout, want)
	}
	// Outside, the jail's user is an unprivileged id, never root.
	r = py(t, `import time; time.sleep(0.3); print(open("/proc/self/uid_map").read().split())`)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "'65534', '65534', '1'") {
		t.Fatalf("uid_map: %s", r.stdout)
	}
}

func TestSetuidBinaryGivesNothing(t *testing.T) {
	// Any setuid-root binary of the host (su, mount, passwd): inside it must
	// not yield uid 0.
	var suid string
	for _, p := range []string{"/usr/bin/su", "/usr/bin/mount", "/usr/bin/passwd", "/usr/bin/newgrp"} {
		if st, err := os.Stat(p); err == nil && st.Mode()&os.ModeSetuid != 0 {
			suid = p
			break
		}
	}
	if suid == "" {
		t.Skip("no setuid binary on this host")
	}
	r := py(t, fmt.Sprintf(`
import os, subprocess
st = os.stat(%q)
print("suid bit", bool(st.st_mode & 0o4000))
p = subprocess.run([%q, "--help"], capture_output=True)
print("geteuid after", os.geteuid())
`, suid, suid))
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "geteuid after 65534") {
		t.Fatal(r.stdout, r.stderr)
	}
}

func TestEnvironmentIsClean(t *testing.T) {
	cmd := exec.Command(pycageBin, "run", "--", "python3", "-c", "import os; print(sorted(os.environ))")
	cmd.Env = append(os.Environ(), "PYCAGE_HOST_CANARY=secret")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "CANARY") {
		t.Fatalf("host env leaked: %s", out)
	}
	r := py(t, "import os; print(os.environ['FOO'], os.environ['HOME'], os.environ['LANG'])", "--env", "FOO=bar")
	if r.stdout != "bar /sandbox C.UTF-8\n" {
		t.Fatalf("env: %q %s", r.stdout, r.stderr)
	}
	cmd = exec.Command(pycageBin, "run", "--keep-env", "--", "python3", "-c", "import os; print(os.environ.get('PYCAGE_HOST_CANARY'))")
	cmd.Env = append(os.Environ(), "PYCAGE_HOST_CANARY=secret")
	out, _ = cmd.Output()
	if string(out) != "secret\n" {
		t.Fatalf("--keep-env: %q", out)
	}
}

func TestReadOnlyAndHiddenHostPaths(t *testing.T) {
	canary := filepath.Join(t.TempDir(), "canary")
	os.WriteFile(canary, []byte("host secret"), 0o644)
	r := py(t, fmt.Sprintf(`
import os, errno
for p in ["/usr/pycage-x", "/etc/pycage-x", "/pycage-x", "/lib/pycage-x", "/proc/pycage-x", "/dev/pycage-x"]:
    try:
        open(p, "w")
        print("WROTE", p)
    except OSError as e:
        print(p, errno.errorcode[e.errno])
for p in [%q, "/root", "/home", "/work", "/var", "/etc/shadow", "/etc/ssh", "/sys", "/boot", "/run"]:
    print(p, os.path.exists(p))
print(sorted(os.listdir("/etc")))
open("/sandbox/ok", "w").write("x"); open("/tmp/ok", "w").write("x"); print("writable ok")
`, canary))
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "WROTE") || strings.Contains(r.stdout, "True") {
		t.Fatalf("isolation broken:\n%s", r.stdout)
	}
	for _, p := range []string{"/usr/pycage-x EROFS", "/etc/pycage-x EROFS", "/pycage-x EROFS", "writable ok"} {
		if !strings.Contains(r.stdout, p) {
			t.Fatalf("want %q in\n%s", p, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "'shadow'") {
		t.Fatal("host /etc visible")
	}
	if b, _ := os.ReadFile(canary); string(b) != "host secret" {
		t.Fatal("canary changed")
	}
}

func TestWorkspaceFreshAndBounded(t *testing.T) {
	wantCode(t, py(t, "open('/sandbox/persist', 'w').write('x'); open('/tmp/persist', 'w').write('x')"), 0)
	r := py(t, "import os; print(os.listdir('/sandbox'), os.listdir('/tmp'))")
	if r.stdout != "[] []\n" {
		t.Fatalf("state leaked between runs: %q", r.stdout)
	}
	// Filling the workspace ends in ENOSPC, not in host disk usage.
	r = py(t, `
import errno
f = open("/sandbox/fill", "wb")
try:
    while True: f.write(b"x" * (1 << 20)); f.flush()
except OSError as e:
    print(errno.errorcode[e.errno])
`, "--workspace-size", "8M", "--fsize", "0")
	if !strings.Contains(r.stdout, "ENOSPC") {
		t.Fatalf("workspace fill: %q %q", r.stdout, r.stderr)
	}
	// fsize rlimit: a single file beyond it fails with EFBIG.
	r = py(t, `
import errno, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
f = open("/sandbox/big", "wb")
try:
    f.write(b"x" * (3 << 20)); f.flush()
except OSError as e:
    print(errno.errorcode[e.errno])
`, "--fsize", "1M")
	if !strings.Contains(r.stdout, "EFBIG") {
		t.Fatalf("fsize: %q %q", r.stdout, r.stderr)
	}
}

func TestNetwork(t *testing.T) {
	// A listener on the host's loopback must not be reachable.
	r := py(t, `
import socket, errno
for addr in [("127.0.0.1", 22), ("127.0.0.1", 8060), ("10.0.0.1", 80)]:
    s = socket.socket(); s.settimeout(1)
    try:
        s.connect(addr); print("CONNECTED", addr)
    except OSError as e:
        print(addr, errno.errorcode.get(e.errno, e.errno))
print(open("/proc/net/dev").read().count(":"))
`)
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "CONNECTED") || !strings.Contains(r.stdout, "ENETUNREACH") {
		t.Fatalf("network: %s %s", r.stdout, r.stderr)
	}
	r = py(t, `
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept(); c.send(b"ping"); print(a.recv(4).decode())
`, "--net", "loopback")
	if r.stdout != "ping\n" {
		t.Fatalf("--net loopback: %q %s", r.stdout, r.stderr)
	}
}

func TestProcessIsolation(t *testing.T) {
	host := exec.Command("sleep", "30")
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	defer host.Process.Kill()
	r := py(t, fmt.Sprintf(`
import os, errno
pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
print("pids", pids)
try:
    os.kill(%d, 9); print("KILLED")
except OSError as e:
    print("kill", errno.errorcode[e.errno])
print("ppid", os.getppid())
`, host.Process.Pid))
	wantCode(t, r, 0)
	if strings.Contains(r.stdout, "KILLED") || !strings.Contains(r.stdout, "kill ESRCH") {
		t.Fatalf("%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "pids [1, ") {
		t.Fatalf("init must be PID 1: %s", r.stdout)
	}
	if err := host.Process.Signal(syscall.Signal(0)); err != nil {
		t.Fatal("host process died")
	}
}

func TestInitCannotBeKilledFromInside(t *testing.T) {
	r := py(t, `
import os, signal, time
for s in [signal.SIGTERM, signal.SIGKILL, signal.SIGSEGV, signal.SIGUSR1, signal.SIGHUP, signal.SIGINT]:
    try: os.kill(1, s)
    except OSError as e: print("err", s, e)
time.sleep(0.2)
print("alive")
`)
	wantCode(t, r, 0)
	if !strings.Contains(r.stdout, "alive") {
		t.Fatalf("%q %q", r.stdout, r.stderr)
	}
}

func TestWallTimeout(t *testing.T) {
	for name, code := range map[string]string{"busy": "while True: pass", "sleep": "import time; time.sleep(60)"} {
		t.Run(name, func(t *testing.T) {
			r := py(t, code, "--time-limit", "500ms")
			wantCode(t, r, 137)
			wantReason(t, r, "wall-timeout")
			wall := r.report["wall_time"].(float64)
			if wall < 0.5 || wall > 0.6 {
				t.Fatalf("wall %.3fs, want within 100 ms of 0.5s", wall)
			}
		})
	}
}

func TestZombiesAreReaped(t *testing.T) {
	// Orphans re-parented to init must not stay zombies.
	r := py(t, `
import os, time
for i in range(20):
    if os.fork() == 0:
        if os.fork() == 0:
            os._exit(0)
        os._exit(0)
    os.wait()
time.sleep(0.3)
z = 0
for p in os.listdir("/proc"):
    if p.isdigit():
        try:
            if open(f"/proc/{p}/stat").read().split(")")[1].split()[0] == "Z": z += 1
        except FileNotFoundError: pass
print("zombies", z)
`)
	if r.stdout != "zombies 0\n" {
		t.Fatalf("%q %s", r.stdout, r.stderr)
	}
}

func TestDaemonDoesNotSurvive(t *testing.T) {
	marker := fmt.Sprintf("pycage-daemon-%d", time.Now().UnixNano())
	r := py(t, fmt.Sprintf(`
import os, subprocess
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("python3", ["python3", "-c", "import time; time.sleep(300)", %q])
    os._exit(0)
os.wait()
print("parent done")
`, marker), "--pids", "16")
	wantCode(t, r, 0)
	time.Sleep(100 * time.Millisecond)
	out, _ := exec.Command("pgrep", "-f", marker).Output()
	if len(bytes.TrimSpace(out)) > 0 {
		exec.Command("pkill", "-f", marker).Run()
		t.Fatalf("daemon survived the run: pids %s", out)
	}
}

func TestSignalRelay(t *testing.T) {
	cmd := exec.Command(pycageBin, "run", "--", "python3", "-c", `
import os, signal, time
# os.write and os._exit: the signal may arrive while print("ready") still
# flushes, and print is not reentrant.
signal.signal(signal.SIGTERM, lambda *a: (os.write(1, b"got SIGTERM\n"), os._exit(7)))
os.write(1, b"ready\n")
# Short sleeps, not one long one: a signal that lands between the eval
# loop's last check and the sleep's syscall waits for the sleep to end
# (CPython's own race, 1 in ~100 runs on a loaded machine).
for _ in range(600):
    time.sleep(0.05)
`)
	var out bytes.Buffer
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 6)
	if _, err := stdout.Read(buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("read %q %v", buf, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	out.ReadFrom(stdout)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 || out.String() != "got SIGTERM\n" {
		t.Fatalf("err %v out %q", err, out.String())
	}
}

func TestKillingPycageKillsTheJail(t *testing.T) {
	marker := fmt.Sprintf("pycage-kill-%d", time.Now().UnixNano())
	cmd := exec.Command(pycageBin, "run", "--", "python3", "-c", "import os, time; os.fork(); time.sleep(300)", marker)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		if len(strings.Fields(string(out))) >= 3 { // pycage and two pythons
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("jail did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline = time.Now().Add(3 * time.Second)
	for {
		out, _ := exec.Command("pgrep", "-f", marker).Output()
		if len(bytes.TrimSpace(out)) == 0 {
			return
		}
		if time.Now().After(deadline) {
			exec.Command("pkill", "-9", "-f", marker).Run()
			t.Fatalf("jail processes survived SIGKILL of pycage: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"run", "--no-such-flag", "--", "true"}, 125, "flag provided but not defined: -no-such-flag"},
		{[]string{"run", "--memory", "-5M", "--", "true"}, 125, "invalid size"},
		{[]string{"run", "--memory", "lots", "--", "true"}, 125, "invalid size"},
		{[]string{"run", "--time-limit", "-1s", "--", "true"}, 125, "invalid duration"},
		{[]string{"run", "--pids", "x", "--", "true"}, 125, "invalid number"},
		{[]string{"run", "--bind", "/no/such/dir", "--", "true"}, 125, "source /no/such/dir does not exist"},
		{[]string{"run", "--net", "wifi", "--", "true"}, 125, `--net "wifi"`},
		{[]string{"run"}, 125, "no command given"},
		{[]string{"run", "--", "no-such-command"}, 127, "no-such-command: not found in PATH"},
		{[]string{"run", "--", "/etc/passwd"}, 126, "not an executable file"},
		{[]string{"frobnicate"}, 125, "unknown command"},
	}
	for _, c := range cases {
		r := pycage(t, "", c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%v: code %d stderr %q; want %d and %q", c.args, r.code, r.stderr, c.code, c.msg)
		}
		if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n > 0 && c.code == 125 {
			t.Errorf("%v: error is not one line: %q", c.args, r.stderr)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
