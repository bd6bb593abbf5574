// Package daemon is `pycage daemon`: a unix socket server that runs the
// `pycage run` invocations clients hand it (protocol v2, docs/daemon.md,
// encoded by package wire) in prepared jails (Cache).
//
// The server knows the protocol, the clients' credentials and the life of a
// request; what a request means (the flags of `pycage run`) is the
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
	UID     int // the client's uid (SCM_CREDENTIALS)
	PID     int // the client's pid (SCM_CREDENTIALS), for logs
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
}

// Server serves one socket.
type Server struct {
	cfg  Config
	sock *net.UnixConn // the SOCK_DGRAM socket requests come to
	rc   syscall.RawConn
	euid int
	// userNS is the daemon's user namespace (dev, inode of
	// /proc/self/ns/user): clients in another one are refused.
	userNS [2]uint64
	// passPidfd: SO_PASSPIDFD is on, every request carries SCM_PIDFD.
	passPidfd bool
	sem       chan struct{}

	stopping chan struct{} // closed by Shutdown: no new runs
	stopOnce sync.Once
	served   chan struct{} // closed when Serve returned
	serving  atomic.Bool

	mu    sync.Mutex
	conns map[*conn]struct{}
	wg    sync.WaitGroup

	runs, refused, canceled atomic.Int64
}

// conn is one request's reply socket (the client's socketpair).
type conn struct {
	f      *os.File // non-blocking: reads wait in Go's poller
	rc     syscall.RawConn
	cancel context.CancelCauseFunc // nil until the run may start
}

var (
	errClientGone = errors.New("the client disconnected")
	errShutdown   = errors.New("the daemon stops")
)

// Listen creates the server's socket (mode 0600). A socket file at the
// path that no daemon is bound to is stale and removed; a daemon bound
// there, or a file that is not a socket, is an error.
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
	path := cfg.Socket
	if path == "" {
		return nil, errors.New("no socket path")
	}
	if len(path) >= len(unix.RawSockaddrUnix{}.Path) {
		return nil, fmt.Errorf("socket %s: the path is longer than %d bytes", path, len(unix.RawSockaddrUnix{}.Path)-1)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("socket %s: exists and is not a socket (%s)", path, fi.Mode().Type())
		}
		// connect(2) of a datagram socket succeeds when a socket is bound
		// at the path, and is refused when the file is stale.
		switch err := probe(path); {
		case err == nil:
			return nil, fmt.Errorf("socket %s: a daemon already answers there", path)
		case errors.Is(err, unix.EPROTOTYPE):
			return nil, fmt.Errorf("socket %s: a daemon already answers there (a socket of another type: another protocol version)", path)
		case errors.Is(err, unix.ECONNREFUSED):
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("socket %s: remove the stale socket: %v", path, err)
			}
			cfg.Logf("removed the stale socket %s", path)
		default:
			return nil, fmt.Errorf("socket %s: exists, and connecting to it failed: %v", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("socket %s: %v", path, err)
	}
	// The socket is made 0600 by bind itself: no moment with a wider mode.
	old := syscall.Umask(0o177)
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("socket %s: bind: %v", path, errors.Unwrap(err))
	}
	fail := func(format string, a ...any) (*Server, error) {
		sock.Close()
		os.Remove(path)
		return nil, fmt.Errorf(format, a...)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fail("socket %s: chmod 0600: %v", path, err)
	}
	rc, err := sock.SyscallConn()
	if err != nil {
		return fail("socket %s: %v", path, err)
	}
	var credErr error
	passPidfd := false
	rc.Control(func(fd uintptr) {
		// Every datagram then carries its sender's SCM_CREDENTIALS and
		// (Linux 6.5) a pidfd of it: the sender pinned while its user
		// namespace is looked up by pid.
		credErr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		passPidfd = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSPIDFD, 1) == nil
	})
	if credErr != nil {
		return fail("socket %s: setsockopt SO_PASSCRED: %v", path, credErr)
	}
	userNS, err := userNSOf("self")
	if err != nil {
		return fail("the daemon's user namespace: %v", err)
	}
	return &Server{
		cfg: cfg, sock: sock, rc: rc, euid: os.Geteuid(), userNS: userNS, passPidfd: passPidfd,
		sem: make(chan struct{}, cfg.MaxRuns), stopping: make(chan struct{}), served: make(chan struct{}),
		conns: map[*conn]struct{}{},
	}, nil
}

// probe connects a datagram socket to path.
func probe(path string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		if err != unix.EINTR {
			return err
		}
	}
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

// oobSize holds the control messages of any datagram: SCM_RIGHTS with
// the most fds one message can carry (SCM_MAX_FD, 253), so that no count
// is truncated, SCM_CREDENTIALS and SCM_PIDFD.
var oobSize = unix.CmsgSpace(253*4) + unix.CmsgSpace(unix.SizeofUcred) + unix.CmsgSpace(4)

// reqBufs are receive buffers of wire.MaxRequest bytes, handed from the
// receiving goroutine to the request's.
var reqBufs = sync.Pool{New: func() any { b := make([]byte, wire.MaxRequest); return &b }}

// Serve receives requests until Shutdown. The goroutine that receives a
// request serves it itself, once it has started the next receiver: the
// request does not wait for a goroutine of its own to be scheduled (on a
// VM, another thread's wake-up: ~0.05 ms of each run).
func (s *Server) Serve() error {
	s.serving.Store(true)
	defer close(s.served)
	done := make(chan error, 1)
	go s.receive(make([]byte, oobSize), done)
	return <-done
}

// receive receives datagrams until one is a request, then hands oob to a
// new receiver and serves the request; or, the server stopping (or the
// socket failing), drains the queue and ends Serve through done. One
// receiver runs at a time.
func (s *Server) receive(oob []byte, done chan<- error) {
	delay := time.Duration(0)
	for {
		bp := reqBufs.Get().(*[]byte)
		n, oobn, flags, err := recvmsg(s.rc, *bp, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			reqBufs.Put(bp)
			select {
			case <-s.stopping:
				s.drain(oob)
				done <- nil
				return
			default:
			}
			if errors.Is(err, unix.ENOMEM) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.cfg.Logf("receive: %v; retrying in %v", err, delay)
				time.Sleep(delay)
				continue
			}
			done <- fmt.Errorf("receive on %s: %v", s.cfg.Socket, err)
			return
		}
		delay = 0
		if n == 0 && oobn == 0 && flags&unix.MSG_TRUNC == 0 {
			// An empty datagram, or the end of the queue after
			// Shutdown's shutdown(SHUT_RD).
			reqBufs.Put(bp)
			select {
			case <-s.stopping:
				done <- nil
				return
			default:
			}
			s.refused.Add(1)
			s.cfg.Logf("dropped an empty datagram")
			continue
		}
		rq := parseRequest(bp, n, oob[:oobn], flags)
		s.wg.Add(1)
		go s.receive(oob, done)
		s.serveRequest(rq)
		s.wg.Done()
		return
	}
}

// drain serves (refuses: the server stops) the datagrams still queued
// after Shutdown's shutdown(SHUT_RD), which keeps new ones out.
func (s *Server) drain(oob []byte) {
	for {
		bp := reqBufs.Get().(*[]byte)
		var n, oobn, flags int
		var err error
		s.rc.Control(func(fd uintptr) {
			for {
				n, oobn, flags, _, err = unix.Recvmsg(int(fd), *bp, oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
				if err != unix.EINTR {
					return
				}
			}
		})
		if err != nil || n == 0 && oobn == 0 && flags&unix.MSG_TRUNC == 0 {
			reqBufs.Put(bp)
			return
		}
		s.dispatch(bp, n, oob[:oobn], flags)
	}
}

// dispatch serves the datagram in a goroutine of its own.
func (s *Server) dispatch(bp *[]byte, n int, oob []byte, flags int) {
	rq := parseRequest(bp, n, oob, flags)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.serveRequest(rq)
	}()
}

// parseRequest parses the control messages of a datagram: its fds are
// then the request's (serveRequest closes them and returns bp).
func parseRequest(bp *[]byte, n int, oob []byte, flags int) *request {
	rq := &request{buf: bp, n: n, pidfd: -1, trunc: flags&unix.MSG_TRUNC != 0, ctrunc: flags&unix.MSG_CTRUNC != 0}
	if msgs, err := unix.ParseSocketControlMessage(oob); err != nil {
		rq.err = fmt.Errorf("parse the control messages: %v", err)
	} else {
		for i := range msgs {
			m := &msgs[i]
			if m.Header.Level != unix.SOL_SOCKET {
				continue
			}
			switch m.Header.Type {
			case unix.SCM_RIGHTS:
				// Parsed for the fds even when the message is refused:
				// they are all closed.
				fds, err := unix.ParseUnixRights(m)
				if err != nil {
					rq.err = fmt.Errorf("parse SCM_RIGHTS: %v", err)
				}
				rq.fds = append(rq.fds, fds...)
			case unix.SCM_CREDENTIALS:
				rq.cred, _ = unix.ParseUnixCredentials(m)
			case unix.SCM_PIDFD:
				if len(m.Data) == 4 {
					if rq.pidfd >= 0 {
						unix.Close(rq.pidfd)
					}
					rq.pidfd = int(int32(uint32(m.Data[0]) | uint32(m.Data[1])<<8 | uint32(m.Data[2])<<16 | uint32(m.Data[3])<<24))
				}
			}
		}
	}
	return rq
}

// Shutdown stops receiving (the socket is removed; requests still queued
// are refused), refuses requests that have not started, lets running runs
// finish for grace (or until force is closed), then cancels them, and
// returns when every request is done.
func (s *Server) Shutdown(grace time.Duration, force <-chan struct{}) {
	s.stop()
	if s.serving.Load() {
		<-s.served
	}
	s.sock.Close()
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
	}
	s.mu.Unlock()
	<-done
}

// stop stops receiving: the socket is removed, no datagram is queued
// after this (senders get EPIPE), and Serve drains the queue and returns.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		close(s.stopping)
		os.Remove(s.cfg.Socket)
		s.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
		s.sock.SetReadDeadline(time.Now())
	})
}

// recvmsg is one recvmsg(2) on rc, waiting in Go's poller (read deadlines
// apply).
func recvmsg(rc syscall.RawConn, buf, oob []byte, flags int) (n, oobn, rflags int, err error) {
	var opErr error
	err = rc.Read(func(fd uintptr) bool {
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

// request is one request datagram.
type request struct {
	buf    *[]byte // from reqBufs; the payload is (*buf)[:n]
	n      int
	fds    []int
	cred   *unix.Ucred // SCM_CREDENTIALS
	pidfd  int         // SCM_PIDFD, or -1
	trunc  bool        // the payload was larger than MaxRequest
	ctrunc bool        // a control message did not fit (or the pidfd could not be made)
	err    error       // parsing the control messages
}

func (r *request) close() {
	for _, fd := range r.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	r.fds = nil
	if r.pidfd >= 0 {
		unix.Close(r.pidfd)
		r.pidfd = -1
	}
	if r.buf != nil {
		reqBufs.Put(r.buf)
		r.buf = nil
	}
}

// pidfdUserNS returns the device and inode of the user namespace of the
// process of pidfd (ESRCH: it exited; ENOTTY: a kernel before 6.11).
func pidfdUserNS(pidfd int) ([2]uint64, error) {
	fd, err := unix.IoctlRetInt(pidfd, unix.PIDFD_GET_USER_NAMESPACE)
	if err != nil {
		return [2]uint64{}, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return [2]uint64{}, err
	}
	return [2]uint64{st.Dev, st.Ino}, nil
}

// userNSOf returns the device and inode of /proc/PID/ns/user.
func userNSOf(pid string) ([2]uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+pid+"/ns/user", &st); err != nil {
		return [2]uint64{}, err
	}
	return [2]uint64{st.Dev, st.Ino}, nil
}

// senderUserNS returns the user namespace of the request's sender, pid
// (SCM_CREDENTIALS'). With its SCM_PIDFD it asks the pidfd (Linux 6.11:
// PIDFD_GET_USER_NAMESPACE; no /proc lookup), or checks that the pid is
// still the sender's after the lookup by pid (not a recycled one); without
// SO_PASSPIDFD (older kernels) the lookup is by pid alone.
func (s *Server) senderUserNS(rq *request) ([2]uint64, error) {
	pid := rq.cred.Pid
	if pid <= 0 {
		return [2]uint64{}, fmt.Errorf("the client's pid is not visible here")
	}
	if s.passPidfd && rq.pidfd < 0 {
		// The kernel could not make the pidfd: the sender is gone.
		return [2]uint64{}, fmt.Errorf("the client exited")
	}
	if rq.pidfd >= 0 {
		ns, err := pidfdUserNS(rq.pidfd)
		switch {
		case err == nil:
			return ns, nil
		case errors.Is(err, unix.ESRCH):
			return ns, fmt.Errorf("the client exited")
		case !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.EINVAL):
			return ns, err
		}
		// A kernel without the ioctl: by pid.
	}
	ns, err := userNSOf(strconv.Itoa(int(pid)))
	if err != nil {
		return ns, err
	}
	if rq.pidfd >= 0 {
		if err := unix.PidfdSendSignal(rq.pidfd, 0, nil, 0); err != nil {
			return ns, fmt.Errorf("the client exited")
		}
	}
	return ns, nil
}

// replySocket returns whether fd is a unix SOCK_SEQPACKET socket.
func replySocket(fd int) bool {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil || typ != unix.SOCK_SEQPACKET {
		return false
	}
	dom, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	return err == nil && dom == unix.AF_UNIX
}

func (s *Server) serveRequest(rq *request) {
	defer rq.close()
	who := "client"
	if rq.cred != nil {
		who = fmt.Sprintf("client pid %d uid %d", rq.cred.Pid, rq.cred.Uid)
	}
	// The reply socket: without a usable one the request cannot be
	// answered and is dropped.
	if len(rq.fds) <= wire.FDReply || !replySocket(rq.fds[wire.FDReply]) {
		s.refused.Add(1)
		s.cfg.Logf("%s: dropped a request of %d bytes and %d fds: its fd %d is not a unix SOCK_SEQPACKET socket to answer on",
			who, rq.n, len(rq.fds), wire.FDReply)
		return
	}
	replyFD := rq.fds[wire.FDReply]
	rq.fds[wire.FDReply] = -1
	if err := unix.SetNonblock(replyFD, true); err != nil {
		unix.Close(replyFD)
		s.refused.Add(1)
		s.cfg.Logf("%s: dropped a request: the reply socket: %v", who, err)
		return
	}
	cn := &conn{f: os.NewFile(uintptr(replyFD), "reply")}
	defer cn.f.Close()
	rc, err := cn.f.SyscallConn()
	if err != nil {
		s.refused.Add(1)
		s.cfg.Logf("%s: dropped a request: the reply socket: %v", who, err)
		return
	}
	cn.rc = rc
	s.mu.Lock()
	s.conns[cn] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, cn)
		s.mu.Unlock()
	}()

	// refuse answers 'X' 125 with a one-line reason on the client's
	// stderr.
	refuse := func(format string, a ...any) {
		s.refused.Add(1)
		msg := fmt.Sprintf(format, a...)
		s.cfg.Logf("%s: refused: %s", who, msg)
		if len(rq.fds) > wire.FDStderr && rq.fds[wire.FDStderr] >= 0 {
			unix.Write(rq.fds[wire.FDStderr], []byte("pycage daemon: "+msg+"\n"))
		}
		cn.f.Write(wire.Exit(jail.ExitSetup))
	}
	switch {
	case rq.err != nil:
		refuse("receive the request: %v", rq.err)
		return
	case rq.cred == nil:
		refuse("the request carries no credentials (SCM_CREDENTIALS)")
		return
	case int(rq.cred.Uid) != s.euid:
		refuse("uid %d may not use this daemon (it serves uid %d only)", rq.cred.Uid, s.euid)
		return
	}
	// SCM_CREDENTIALS can be claimed: a sender with CAP_SYS_ADMIN over its
	// pid namespace's owner may name another process of that namespace
	// (and the SCM_PIDFD follows the claim). The reply socket's peer
	// credentials are those of the process that made the socketpair, and
	// cannot be: the sender must be that process.
	var peer *unix.Ucred
	var peerErr error
	cn.rc.Control(func(fd uintptr) { peer, peerErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
	if peerErr != nil {
		refuse("the reply socket: SO_PEERCRED: %v", peerErr)
		return
	} else if peer.Pid != rq.cred.Pid {
		refuse("the reply socket was made by pid %d, not by the sender (pid %d)", peer.Pid, rq.cred.Pid)
		return
	}
	// A process in another user namespace — a jail's, should the socket
	// be reachable from one — is refused even when its uid maps to the
	// daemon's (as it does for a daemon of a normal user: the jail's user
	// maps to that user).
	if ns, err := s.senderUserNS(rq); err != nil {
		refuse("the client's user namespace: %v", err)
		return
	} else if ns != s.userNS {
		refuse("clients in another user namespace (pid %d) may not use this daemon", rq.cred.Pid)
		return
	}
	switch {
	case rq.trunc:
		refuse("the request is larger than %d bytes", wire.MaxRequest)
		return
	case len(rq.fds) != wire.NumFDs:
		refuse("the request carries %d fds, want %d (stdin, stdout, stderr, cwd, reply)", len(rq.fds), wire.NumFDs)
		return
	}
	args, env, err := wire.DecodeRequest((*rq.buf)[:rq.n])
	reqBufs.Put(rq.buf)
	rq.buf = nil
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

	// Runs last: after the answer (or the refusal).
	after := &afterList{}
	defer after.run()
	ctx, cancel := context.WithCancelCause(context.WithValue(context.Background(), afterKey{}, after))
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
			n, _, flags, err := recvmsg(cn.rc, buf, nil, 0)
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
	// The reader ends when the reply socket is closed (cn.f.Close, after
	// the answer) or the client's end is.
	defer func() { cn.f.Close(); <-readerDone }()

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
	select {
	case <-s.stopping: // (the slot and the stop came at once)
		<-s.sem
		refuse("shutting down: the run did not start")
		return
	default:
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
			Signals: sigs, UID: int(rq.cred.Uid), PID: int(rq.cred.Pid)})
		if pe, _ := protoErr.Load().(error); pe != nil {
			fmt.Fprintf(errf, "pycage daemon: %v\n", pe)
			code = jail.ExitSetup
		}
	}()
	if cause := context.Cause(ctx); cause != nil {
		s.canceled.Add(1)
		s.cfg.Logf("%s: run cancelled: %v", who, cause)
	}
	// The stdio and cwd fds are closed (above and by rq.close) before
	// the answer: the client's readers see EOF when the client exits.
	rq.close()
	cn.f.Write(wire.Exit(code))
}

// afterKey is the context key of a request's afterList.
type afterKey struct{}

// afterList is the work a request's run leaves for after its answer.
type afterList struct {
	mu sync.Mutex
	fs []func()
}

// AfterAnswer runs f once the client of ctx's request has its answer, or
// at once when ctx is not a request's: for work a run causes that need not
// delay the answer (the Cache's refill).
func AfterAnswer(ctx context.Context, f func()) {
	if l, ok := ctx.Value(afterKey{}).(*afterList); ok {
		l.mu.Lock()
		l.fs = append(l.fs, f)
		l.mu.Unlock()
		return
	}
	f()
}

// run runs the work of the list.
func (l *afterList) run() {
	l.mu.Lock()
	fs := l.fs
	l.fs = nil
	l.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// relayed: the signals a cold `pycage run` relays to its command.
func relayed(signo int) bool {
	switch syscall.Signal(signo) {
	case syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT:
		return true
	}
	return false
}
