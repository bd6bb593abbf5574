package seccomp

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
)

//go:generate go run mksysnum.go

// Arch is an architecture a filter can be compiled for.
type Arch string

const (
	AMD64 Arch = "amd64"
	ARM64 Arch = "arm64"
)

// Audit architecture values (linux/audit.h) seen in seccomp_data.arch.
const (
	auditArchX86_64  = 0xc000003e
	auditArchI386    = 0x40000003
	auditArchAARCH64 = 0xc00000b7
	auditArchARM     = 0x40000028

	// x32SyscallBit marks a syscall made through the x32 ABI on x86_64
	// (__X32_SYSCALL_BIT); seccomp_data.arch is AUDIT_ARCH_X86_64 for them.
	x32SyscallBit = 0x40000000
)

// NativeArch returns the architecture pycage was built for, or "" when
// seccomp filters are not supported there.
func NativeArch() Arch {
	switch runtime.GOARCH {
	case "amd64":
		return AMD64
	case "arm64":
		return ARM64
	}
	return ""
}

// Arches lists the supported architectures.
func Arches() []Arch { return []Arch{AMD64, ARM64} }

type archInfo struct {
	audit  uint32
	sysnum map[string]uint32
	names  map[uint32]string
	x32Bit bool // refuse syscall numbers with the x32 bit set
}

var archInfos = sync.OnceValue(func() map[Arch]*archInfo {
	return map[Arch]*archInfo{
		AMD64: newArchInfo(auditArchX86_64, sysnumAMD64(), true),
		ARM64: newArchInfo(auditArchAARCH64, sysnumARM64(), false),
	}
})

func newArchInfo(audit uint32, sysnum map[string]uint32, x32 bool) *archInfo {
	a := &archInfo{audit: audit, sysnum: sysnum, names: map[uint32]string{}, x32Bit: x32}
	for n, nr := range sysnum {
		a.names[nr] = n
	}
	return a
}

func lookupArch(arch Arch) (*archInfo, error) {
	a := archInfos()[arch]
	if a == nil {
		return nil, fmt.Errorf("seccomp: architecture %q is not supported (supported: amd64, arm64)", arch)
	}
	return a, nil
}

// syscallAliases maps other spellings of syscall names (kafel's, which
// follow the kernel's sys_* entry points, and a few common ones) to the
// names of the unistd.h tables.
var syscallAliases = map[string]string{
	"newstat":    "stat",
	"newlstat":   "lstat",
	"newfstat":   "fstat",
	"newuname":   "uname",
	"umount":     "umount2",
	"sendfile64": "sendfile",
	"sysctl":     "_sysctl",
	"fstatat":    "newfstatat",
	"fstatat64":  "newfstatat",
	"fadvise":    "fadvise64",
}

// SyscallNumber returns the number of the named syscall on arch.
func SyscallNumber(arch Arch, name string) (uint32, bool) {
	a := archInfos()[arch]
	if a == nil {
		return 0, false
	}
	if nr, ok := a.sysnum[name]; ok {
		return nr, true
	}
	if alias, ok := syscallAliases[name]; ok {
		nr, ok := a.sysnum[alias]
		return nr, ok
	}
	return 0, false
}

// SyscallName returns the name of syscall nr on arch ("" if unknown).
func SyscallName(arch Arch, nr uint32) string {
	a := archInfos()[arch]
	if a == nil {
		return ""
	}
	return a.names[nr]
}

// knownOnSomeArch reports whether name is a syscall of any supported
// architecture (so a policy naming it is portable, not misspelled).
func knownOnSomeArch(name string) bool {
	for _, a := range Arches() {
		if _, ok := SyscallNumber(a, name); ok {
			return true
		}
	}
	return false
}

// SyscallNames returns the sorted syscall names of arch.
func SyscallNames(arch Arch) []string {
	a := archInfos()[arch]
	if a == nil {
		return nil
	}
	names := make([]string, 0, len(a.sysnum))
	for n := range a.sysnum {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
