package main

import (
	"fmt"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestFastErrnoText: the raw client's errno texts are Go's.
func TestFastErrnoText(t *testing.T) {
	for _, e := range []syscall.Errno{unix.EIO, unix.EBADF, unix.EAGAIN, unix.ENOMEM, unix.EFAULT, unix.EINVAL, unix.EPIPE,
		unix.ENOTSOCK, unix.ECONNRESET, unix.ENOBUFS, unix.ENOTCONN, unix.ETIMEDOUT, unix.ECONNREFUSED, 0, 7, 250, 4095} {
		n := fastErrnoText(e)
		want := e.Error()
		if e == 0 || e == 7 || e == 250 || e == 4095 {
			want = fmt.Sprintf("errno %d", int(e))
		}
		if n != want {
			t.Errorf("errno %d: %q, want %q", int(e), n, want)
		}
	}
}

// fastErrnoText is what fastErrno writes for e.
func fastErrnoText(e syscall.Errno) string {
	return string(fc.out[:fastErrno(0, e)])
}
