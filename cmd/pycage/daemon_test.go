package main

// Black-box tests of `pycage daemon` and of `pycage run` with
// PYCAGE_DAEMON set: the real binary on both sides, compared with the same
// command run cold.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/daemon/wire"
	"github.com/pycage/pycage/internal/testkit"
	"golang.org/x/sys/unix"
)

type daemonProc struct {
	t    *testing.T
	sock string
	cmd  *exec.Cmd
	pid  int
	logs *testkit.LockedBuffer
	done chan struct{}
	err  error // Wait's result, after done
}

// startDaemon starts `pycage daemon --socket <dir>/d.sock args...` and
// waits until it listens. Cleanup stops it with SIGTERM and checks that it
// exits 0 and leaves no socket and no run cgroup.
func startDaemon(t *testing.T, dir string, args ...string) *daemonProc {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	sock := filepath.Join(dir, "d.sock")
	cmd := exec.Command(pycageBin, append([]string{"daemon", "--socket", sock}, args...)...)
	logs := &testkit.LockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d := &daemonProc{t: t, sock: sock, cmd: cmd, pid: cmd.Process.Pid, logs: logs, done: make(chan struct{})}
	go func() { d.err = cmd.Wait(); close(d.done) }()
	t.Cleanup(d.stop)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "listening on") {
		select {
		case <-d.done:
			t.Fatalf("pycage daemon exited at start: %v\n%s", d.err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pycage daemon did not start listening\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return d
}

// stop sends SIGTERM and checks a clean exit (idempotent).
func (d *daemonProc) stop() {
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(60 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
		d.t.Errorf("pycage daemon did not stop within 60s of SIGTERM\n%s", d.logs.String())
		return
	}
	if d.err != nil {
		d.t.Errorf("pycage daemon exited with %v after SIGTERM\n%s", d.err, d.logs.String())
	}
	if _, err := os.Lstat(d.sock); err == nil {
		d.t.Errorf("socket %s left after the daemon stopped", d.sock)
	}
	if left := testkit.RunCgroups(d.pid); len(left) > 0 {
		d.t.Errorf("run cgroups left after the daemon (pid %d) stopped: %v", d.pid, left)
	}
}

// run runs pycage with args as a client of d (d nil: cold), in dir (""
// for the test's), with stdin and extra environment.
func (d *daemonProc) run(t *testing.T, dir, stdin string, env []string, args ...string) runOut {
	t.Helper()
	cmd := exec.Command(pycageBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if d != nil {
		cmd.Env = append(cmd.Env, "PYCAGE_DAEMON="+d.sock)
	}
	return capture(t, cmd, stdin)
}

// stats asks the daemon for its counts (SIGUSR1) and returns the line.
func (d *daemonProc) stats(t *testing.T) string {
	t.Helper()
	n := strings.Count(d.logs.String(), "pycage daemon: runs ")
	d.cmd.Process.Signal(syscall.SIGUSR1)
	deadline := time.Now().Add(30 * time.Second)
	for {
		lines := regexp.MustCompile(`pycage daemon: runs [^\n]*`).FindAllString(d.logs.String(), -1)
		if len(lines) > n {
			return lines[len(lines)-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stats line after SIGUSR1\n%s", d.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func statNum(t *testing.T, line, name string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) ` + regexp.QuoteMeta(name) + `\b|\b` + regexp.QuoteMeta(name) + ` (\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no %q in %q", name, line)
	}
	s := m[1] + m[2]
	n, _ := strconv.Atoi(s)
	return n
}

// startUntilReady starts `pycage run -- CMD...` (through d; nil: cold)
// and returns once the command printed its first line, "ready"; the rest
// of its output follows on the reader.
func startUntilReady(t *testing.T, d *daemonProc, stderr io.Writer, cmdline ...string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(pycageBin, append([]string{"run", "--"}, cmdline...)...)
	cmd.Env = os.Environ()
	if d != nil {
		cmd.Env = append(cmd.Env, "PYCAGE_DAEMON="+d.sock)
	}
	cmd.Stderr = stderr
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	if line, err := br.ReadString('\n'); line != "ready\n" {
		cmd.Process.Kill()
		cmd.Wait()
		logs := ""
		if d != nil {
			logs = d.logs.String()
		}
		if s, ok := stderr.(fmt.Stringer); ok {
			logs = "stderr " + s.String() + "\n" + logs
		}
		t.Fatalf("daemon %v: read %q %v\n%s", d != nil, line, err, logs)
	}
	return cmd, br
}

// waitReady waits until the daemon has at least n prepared jails ready.
func (d *daemonProc) waitReady(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		line := d.stats(t)
		if statNum(t, line, "jails ready") >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d prepared jails ready: %s\n%s", n, line, d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDaemonSameAsCold: stdout, stderr and exit code of a run through the
// daemon are a cold run's.
func TestDaemonSameAsCold(t *testing.T) {
	d := startDaemon(t, "")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "empty.kafel"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		env   []string
		args  []string
		code  int
	}{
		{"print", "", nil, []string{"run", "--", "python3", "-c", "print(1)"}, 0},
		{"exit 3", "", nil, []string{"run", "--", "sh", "-c", "echo out; echo err >&2; exit 3"}, 3},
		{"stdin", "import sys\nprint('got', sys.stdin.read() or 'program')\n", nil, []string{"run", "--", "python3", "-"}, 0},
		{"stdin passthrough", "line one\nline two\n", nil, []string{"run", "--", "sh", "-c", "cat; echo end"}, 0},
		{"not found", "", nil, []string{"run", "--", "no-such-command"}, 127},
		{"not executable", "", nil, []string{"run", "--", "/etc/passwd"}, 126},
		{"bad flag", "", nil, []string{"run", "--no-such-flag", "--", "true"}, 125},
		{"bad value", "", nil, []string{"run", "--memory", "lots", "--", "true"}, 125},
		{"no command", "", nil, []string{"run"}, 125},
		{"bind missing", "", nil, []string{"run", "--bind", "/no/such/dir", "--", "true"}, 125},
		{"killed", "", nil, []string{"run", "--", "sh", "-c", "kill -9 $$"}, 137},
		{"wall timeout", "", nil, []string{"run", "--time-limit", "300ms", "--", "sleep", "5"}, 137},
		{"env", "", []string{"DAEMON_TEST_VAR=from-client"}, []string{"run", "--env", "A=1", "--env", "LANG=C", "--",
			"sh", "-c", `echo "A=$A LANG=$LANG DAEMON_TEST_VAR=$DAEMON_TEST_VAR HOME=$HOME"`}, 0},
		{"keep-env", "", []string{"DAEMON_TEST_VAR=from-client"}, []string{"run", "--keep-env", "--env", "A=1", "--",
			"sh", "-c", `echo "A=$A DAEMON_TEST_VAR=$DAEMON_TEST_VAR"`}, 0},
		{"relative seccomp policy", "", nil, []string{"run", "--seccomp-policy", "empty.kafel", "--", "true"}, 0},
		{"missing relative file", "", nil, []string{"run", "--seccomp-policy", "nope.kafel", "--", "true"}, 125},
		{"report into a missing dir", "", nil, []string{"run", "--report", "nodir/r.json", "--", "true"}, 0},
		{"help", "", nil, []string{"run", "--help"}, 0},
		{"list runtimes", "", nil, []string{"run", "--list-runtimes"}, 0},
		{"quiet timeout", "", nil, []string{"run", "--quiet", "--time-limit", "200ms", "--", "sleep", "5"}, 137},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cold := (*daemonProc)(nil).run(t, dir, c.stdin, c.env, c.args...)
			warm := d.run(t, dir, c.stdin, c.env, c.args...)
			if cold.code != c.code {
				t.Fatalf("cold: exit %d, want %d\nstdout %q\nstderr %q", cold.code, c.code, cold.stdout, cold.stderr)
			}
			if warm.code != cold.code || warm.stdout != cold.stdout || warm.stderr != cold.stderr {
				t.Fatalf("daemon differs from cold:\ncold   exit %d stdout %q stderr %q\ndaemon exit %d stdout %q stderr %q",
					cold.code, cold.stdout, cold.stderr, warm.code, warm.stdout, warm.stderr)
			}
		})
	}
	// The keep-env case saw the client's variable, not the daemon's
	// environment (which lacks it).
	r := d.run(t, dir, "", []string{"DAEMON_TEST_VAR=from-client"}, "run", "--keep-env", "--", "sh", "-c", "echo $DAEMON_TEST_VAR")
	if r.stdout != "from-client\n" {
		t.Fatalf("--keep-env through the daemon: %q %q", r.stdout, r.stderr)
	}
}

// TestDaemonReports: --report FILE (relative to the client's working
// directory) and --report - carry the run's reason as in a cold run.
func TestDaemonReports(t *testing.T) {
	d := startDaemon(t, "")
	for _, who := range []*daemonProc{nil, d} {
		dir := t.TempDir()
		r := who.run(t, dir, "", nil, "run", "--time-limit", "300ms", "--report", "rep.json", "--", "sleep", "5")
		b, err := os.ReadFile(filepath.Join(dir, "rep.json"))
		if err != nil {
			t.Fatalf("daemon %v: report not in the client's directory: %v (exit %d, %q)", who != nil, err, r.code, r.stderr)
		}
		var rep map[string]any
		if err := json.Unmarshal(b, &rep); err != nil || rep["reason"] != "wall-timeout" || rep["exit_code"] != float64(137) || r.code != 137 {
			t.Fatalf("daemon %v: exit %d report %s (%v)", who != nil, r.code, b, err)
		}
		if lim := rep["limits"].(map[string]any); lim["time_limit"] != 0.3 {
			t.Fatalf("daemon %v: limits %v", who != nil, lim)
		}
		// --report - : the report, then pycage's message, on stderr.
		r = who.run(t, dir, "", nil, "run", "--time-limit", "300ms", "--report", "-", "--", "sleep", "5")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		rep = nil
		if r.code != 137 || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &rep) != nil || rep["reason"] != "wall-timeout" ||
			lines[1] != "pycage: run stopped: wall-timeout" {
			t.Fatalf("daemon %v: --report -: exit %d stderr %q", who != nil, r.code, r.stderr)
		}
		r = who.run(t, dir, "", nil, "run", "--report", "-", "--", "sh", "-c", "exit 4")
		lines = strings.Split(strings.TrimSpace(r.stderr), "\n")
		rep = nil
		if r.code != 4 || len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &rep) != nil || rep["reason"] != "exited" || rep["exit_code"] != float64(4) {
			t.Fatalf("daemon %v: --report -: exit %d stderr %q", who != nil, r.code, r.stderr)
		}
	}
}

// TestDaemonSignalRelay: the client's SIGTERM reaches the command.
func TestDaemonSignalRelay(t *testing.T) {
	d := startDaemon(t, "")
	for _, who := range []*daemonProc{nil, d} {
		var errb bytes.Buffer
		cmd, br := startUntilReady(t, who, &errb, "sh", "-c", "echo ready; exec sleep 30")
		cmd.Process.Signal(syscall.SIGTERM)
		io.Copy(io.Discard, br)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 143 {
			t.Fatalf("daemon %v: %v, want exit 143; stderr %q", who != nil, err, errb.String())
		}
	}
}

// runProcs lists the processes whose command line holds marker and that
// are in a run cgroup of the daemon pid.
func runProcs(pid int, marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte(marker)) {
			continue
		}
		cg, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cgroup"))
		if bytes.Contains(cg, []byte(fmt.Sprintf("-%d-", pid))) && bytes.Contains(cg, []byte("/run-")) {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestDaemonClientKilled: SIGKILL of the client kills its run in the
// daemon; the daemon serves the next request.
func TestDaemonClientKilled(t *testing.T) {
	d := startDaemon(t, "")
	marker := fmt.Sprintf("pycage-daemon-kill-%d", time.Now().UnixNano())
	cmd, _ := startUntilReady(t, d, nil, "python3", "-c", "import os, time; os.fork(); os.write(1, b'ready\\n'); time.sleep(300)", marker)
	if procs := runProcs(d.pid, marker); len(procs) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the run's processes are not found in the daemon's run cgroups")
	}
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs := runProcs(d.pid, marker)
		if len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range procs {
				if n, err := strconv.Atoi(p); err == nil {
					syscall.Kill(n, syscall.SIGKILL)
				}
			}
			t.Fatalf("processes of the run survived the client's SIGKILL: %v\n%s", procs, d.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := d.run(t, "", "", nil, "run", "--", "python3", "-c", "print('next')")
	if r.code != 0 || r.stdout != "next\n" {
		t.Fatalf("the next request: exit %d %q %q\n%s", r.code, r.stdout, r.stderr, d.logs.String())
	}
	if !strings.Contains(d.logs.String(), "run cancelled: the client disconnected") {
		t.Fatalf("the daemon did not log the cancelled run:\n%s", d.logs.String())
	}
}

// TestDaemonOtherUID: a client of another uid is refused, by the socket's
// mode or, with the socket opened up, by the daemon's SCM_CREDENTIALS check.
func TestDaemonOtherUID(t *testing.T) {
	dir, bin := binForOtherUsers(t, "pycage-daemon-uid-")
	d := startDaemon(t, dir)
	fi, err := os.Stat(d.sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("socket %s: %v %v, want a socket of mode 0600", d.sock, fi.Mode(), err)
	}
	client := func() runOut {
		cmd := exec.Command(bin, "run", "--", "python3", "-c", "print('ran')")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
		cmd.SysProcAttr = asUser(65534)
		return capture(t, cmd, "")
	}
	r := client()
	want := "pycage run: daemon " + d.sock + " (PYCAGE_DAEMON): send: permission denied\n"
	if r.code != 125 || r.stderr != want || r.stdout != "" {
		t.Fatalf("uid 65534, socket 0600: exit %d stdout %q stderr %q; want 125 and %q", r.code, r.stdout, r.stderr, want)
	}
	// Opened up, the socket still serves uid 0 only.
	if err := os.Chmod(d.sock, 0o666); err != nil {
		t.Fatal(err)
	}
	r = client()
	want = "pycage daemon: uid 65534 may not use this daemon (it serves uid 0 only)\n"
	if r.code != 125 || r.stderr != want || r.stdout != "" {
		t.Fatalf("uid 65534, socket 0666: exit %d stdout %q stderr %q; want 125 and %q", r.code, r.stdout, r.stderr, want)
	}
	if st := d.stats(t); statNum(t, st, "runs") != 0 || statNum(t, st, "refused") != 1 {
		t.Fatalf("counts: %s", st)
	}
}

// TestDaemonClientErrors: a too-large request, a socket nobody serves, a
// daemon that closes the connection: one line, exit 125, never a cold run.
func TestDaemonClientErrors(t *testing.T) {
	d := startDaemon(t, "")
	big := strings.Repeat("x", 100<<10)
	r := d.run(t, "", "", nil, "run", "--env", "A="+big, "--env", "B="+big, "--", "true")
	if r.code != 125 || !strings.HasPrefix(r.stderr, "pycage run: daemon "+d.sock+": the request (arguments and environment) is ") ||
		!strings.HasSuffix(r.stderr, "bytes, more than the protocol's 196608\n") {
		t.Fatalf("too large: exit %d stderr %q", r.code, r.stderr)
	}
	// One --env of that size runs: the limit is the protocol's, not less.
	r = d.run(t, "", "", nil, "run", "--env", "A="+big, "--", "sh", "-c", `echo ${#A}`)
	if r.code != 0 || r.stdout != fmt.Sprintf("%d\n", 100<<10) {
		t.Fatalf("a 100 KiB --env: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	missing := filepath.Join(t.TempDir(), "none.sock")
	cmd := exec.Command(pycageBin, "run", "--", "true")
	cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+missing)
	r = capture(t, cmd, "")
	if want := "pycage run: daemon " + missing + " (PYCAGE_DAEMON): send: no such file or directory\n"; r.code != 125 || r.stderr != want {
		t.Fatalf("no daemon: exit %d stderr %q, want %q", r.code, r.stderr, want)
	}

	// A "daemon" that takes the request and closes its fds (the reply
	// socket's end among them) without an answer.
	sock := filepath.Join(t.TempDir(), "lost.sock")
	ln := fakeDaemonSocket(t, sock)
	go func() {
		buf, oob := make([]byte, wire.MaxRequest), make([]byte, 1024)
		_, oobn, _, _, err := ln.ReadMsgUnix(buf, oob)
		if err == nil {
			closeRights(oob[:oobn])
		}
	}()
	cmd = exec.Command(pycageBin, "run", "--", "true")
	cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+sock)
	r = capture(t, cmd, "")
	if want := "pycage run: daemon " + sock + ": connection lost\n"; r.code != 125 || r.stderr != want {
		t.Fatalf("lost connection: exit %d stderr %q, want %q", r.code, r.stderr, want)
	}
}

// fakeDaemonSocket binds a SOCK_DGRAM socket at sock (a fake daemon of
// protocol v2), closed at the end of the test.
func fakeDaemonSocket(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); os.Remove(sock) })
	return c
}

func closeRights(oob []byte) {
	msgs, _ := unix.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		fds, _ := unix.ParseUnixRights(&m)
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
}

// TestDaemonClientProtocol checks the client's bytes against a fake daemon
// in this process: the request datagram (payload, 5 fds in order, the
// cwd, the reply socket), the relayed signal and the exit code of 'X' on
// the reply socket.
func TestDaemonClientProtocol(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fake.sock")
	ln := fakeDaemonSocket(t, sock)
	dir := t.TempDir()
	type seen struct {
		args, env []string
		fds       int
		cwd       string
		stdoutOK  bool
		replyType int
		sig       []byte
		err       error
	}
	got := make(chan seen, 1)
	go func() {
		var s seen
		defer func() { got <- s }()
		buf, oob := make([]byte, wire.MaxRequest), make([]byte, 1024)
		n, oobn, _, _, err := ln.ReadMsgUnix(buf, oob)
		if err != nil {
			s.err = err
			return
		}
		s.args, s.env, s.err = wire.DecodeRequest(buf[:n])
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		var fds []int
		for _, m := range msgs {
			if m.Header.Type == unix.SCM_RIGHTS {
				f, _ := unix.ParseUnixRights(&m)
				fds = append(fds, f...)
			}
		}
		s.fds = len(fds)
		defer func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}()
		if len(fds) != 5 {
			return
		}
		s.cwd, _ = os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fds[3]))
		// The client's stdout: what is written here is its output.
		_, err = unix.Write(fds[1], []byte("written by the fake daemon\n"))
		s.stdoutOK = err == nil
		s.replyType, _ = unix.GetsockoptInt(fds[4], unix.SOL_SOCKET, unix.SO_TYPE)
		for _, fd := range fds[:4] {
			unix.Close(fd)
		}
		fds = fds[4:]
		// Wait for the relayed SIGTERM on the reply socket, then answer 42.
		m := make([]byte, 16)
		n, err = unix.Read(fds[0], m)
		if err == nil {
			s.sig = m[:n]
		}
		unix.Write(fds[0], wire.Exit(42))
	}()
	cmd := exec.Command(pycageBin, "run", "--memory", "64M", "--", "python3", "-c", "pass")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+sock, "PROTO_TEST=1")
	stdout, _ := cmd.StdoutPipe()
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	line, _ := br.ReadString('\n')
	cmd.Process.Signal(syscall.SIGTERM)
	io.Copy(io.Discard, br)
	err := cmd.Wait()
	s := <-got
	if s.err != nil {
		t.Fatalf("fake daemon: %v", s.err)
	}
	if strings.Join(s.args, " ") != "--memory 64M -- python3 -c pass" {
		t.Errorf("args %q", s.args)
	}
	if !strings.Contains("\x00"+strings.Join(s.env, "\x00")+"\x00", "\x00PROTO_TEST=1\x00") {
		t.Errorf("env lacks the client's PROTO_TEST=1: %q", s.env)
	}
	if s.fds != 5 || s.cwd != dir || !s.stdoutOK || line != "written by the fake daemon\n" || s.replyType != unix.SOCK_SEQPACKET {
		t.Errorf("fds %d cwd %q (want %q) stdout %v %q reply socket type %d", s.fds, s.cwd, dir, s.stdoutOK, line, s.replyType)
	}
	if !bytes.Equal(s.sig, []byte{'S', 15}) {
		t.Errorf("relayed signal message %q, want \"S\\x0f\"", s.sig)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 42 || errb.Len() > 0 {
		t.Errorf("client: %v, want exit 42; stderr %q", err, errb.String())
	}
}

// TestDaemonHits: repeated identical runs take prepared jails.
func TestDaemonHits(t *testing.T) {
	d := startDaemon(t, "", "--prepared", "2")
	args := []string{"run", "--", "python3", "-c", "import sys; print(sys.argv)", "x"}
	r := d.run(t, "", "", nil, args...)
	if r.code != 0 || r.stdout != "['-c', 'x']\n" {
		t.Fatalf("first run: %d %q %q", r.code, r.stdout, r.stderr)
	}
	d.waitReady(t, 2)
	for i := 0; i < 3; i++ {
		// Another command, other arguments and environment: the same key.
		r := d.run(t, "", "", []string{fmt.Sprintf("N=%d", i)}, "run", "--", "sh", "-c", "echo $0 $1", "arg", strconv.Itoa(i))
		if r.code != 0 || r.stdout != fmt.Sprintf("arg %d\n", i) {
			t.Fatalf("run %d: %d %q %q", i, r.code, r.stdout, r.stderr)
		}
		d.waitReady(t, 2)
	}
	st := d.stats(t)
	if statNum(t, st, "hits") != 3 || statNum(t, st, "misses") != 1 || statNum(t, st, "runs") != 4 {
		t.Fatalf("want 3 hits, 1 miss, 4 runs: %s\n%s", st, d.logs.String())
	}
	// Other flags: another key (a miss), kept beside the first.
	r = d.run(t, "", "", nil, "run", "--memory", "128M", "--", "true")
	if r.code != 0 {
		t.Fatalf("--memory 128M: %d %q", r.code, r.stderr)
	}
	st = d.stats(t)
	if statNum(t, st, "misses") != 2 || !strings.Contains(st, "now 2 specs") {
		t.Fatalf("second spec: %s", st)
	}
}

// TestDaemonMaxSpecs: with --max-specs 1 a new spec evicts the old one
// and closes its jails.
func TestDaemonMaxSpecs(t *testing.T) {
	d := startDaemon(t, "", "--prepared", "1", "--max-specs", "1")
	for i, mem := range []string{"100M", "101M", "100M"} {
		r := d.run(t, "", "", nil, "run", "--memory", mem, "--", "true")
		if r.code != 0 {
			t.Fatalf("run %d: %d %q", i, r.code, r.stderr)
		}
		d.waitReady(t, 1)
	}
	st := d.stats(t)
	if statNum(t, st, "specs evicted") != 2 || statNum(t, st, "misses") != 3 || !strings.Contains(st, "now 1 specs, 1 jails ready") {
		t.Fatalf("want 2 evictions, 3 misses, 1 spec with 1 jail: %s", st)
	}
}

// daemonChildren lists the daemon's child processes with their start
// times (to tell a pid that was reused).
func daemonChildren(pid int) map[int]string {
	out := map[int]string{}
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, task := range tasks {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, task.Name()))
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				out[c] = startTime(c)
			}
		}
	}
	return out
}

func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// TestDaemonShutdown: SIGTERM lets a running run finish, refuses nothing
// that ran, and leaves no prepared jail, cgroup, socket or process.
func TestDaemonShutdown(t *testing.T) {
	d := startDaemon(t, "", "--prepared", "2", "--shutdown-grace", "60s")
	for _, a := range [][]string{{"run", "--", "true"}, {"run", "--pids", "20", "--", "true"}} {
		if r := d.run(t, "", "", nil, a...); r.code != 0 {
			t.Fatalf("%v: %d %q", a, r.code, r.stderr)
		}
	}
	d.waitReady(t, 4)
	kids := daemonChildren(d.pid)
	if len(kids) < 4 {
		t.Fatalf("want the PID 1 of 4 prepared jails among the daemon's children, have %v", kids)
	}
	if len(testkit.RunCgroups(d.pid)) == 0 {
		t.Logf("note: prepared jails have no run cgroup yet")
	}
	// A run in progress when SIGTERM comes finishes.
	cmd, br := startUntilReady(t, d, nil, "sh", "-c", "echo ready; sleep 1; echo done")
	d.cmd.Process.Signal(syscall.SIGTERM)
	rest, _ := io.ReadAll(br)
	if err := cmd.Wait(); err != nil || string(rest) != "done\n" {
		t.Fatalf("the run in progress at SIGTERM: %v %q", err, rest)
	}
	<-d.done
	if d.err != nil {
		t.Fatalf("daemon exit: %v\n%s", d.err, d.logs.String())
	}
	if _, err := os.Lstat(d.sock); err == nil {
		t.Fatalf("socket left")
	}
	if left := testkit.RunCgroups(d.pid); len(left) > 0 {
		t.Fatalf("run cgroups left: %v", left)
	}
	deadline := time.Now().Add(10 * time.Second)
	for pid, st := range kids {
		for startTime(pid) == st {
			if time.Now().After(deadline) {
				t.Fatalf("child %d of the daemon (a prepared jail's PID 1) outlived it", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !strings.Contains(d.logs.String(), "now 0 specs, 0 jails ready") {
		t.Fatalf("final counts:\n%s", d.logs.String())
	}
	// Nothing of the run in progress was cancelled.
	if strings.Contains(d.logs.String(), "cancelled: ") && !strings.Contains(d.logs.String(), "cancelled 0;") {
		t.Fatalf("a run was cancelled:\n%s", d.logs.String())
	}
}

// TestDaemonStart: a second daemon on a live socket is refused, a stale
// socket is replaced, a file that is not a socket is left alone.
func TestDaemonStart(t *testing.T) {
	d := startDaemon(t, "")
	second := exec.Command(pycageBin, "daemon", "--socket", d.sock)
	out, err := second.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "a daemon already answers there") {
		t.Fatalf("second daemon: %v %s", err, out)
	}
	if r := d.run(t, "", "", nil, "run", "--", "true"); r.code != 0 {
		t.Fatalf("the first daemon after the second's attempt: %d %q", r.code, r.stderr)
	}

	dir := t.TempDir()
	stale := filepath.Join(dir, "d.sock")
	gc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: stale, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	gc.Close()
	d2 := startDaemon(t, dir)
	if !strings.Contains(d2.logs.String(), "removed the stale socket") {
		t.Fatalf("stale socket:\n%s", d2.logs.String())
	}
	if r := d2.run(t, "", "", nil, "run", "--", "true"); r.code != 0 {
		t.Fatalf("daemon on a formerly stale socket: %d %q", r.code, r.stderr)
	}

	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, []byte("keep"), 0o644)
	out, err = exec.Command(pycageBin, "daemon", "--socket", file).CombinedOutput()
	if b, _ := os.ReadFile(file); err == nil || !strings.Contains(string(out), "exists and is not a socket") || string(b) != "keep" {
		t.Fatalf("a regular file as the socket: %v %s", err, out)
	}
	for _, bad := range [][]string{{"daemon"}, {"daemon", "--socket", file, "--max-runs", "0"}, {"daemon", "--socket", file, "--prepared", "-1"}} {
		out, err := exec.Command(pycageBin, bad...).CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || strings.Count(string(out), "\n") != 1 {
			t.Errorf("%v: %v %q, want exit 2 and one line", bad, err, out)
		}
	}
}

// TestDaemonOtherUserNS: a client in another user namespace is refused
// even when its uid maps to the daemon's (uid 0 mapped onto 0 here; for a
// daemon of a normal user, a jail's user maps to that user's uid).
func TestDaemonOtherUserNS(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir)
	cmd := exec.Command(pycageBin, "run", "--", "python3", "-c", "print('ran')")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}}
	r := capture(t, cmd, "")
	if r.code != 125 || r.stdout != "" || !strings.HasPrefix(r.stderr, "pycage daemon: clients in another user namespace (pid ") {
		t.Fatalf("client in a new user namespace (uid 0 -> 0): exit %d stdout %q stderr %q; want 125 and a refusal", r.code, r.stdout, r.stderr)
	}
	// The same client in the daemon's user namespace runs.
	cmd = exec.Command(pycageBin, "run", "--", "python3", "-c", "print('ran')")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
	if r := capture(t, cmd, ""); r.code != 0 || r.stdout != "ran\n" {
		t.Fatalf("client in the daemon's user namespace: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	if st := d.stats(t); statNum(t, st, "runs") != 1 || statNum(t, st, "refused") != 1 {
		t.Fatalf("counts: %s", st)
	}
}
