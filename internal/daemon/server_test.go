package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/daemon/wire"
	"golang.org/x/sys/unix"
)

// startServer serves handler on a socket in a temporary directory; the
// server is shut down at the end of the test.
func startServer(t *testing.T, maxRuns int, handler Handler) (*Server, *logs) {
	t.Helper()
	l := &logs{}
	s, err := Listen(Config{Socket: filepath.Join(t.TempDir(), "d.sock"), MaxRuns: maxRuns, Handler: handler, Logf: l.logf})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	t.Cleanup(func() {
		force := make(chan struct{})
		close(force)
		s.Shutdown(0, force)
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, l
}

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(fmt.Sprintf(format, a...)))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// client is a test client: its stdio are pipes, its reply socket a
// socketpair.
type client struct {
	t                   *testing.T
	sock                string
	dg                  int           // its unbound SOCK_DGRAM socket
	c                   *net.UnixConn // its end of the reply socket
	reply               int           // the end sent to the daemon (-1 once sent)
	stdinW              *os.File
	stdoutR, stderrR    *os.File
	stdin, stdout, errw *os.File // the ends sent to the daemon
	cwd                 int
}

func dial(t *testing.T, sock string) *client {
	t.Helper()
	cl := &client{t: t, sock: sock}
	var err error
	cl.dg, err = unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(cl.dg, unix.SOL_SOCKET, unix.SO_SNDBUF, wire.SndBuf)
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(pair[0]), "reply")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	cl.c, cl.reply = c.(*net.UnixConn), pair[1]
	var w *os.File
	cl.stdin, cl.stdinW, _ = os.Pipe()
	cl.stdoutR, w, _ = os.Pipe()
	cl.stdout = w
	cl.stderrR, w, _ = os.Pipe()
	cl.errw = w
	cl.cwd, err = unix.Open(t.TempDir(), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.close)
	return cl
}

func (cl *client) close() {
	cl.c.Close()
	for _, f := range []*os.File{cl.stdin, cl.stdinW, cl.stdoutR, cl.stdout, cl.stderrR, cl.errw} {
		f.Close()
	}
	unix.Close(cl.cwd)
	unix.Close(cl.dg)
	if cl.reply >= 0 {
		unix.Close(cl.reply)
	}
}

// fds are the client's 5 fds of a request.
func (cl *client) fds() []int {
	return []int{int(cl.stdin.Fd()), int(cl.stdout.Fd()), int(cl.errw.Fd()), cl.cwd, cl.reply}
}

// sendErr sends payload with fds (nil: the client's 5) in one datagram,
// then closes its copy of the reply end.
func (cl *client) sendErr(payload []byte, fds []int) error {
	if fds == nil {
		fds = cl.fds()
	}
	var err error
	if len(fds) > 0 {
		err = unix.Sendmsg(cl.dg, payload, unix.UnixRights(fds...), &unix.SockaddrUnix{Name: cl.sock}, 0)
	} else {
		err = unix.Sendmsg(cl.dg, payload, nil, &unix.SockaddrUnix{Name: cl.sock}, 0)
	}
	unix.Close(cl.reply)
	cl.reply = -1
	return err
}

func (cl *client) send(payload []byte, fds []int) {
	cl.t.Helper()
	if err := cl.sendErr(payload, fds); err != nil {
		cl.t.Fatalf("send the request: %v", err)
	}
}

func (cl *client) request(args, env []string) {
	cl.t.Helper()
	b, err := wire.EncodeRequest(args, env)
	if err != nil {
		cl.t.Fatal(err)
	}
	cl.send(b, nil)
}

// exit reads the answer: the exit code, or -1 when the connection ends
// without one.
func (cl *client) exit() int {
	cl.t.Helper()
	cl.c.SetReadDeadline(time.Now().Add(60 * time.Second))
	b := make([]byte, 16)
	n, err := cl.c.Read(b)
	if err == io.EOF || n == 0 {
		return -1
	}
	if err != nil {
		cl.t.Fatalf("read the answer: %v", err)
	}
	code, err := wire.DecodeExit(b[:n])
	if err != nil {
		cl.t.Fatal(err)
	}
	return code
}

// output closes the client's own ends and reads what the daemon wrote to
// the stream (EOF comes only once the daemon closed its copy).
func (cl *client) output(r *os.File) string {
	cl.t.Helper()
	cl.stdout.Close()
	cl.errw.Close()
	r.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(r)
	if err != nil {
		cl.t.Fatalf("read the client's output: %v (does the daemon still hold the fd?)", err)
	}
	return string(b)
}

func TestServerRequest(t *testing.T) {
	var got *Request
	s, _ := startServer(t, 4, func(ctx context.Context, r *Request) int {
		got = r
		r.Stdout.WriteString("to stdout\n")
		r.Stderr.WriteString("to stderr\n")
		return 7
	})
	if !s.passPidfd {
		t.Logf("SO_PASSPIDFD refused (kernel before 6.5?): the user namespace is looked up by pid alone")
	}
	cl := dial(t, s.cfg.Socket)
	cl.request([]string{"--", "true"}, []string{"A=1", "B=2"})
	if code := cl.exit(); code != 7 {
		t.Fatalf("exit %d, want 7", code)
	}
	if out, errs := cl.output(cl.stdoutR), cl.output(cl.stderrR); out != "to stdout\n" || errs != "to stderr\n" {
		t.Fatalf("stdout %q stderr %q", out, errs)
	}
	dir, _ := os.Readlink("/proc/self/fd/" + strconv.Itoa(cl.cwd))
	if strings.Join(got.Args, " ") != "-- true" || strings.Join(got.Env, " ") != "A=1 B=2" || got.Dir != dir || got.UID != os.Geteuid() || got.PID != os.Getpid() {
		t.Fatalf("request %+v, want dir %s", got, dir)
	}
	// (output reads to EOF: the server closed its copies of the stdio
	// fds, which it must do before the answer.)
	if st := s.Stats(); st.Runs != 1 || st.Refused != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestServerAfterAnswer: work a run leaves with AfterAnswer runs once the
// client has its answer (the work here waits for the client to have it:
// run before the answer, it would wait forever), and outside a request at
// once.
func TestServerAfterAnswer(t *testing.T) {
	answered := make(chan struct{})
	ran := make(chan bool, 1)
	s, _ := startServer(t, 4, func(ctx context.Context, r *Request) int {
		AfterAnswer(ctx, func() {
			select {
			case <-answered:
				ran <- true
			case <-time.After(10 * time.Second):
				ran <- false
			}
		})
		return 3
	})
	cl := dial(t, s.cfg.Socket)
	cl.request([]string{"--", "true"}, nil)
	if code := cl.exit(); code != 3 {
		t.Fatalf("exit %d, want 3", code)
	}
	close(answered)
	if !<-ran {
		t.Fatal("the work left for after the answer ran before it")
	}
	now := false
	AfterAnswer(context.Background(), func() { now = true })
	if !now {
		t.Fatal("AfterAnswer outside a request did not run f at once")
	}
}

func TestServerRejects(t *testing.T) {
	var calls atomic.Int64
	s, l := startServer(t, 4, func(ctx context.Context, r *Request) int { calls.Add(1); return 0 })
	good, _ := wire.EncodeRequest([]string{"--", "true"}, nil)
	cases := []struct {
		name    string
		payload []byte
		fds     func(cl *client) []int
		msg     string
	}{
		{"6 fds", good, func(cl *client) []int { return append(cl.fds(), cl.cwd) }, "carries 6 fds, want 5"},
		{"magic", []byte("PCR1\x00\x00\x00\x00\x00\x00\x00\x00"), nil, `not "PCR2"`},
		{"counts", []byte("PCR2\x02\x00\x00\x00\x00\x00\x00\x00a\x00"), nil, "holds 1 strings"},
		{"cwd not a dir", good, func(cl *client) []int {
			return []int{int(cl.stdin.Fd()), int(cl.stdout.Fd()), int(cl.errw.Fd()), int(cl.stdin.Fd()), cl.reply}
		}, "is not a directory"},
		{"too large", append(good, make([]byte, wire.MaxRequest)...), nil, "larger than 196608 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := dial(t, s.cfg.Socket)
			var fds []int
			if c.fds != nil {
				fds = c.fds(cl)
			}
			cl.send(c.payload, fds)
			if code := cl.exit(); code != 125 {
				t.Fatalf("exit %d, want 125", code)
			}
			if msg := cl.output(cl.stderrR); !strings.HasPrefix(msg, "pycage daemon: ") || !strings.Contains(msg, c.msg) || strings.Count(msg, "\n") != 1 {
				t.Fatalf("stderr %q, want one line with %q", msg, c.msg)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("the handler ran %d times", calls.Load())
	}
	if st := s.Stats(); st.Refused != int64(len(cases)) || st.Runs != 0 {
		t.Fatalf("stats %+v\n%s", st, l)
	}
	// Without a usable reply socket (none, too few fds, a 5th fd that is
	// not a unix SOCK_SEQPACKET socket) a request cannot be answered: it
	// is dropped with a log line, and all its fds are closed.
	drops := []struct {
		name string
		fds  func(cl *client) []int
	}{
		{"no fds", func(cl *client) []int { return []int{} }},
		{"4 fds", func(cl *client) []int { return cl.fds()[:4] }},
		{"5th a pipe", func(cl *client) []int { f := cl.fds(); f[4] = int(cl.stdin.Fd()); return f }},
		{"5th a stream socket", func(cl *client) []int {
			p, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			t.Cleanup(func() { unix.Close(p[0]); unix.Close(p[1]) })
			f := cl.fds()
			f[4] = p[1]
			return f
		}},
	}
	for i, c := range drops {
		t.Run("dropped/"+c.name, func(t *testing.T) {
			cl := dial(t, s.cfg.Socket)
			cl.send(good, c.fds(cl))
			if msg := cl.output(cl.stderrR); msg != "" {
				t.Fatalf("stderr %q", msg)
			}
			deadline := time.Now().Add(30 * time.Second)
			for strings.Count(l.String(), "dropped a request") != i+1 {
				if time.Now().After(deadline) {
					t.Fatalf("no log of the dropped request:\n%s", l)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("the handler ran %d times", calls.Load())
	}
}

// TestServerClaimedCredentials: a sender that claims another process's
// pid in SCM_CREDENTIALS (root may) is refused: the reply socket was not
// made by that process.
func TestServerClaimedCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("claiming another pid needs CAP_SYS_ADMIN")
	}
	var calls atomic.Int64
	s, _ := startServer(t, 1, func(ctx context.Context, r *Request) int { calls.Add(1); return 0 })
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	cl := dial(t, s.cfg.Socket)
	b, _ := wire.EncodeRequest([]string{"--", "true"}, nil)
	oob := append(unix.UnixRights(cl.fds()...), unix.UnixCredentials(&unix.Ucred{Pid: int32(other.Process.Pid)})...)
	err := unix.Sendmsg(cl.dg, b, oob, &unix.SockaddrUnix{Name: cl.sock}, 0)
	unix.Close(cl.reply)
	cl.reply = -1
	if err != nil {
		t.Fatal(err)
	}
	if code := cl.exit(); code != 125 {
		t.Fatalf("exit %d, want 125", code)
	}
	want := fmt.Sprintf("pycage daemon: the reply socket was made by pid %d, not by the sender (pid %d)\n", os.Getpid(), other.Process.Pid)
	if msg := cl.output(cl.stderrR); msg != want || calls.Load() != 0 {
		t.Fatalf("stderr %q, want %q; %d runs", msg, want, calls.Load())
	}
}

func TestServerSignals(t *testing.T) {
	var cause atomic.Value
	s, _ := startServer(t, 4, func(ctx context.Context, r *Request) int {
		r.Stdout.WriteString("started\n")
		select {
		case sig := <-r.Signals:
			return 100 + int(sig.(syscall.Signal))
		case <-ctx.Done():
			cause.Store(context.Cause(ctx))
			return 3
		}
	})
	cl := dial(t, s.cfg.Socket)
	cl.request(nil, nil)
	cl.c.Write(wire.Signal(int(syscall.SIGTERM)))
	if code := cl.exit(); code != 115 {
		t.Fatalf("exit %d, want 115 (SIGTERM relayed)", code)
	}
	// A signal pycage run does not relay is a protocol error: the run is
	// cancelled, the answer 125 with the reason on stderr.
	cl = dial(t, s.cfg.Socket)
	cl.request(nil, nil)
	cl.c.Write(wire.Signal(int(syscall.SIGKILL)))
	if code := cl.exit(); code != 125 {
		t.Fatalf("exit %d, want 125", code)
	}
	if msg := cl.output(cl.stderrR); !strings.Contains(msg, "signal 9 is not one pycage run relays") {
		t.Fatalf("stderr %q", msg)
	}
	// (The error may also have come before the run started.)
	if c, _ := cause.Load().(error); c != nil && !strings.Contains(c.Error(), "protocol error") {
		t.Fatalf("cause %v", c)
	}
}

func TestServerClientGone(t *testing.T) {
	started := make(chan struct{})
	causes := make(chan error, 1)
	s, l := startServer(t, 4, func(ctx context.Context, r *Request) int {
		close(started)
		<-ctx.Done()
		causes <- context.Cause(ctx)
		return 137
	})
	cl := dial(t, s.cfg.Socket)
	cl.request(nil, nil)
	<-started
	cl.c.Close()
	select {
	case c := <-causes:
		if !errors.Is(c, errClientGone) {
			t.Fatalf("cause %v", c)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the run was not cancelled when its client went away")
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.Stats().Canceled != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v\n%s", s.Stats(), l)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerMaxRuns(t *testing.T) {
	var active, most atomic.Int64
	gate := make(chan struct{})
	s, _ := startServer(t, 2, func(ctx context.Context, r *Request) int {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-gate
		return 5
	})
	const clients = 6
	cls := make([]*client, clients)
	for i := range cls {
		cls[i] = dial(t, s.cfg.Socket)
		cls[i].request(nil, nil)
	}
	// Let every request arrive, with two runs going.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == clients && active.Load() == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d connections, %d runs", n, active.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	for i, cl := range cls {
		if code := cl.exit(); code != 5 {
			t.Fatalf("client %d: exit %d", i, code)
		}
	}
	if most.Load() != 2 {
		t.Fatalf("%d runs at once, want at most (and here exactly) 2", most.Load())
	}
}

func TestServerShutdown(t *testing.T) {
	started := make(chan struct{})
	causes := make(chan error, 1)
	l := &logs{}
	s, err := Listen(Config{Socket: filepath.Join(t.TempDir(), "d.sock"), MaxRuns: 1, Logf: l.logf,
		Handler: func(ctx context.Context, r *Request) int {
			close(started)
			<-ctx.Done()
			causes <- context.Cause(ctx)
			return 9
		}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	running := dial(t, s.cfg.Socket)
	running.request(nil, nil)
	<-started
	waiting := dial(t, s.cfg.Socket)
	waiting.request(nil, nil)
	// The waiting request is in (it holds a connection) before shutdown.
	deadline := time.Now().Add(30 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second connection not accepted")
		}
		time.Sleep(5 * time.Millisecond)
	}
	force := make(chan struct{})
	shut := make(chan struct{})
	go func() { s.Shutdown(time.Hour, force); close(shut) }()
	// Not started: refused with the reason.
	if code := waiting.exit(); code != 125 {
		t.Fatalf("waiting client: exit %d", code)
	}
	if msg := waiting.output(waiting.stderrR); msg != "pycage daemon: shutting down: the run did not start\n" {
		t.Fatalf("waiting client: %q", msg)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(s.cfg.Socket); err == nil {
		t.Fatal("the socket is still there")
	}
	late := dial(t, s.cfg.Socket)
	if err := late.sendErr([]byte("PCR2"), nil); err == nil {
		t.Fatal("a request was sent after Shutdown")
	}
	select {
	case <-shut:
		t.Fatal("Shutdown returned with a run going")
	default:
	}
	close(force)
	if c := <-causes; !errors.Is(c, errShutdown) {
		t.Fatalf("cause %v", c)
	}
	if code := running.exit(); code != 9 {
		t.Fatalf("running client: exit %d", code)
	}
	<-shut
}

// TestServerShutdownQueued: a request queued on the socket when the
// shutdown begins is refused, not dropped; one sent after it fails.
func TestServerShutdownQueued(t *testing.T) {
	l := &logs{}
	s, err := Listen(Config{Socket: filepath.Join(t.TempDir(), "d.sock"), MaxRuns: 1, Logf: l.logf,
		Handler: func(ctx context.Context, r *Request) int { return 0 }})
	if err != nil {
		t.Fatal(err)
	}
	queued := dial(t, s.cfg.Socket)
	queued.request(nil, nil)
	s.stop()
	late := dial(t, s.cfg.Socket)
	if err := late.sendErr([]byte("PCR2"), nil); err == nil {
		t.Fatal("a request was sent after the shutdown began")
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve() }()
	if code := queued.exit(); code != 125 {
		t.Fatalf("queued client: exit %d\n%s", code, l)
	}
	if msg := queued.output(queued.stderrR); msg != "pycage daemon: shutting down: the run did not start\n" {
		t.Fatalf("queued client: %q", msg)
	}
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	s.Shutdown(0, nil)
	if st := s.Stats(); st.Runs != 0 || st.Refused != 1 {
		t.Fatalf("stats %+v\n%s", st, l)
	}
}

func TestListen(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "d.sock")
	h := func(ctx context.Context, r *Request) int { return 0 }
	s, err := Listen(Config{Socket: sock, MaxRuns: 1, Handler: h, Logf: func(string, ...any) {}})
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode %v %v", fi.Mode(), err)
	}
	if _, err := Listen(Config{Socket: sock, MaxRuns: 1, Handler: h}); err == nil || !strings.Contains(err.Error(), "a daemon already answers there") {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	s.Shutdown(0, nil)

	// A stale socket file (nobody is bound to it) is replaced.
	gc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	gc.Close()
	l := &logs{}
	s, err = Listen(Config{Socket: sock, MaxRuns: 1, Handler: h, Logf: l.logf})
	if err != nil || !strings.Contains(l.String(), "removed the stale socket") {
		t.Fatalf("stale socket: %v %s", err, l)
	}
	s.Shutdown(0, nil)

	// A daemon of protocol v1 (SOCK_SEQPACKET) answering there is left
	// alone.
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Listen(Config{Socket: sock, MaxRuns: 1, Handler: h}); err == nil || !strings.Contains(err.Error(), "a daemon already answers there") {
		t.Fatalf("Listen on a live v1 socket: %v", err)
	}
	ln.Close()

	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	if _, err := Listen(Config{Socket: file, MaxRuns: 1, Handler: h}); err == nil || !strings.Contains(err.Error(), "exists and is not a socket") {
		t.Fatalf("regular file: %v", err)
	}
	long := "/tmp/" + strings.Repeat("x", 120)
	if _, err := Listen(Config{Socket: long, MaxRuns: 1, Handler: h}); err == nil || !strings.Contains(err.Error(), "longer than 107 bytes") {
		t.Fatalf("long path: %v", err)
	}
}

// TestPidfdUserNS: the user namespace a pidfd names is /proc/PID/ns/user's,
// for this process and for one in a user namespace of its own; a pidfd of
// an exited process is ESRCH.
func TestPidfdUserNS(t *testing.T) {
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(self)
	got, err := pidfdUserNS(self)
	if errors.Is(err, unix.ENOTTY) {
		t.Skip("no PIDFD_GET_USER_NAMESPACE (kernel before 6.11): the daemon looks up /proc/PID/ns/user")
	}
	selfNS, _ := userNSOf("self")
	if err != nil || got != selfNS {
		t.Fatalf("this process: %v %v, want %v", got, err, selfNS)
	}
	cmd := exec.Command("sleep", "30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pidfd, err := unix.PidfdOpen(cmd.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	got, err = pidfdUserNS(pidfd)
	want, _ := userNSOf(strconv.Itoa(cmd.Process.Pid))
	if err != nil || got != want || got == selfNS {
		t.Errorf("a process in its own user namespace: %v %v, want %v", got, err, want)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := pidfdUserNS(pidfd); !errors.Is(err, unix.ESRCH) {
		t.Errorf("an exited process: %v, want ESRCH", err)
	}
}
