package main

// Tests of the raw client of `pycage run` through a daemon
// (fastclient_amd64.go): the binary built as README.md builds it (pycageBin,
// linked with -ldflags=-E=main.fastEntry) against the same code built
// without the flag (goClient: the Go client, runcmd's client.go), first
// against a fake daemon in this process that checks the bytes and fds of
// the protocol, then against a real `pycage daemon`.

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pycage/pycage/internal/daemon/wire"
	"golang.org/x/sys/unix"
)

var goClientBuild struct {
	once sync.Once
	path string
	err  error
}

// goClient is pycage built without -E: the Go client only.
func goClient(t *testing.T) string {
	t.Helper()
	goClientBuild.once.Do(func() {
		goClientBuild.path = filepath.Join(filepath.Dir(pycageBin), "pycage-goclient")
		build := exec.Command("go", "build", "-o", goClientBuild.path, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			goClientBuild.err = fmt.Errorf("build pycage without -E: %v\n%s", err, out)
		}
	})
	if goClientBuild.err != nil {
		t.Fatal(goClientBuild.err)
	}
	return goClientBuild.path
}

type client struct {
	name string
	bin  string
	raw  bool // the raw client runs (pycageBin)
}

// clients are the two builds, the raw client's first.
func clients(t *testing.T) []client {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skip("the raw client is amd64's")
	}
	return []client{{"raw", pycageBin, true}, {"go", goClient(t), false}}
}

type clientOut struct {
	stdout, stderr string
	code           int
}

// startClient starts bin with exactly argv[1:] args and env (no dedup:
// os/exec's would hide what the client does with duplicates), in dir, with
// stdin from the string (nil: fd 0 closed). wait returns its output and
// exit code (128+N when killed by N).
func startClient(t *testing.T, bin string, args, env []string, dir string, stdin *string) (p *os.Process, stdout *os.File, wait func() clientOut) {
	t.Helper()
	tmp := t.TempDir()
	files := make([]*os.File, 3)
	if stdin != nil {
		in, err := os.Create(filepath.Join(tmp, "stdin"))
		if err != nil {
			t.Fatal(err)
		}
		in.WriteString(*stdin)
		in.Seek(0, 0)
		defer in.Close()
		files[0] = in
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(tmp, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	files[1], files[2] = outW, errf
	p, err = os.StartProcess(bin, append([]string{bin}, args...), &os.ProcAttr{Dir: dir, Env: env, Files: files})
	outW.Close()
	if err != nil {
		outR.Close()
		errf.Close()
		t.Fatal(err)
	}
	kill := time.AfterFunc(60*time.Second, func() { p.Kill() })
	return p, outR, func() clientOut {
		defer errf.Close()
		defer outR.Close()
		out, _ := io.ReadAll(outR)
		st, err := p.Wait()
		kill.Stop()
		if err != nil {
			t.Fatal(err)
		}
		r := clientOut{stdout: string(out), code: st.ExitCode()}
		if ws := st.Sys().(syscall.WaitStatus); ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
		b, _ := os.ReadFile(errf.Name())
		r.stderr = string(b)
		return r
	}
}

func runClient(t *testing.T, bin string, args, env []string, stdin *string) clientOut {
	t.Helper()
	_, _, wait := startClient(t, bin, args, env, t.TempDir(), stdin)
	return wait()
}

func str(s string) *string { return &s }

// threads is the number of threads of process pid.
func threads(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	return len(ents)
}

// fakeConn is one request to the fake daemon, received: its payload, its
// first 4 fds, and c, the 5th, the reply socket (the run's channel).
type fakeConn struct {
	c       *net.UnixConn
	payload []byte
	fds     []int // stdin, stdout, stderr, the working directory
	pid     int   // the client (SCM_CREDENTIALS)
	threads int   // of the client, once its request is in
	// replyOK: the 5th fd is an AF_UNIX SOCK_SEQPACKET socket whose peer
	// is the client's (its SO_PEERCRED is the client's pid: a socketpair).
	replyOK bool
}

// fakeDaemon serves protocol v2 on a SOCK_DGRAM socket at sock in this
// process: every datagram must be a v2 request ("PCR2", exactly 5 fds, the
// 5th a SOCK_SEQPACKET socket), which goes to serve (its fds and reply
// socket are closed when serve returns). It counts the datagrams.
func fakeDaemon(t *testing.T, sock string, serve func(*fakeConn)) *atomic.Int32 {
	t.Helper()
	ln, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	rc, err := ln.SyscallConn()
	if err == nil {
		rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	}
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	var n atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf, oob := make([]byte, wire.MaxRequest+1), make([]byte, 512)
		for {
			m, oobn, flags, _, err := ln.ReadMsgUnix(buf, oob)
			if err != nil {
				return
			}
			n.Add(1)
			fc, err := fakeRequest(buf[:m], oob[:oobn], flags)
			if err != nil {
				t.Errorf("fake daemon: %v", err)
				continue
			}
			fc.threads = threads(fc.pid)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer fc.c.Close()
				defer func() {
					for _, fd := range fc.fds {
						unix.Close(fd)
					}
				}()
				serve(fc)
			}()
		}
	}()
	return &n
}

// fakeRequest checks one datagram of the fake daemon: a v2 request.
func fakeRequest(payload, oob []byte, flags int) (*fakeConn, error) {
	fc := &fakeConn{payload: append([]byte(nil), payload...)}
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob)
	for _, msg := range msgs {
		if f, err := unix.ParseUnixRights(&msg); err == nil {
			fds = append(fds, f...)
		}
		if u, err := unix.ParseUnixCredentials(&msg); err == nil {
			fc.pid = int(u.Pid)
		}
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	switch {
	case err != nil:
	case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
		err = fmt.Errorf("request truncated (flags %#x)", flags)
	case !bytes.HasPrefix(payload, []byte("PCR2")):
		err = fmt.Errorf("request %.40q: not protocol v2", payload)
	case len(fds) != 5:
		err = fmt.Errorf("request with %d fds, want 5", len(fds))
	}
	if err != nil {
		closeAll()
		return nil, err
	}
	typ, err1 := unix.GetsockoptInt(fds[4], unix.SOL_SOCKET, unix.SO_TYPE)
	dom, err2 := unix.GetsockoptInt(fds[4], unix.SOL_SOCKET, unix.SO_DOMAIN)
	if err1 != nil || err2 != nil || typ != unix.SOCK_SEQPACKET || dom != unix.AF_UNIX {
		closeAll()
		return nil, fmt.Errorf("the 5th fd is not an AF_UNIX SOCK_SEQPACKET socket (domain %d type %d: %v %v)", dom, typ, err1, err2)
	}
	if u, err := unix.GetsockoptUcred(fds[4], unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
		fc.replyOK = int(u.Pid) == fc.pid && fc.pid > 0
	}
	f := os.NewFile(uintptr(fds[4]), "reply")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		closeAll()
		return nil, err
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		closeAll()
		return nil, fmt.Errorf("the reply socket is a %T", c)
	}
	fc.c, fc.fds = uc, fds[:4]
	return fc, nil
}

func sameFile(fd int, f string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Stat(f, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

// TestFastClientProtocol: the v2 request both clients send, byte for byte
// ("PCR2" and the layout of wire.EncodeRequest, of the arguments after
// "run" and os.Environ(): empty strings and later duplicates of a key
// dropped), its 5 fds (stdin, stdout, stderr, the working directory, the
// daemon's end of a SOCK_SEQPACKET socket pair; a closed stdin is
// /dev/null, as the Go runtime makes it), a SIGTERM relayed on the pair
// ('S' 15) and the exit code of 'X'. While the daemon holds the request,
// the raw client is one thread (no Go runtime), the Go client several;
// once it waits, the raw client holds its signalfd and its end of the
// pair: the datagram socket, the working directory and the daemon's end
// are closed.
func TestFastClientProtocol(t *testing.T) {
	cls := clients(t)
	sock := filepath.Join(t.TempDir(), "fake.sock")
	args := []string{"run", "--memory", "64M", "--", "sh", "-c", "echo 'a b'", "", "ü\t\n"}
	env := []string{"PATH=/usr/bin:/bin", "A=1", "", "NOEQUALS", "A=2", "B=x=y", "PYCAGE_DAEMON=" + sock,
		"=v", "=w", "PYCAGE_DAEMON=/nowhere", "NOEQUALS", "EMPTY=", "A", "A=3"}
	wantEnv := []string{"PATH=/usr/bin:/bin", "A=1", "NOEQUALS", "B=x=y", "PYCAGE_DAEMON=" + sock, "=v", "NOEQUALS", "EMPTY=", "A"}
	want := requestV2(t, args[1:], wantEnv)
	type seen struct {
		payload      []byte
		fds          string
		threads      int
		held         string // the client's sockets, signalfd, cwd once it relayed the signal
		sig          []byte
		devNullStdin bool
	}
	var cur struct {
		sync.Mutex
		dir         string
		closedStdin bool
	}
	got := make(chan seen, 1)
	fakeDaemon(t, sock, func(c *fakeConn) {
		s := seen{payload: c.payload, threads: c.threads}
		cur.Lock()
		var fds []string
		for i, fd := range append(append([]int(nil), c.fds...), -1) {
			// The client's own fds, as it holds them while it waits.
			f := fmt.Sprintf("/proc/%d/fd/%d", c.pid, i)
			ok := sameFile(fd, f)
			switch {
			case i == 0 && cur.closedStdin:
				ok = ok && sameFile(fd, "/dev/null")
			case i == 3:
				ok = sameFile(fd, cur.dir)
			case i == 4:
				ok = c.replyOK
			}
			fds = append(fds, fmt.Sprintf("%d:%v", i, ok))
		}
		cur.Unlock()
		s.fds = strings.Join(fds, " ")
		if c.pid > 0 {
			syscall.Kill(c.pid, syscall.SIGTERM)
		}
		m := make([]byte, 16)
		c.c.SetReadDeadline(time.Now().Add(20 * time.Second))
		if n, err := c.c.Read(m); err == nil {
			s.sig = m[:n]
		}
		// What the client holds beyond its stdio (fds it inherited
		// from the test's own environment aside).
		var held []string
		replyIno := uint64(0)
		if rc, err := c.c.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) {
				var st syscall.Stat_t
				if syscall.Fstat(int(fd), &st) == nil {
					replyIno = st.Ino
				}
			})
		}
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", c.pid)); err == nil {
			for _, e := range ents {
				f := fmt.Sprintf("/proc/%d/fd/%s", c.pid, e.Name())
				l, _ := os.Readlink(f)
				switch {
				case l == fmt.Sprintf("socket:[%d]", replyIno):
					held = append(held, "daemon's-end")
				case strings.HasPrefix(l, "socket:"):
					held = append(held, "socket")
				case l == cur.dir:
					held = append(held, "cwd")
				case strings.HasPrefix(l, "anon_inode:"):
					held = append(held, strings.Trim(strings.TrimPrefix(l, "anon_inode:"), "[]"))
				}
			}
		}
		sort.Strings(held)
		s.held = strings.Join(held, " ")
		c.c.Write([]byte{'X', 42})
		got <- s
	})
	for _, closedStdin := range []bool{false, true} {
		var payloads [][]byte
		for _, cl := range cls {
			dir := t.TempDir()
			var stdin *string
			if !closedStdin {
				stdin = str("input")
			}
			cur.Lock()
			cur.dir, cur.closedStdin = dir, closedStdin
			cur.Unlock()
			_, _, wait := startClient(t, cl.bin, args, env, dir, stdin)
			r := wait()
			s := <-got
			name := fmt.Sprintf("%s client (stdin closed: %v)", cl.name, closedStdin)
			if !bytes.Equal(s.payload, want) {
				t.Errorf("%s: request\n%q\nwant\n%q", name, s.payload, want)
			}
			if s.fds != "0:true 1:true 2:true 3:true 4:true" {
				t.Errorf("%s: fds %s", name, s.fds)
			}
			if !bytes.Equal(s.sig, []byte{'S', 15}) {
				t.Errorf("%s: relayed %q, want \"S\\x0f\"", name, s.sig)
			}
			if r.code != 42 || r.stdout != "" || r.stderr != "" {
				t.Errorf("%s: exit %d stdout %q stderr %q, want 42 and nothing", name, r.code, r.stdout, r.stderr)
			}
			if cl.raw && s.threads != 1 || !cl.raw && s.threads < 2 {
				t.Errorf("%s: %d threads while the daemon held the request", name, s.threads)
			}
			// Not the daemon's end of the pair: the daemon's exit must
			// be the end of the connection. The cwd and the datagram
			// socket the request left on close at the client's exit
			// (two syscalls fewer).
			if cl.raw && s.held != "cwd signalfd socket socket" {
				t.Errorf("%s: holds %q while it waits, want its cwd, signalfd and two sockets (its end of the pair, the datagram socket)", name, s.held)
			}
			payloads = append(payloads, s.payload)
		}
		if len(payloads) == 2 && !bytes.Equal(payloads[0], payloads[1]) {
			t.Errorf("the clients' requests differ:\n%q\n%q", payloads[0], payloads[1])
		}
	}
}

// TestFastClientAnswers: what both clients make of each answer of a
// daemon, the same output and exit code: 'X' codes, a connection closed
// without one, one reset (the daemon left the relayed signal unread), and
// messages that are not an exit message.
func TestFastClientAnswers(t *testing.T) {
	cls := clients(t)
	sock := filepath.Join(t.TempDir(), "fake.sock")
	var answer atomic.Value
	fakeDaemon(t, sock, func(c *fakeConn) {
		a := answer.Load().(string)
		switch a {
		case "close":
		case "reset":
			// Leave the relayed signal unread: closing then resets the
			// client's end (ECONNRESET).
			syscall.Kill(c.pid, syscall.SIGINT)
			if rc, err := c.c.SyscallConn(); err == nil {
				rc.Control(func(fd uintptr) {
					unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 20000)
				})
			}
		default:
			c.c.Write([]byte(a))
		}
	})
	env := append(os.Environ(), "PYCAGE_DAEMON="+sock)
	lost := "pycage run: daemon " + sock + ": "
	cases := []struct {
		answer, stderr string
		code           int
	}{
		{"X\x00", "", 0},
		{"X\x01", "", 1},
		{"X\x7d", "", 125},
		{"X\xff", "", 255},
		{"close", lost + "connection lost\n", 125},
		{"reset", lost + "receive: connection reset by peer\n", 125},
		{"hello", lost + "protocol error: unexpected message \"hello\" (want 'X' and an exit code)\n", 125},
		{"X", lost + "protocol error: unexpected message \"X\" (want 'X' and an exit code)\n", 125},
		{"X\x01\x02", lost + "protocol error: unexpected message \"X\\x01\\x02\" (want 'X' and an exit code)\n", 125},
		{"\x00\a\b\f\n\r\t\v\"\\\x7fé\xff\xe2\x82", "", 125},
		{"S\x0f", "", 125},
		{strings.Repeat("X", 17), lost + "protocol error: a message of more than 16 bytes\n", 125},
		{strings.Repeat("Y", 16), "", 125},
	}
	for _, c := range cases {
		answer.Store(c.answer)
		var outs []clientOut
		for _, cl := range cls {
			r := runClient(t, cl.bin, []string{"run", "--", "true"}, env, str(""))
			if r.code != c.code || c.stderr != "" && r.stderr != c.stderr {
				t.Errorf("%s client, answer %q: exit %d stderr %q, want %d %q", cl.name, c.answer, r.code, r.stderr, c.code, c.stderr)
			}
			outs = append(outs, r)
		}
		if outs[0] != outs[1] {
			t.Errorf("answer %q: the clients differ:\nraw %+v\ngo  %+v", c.answer, outs[0], outs[1])
		}
	}
}

// TestFastClientBrokenStderr: an error line to a stderr nobody reads kills
// both clients with SIGPIPE (the Go runtime's rule for fds 1 and 2; the
// raw client leaves SIGPIPE as it found it and sends with MSG_NOSIGNAL).
func TestFastClientBrokenStderr(t *testing.T) {
	cls := clients(t)
	sock := filepath.Join(t.TempDir(), "fake.sock")
	fakeDaemon(t, sock, func(c *fakeConn) {}) // closes: connection lost
	env := append(os.Environ(), "PYCAGE_DAEMON="+sock)
	for _, cl := range cls {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		p, err := os.StartProcess(cl.bin, []string{cl.bin, "run", "--", "true"}, &os.ProcAttr{Env: env, Files: []*os.File{nil, nil, w}})
		w.Close()
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.Wait()
		if err != nil {
			t.Fatal(err)
		}
		if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGPIPE {
			t.Errorf("%s client: %v, want killed by SIGPIPE", cl.name, st)
		}
	}
}

// TestFastClientAbstract: PYCAGE_DAEMON=@NAME is an abstract socket for
// both clients (unix.SockaddrUnix's rule), named so in their errors.
func TestFastClientAbstract(t *testing.T) {
	cls := clients(t)
	name := fmt.Sprintf("@pycage-fastclient-test-%d", os.Getpid())
	var answer atomic.Value
	fakeDaemon(t, name, func(c *fakeConn) {
		if a := answer.Load().(string); a != "close" {
			c.c.Write([]byte(a))
		}
	})
	env := append(os.Environ(), "PYCAGE_DAEMON="+name)
	for _, c := range []struct {
		answer, stderr string
		code           int
	}{
		{"X\x05", "", 5},
		{"close", "pycage run: daemon " + name + ": connection lost\n", 125},
	} {
		answer.Store(c.answer)
		for _, cl := range cls {
			r := runClient(t, cl.bin, []string{"run", "--", "true"}, env, str(""))
			if r.code != c.code || r.stderr != c.stderr {
				t.Errorf("%s client, answer %q: exit %d stderr %q, want %d %q", cl.name, c.answer, r.code, r.stderr, c.code, c.stderr)
			}
		}
	}
}

// TestFastClientFallback: whatever fails before the request is sent, the
// raw client leaves to the Go client, which says why: no daemon, not a
// socket, a socket path too long, a request too large; a request of
// exactly the limit is sent. (TestFastClientV1Daemon: a daemon of
// protocol v1.) An nsjail config is a cold run (the daemon never hears of it), as
// is PYCAGE_DAEMON unset or empty.
func TestFastClientFallback(t *testing.T) {
	cls := clients(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "fake.sock")
	var lens sync.Map
	conns := fakeDaemon(t, sock, func(c *fakeConn) {
		lens.Store(len(c.payload), true)
		c.c.Write([]byte{'X', 7})
	})
	base := os.Environ()
	for i := 0; i < len(base); i++ {
		if strings.HasPrefix(base[i], "PYCAGE_DAEMON=") {
			base = append(base[:i:i], base[i+1:]...)
			i--
		}
	}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	// A request of exactly wire.MaxRequest bytes, and one more.
	// (Two variables: execve takes no string above 128 KiB.)
	plain := requestV2(t, []string{"--", "true"}, with("PYCAGE_DAEMON="+sock, "F=", "G="))
	fill := strings.Repeat("y", wire.MaxRequest-len(plain)-100<<10)
	fillG := "G=" + strings.Repeat("y", 100<<10)
	long := "/" + strings.Repeat("d", 120)
	cases := []struct {
		name   string
		env    []string
		args   []string
		code   int
		stderr string // a regexp; "" checks nothing
		conns  int32  // connections the fake daemon gets
	}{
		{"no daemon", with("PYCAGE_DAEMON=" + filepath.Join(dir, "none.sock")), []string{"run", "--", "true"}, 125,
			`^pycage run: daemon .*none.sock \(PYCAGE_DAEMON\): send: no such file or directory\n$`, 0},
		{"not a socket", with("PYCAGE_DAEMON=" + dir), []string{"run", "--", "true"}, 125,
			`^pycage run: daemon .* \(PYCAGE_DAEMON\): send: connection refused\n$`, 0},
		{"path too long", with("PYCAGE_DAEMON=" + long), []string{"run", "--", "true"}, 125,
			`^pycage run: daemon /d+: the socket path is longer than 107 bytes\n$`, 0},
		{"too large", with("PYCAGE_DAEMON="+sock, "F="+fill+"z", fillG), []string{"run", "--", "true"}, 125,
			`^pycage run: daemon .*: the request \(arguments and environment\) is 196609 bytes, more than the protocol's 196608\n$`, 0},
		{"the limit", with("PYCAGE_DAEMON="+sock, "F="+fill, fillG), []string{"run", "--", "true"}, 7, `^$`, 1},
		{"nsjail config", with("PYCAGE_DAEMON=" + sock), []string{"run", "--config", filepath.Join(dir, "none.cfg"), "--", "true"}, 125, `none.cfg`, 0},
		{"nsjail -C", with("PYCAGE_DAEMON=" + sock), []string{"run", "-C", filepath.Join(dir, "none.cfg"), "--", "true"}, 125, `none.cfg`, 0},
		{"nsjail --config=", with("PYCAGE_DAEMON=" + sock), []string{"run", "--config=" + filepath.Join(dir, "none.cfg"), "--", "true"}, 125, `none.cfg`, 0},
		{"--config after --", with("PYCAGE_DAEMON=" + sock), []string{"run", "--", "true", "--config"}, 7, `^$`, 1},
		{"not run", with("PYCAGE_DAEMON=" + sock), []string{"version"}, 0, `^$`, 0},
		{"empty", with("PYCAGE_DAEMON="), []string{"run", "--", "sh", "-c", "echo cold"}, 0, `^$`, 0},
		{"unset", with(), []string{"run", "--", "sh", "-c", "echo cold"}, 0, `^$`, 0},
		{"empty first", with("PYCAGE_DAEMON=", "PYCAGE_DAEMON="+sock), []string{"run", "--", "sh", "-c", "echo cold"}, 0, `^$`, 0},
	}
	for _, c := range cases {
		var outs []clientOut
		for _, cl := range cls {
			before := conns.Load()
			r := runClient(t, cl.bin, c.args, c.env, str(""))
			if r.code != c.code || !regexp.MustCompile(c.stderr).MatchString(r.stderr) {
				t.Errorf("%s, %s client: exit %d stderr %q, want %d and %s", c.name, cl.name, r.code, r.stderr, c.code, c.stderr)
			}
			if n := conns.Load() - before; n != c.conns {
				t.Errorf("%s, %s client: %d connections to the daemon, want %d", c.name, cl.name, n, c.conns)
			}
			if strings.Contains(strings.Join(c.args, " "), "echo cold") && r.stdout != "cold\n" {
				t.Errorf("%s, %s client: stdout %q, want a cold run's \"cold\\n\"", c.name, cl.name, r.stdout)
			}
			outs = append(outs, r)
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: the clients differ:\nraw %+v\ngo  %+v", c.name, outs[0], outs[1])
		}
	}
	if _, ok := lens.Load(wire.MaxRequest); !ok {
		t.Errorf("no request of exactly %d bytes arrived", wire.MaxRequest)
	}
}

// requestV2 is the payload of a protocol v2 request: "PCR2", then what
// wire.EncodeRequest encodes after its magic (argc, envc, the strings).
func requestV2(t *testing.T, args, env []string) []byte {
	t.Helper()
	b, err := wire.EncodeRequest(args, env)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte("PCR2"), b[4:]...)
}

// TestFastClientV1Daemon: against a daemon of protocol v1 (a SOCK_SEQPACKET
// socket) the raw client's sendmsg fails (EPROTOTYPE) and it leaves to the
// Go client, undone: both builds give the same output and exit code, and
// whatever connects there is a Go client (several threads), never the raw
// client.
func TestFastClientV1Daemon(t *testing.T) {
	cls := clients(t)
	sock := filepath.Join(t.TempDir(), "v1.sock")
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: sock, Net: "unixpacket"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	var rawConns atomic.Int32
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf, oob := make([]byte, wire.MaxRequest+1), make([]byte, 256)
				c.SetReadDeadline(time.Now().Add(20 * time.Second))
				_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
				if err != nil {
					return
				}
				msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
				for _, msg := range msgs {
					fds, _ := unix.ParseUnixRights(&msg)
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
				if rc, err := c.SyscallConn(); err == nil {
					rc.Control(func(fd uintptr) {
						if u, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil && threads(int(u.Pid)) == 1 {
							rawConns.Add(1)
						}
					})
				}
				c.Write([]byte{'X', 9})
			}()
		}
	}()
	env := append(os.Environ(), "PYCAGE_DAEMON="+sock)
	var outs []clientOut
	for _, cl := range cls {
		outs = append(outs, runClient(t, cl.bin, []string{"run", "--", "true"}, env, str("")))
	}
	if outs[0] != outs[1] {
		t.Errorf("the clients differ:\nraw %+v\ngo  %+v", outs[0], outs[1])
	}
	if n := rawConns.Load(); n != 0 {
		t.Errorf("%d single-threaded clients (the raw client) spoke to the v1 daemon", n)
	}
	t.Logf("against a v1 daemon: exit %d stderr %q", outs[0].code, outs[0].stderr)
}

// fastDaemon is a real `pycage daemon --socket <tmp>/d.sock args...`,
// listening; Cleanup stops it (SIGTERM; SIGKILL after 30 s).
type fastDaemon struct {
	sock string
	cmd  *exec.Cmd
	done chan struct{}
	logs *bytes.Buffer
	mu   *sync.Mutex
}

func startFastDaemon(t *testing.T, args ...string) *fastDaemon {
	t.Helper()
	d := &fastDaemon{sock: filepath.Join(t.TempDir(), "d.sock"), done: make(chan struct{}), logs: &bytes.Buffer{}, mu: &sync.Mutex{}}
	d.cmd = exec.Command(pycageBin, append([]string{"daemon", "--socket", d.sock}, args...)...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = pw, pw
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	listening := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			d.mu.Lock()
			d.logs.WriteString(sc.Text() + "\n")
			d.mu.Unlock()
			if strings.Contains(sc.Text(), "listening on") {
				select {
				case listening <- true:
				default:
				}
			}
		}
		pr.Close()
		d.cmd.Wait()
		close(d.done)
		listening <- false
	}()
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
	})
	select {
	case ok := <-listening:
		if !ok {
			t.Fatalf("pycage daemon exited at start:\n%s", d.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("pycage daemon does not listen:\n%s", d.log())
	}
	return d
}

func (d *fastDaemon) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.logs.String()
}

// TestFastClientDaemon: through a real daemon, both clients give the
// same output and exit code: output on both streams, exit codes, a command
// killed by a signal, stdin, a bad flag, a command not found, --help.
func TestFastClientDaemon(t *testing.T) {
	cls := clients(t)
	d := startFastDaemon(t)
	env := append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		out   string // a regexp
	}{
		{"print", "", []string{"--", "python3", "-c", "import sys; print('hello'); print('err', file=sys.stderr)"}, 0, `^hello\n$`},
		{"exit code", "", []string{"--", "python3", "-c", "import sys; sys.exit(42)"}, 42, `^$`},
		{"signaled", "", []string{"--", "python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"}, 143, `^$`},
		{"stdin", "abc\ndef\n", []string{"--", "python3", "-c", "import sys; print(sys.stdin.read().upper(), end='')"}, 0, `^ABC\nDEF\n$`},
		{"bad flag", "", []string{"--no-such-flag", "--", "true"}, 125, `^$`},
		{"not found", "", []string{"--", "/nonexistent"}, 127, `^$`},
		{"help", "", []string{"--help"}, 0, `usage: pycage run`},
		{"flags", "", []string{"--env", "FOO=bar", "--", "sh", "-c", "echo $FOO $HOME"}, 0, `^bar /sandbox\n$`},
	}
	for _, c := range cases {
		var outs []clientOut
		for _, cl := range cls {
			r := runClient(t, cl.bin, append([]string{"run"}, c.args...), env, str(c.stdin))
			if r.code != c.code || !regexp.MustCompile(c.out).MatchString(r.stdout) {
				t.Errorf("%s, %s client: exit %d stdout %q stderr %q, want %d and %s", c.name, cl.name, r.code, r.stdout, r.stderr, c.code, c.out)
			}
			outs = append(outs, r)
		}
		if outs[0] != outs[1] {
			t.Errorf("%s: the clients differ:\nraw %+v\ngo  %+v", c.name, outs[0], outs[1])
		}
	}
}

// TestFastClientDaemonSignal: SIGTERM to the client reaches the command
// (143, as in a cold run), and while the command runs the raw client is
// one thread (the Go runtime never started), a Go client several.
func TestFastClientDaemonSignal(t *testing.T) {
	cls := clients(t)
	d := startFastDaemon(t)
	env := append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
	for _, cl := range cls {
		args := []string{"run", "--", "python3", "-c", "import time; print('ready', flush=True); time.sleep(30)"}
		p, stdout, wait := startClient(t, cl.bin, args, env, t.TempDir(), str(""))
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		n := threads(p.Pid)
		p.Signal(syscall.SIGTERM)
		r := wait()
		if line != "ready\n" || r.code != 143 || r.stderr != "" {
			t.Errorf("%s client: first line %q, exit %d stderr %q, want ready, 143 and nothing", cl.name, line, r.code, r.stderr)
		}
		if cl.raw && n != 1 || !cl.raw && n < 2 {
			t.Errorf("%s client: %d threads while the command ran", cl.name, n)
		}
	}
}

// TestFastClientDaemonGone: the daemon killed while the command runs: both
// clients say the connection is lost and exit 125.
func TestFastClientDaemonGone(t *testing.T) {
	cls := clients(t)
	for _, cl := range cls {
		d := startFastDaemon(t, "--prepared", "0")
		env := append(os.Environ(), "PYCAGE_DAEMON="+d.sock)
		marker := fmt.Sprintf("fastclient-gone-%d-%s", os.Getpid(), cl.name)
		args := []string{"run", "--", "python3", "-c", "import time; print('ready', flush=True); time.sleep(30) # " + marker}
		_, stdout, wait := startClient(t, cl.bin, args, env, t.TempDir(), str(""))
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		d.cmd.Process.Kill()
		r := wait()
		want := "pycage run: daemon " + d.sock + ": connection lost\n"
		if line != "ready\n" || r.code != 125 || r.stderr != want {
			t.Errorf("%s client: first line %q, exit %d stderr %q, want ready, 125 and %q", cl.name, line, r.code, r.stderr, want)
		}
		// The run dies with its daemon; whatever is left is killed here.
		deadline := time.Now().Add(10 * time.Second)
		for {
			left := procsWith(marker)
			if len(left) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Logf("%s client: processes of the run outlived the daemon: %v (killed)", cl.name, left)
				for _, pid := range left {
					syscall.Kill(pid, syscall.SIGKILL)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// procsWith lists the processes whose command line contains s.
func procsWith(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestFastClientNoRuntimeCalls: pycage's ELF entry is fastEntry, and the
// raw client's machine code calls only itself (its syscalls are
// fastSyscall6's: no runtime, no bounds-check panics, no write barriers,
// no allocation). And the functions of its usual path (a run that ends
// with the daemon's exit message) read no rodata: the strings they need
// are in fastData, next to the fake TLS block (each page of the binary the
// client touches is a page fault, ~20 us on a VM).
func TestFastClientNoRuntimeCalls(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the raw client is amd64's")
	}
	f, err := elf.Open(pycageBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var entry string
	for _, s := range syms {
		if s.Value == f.Entry && elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			entry = s.Name
		}
	}
	if entry != "main.fastEntry.abi0" {
		t.Errorf("the ELF entry is %q, want main.fastEntry.abi0", entry)
	}
	out, err := exec.Command("go", "tool", "objdump", "-s", `^main\.fast`, pycageBin).CombinedOutput()
	if err != nil {
		t.Fatalf("objdump: %v\n%s", err, out)
	}
	usual := map[string]bool{"main.fastEntry.abi0": true, "main.fastMain.abi0": true, "main.fastMain": true,
		"main.fastCwd": true, "main.fastRequest": true, "main.fastDupKey": true, "main.fastAddr": true,
		"main.fastRun": true, "main.fastSyscall6.abi0": true, "main.fastClose": true}
	funcs, fn := 0, ""
	call := regexp.MustCompile(`\s(CALL|JMP)\s+([^\s(]+)\(SB\)`)
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "TEXT ") {
			funcs++
			fn = strings.TrimSuffix(strings.Fields(l)[1], "(SB)")
			continue
		}
		if strings.Contains(l, "runtime.") && !strings.Contains(l, "_rt0_amd64_linux") {
			t.Errorf("the raw client uses the runtime: %s", l)
		}
		if usual[fn] && strings.Contains(l, "(IP)") {
			t.Errorf("%s reads rodata (another page of the binary): %s", fn, l)
		}
		m := call.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		switch to := m[2]; {
		case strings.HasPrefix(to, "main.fast"), to == "_rt0_amd64_linux":
		default:
			t.Errorf("the raw client calls %s: %s", to, l)
		}
	}
	if funcs < 10 {
		t.Errorf("objdump found %d functions of the raw client:\n%s", funcs, out)
	}
}
