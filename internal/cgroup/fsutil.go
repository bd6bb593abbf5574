package cgroup

import (
	"errors"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// opError is a failed step on a cgroup file: "write /path: EINVAL".
type opError struct {
	Op   string
	Path string
	Err  error
}

func (e *opError) Error() string { return e.Op + " " + e.Path + ": " + errName(e.Err) }
func (e *opError) Unwrap() error { return e.Err }

// errName prints an errno by its name (EACCES), anything else as is.
func errName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if n := unix.ErrnoName(errno); n != "" {
			return n
		}
	}
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// writeFile writes data to an existing cgroup file in one write(2).
func writeFile(path, data string) error {
	fd, err := openRetry(path, unix.O_WRONLY|unix.O_CLOEXEC)
	if err != nil {
		return &opError{"write", path, err}
	}
	b := []byte(data)
	for {
		_, err = unix.Write(fd, b)
		if err != unix.EINTR {
			break
		}
	}
	unix.Close(fd)
	if err != nil {
		return &opError{"write", path, err}
	}
	return nil
}

func openRetry(path string, flags int) (int, error) {
	for {
		fd, err := unix.Open(path, flags, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// readFile reads a whole (small) cgroup or proc file.
func readFile(path string) (string, error) {
	fd, err := openRetry(path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != nil {
		return "", &opError{"read", path, err}
	}
	defer unix.Close(fd)
	var stack [4096]byte
	buf := stack[:0]
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", &opError{"read", path, err}
		}
		if n == 0 {
			return string(buf), nil
		}
		buf = buf[:len(buf)+n]
	}
}

// readInt reads a file holding one integer; "max" reads as -1.
func readInt(path string) (int64, error) {
	s, err := readFile(path)
	return intOf(path, s, err)
}

// intOf parses s, read from path (with err), as one integer; "max" reads
// as -1.
func intOf(path, s string, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	v, err := parseSingleInt(s)
	if err != nil {
		return 0, &opError{"parse", path, err}
	}
	return v, nil
}

func exists(path string) bool {
	return unix.Access(path, unix.F_OK) == nil
}

// sleepBackoff sleeps d and returns the next delay (doubling up to max).
func sleepBackoff(d, max time.Duration) time.Duration {
	time.Sleep(d)
	if d *= 2; d > max {
		d = max
	}
	return d
}

// procStartTime returns field 22 (starttime, clock ticks since boot) of
// /proc/PID/stat, or ok=false when there is no such process.
func procStartTime(pid int) (uint64, bool) {
	s, err := readFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	st, err := parseStatStartTime(s)
	return st, err == nil
}

// pidNamespace returns the inode number of this process's pid namespace.
func pidNamespace() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &st); err != nil {
		return 0, &opError{"stat", "/proc/self/ns/pid", err}
	}
	return st.Ino, nil
}

// swapActive reports whether the host has any swap area enabled.
func swapActive() bool {
	s, err := readFile("/proc/swaps")
	if err != nil {
		return false
	}
	return len(strings.Split(strings.TrimSpace(s), "\n")) > 1
}
