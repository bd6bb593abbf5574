// Package daemon is `pycage daemon`: a unix socket server that runs the
// `pycage run` invocations clients hand it (protocol v1, docs/daemon.md,
// encoded by package wire) in prepared jails (Cache).
//
// The server knows the protocol, the clients' credentials and the life of a
// connection; what a request means (the flags of `pycage run`) is the
// Handler's (cmd/pycage: runcmd.RunWith).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pycage/pycage/internal/daemon/wire"
	"github.com/pycage/pycage/internal/jail"
	"golang.org/x/sys/unix"
)

// Request is one client's `pycage run`.
type Request struct {
	Args []string // after "run"
	Env  []string // the client's environment
	Dir  string   // the client's working directory (readlink of its cwd fd)
	// The client's stdio. The server closes them after the Handler
	// returned, before it answers.
	Stdin, Stdout, Stderr *os.File
	// Signals the client relays (SIGINT, SIGTERM, SIGHUP, SIGQUIT).
	Signals <-chan os.Signal
	UID     int // the client's uid (SO_PEERCRED)
	PID     int // the client's pid (SO_PEERCRED), for logs
}

// Handler runs a request and returns its exit code (0..255). ctx is
// cancelled when the client disconnects before the answer, or when the
// server stops running runs (Shutdown after its grace).
type Handler func(ctx context.Context, r *Request) int

// Config is a Server's.
type Config struct {
	Socket  string // the socket's path
	MaxRuns int    // requests handled at once; more wait (>= 1)
	Handler Handler
	// Logf logs one line (nil: stderr, prefixed "pycage daemon: ").
	Logf func(format string, a ...any)
	// RequestTimeout bounds the wait for a connection's request (10s).
	RequestTimeout time.Duration
}

// Server serves one socket.
type Server struct {
	cfg  Config
	ln   *net.UnixListener
	euid int
	// userNS is the daemon's user namespace (dev, inode of
	// /proc/self/ns/user): clients in another one are refused.
	userNS [2]uint64
	sem    chan struct{}

	stopping chan struct{} // closed by Shutdown: no new runs
	stopOnce sync.Once
	served   chan struct{} // closed when Serve returned
	serving  atomic.Bool

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup

	runs, refused, canceled atomic.Int64
}

// conn is one client connection.
type conn struct {
	c      *net.UnixConn
	rc     syscall.RawConn
	cancel context.CancelCauseFunc // nil until the request is in
}

var (
	errClientGone = errors.New("the client disconnected")
	errShutdown   = errors.New("the daemon stops")
)

// Listen creates the server's socket (mode 0600). A socket file at the
// path that no daemon answers on is stale and removed; a daemon that
// answers there, or a file that is not a socket, is an error.
func Listen(cfg Config) (*Server, error) {
	if cfg.MaxRuns < 1 {
		return nil, fmt.Errorf("max runs %d: must be at least 1", cfg.MaxRuns)
	}
	if cfg.Handler == nil {
		return nil, errors.New("no handler")
	}
	if cfg.Logf == nil {
		cfg.Logf = func(format string, a ...any) {
			fmt.Fprintf(os.Stderr, "pycage daemon: "+format+"\n", a...)
		}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	path := cfg.Socket
	if path == "" {
		return nil, errors.New("no socket path")
	}
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("socket %s: the path is longer than %d bytes", path, len(unix.RawSockaddrUnix{}.Path)-1)
	}
	addr := &net.UnixAddr{Name: path, Net: "unixpacket"}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("socket %s: exists and is not a socket (%s)", path, fi.Mode().Type())
		}
		c, err := net.DialUnix("unixpacket", nil, addr)
		switch {
		case err == nil:
			c.Close()
			return nil, fmt.Errorf("socket %s: a daemon already answers there", path)
		case errors.Is(err, syscall.ECONNREFUSED):
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("socket %s: remove the stale socket: %v", path, err)
			}
			cfg.Logf("removed the stale socket %s", path)
		default:
			return nil, fmt.Errorf("socket %s: exists, and connecting to it failed: %v", path, errors.Unwrap(err))
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("socket %s: %v", path, err)
	}
	// The socket is made 0600 by bind itself: no moment with a wider mode.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unixpacket", addr)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("socket %s: listen: %v", path, errors.Unwrap(err))
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: chmod 0600: %v", path, err)
	}
	userNS, err := userNSOf("self")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("the daemon's user namespace: %v", err)
	}
	return &Server{
		cfg: cfg, ln: ln, euid: os.Geteuid(), userNS: userNS, sem: make(chan struct{}, cfg.MaxRuns),
		stopping: make(chan struct{}), served: make(chan struct{}),
		conns: map[*conn]struct{}{},
	}, nil
}

// Stats are the server's counts.
type Stats struct {
	Runs     int64 // requests handled
	Refused  int64 // connections refused (credentials, malformed requests, shutdown)
	Canceled int64 // runs cancelled (client gone, shutdown)
}

// Stats returns the server's counts.
func (s *Server) Stats() Stats {
	return Stats{Runs: s.runs.Load(), Refused: s.refused.Load(), Canceled: s.canceled.Load()}
}

// Serve accepts connections until Shutdown.
func (s *Server) Serve() error {
	s.serving.Store(true)
	defer close(s.served)
	delay := time.Duration(0)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			select {
			case <-s.stopping:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
				errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.ECONNABORTED) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Logf("accept: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			return fmt.Errorf("accept on %s: %v", s.cfg.Socket, err)
		}
		delay = 0
		rc, err := c.SyscallConn()
		if err != nil {
			c.Close()
			continue
		}
		cn := &conn{c: c, rc: rc}
		s.mu.Lock()
		s.conns[cn] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(cn)
			s.mu.Lock()
			delete(s.conns, cn)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting (the socket is removed), refuses requests that
// have not started, lets running runs finish for grace (or until force is
// closed), then cancels them, and returns when every connection is done.
func (s *Server) Shutdown(grace time.Duration, force <-chan struct{}) {
	s.stopOnce.Do(func() {
		close(s.stopping)
		s.ln.Close() // unlinks the socket
		os.Remove(s.cfg.Socket)
	})
	if s.serving.Load() {
		<-s.served
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
		s.cfg.Logf("runs still going %v after the shutdown began: cancelling them", grace)
	case <-force:
		s.cfg.Logf("cancelling the running runs now")
	}
	s.mu.Lock()
	for cn := range s.conns {
		if cn.cancel != nil {
			cn.cancel(errShutdown)
		}
		cn.c.SetReadDeadline(time.Now()) // a connection still sending its request
	}
	s.mu.Unlock()
	<-done
}

// recvmsg is one recvmsg(2) on the connection, waiting in Go's poller
// (read deadlines apply).
func (cn *conn) recvmsg(buf, oob []byte, flags int) (n, oobn, rflags int, err error) {
	var opErr error
	err = cn.rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, rflags, _, opErr = unix.Recvmsg(int(fd), buf, oob, flags|unix.MSG_DONTWAIT)
			if opErr != unix.EINTR {
				return opErr != unix.EAGAIN
			}
		}
	})
	if err == nil {
		err = opErr
	}
	return
}

// request is a connection's first message.
type request struct {
	payload []byte
	fds     []int
	trunc   bool // the payload was larger than MaxRequest
	ctrunc  bool // more fds than the control buffer holds
}

func (r *request) closeFDs() {
	for _, fd := range r.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	r.fds = nil
}

// soPeerPidfd is SO_PEERPIDFD (Linux 6.5): a pidfd of the peer, which
// pins it while its user namespace is looked up by pid.
const soPeerPidfd = 77

// userNSOf returns the device and inode of /proc/PID/ns/user.
func userNSOf(pid string) ([2]uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/user", &st); err != nil {
		return [2]uint64{}, err
	}
	return [2]uint64{st.Dev, st.Ino}, nil
}

// peerUserNS returns the user namespace of the connection's peer, pid
// (SO_PEERCRED's). With SO_PEERPIDFD the pid is checked to still be the
// peer's after the lookup (not a recycled one); without it (older
// kernels) the lookup is by pid alone.
func (cn *conn) peerUserNS(pid int32) ([2]uint64, error) {
	if pid <= 0 {
		return [2]uint64{}, fmt.Errorf("the client's pid is not visible here")
	}
	pidfd := -1
	cn.rc.Control(func(fd uintptr) {
		if v, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, soPeerPidfd); err == nil {
			pidfd = v
		}
	})
	if pidfd >= 0 {
		defer unix.Close(pidfd)
	}
	ns, err := userNSOf(strconv.Itoa(int(pid)))
	if err != nil {
		return ns, err
	}
	if pidfd >= 0 {
		if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
			return ns, fmt.Errorf("the client exited")
		}
	}
	return ns, nil
}

// reqBufs are receive buffers of wire.MaxRequest bytes (a request is
// copied out at its own size).
var reqBufs = sync.Pool{New: func() any { b := make([]byte, wire.MaxRequest); return &b }}

// readRequest receives the request message and its fds (close-on-exec).
func (cn *conn) readRequest() (*request, error) {
	bp := reqBufs.Get().(*[]byte)
	defer reqBufs.Put(bp)
	buf := *bp
	// Room for more fds than the protocol's, so that a wrong count is
	// seen, not truncated.
	oob := make([]byte, unix.CmsgSpace(16*4))
	n, oobn, flags, err := cn.recvmsg(buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	r := &request{payload: append([]byte(nil), buf[:n]...), trunc: flags&unix.MSG_TRUNC != 0, ctrunc: flags&unix.MSG_CTRUNC != 0}
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return r, fmt.Errorf("parse the control messages: %v", err)
		}
		for _, m := range msgs {
			if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_RIGHTS {
				fds, err := unix.ParseUnixRights(&m)
				if err != nil {
					r.closeFDs()
					return r, fmt.Errorf("parse SCM_RIGHTS: %v", err)
				}
				r.fds = append(r.fds, fds...)
			}
		}
	}
	if n == 0 && oobn == 0 && !r.trunc {
		return nil, errClientGone
	}
	return r, nil
}

func (s *Server) serveConn(cn *conn) {
	defer cn.c.Close()
	var ucred *unix.Ucred
	var credErr error
	cn.rc.Control(func(fd uintptr) {
		ucred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if credErr != nil {
		s.refused.Add(1)
		s.cfg.Logf("connection: SO_PEERCRED: %v", credErr)
		cn.c.Write(wire.Exit(jail.ExitSetup))
		return
	}
	who := fmt.Sprintf("client pid %d uid %d", ucred.Pid, ucred.Uid)

	cn.c.SetReadDeadline(time.Now().Add(s.cfg.RequestTimeout))
	rq, err := cn.readRequest()
	cn.c.SetReadDeadline(time.Time{})
	if rq != nil {
		defer rq.closeFDs()
	}
	// refuse answers 'X' 125 with a one-line reason on the client's
	// stderr, when it sent one.
	refuse := func(format string, a ...any) {
		s.refused.Add(1)
		msg := fmt.Sprintf(format, a...)
		s.cfg.Logf("%s: refused: %s", who, msg)
		if rq != nil && len(rq.fds) > wire.FDStderr {
			unix.Write(rq.fds[wire.FDStderr], []byte("pycage daemon: "+msg+"\n"))
		}
		cn.c.Write(wire.Exit(jail.ExitSetup))
	}
	switch {
	case errors.Is(err, errClientGone):
		s.cfg.Logf("%s: connection closed before its request", who)
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		select {
		case <-s.stopping:
			refuse("shutting down: no request yet")
		default:
			refuse("no request within %v", s.cfg.RequestTimeout)
		}
		return
	case err != nil:
		refuse("receive the request: %v", err)
		return
	}
	if int(ucred.Uid) != s.euid {
		refuse("uid %d may not use this daemon (it serves uid %d only)", ucred.Uid, s.euid)
		return
	}
	// A process in another user namespace — a jail's, should the socket
	// be reachable from one — is refused even when its uid maps to the
	// daemon's (as it does for a daemon of a normal user: the jail's user
	// maps to that user).
	if ns, err := cn.peerUserNS(ucred.Pid); err != nil {
		refuse("the client's user namespace: %v", err)
		return
	} else if ns != s.userNS {
		refuse("clients in another user namespace (pid %d) may not use this daemon", ucred.Pid)
		return
	}
	switch {
	case rq.trunc:
		refuse("the request is larger than %d bytes", wire.MaxRequest)
		return
	case rq.ctrunc || len(rq.fds) != wire.NumFDs:
		refuse("the request carries %d fds, want %d (stdin, stdout, stderr, cwd)", len(rq.fds), wire.NumFDs)
		return
	}
	args, env, err := wire.DecodeRequest(rq.payload)
	if err != nil {
		refuse("%v", err)
		return
	}
	var st unix.Stat_t
	cwdFD := rq.fds[wire.FDCwd]
	if err := unix.Fstat(cwdFD, &st); err != nil {
		refuse("fstat the working directory (fd %d of the request): %v", wire.FDCwd, err)
		return
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		refuse("fd %d of the request (the working directory) is not a directory", wire.FDCwd)
		return
	}
	dir, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(cwdFD))
	if err != nil {
		refuse("readlink the working directory: %v", err)
		return
	}
	select {
	case <-s.stopping:
		refuse("shutting down: the run did not start")
		return
	default:
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	s.mu.Lock()
	cn.cancel = cancel
	s.mu.Unlock()
	sigs := make(chan os.Signal, 4)
	var protoErr atomic.Value
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 8)
		for {
			n, _, flags, err := cn.recvmsg(buf, nil, 0)
			switch {
			case err != nil || n == 0:
				if ctx.Err() == nil {
					cancel(errClientGone)
				}
				return
			case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0:
				protoErr.Store(fmt.Errorf("protocol error: a message after the request of more than %d bytes or with fds", len(buf)))
			default:
				signo, err := wire.DecodeSignal(buf[:n])
				switch {
				case err != nil:
					protoErr.Store(fmt.Errorf("protocol error: %v", err))
				case !relayed(signo):
					protoErr.Store(fmt.Errorf("protocol error: signal %d is not one pycage run relays (SIGINT, SIGTERM, SIGHUP, SIGQUIT)", signo))
				default:
					select { // dropped when full, as signal.Notify does
					case sigs <- syscall.Signal(signo):
					default:
					}
					continue
				}
			}
			cancel(protoErr.Load().(error))
			return
		}
	}()

	// A slot: further clients wait here (or leave).
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		if cause := context.Cause(ctx); !errors.Is(cause, errClientGone) {
			refuse("%v", cause) // a protocol error, before the run started
			return
		}
		s.cfg.Logf("%s: the client disconnected while waiting for a run slot", who)
		return
	case <-s.stopping:
		refuse("shutting down: the run did not start")
		return
	}
	var code int
	func() {
		defer func() { <-s.sem }()
		defer func() {
			if p := recover(); p != nil {
				s.cfg.Logf("%s: panic in the run: %v", who, p)
				code = jail.ExitSetup
			}
		}()
		stdio := func(i int, name string) *os.File {
			f := os.NewFile(uintptr(rq.fds[i]), name)
			rq.fds[i] = -1 // the File owns it now
			return f
		}
		in, out, errf := stdio(wire.FDStdin, "client stdin"), stdio(wire.FDStdout, "client stdout"), stdio(wire.FDStderr, "client stderr")
		defer func() { in.Close(); out.Close(); errf.Close() }()
		s.runs.Add(1)
		code = s.cfg.Handler(ctx, &Request{Args: args, Env: env, Dir: dir, Stdin: in, Stdout: out, Stderr: errf,
			Signals: sigs, UID: int(ucred.Uid), PID: int(ucred.Pid)})
		if pe, _ := protoErr.Load().(error); pe != nil {
			fmt.Fprintf(errf, "pycage daemon: %v\n", pe)
			code = jail.ExitSetup
		}
	}()
	if cause := context.Cause(ctx); cause != nil {
		s.canceled.Add(1)
		s.cfg.Logf("%s: run cancelled: %v", who, cause)
	}
	// The stdio and cwd fds are closed (above and by rq.closeFDs) before
	// the answer: the client's readers see EOF when the client exits.
	rq.closeFDs()
	cn.c.Write(wire.Exit(code))
	cn.c.Close()
	<-readerDone
}

// relayed: the signals a cold `pycage run` relays to its command.
func relayed(signo int) bool {
	switch syscall.Signal(signo) {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}
