package landlock

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

const (
	ro  = Execute | ReadFile | ReadDir
	dev = ReadFile | WriteFile | ReadDir | IoctlDev
)

func TestHandledFS(t *testing.T) {
	abi1 := uint64(Execute | WriteFile | ReadFile | ReadDir | RemoveDir | RemoveFile | MakeChar |
		MakeDir | MakeReg | MakeSock | MakeFifo | MakeBlock | MakeSym)
	for _, c := range []struct {
		abi  int
		want uint64
	}{
		{0, 0},
		{1, abi1},
		{2, abi1 | Refer},
		{3, abi1 | Refer | Truncate},
		{4, abi1 | Refer | Truncate},
		{5, abi1 | Refer | Truncate | IoctlDev},
		{7, abi1 | Refer | Truncate | IoctlDev},
		// Rights of newer ABIs (RESOLVE_UNIX, ABI 9) are not handled.
		{9, abi1 | Refer | Truncate | IoctlDev},
	} {
		if got := HandledFS(c.abi); got != c.want {
			t.Errorf("ABI %d: handled %#x, want %#x", c.abi, got, c.want)
		}
	}
	if ScopedFor(5) != 0 || ScopedFor(6) != ScopeAbstractUnixSocket|ScopeSignal || ScopedFor(7) != ScopeAbstractUnixSocket|ScopeSignal {
		t.Errorf("scopes: 5 %#x 6 %#x 7 %#x", ScopedFor(5), ScopedFor(6), ScopedFor(7))
	}
	for abi, want := range map[int]int{1: 8, 3: 8, 4: 16, 5: 16, 6: 24, 7: 24} {
		if got := AttrSize(abi); got != want {
			t.Errorf("ABI %d: attr size %d, want %d", abi, got, want)
		}
	}
}

// TestCompute: the rules of a typical tree, at the ABIs that change them.
func TestCompute(t *testing.T) {
	tree := Tree{Dev: true, Mounts: []Mount{
		{Path: "/usr"},                                  // read-only: beneath "/"
		{Path: "/sandbox", Writable: true},              // workspace
		{Path: "/tmp/", Writable: true},                 // cleaned
		{Path: "/data", Writable: true, Optional: true}, // optional rw bind
		{Path: "/dev/urandom"},                          // a device bound read-only
		{Path: "/dev/shm", Writable: true},              // named twice
		{Path: "/", Writable: false},                    // named twice, nothing more
	}}
	for _, abi := range []int{0, 1} {
		if p := Compute(tree, abi); p != nil {
			t.Errorf("ABI %d: a policy %+v, want none (REFER needs ABI 2)", abi, p)
		}
	}
	p := Compute(tree, 9)
	if p.ABI != MaxABI || p.HandledFS != HandledFS(7) || p.Scoped != ScopeAbstractUnixSocket|ScopeSignal {
		t.Fatalf("ABI 9 -> %d, handled %#x, scoped %#x", p.ABI, p.HandledFS, p.Scoped)
	}
	rw := HandledFS(7)
	want := []Rule{
		{Path: "/", Access: ro, Kind: KindRO},
		{Path: "/dev", Access: dev, Kind: KindDev},
		{Path: "/dev/shm", Access: rw, Kind: KindRW},
		{Path: "/sandbox", Access: rw, Kind: KindRW},
		{Path: "/tmp", Access: rw, Kind: KindRW},
		{Path: "/data", Access: rw, Kind: KindRW, Optional: true},
		{Path: "/dev/urandom", Access: dev, Kind: KindDev},
	}
	if !reflect.DeepEqual(p.Rules, want) {
		t.Fatalf("rules\n%+v\nwant\n%+v", p.Rules, want)
	}
	// ABI 2: no TRUNCATE, no IOCTL_DEV, no scopes.
	p = Compute(tree, 2)
	if p.Scoped != 0 || p.Rules[1].Access != ReadFile|WriteFile|ReadDir || p.Rules[3].Access != HandledFS(2) ||
		p.Rules[3].Access&Refer == 0 {
		t.Fatalf("ABI 2: %+v", p)
	}
	// A writable root: everything rw (an nsjail config may ask for it).
	p = Compute(Tree{Mounts: []Mount{{Path: "/", Writable: true}}}, 7)
	if len(p.Rules) != 1 || p.Rules[0].Kind != KindRW || p.Rules[0].Access != rw {
		t.Fatalf("writable root: %+v", p.Rules)
	}
	// Every rule stays within what the ruleset handles (else EINVAL).
	for _, abi := range []int{2, 3, 4, 5, 6, 7} {
		for _, r := range Compute(tree, abi).Rules {
			if r.Access&^HandledFS(abi) != 0 || r.Access == 0 {
				t.Errorf("ABI %d: rule %s has rights %#x outside %#x", abi, r.Object(), r.Access, HandledFS(abi))
			}
		}
	}
}

func TestErrorText(t *testing.T) {
	e := &Error{Step: "landlock add rule", Object: Rule{Path: "/usr", Kind: KindRO}.Object(), Errno: unix.EBADF}
	if e.Error() != "landlock add rule /usr (ro): EBADF" || !errors.Is(e, unix.EBADF) {
		t.Fatalf("%q", e.Error())
	}
	e = &Error{Step: "landlock restrict self", Errno: unix.EPERM}
	if e.Error() != "landlock restrict self: EPERM" {
		t.Fatalf("%q", e.Error())
	}
}

func needLandlock(t *testing.T) {
	if ABI() < MinABI {
		t.Skipf("this kernel has no Landlock ABI %d (%s)", MinABI, Describe(ABI()))
	}
}

// TestBuild builds rulesets on the real kernel (never enforced here: that
// would confine the test process; the jail and attack tests enforce them).
func TestBuild(t *testing.T) {
	needLandlock(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Policy{ABI: ABI(), HandledFS: HandledFS(ABI()), Scoped: ScopedFor(ABI()), Rules: []Rule{
		{Path: "/", Access: ro, Kind: KindRO},
		// A file gets the file rights only (with a directory's: EINVAL).
		{Path: file, Access: HandledFS(ABI()), Kind: KindRW},
		{Path: filepath.Join(dir, "missing"), Access: ro, Kind: KindRO, Optional: true},
	}}
	if p.ABI > MaxABI {
		p.ABI = MaxABI
		p.HandledFS, p.Scoped = HandledFS(MaxABI), ScopedFor(MaxABI)
	}
	fd, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || fl&unix.FD_CLOEXEC == 0 {
		t.Errorf("ruleset fd flags %#x %v, want close-on-exec", fl, err)
	}
	unix.Close(fd)

	// A missing path that is not optional: step, object, errno.
	p.Rules = append(p.Rules, Rule{Path: filepath.Join(dir, "nope"), Access: ro, Kind: KindRO})
	_, err = Build(p)
	if err == nil || err.Error() != "landlock add rule "+filepath.Join(dir, "nope")+" (ro): ENOENT" {
		t.Fatalf("missing path: %v", err)
	}
	// Rights the ruleset does not handle: the kernel refuses the rule.
	p.Rules = []Rule{{Path: "/", Access: ro, Kind: KindRO}}
	p.HandledFS = ReadFile
	_, err = Build(p)
	var le *Error
	if !errors.As(err, &le) || le.Errno != syscall.EINVAL || !strings.HasPrefix(err.Error(), "landlock add rule / (ro)") {
		t.Fatalf("unhandled rights: %v", err)
	}
}
