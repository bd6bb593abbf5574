// Package landlock is pycage's Landlock policy: defence in depth for the
// jail's file tree. The mount namespace decides what the command can
// name; Landlock decides what it may open, by inode hierarchy: read (and
// execute) beneath the jail's root, read/write beneath its writable mounts,
// what device nodes need beneath /dev, and nothing beneath anything else.
// A host inode the command reaches some other way (a leaked directory
// descriptor, a /proc magic link, a bug in the mount isolation) lies
// beneath none of the jail's inodes and is refused with EACCES.
//
// The policy is computed once, by pure functions (Compute), and applied by
// both spawn paths: the Go path with Build and RestrictSelf (stage.go, and
// init's fast path), the raw path as ops of its syscall program
// (rawspawn.go), in the command's process after pivot_root and before its
// capabilities are dropped, so that landlock_restrict_self works with or
// without no_new_privs (CAP_SYS_ADMIN in the jail's user namespace).
//
// Why not github.com/landlock-lsm/go-landlock: on the raw path the command's
// process runs no Go code that may allocate or call the runtime (it
// interprets ops with raw syscalls on memory allocated before the clone),
// and go-landlock opens paths, builds its rules and errors in Go; so that
// path needs the syscalls as ops whatever the Go path does. For the Go path
// it would bring libcap's psx, which is cgo whenever cgo is on (every test
// binary of this package would become a cgo binary, where the all-threads
// syscalls the engine relies on are unavailable), and its Restrict always
// sets no_new_privs, which Spec.DisableNoNewPrivs (nsjail compat) must be
// able to leave unset. Three syscalls and a table of rights are simpler.
package landlock

import (
	"path"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Filesystem access rights (uapi/linux/landlock.h), by the ABI that
// introduced them.
const (
	Execute    = unix.LANDLOCK_ACCESS_FS_EXECUTE     // ABI 1
	WriteFile  = unix.LANDLOCK_ACCESS_FS_WRITE_FILE  // ABI 1
	ReadFile   = unix.LANDLOCK_ACCESS_FS_READ_FILE   // ABI 1
	ReadDir    = unix.LANDLOCK_ACCESS_FS_READ_DIR    // ABI 1
	RemoveDir  = unix.LANDLOCK_ACCESS_FS_REMOVE_DIR  // ABI 1
	RemoveFile = unix.LANDLOCK_ACCESS_FS_REMOVE_FILE // ABI 1
	MakeChar   = unix.LANDLOCK_ACCESS_FS_MAKE_CHAR   // ABI 1
	MakeDir    = unix.LANDLOCK_ACCESS_FS_MAKE_DIR    // ABI 1
	MakeReg    = unix.LANDLOCK_ACCESS_FS_MAKE_REG    // ABI 1
	MakeSock   = unix.LANDLOCK_ACCESS_FS_MAKE_SOCK   // ABI 1
	MakeFifo   = unix.LANDLOCK_ACCESS_FS_MAKE_FIFO   // ABI 1
	MakeBlock  = unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK  // ABI 1
	MakeSym    = unix.LANDLOCK_ACCESS_FS_MAKE_SYM    // ABI 1
	Refer      = unix.LANDLOCK_ACCESS_FS_REFER       // ABI 2
	Truncate   = unix.LANDLOCK_ACCESS_FS_TRUNCATE    // ABI 3
	IoctlDev   = unix.LANDLOCK_ACCESS_FS_IOCTL_DEV   // ABI 5

	// FileRights are the rights that mean something on a file: a rule
	// whose object is not a directory may carry only these (EINVAL).
	FileRights = Execute | WriteFile | ReadFile | Truncate | IoctlDev
)

// Scopes (ABI 6).
const (
	ScopeAbstractUnixSocket = unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
	ScopeSignal             = unix.LANDLOCK_SCOPE_SIGNAL
)

const (
	// MinABI is the oldest Landlock ABI pycage uses. ABI 1 cannot grant
	// REFER: every rename or link into another directory (the workspace
	// included) would fail with EXDEV, which breaks ordinary programs.
	MinABI = 2
	// MaxABI is the newest ABI whose rights this package knows; a newer
	// kernel is used at this level (what it adds stays unrestricted).
	MaxABI = 7
)

// Rule kinds, shown in errors ("landlock add rule /tmp (rw): EBADF").
const (
	KindRO  = "ro"
	KindRW  = "rw"
	KindDev = "dev"
)

// Rule grants Access beneath Path (absolute, inside the jail). When Path
// is not a directory, only Access&FileRights is granted (decided when the
// rule is added: the raw path cannot know it earlier).
type Rule struct {
	Path   string
	Access uint64
	Kind   string
	// Optional: a Path that does not exist is skipped (an optional bind
	// whose source was missing, so the jail has nothing there).
	Optional bool
}

// Policy is one ruleset: what it handles, its rules, the ABI it is for.
type Policy struct {
	ABI int
	// HandledFS are the filesystem rights the ruleset restricts: every
	// one this ABI knows. Network rights are not handled (see docs).
	HandledFS uint64
	// Scoped are the IPC scopes restricted (ABI 6+): signals and
	// abstract unix sockets only within the command's own domain.
	Scoped uint64
	Rules  []Rule
}

// Mount is what Compute needs to know of one entry of the jail's tree.
type Mount struct {
	Path     string // mount point inside the jail
	Writable bool
	Optional bool // may be missing (see Rule.Optional)
}

// Tree describes a jail's file tree (a new root, read-only unless a
// writable mount says otherwise).
type Tree struct {
	Mounts []Mount
	// Dev: the minimal /dev (device nodes bound from the host) with a
	// writable /dev/shm.
	Dev bool
}

// HandledFS returns every filesystem right ABI abi (capped at MaxABI) knows.
func HandledFS(abi int) uint64 {
	if abi <= 0 {
		return 0
	}
	h := uint64(Execute | WriteFile | ReadFile | ReadDir | RemoveDir | RemoveFile | MakeChar |
		MakeDir | MakeReg | MakeSock | MakeFifo | MakeBlock | MakeSym)
	if abi >= 2 {
		h |= Refer
	}
	if abi >= 3 {
		h |= Truncate
	}
	if abi >= 5 {
		h |= IoctlDev
	}
	return h
}

// ScopedFor returns the scopes pycage restricts at ABI abi.
func ScopedFor(abi int) uint64 {
	if abi >= 6 {
		return ScopeAbstractUnixSocket | ScopeSignal
	}
	return 0
}

// The rights of each kind of rule (before the mask of the ABI).
const (
	// ro: read files, list directories, execute.
	rightsRO = Execute | ReadFile | ReadDir
	// dev: device nodes are written to and ioctl'd (/dev/null, /dev/tty);
	// /dev itself is a read-only tmpfs, so nothing can be created there.
	rightsDev = ReadFile | WriteFile | ReadDir | IoctlDev
	// rw: every right. REFER lets files be renamed and linked between
	// directories, TRUNCATE lets O_TRUNC and ftruncate work, EXECUTE
	// keeps programs the command writes into its workspace runnable, as
	// without Landlock. MAKE_CHAR and MAKE_BLOCK change nothing (the
	// command has no CAP_MKNOD and the mounts are nodev) but keep mknod's
	// answer the kernel's own EPERM rather than Landlock's EACCES.
	rightsRW = ^uint64(0)
)

// Compute returns the ruleset for tree t at the kernel's ABI abi (capped
// at MaxABI). abi below MinABI: nil (no ruleset).
//
// The rules: read and execute beneath "/" (the jail's own root: a host
// path reached from elsewhere is beneath none of its inodes); read and
// write beneath every writable mount; the dev rights beneath /dev (and
// beneath any mount inside /dev) and rw beneath /dev/shm. A read-only
// mount needs no rule of its own: it is beneath "/".
func Compute(t Tree, abi int) *Policy {
	if abi < MinABI {
		return nil
	}
	if abi > MaxABI {
		abi = MaxABI
	}
	p := &Policy{ABI: abi, HandledFS: HandledFS(abi), Scoped: ScopedFor(abi)}
	index := map[string]int{}
	add := func(dir string, access uint64, kind string, optional bool) {
		dir = path.Clean("/" + dir)
		access &= p.HandledFS
		if i, ok := index[dir]; ok {
			r := &p.Rules[i]
			r.Access |= access
			if kindRank[kind] > kindRank[r.Kind] {
				r.Kind = kind
			}
			r.Optional = r.Optional && optional
			return
		}
		index[dir] = len(p.Rules)
		p.Rules = append(p.Rules, Rule{Path: dir, Access: access, Kind: kind, Optional: optional})
	}
	add("/", rightsRO, KindRO, false)
	if t.Dev {
		add("/dev", rightsDev, KindDev, false)
		add("/dev/shm", rightsRW, KindRW, false)
	}
	for _, m := range t.Mounts {
		switch {
		case m.Writable:
			add(m.Path, rightsRW, KindRW, m.Optional)
		case underDev(m.Path):
			add(m.Path, rightsDev, KindDev, m.Optional)
		}
	}
	return p
}

// kindRank orders the kinds by what they grant, for a path named twice.
var kindRank = map[string]int{KindRO: 0, KindDev: 1, KindRW: 2}

func underDev(p string) bool {
	p = path.Clean("/" + p)
	return p == "/dev" || strings.HasPrefix(p, "/dev/")
}

// AttrSize is the size of struct landlock_ruleset_attr to pass for abi:
// the kernel's own struct may be shorter on an older ABI.
func AttrSize(abi int) int {
	switch {
	case abi >= 6:
		return 24 // handled_access_fs, handled_access_net, scoped
	case abi >= 4:
		return 16
	}
	return 8
}

// RulesetAttr is struct landlock_ruleset_attr.
type RulesetAttr struct {
	HandledFS  uint64
	HandledNet uint64
	Scoped     uint64
}

// pathBeneathAttr is struct landlock_path_beneath_attr: packed, 12 bytes.
type pathBeneathAttr [12]byte

func newPathBeneath(access uint64, fd int) pathBeneathAttr {
	var a pathBeneathAttr
	*(*uint64)(unsafe.Pointer(&a[0])) = access
	*(*int32)(unsafe.Pointer(&a[8])) = int32(fd)
	return a
}

var (
	abiOnce sync.Once
	abiVer  int
)

// ABI returns the kernel's Landlock ABI version, 0 when the kernel has no
// Landlock (not built in, or not enabled at boot). Probed once.
func ABI() int {
	abiOnce.Do(func() {
		r, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
		if e == 0 {
			abiVer = int(r)
		}
	})
	return abiVer
}

// Error is a failed step of building or enforcing a ruleset, named like
// pycage's other setup errors: "landlock add rule /usr (ro): EBADF".
type Error struct {
	Step   string
	Object string
	Errno  syscall.Errno
}

func (e *Error) Error() string {
	name := unix.ErrnoName(e.Errno)
	if name == "" {
		name = e.Errno.Error()
	}
	if e.Object == "" {
		return e.Step + ": " + name
	}
	return e.Step + " " + e.Object + ": " + name
}

func (e *Error) Unwrap() error { return e.Errno }

// Object is how a rule is named in errors: "/usr (ro)".
func (r Rule) Object() string { return r.Path + " (" + r.Kind + ")" }

// Build creates the ruleset of p in the calling process's file tree (the
// jail's, after pivot_root): each rule's path is opened O_PATH and added.
// It returns the ruleset's fd (close-on-exec); RestrictSelf enforces it.
func Build(p *Policy) (int, error) {
	attr := RulesetAttr{HandledFS: p.HandledFS, Scoped: p.Scoped}
	r, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), uintptr(AttrSize(p.ABI)), 0)
	if e != 0 {
		return -1, &Error{Step: "landlock create ruleset", Errno: e}
	}
	rs := int(r)
	for _, rule := range p.Rules {
		if err := addRule(rs, rule); err != nil {
			unix.Close(rs)
			return -1, err
		}
	}
	return rs, nil
}

func addRule(rs int, rule Rule) error {
	fail := func(err error) error {
		en, _ := err.(syscall.Errno)
		return &Error{Step: "landlock add rule", Object: rule.Object(), Errno: en}
	}
	fd, err := unix.Open(rule.Path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err == unix.ENOENT && rule.Optional {
		return nil
	}
	if err != nil {
		return fail(err)
	}
	defer unix.Close(fd)
	access := rule.Access
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fail(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= FileRights
	}
	attr := newPathBeneath(access, fd)
	if _, _, e := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(rs), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr[0])), 0, 0, 0); e != 0 {
		return fail(e)
	}
	return nil
}

// RestrictSelf enforces the ruleset rs on the calling thread (and what it
// forks or execs). It is one raw syscall and allocates nothing, so the
// stage may call it between joining its cgroup and execve. It needs
// no_new_privs or CAP_SYS_ADMIN in the thread's user namespace.
func RestrictSelf(rs int) syscall.Errno {
	_, _, e := syscall.RawSyscall(unix.SYS_LANDLOCK_RESTRICT_SELF, uintptr(rs), 0, 0)
	return e
}

// Describe names the ABI for messages: "ABI 7", "none".
func Describe(abi int) string {
	if abi <= 0 {
		return "none"
	}
	return "ABI " + strconv.Itoa(abi)
}
