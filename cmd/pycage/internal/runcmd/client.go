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

// runViaDaemon is the client of protocol v1 (docs/daemon.md): it sends
// args, the environment, stdio and the working directory to the daemon at
// sock, relays SIGINT/SIGTERM/SIGHUP/SIGQUIT and returns the exit code the
// daemon answers. Any failure is an error (exit 125), never a cold run.
func runViaDaemon(sock string, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "pycage run: daemon %s: %s\n", sock, fmt.Sprintf(format, a...))
		return jail.ExitSetup
	}
	payload, err := wire.EncodeRequest(args, os.Environ())
	if err != nil {
		return fail("%v", err)
	}
	// Caught from here on: a signal that comes before the run starts is
	// relayed once it does, as in a cold run.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)

	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("socket: %v", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, wire.SndBuf); err != nil {
		return fail("setsockopt SO_SNDBUF %d: %v", wire.SndBuf, err)
	}
	if len(sock) >= len(unix.RawSockaddrUnix{}.Path) {
		return fail("the socket path is longer than %d bytes", len(unix.RawSockaddrUnix{}.Path)-1)
	}
	if err := connectEINTR(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		fmt.Fprintf(os.Stderr, "pycage run: daemon %s (%s): connect: %v\n", sock, DaemonEnv, err)
		return jail.ExitSetup
	}
	cwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail("open the working directory: %v", err)
	}
	rights := unix.UnixRights(0, 1, 2, cwd)
	for {
		err = unix.Sendmsg(fd, payload, rights, nil, unix.MSG_NOSIGNAL)
		if err != unix.EINTR {
			break
		}
	}
	unix.Close(cwd)
	if err != nil {
		if errors.Is(err, unix.EMSGSIZE) {
			return fail("send the request (%d bytes): %v (SO_SNDBUF too small?)", len(payload), err)
		}
		if errors.Is(err, unix.EBADF) {
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

func connectEINTR(fd int, sa unix.Sockaddr) error {
	for {
		err := unix.Connect(fd, sa)
		if err != unix.EINTR {
			return err
		}
	}
}
