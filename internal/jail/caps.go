package jail

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capNames maps capability names (with or without the CAP_ prefix, any case)
// to numbers, as in linux/capability.h.
var capNames = map[string]int{
	"chown": 0, "dac_override": 1, "dac_read_search": 2, "fowner": 3, "fsetid": 4,
	"kill": 5, "setgid": 6, "setuid": 7, "setpcap": 8, "linux_immutable": 9,
	"net_bind_service": 10, "net_broadcast": 11, "net_admin": 12, "net_raw": 13,
	"ipc_lock": 14, "ipc_owner": 15, "sys_module": 16, "sys_rawio": 17, "sys_chroot": 18,
	"sys_ptrace": 19, "sys_pacct": 20, "sys_admin": 21, "sys_boot": 22, "sys_nice": 23,
	"sys_resource": 24, "sys_time": 25, "sys_tty_config": 26, "mknod": 27, "lease": 28,
	"audit_write": 29, "audit_control": 30, "setfcap": 31, "mac_override": 32,
	"mac_admin": 33, "syslog": 34, "wake_alarm": 35, "block_suspend": 36,
	"audit_read": 37, "perfmon": 38, "bpf": 39, "checkpoint_restore": 40,
}

// CapByName returns the number of a capability name like "CAP_NET_RAW".
func CapByName(name string) (int, error) {
	n := strings.TrimPrefix(strings.ToLower(name), "cap_")
	c, ok := capNames[n]
	if !ok {
		return 0, fmt.Errorf("unknown capability %q", name)
	}
	return c, nil
}

// initCaps are what init needs to build the jail; they are passed through
// execve as ambient capabilities, because init runs as the jail's
// unprivileged uid inside the user namespace.
var initCaps = []uintptr{
	unix.CAP_SYS_ADMIN, unix.CAP_SETPCAP, unix.CAP_NET_ADMIN, unix.CAP_DAC_OVERRIDE,
	unix.CAP_CHOWN, unix.CAP_FOWNER, unix.CAP_SYS_CHROOT,
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &n); err == nil {
			return n
		}
	}
	return 40
}

// capPlan is a prepared capability drop, applied with raw syscalls only.
type capPlan struct {
	last int
	kept uint64
	hdr  unix.CapUserHeader
	data [2]unix.CapUserData
}

func prepareCaps(keep []string) (*capPlan, error) {
	p := &capPlan{last: lastCap(), hdr: unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}}
	for _, k := range keep {
		c, err := CapByName(k)
		if err != nil {
			return nil, err
		}
		p.kept |= 1 << uint(c)
	}
	for i := 0; i < 2; i++ {
		v := uint32(p.kept >> (32 * uint(i)))
		p.data[i] = unix.CapUserData{Effective: v, Permitted: v, Inheritable: v}
	}
	return p, nil
}

// apply empties the bounding and ambient sets and the thread's sets except
// the kept capabilities, which are raised as ambient to survive execve.
func (p *capPlan) apply() syscall.Errno {
	for c := 0; c <= p.last; c++ {
		if p.kept&(1<<uint(c)) != 0 {
			continue
		}
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0, 0); e != 0 && e != unix.EINVAL {
			return e
		}
	}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0, 0); e != 0 {
		return e
	}
	if _, _, e := syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&p.hdr)), uintptr(unsafe.Pointer(&p.data[0])), 0); e != 0 {
		return e
	}
	for c := 0; c <= p.last; c++ {
		if p.kept&(1<<uint(c)) != 0 {
			if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0, 0); e != 0 {
				return e
			}
		}
	}
	return 0
}

// dropAllCaps empties init's capabilities on every thread once the jail is
// built (capabilities are per thread). With cgo, AllThreadsSyscall is not
// available; then only the current thread is changed and init stays
// protected by being non-dumpable.
func dropAllCaps() {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	syscall.AllThreadsSyscall(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0)
	_, _, e := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(ptr(&hdr)), uintptr(ptr(&data[0])), 0)
	if e == syscall.ENOTSUP {
		unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
		unix.Capset(&hdr, &data[0])
	}
}

func ptr[T any](p *T) unsafe.Pointer { return unsafe.Pointer(p) }

// initAmbient is what the Go init (and its stage) get through execve: the
// capabilities init needs plus the ones the command keeps (the stage can
// only keep what it has).
func initAmbient(keep []string) []uintptr {
	caps := append([]uintptr(nil), initCaps...)
	for _, k := range keep {
		c, err := CapByName(k)
		if err != nil {
			continue // Validate has refused it already
		}
		if !slices.Contains(caps, uintptr(c)) {
			caps = append(caps, uintptr(c))
		}
	}
	return caps
}
