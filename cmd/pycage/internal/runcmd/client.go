package runcmd

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/pycage/pycage/internal/daemon/wire"
	"github.com/pycage/pycage/internal/jail"
	"golang.org/x/sys/unix"
)

// DaemonEnv names the socket of a `pycage daemon`: with it set (non-empty),
// `pycage run` hands its invocation to that daemon (docs/daemon.md).
const DaemonEnv = "PYCAGE_DAEMON"

// runViaDaemon is the client of protocol v2 (docs/daemon.md): it sends
// args, the environment, stdio, the working directory and one end of a
// socketpair (the reply socket) to the daemon at sock in one datagram,
// relays SIGINT/SIGTERM/SIGHUP/SIGQUIT on the socketpair and returns the
// exit code the daemon answers there. Any failure is an error (exit 125),
// never a cold run.
func runViaDaemon(sock string, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "pycage run: daemon %s: %s\n", sock, fmt.Sprintf(format, a...))
		return jail.ExitSetup
	}
	payload, err := wire.EncodeRequest(args, os.Environ())
	if err != nil {
		return fail("%v", err)
	}
	if len(sock) >= len(unix.RawSockaddrUnix{}.Path) {
		return fail("the socket path is longer than %d bytes", len(unix.RawSockaddrUnix{}.Path)-1)
	}
	// Caught from here on: a signal that comes before the run starts is
	// relayed once it does, as in a cold run.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	dg, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket: %v", err)
	}
	defer unix.Close(dg)
	if err := unix.SetsockoptInt(dg, unix.SOL_SOCKET, unix.SO_SNDBUF, wire.SndBuf); err != nil {
		return fail("setsockopt SO_SNDBUF %d: %v", wire.SndBuf, err)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socketpair: %v", err)
	}
	fd := pair[0] // the client's end of the reply socket
	defer unix.Close(fd)
	cwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(pair[1])
		return fail("open the working directory: %v", err)
	}
	rights := unix.UnixRights(0, 1, 2, cwd, pair[1])
	to := &unix.SockaddrUnix{Name: sock}
	for {
		err = unix.Sendmsg(dg, payload, rights, to, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			break
		}
	}
	// The daemon holds its end now: when it goes, fd sees EOF.
	unix.Close(cwd)
	unix.Close(pair[1])
	if err != nil {
		switch {
		case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ECONNREFUSED), errors.Is(err, unix.EACCES),
			errors.Is(err, unix.EPROTOTYPE), errors.Is(err, unix.EPIPE), errors.Is(err, unix.ENOTSOCK):
			// Nobody (of this protocol) serves the path.
			fmt.Fprintf(os.Stderr, "pycage run: daemon %s (%s): send: %v\n", sock, DaemonEnv, err)
			return jail.ExitSetup
		case errors.Is(err, unix.EMSGSIZE):
			return fail("send the request (%d bytes): %v (SO_SNDBUF too small?)", len(payload), err)
		case errors.Is(err, unix.EBADF):
			for i, name := range []string{"stdin", "stdout", "stderr"} {
				if _, e := unix.FcntlInt(uintptr(i), unix.F_GETFD, 0); e != nil {
					return fail("send the request: fd %d (%s) is not open", i, name)
				}
			}
		}
		return fail("send the request: %v", err)
	}

	type exit struct {
		code int
		err  error
	}
	done := make(chan exit, 1)
	go func() {
		buf := make([]byte, 16)
		for {
			n, _, flags, _, err := unix.Recvmsg(fd, buf, nil, 0)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				done <- exit{err: fmt.Errorf("receive: %v", err)}
			case n == 0:
				done <- exit{err: errors.New("connection lost")}
			case flags&unix.MSG_TRUNC != 0:
				done <- exit{err: fmt.Errorf("protocol error: a message of more than %d bytes", len(buf))}
			default:
				code, err := wire.DecodeExit(buf[:n])
				if err != nil {
					err = fmt.Errorf("protocol error: %v", err)
				}
				done <- exit{code: code, err: err}
			}
			return
		}
	}()
	for {
		select {
		case s := <-sigs:
			if sig, ok := s.(syscall.Signal); ok {
				// An error here (the daemon is gone) shows as the
				// connection's end in the receiver.
				unix.Sendmsg(fd, wire.Signal(int(sig)), nil, nil, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
			}
		case x := <-done:
			if x.err != nil {
				return fail("%v", x.err)
			}
			return x.code
		}
	}
}
