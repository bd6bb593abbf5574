package jail

// The raw spawn path. The parent compiles the whole child side of a run
// (the jail's file tree, identity, network, hostname, the command's limits,
// Landlock ruleset, capabilities, seccomp filter and execve) into a flat
// syscall program, then clones the jail's PID 1 with clone3 straight into
// the new namespaces. The child interprets the program with raw syscalls
// on memory allocated before the clone (rawspawn_child.go): no Go runtime
// starts inside the jail, no re-exec, no JSON. PID 1 forks the command,
// then stays a tiny reaper.
//
// The Go path (init.go, stage.go) remains for what the raw path does not
// do: jails without a pid namespace (see rawUnsupported). Input files
// (Spec.Files) are written by PID 1; output files (Spec.Collect) are read
// by the parent after the run through a directory fd of the workspace that
// PID 1 sends it (recWorkspace).
//
// File descriptors of the jail's PID 1 (K = max(3, highest pass fd + 1)):
//
//	0,1,2  the command's stdio
//	PassFDs at their own numbers
//	K      ctl: 'g' once the id maps are written, 'c' once the command's
//	       process is in the run's cgroups, then 2-byte commands
//	       ('k' 0: kill everything; 's' N: send signal N to the command)
//	K+1    report: rawRec records to the parent (a SOCK_SEQPACKET socket:
//	       one record per message; recWorkspace carries an fd)
//	K+2... bind trees the parent opened (when root)

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/pycage/pycage/internal/landlock"
	"github.com/pycage/pycage/internal/seccomp"
	"golang.org/x/sys/unix"
)

// cloneArgs is struct clone_args (clone3).
type cloneArgs struct {
	flags      uint64
	pidfd      uint64
	childTID   uint64
	parentTID  uint64
	exitSignal uint64
	stack      uint64
	stackSize  uint64
	tls        uint64
	setTID     uint64
	setTIDSize uint64
	cgroup     uint64
}

const unsafeSizeofCloneArgs = unsafe.Sizeof(cloneArgs{})

// rawStackSize is the stack of PID 1 and of the command before execve in
// the CLONE_VM variant. The linker bounds the nosplit chain of the child
// code to under 1 KiB; the rest is margin (and the kernel's signal frame,
// although every signal stays blocked).
const rawStackSize = 32 << 10

// rawDesc says what an op does, for the error message: "step object: ERRNO".
type rawDesc struct {
	step, object string
	// pre is put before the errno ("option \"x\": ").
	pre string
	// enoent replaces the text of ENOENT ("source does not exist (ENOENT)").
	enoent string
	// exec marks the exec op (exit codes 126/127).
	exec bool
}

// rawProg is a compiled child program plus every byte of memory the child
// uses. Fields below "child scratch" are written by the child only (in its
// own copy of the memory).
type rawProg struct {
	ops   []rawOp
	desc  []rawDesc
	mem   []uint64 // the arena: strings, tables and kernel structs
	base  uintptr  // &mem[0]
	slots []int32  // fds and other results of ops

	// The sections of ops, in order: PID 1 before the id maps exist (host
	// trees); its identity; after it forked the command's process; its
	// setup (the tree, network, hostname); once the command runs; then
	// the command's process before execve.
	preEnd, identEnd, forkedEnd, setupEnd, postEnd int

	forkOp                                            int // op index reported when the fork fails
	filterOp                                          int // the seccomp op (-1: none)
	recvBefore, recvAfter                             int // a prepared jail's receive op, before or after the filter (-1: none; the unused one is a nop)
	fprog                                             unix.SockFprog
	filterIns                                         []unix.SockFilter
	slotExecR, slotExecW, slotGoR, slotGoW, slotSigFD int

	// The fd layout of PID 1 (fds[t].src -1: t is closed).
	fds    []rawFD
	fdNext int32 // above every source and target
	ctlFD  int32
	repFD  int32
	// treeFDs are the fds (in PID 1) of the bind trees the parent opened,
	// in the order of rawOpts.trees' mount indexes.
	treeFDs []int32

	// Data for the parent (not used by the child).
	execNames []string // exec candidates
	execName  string   // Args[0] or ExecPath
	pathEnv   string   // PATH searched ("" when the name has a slash)
	// landlock and landlockABI are Result.Landlock and Result.LandlockABI.
	landlock    string
	landlockABI int

	trace bool // PID 1 passes on the command's timing record
	// vm: the CLONE_VM variant (rawspawn_amd64.s): PID 1 shares the
	// parent's memory and runs on stack1; the command is vforked on stack2.
	vm bool
	// childEntry, commandEntry: code addresses of rawChild and rawCommand
	// (read in the child, where globals are best not relied on).
	childEntry, commandEntry uintptr
	stack1                   []byte
	stack2                   []byte
	cmdArgs                  cloneArgs

	// Child scratch.
	errno   uintptr
	execIdx int
	cmdPid  int32
	tReady  int64
	tSetup  int64
	ts      [2]int64
	rec     rawRec
	rec2    rawRec
	ctlBuf  [64]byte
	sigBuf  [8][32]uint32 // struct signalfd_siginfo, 128 bytes each
	pfd     [2]pollFd
	ws      int32
	stat    unix.Stat_t
	allSigs uint64
	oldMask uint64
	cargs   cloneArgs
	pidfd   int32
	cmdT1   int64 // the command's times (traces)
	cmdT2   int64
	goBuf   [8]byte     // the command's read of the go pipe
	cmdStat unix.Stat_t // the command's fstat of a Landlock rule's path

	// A prepared jail (rawOpts.prepared): the request socket's fd in PID 1
	// (the command's process keeps it until its request came), the arena
	// offset of the request region (rawReqMax bytes, see request) and the
	// command's recvmsg header; the control buffer takes the 3 stdio fds.
	prepared  bool
	reqFD     int32
	reqOff    int
	execReqOp int
	reqIov    unix.Iovec
	reqMsg    unix.Msghdr
	reqCmsg   [32]byte // CmsgSpace(3*4)

	// The workspace's record (recWorkspace), laid out by finish; the child
	// fills in the fd (sfCmsg[16:20]) and the time.
	sfRec  rawRec
	sfIov  unix.Iovec
	sfMsg  unix.Msghdr
	sfCmsg [24]byte // CmsgSpace(4)

	// inputTime is the modification time given to Spec.Files (so that
	// Collect.OnlyChanged leaves them out unless the run touches them).
	inputTime time.Time

	// Addresses of the scratch fields and of shared arena structs.
	tsAddr, recAddr, rec2Addr, ctlBufAddr, goBufAddr, sigBufAddr, pfdAddr, wsAddr,
	statAddr, allSigsAddr, oldMaskAddr, cloneArgsAddr, howDir, sfMsgAddr, cmdStatAddr, reqMsgAddr uintptr
}

// arg is one argument of an op while compiling.
type arg struct {
	kind uint16
	v    uintptr
}

func cst(v uintptr) arg { return arg{argConst, v} }
func cint(v int) arg    { return arg{argConst, uintptr(v)} }
func mem(off int) arg   { return arg{argMem, uintptr(off)} }
func slot(s int) arg    { return arg{argSlot, uintptr(s)} }

// rawBuilder compiles a Spec into a rawProg.
type rawBuilder struct {
	ops   []rawOp
	desc  []rawDesc
	ar    []byte
	fixes [][2]int // arena offset that receives the absolute address of arena offset
	// slotFix: ops whose argument is the address of a slot.
	slotFix [][3]int // op, argument, slot
	nslot   int
	preset  [][2]int // slot, value: slots that start with a value (given fds)
	cur     rawDesc
	strs    map[string]int
	empty   int // ""
	howDir  int
}

func newRawBuilder() *rawBuilder {
	// Sized for the default policy (about 550 ops, 14 KiB of arena) so
	// that the slices do not grow.
	b := &rawBuilder{strs: make(map[string]int, 256), nslot: 1, // slot 0 stays -1
		ops: make([]rawOp, 0, 768), desc: make([]rawDesc, 0, 768), ar: make([]byte, 0, 24<<10)}
	b.empty = b.str("")
	b.howDir = b.words(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS)
	return b
}

func (b *rawBuilder) at(step, object string) { b.cur = rawDesc{step: step, object: object} }

func (b *rawBuilder) align() {
	for len(b.ar)%8 != 0 {
		b.ar = append(b.ar, 0)
	}
}

// str places a NUL-terminated string in the arena (once per content).
func (b *rawBuilder) str(s string) int {
	if off, ok := b.strs[s]; ok {
		return off
	}
	b.align()
	off := len(b.ar)
	b.ar = append(b.ar, s...)
	b.ar = append(b.ar, 0)
	b.strs[s] = off
	return off
}

// data places raw bytes in the arena.
func (b *rawBuilder) data(d []byte) int {
	b.align()
	off := len(b.ar)
	b.ar = append(b.ar, d...)
	if len(d) == 0 {
		b.ar = append(b.ar, 0)
	}
	return off
}

// words places 64-bit words in the arena.
func (b *rawBuilder) words(w ...uint64) int {
	b.align()
	off := len(b.ar)
	for _, v := range w {
		b.ar = binary.LittleEndian.AppendUint64(b.ar, v)
	}
	return off
}

// ptrs places a NULL-terminated array of absolute pointers to arena offsets.
func (b *rawBuilder) ptrs(offs []int) int {
	off := b.words(make([]uint64, len(offs)+1)...)
	for i, o := range offs {
		b.fixes = append(b.fixes, [2]int{off + 8*i, o})
	}
	return off
}

func (b *rawBuilder) newSlot() int {
	b.nslot++
	return b.nslot - 1
}

// sys appends an op with the current description and returns its index.
func (b *rawBuilder) sys(nr uintptr, args ...arg) int {
	op := rawOp{nr: nr, out: -1, cond: -1, skip: -1}
	for i, a := range args {
		op.a[i] = a.v
		op.kind |= a.kind << (2 * i)
	}
	b.ops = append(b.ops, op)
	b.desc = append(b.desc, b.cur)
	return len(b.ops) - 1
}

// sysOut appends an op whose result goes to a new slot.
func (b *rawBuilder) sysOut(nr uintptr, args ...arg) int {
	i := b.sys(nr, args...)
	s := b.newSlot()
	b.ops[i].out = int16(s)
	return s
}

func (b *rawBuilder) closeSlot(s int) {
	i := b.sys(unix.SYS_CLOSE, slot(s))
	b.ops[i].anyErr = true
}

// pathTable places the mkpath table of p (absolute inside the jail) and
// returns its word index and depth.
func (b *rawBuilder) pathTable(p string) (int, int) {
	p = path.Clean("/" + p)
	var parts []string
	if p != "/" {
		parts = strings.Split(p[1:], "/")
	}
	w := []uint64{uint64(len(parts))}
	for i := range parts {
		w = append(w, uint64(b.str(strings.Join(parts[:i+1], "/"))), uint64(b.str(parts[i])))
	}
	return b.words(w...) / 8, len(parts)
}

// mkpath creates and opens directory p below the root in slot root.
func (b *rawBuilder) mkpath(root int, p string) int {
	t, depth := b.pathTable(p)
	return b.sysOut(macroMkpath, slot(root), cint(t), cint(depth))
}

// Mount point kinds for point.
const (
	pointFile  = 0
	pointDir   = 1
	pointFstat = 2 // a directory if the tree in slot tree is one (or isDir says so)
)

// point creates and opens mount point p (rootfs.mountPoint) and returns
// the slot of its fd.
func (b *rawBuilder) point(root int, p string, kind int, tree int, isDir *bool) int {
	p = path.Clean("/" + p)
	t, depth := b.pathTable(p)
	switch kind {
	case pointDir:
		return b.sysOut(macroMkpath, slot(root), cint(t), cint(depth))
	case pointFile:
		if depth == 0 {
			// "/" as a file: let mkpath's openat2 fail as rootfs does.
			return b.sysOut(macroOpen, slot(root), mem(b.str(".")))
		}
		parent := b.sysOut(macroMkpath, slot(root), cint(t), cint(depth-1))
		pt := b.sysOut(macroOpen, slot(parent), mem(b.str(path.Base(p))))
		b.closeSlot(parent)
		return pt
	}
	forced := 0
	if isDir != nil {
		forced = 1
		if *isDir {
			forced = 2
		}
	}
	// d = 0 for a directory, -1 for a file; both branches set pt.
	d := b.sysOut(macroIsDir, slot(tree), cint(forced))
	pt := b.newSlot()
	i := b.sys(macroMkpath, slot(root), cint(t), cint(depth))
	b.ops[i].out, b.ops[i].cond = int16(pt), int16(d)
	jump := b.sys(macroNop)
	b.ops[jump].cond = 0 // slot 0 is always -1: a jump
	fileAt := len(b.ops)
	b.ops[i].skip = int16(fileAt)
	if depth == 0 {
		j := b.sys(macroOpen, slot(root), mem(b.str(".")))
		b.ops[j].out = int16(pt)
	} else {
		parent := b.sysOut(macroMkpath, slot(root), cint(t), cint(depth-1))
		j := b.sys(macroOpen, slot(parent), mem(b.str(path.Base(p))))
		b.ops[j].out = int16(pt)
		b.closeSlot(parent)
	}
	b.ops[jump].skip = int16(len(b.ops))
	return pt
}

// attach moves the detached mount in slot m onto p (rootfs.attach).
func (b *rawBuilder) attach(root, m int, p string, kind int, isDir *bool) {
	pt := b.point(root, p, kind, m, isDir)
	b.sys(unix.SYS_MOVE_MOUNT, slot(m), mem(b.empty), slot(pt), mem(b.empty),
		cst(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
	b.closeSlot(pt)
}

func (b *rawBuilder) mountAttr(set, clr uint64) int { return b.words(set, clr, 0, 0) }

func (b *rawBuilder) setattr(fd int, flags uintptr, set, clr uint64) {
	b.sys(unix.SYS_MOUNT_SETATTR, slot(fd), mem(b.empty), cst(unix.AT_EMPTY_PATH|flags), mem(b.mountAttr(set, clr)), cint(32))
}

func (b *rawBuilder) fsconfigString(fs int, k, v string) {
	b.sys(unix.SYS_FSCONFIG, slot(fs), cst(unix.FSCONFIG_SET_STRING), mem(b.str(k)), mem(b.str(v)), cint(0))
}

// newTmpfs emits rootfs.newTmpfs: the mount fd lands in the returned slot.
func (b *rawBuilder) newTmpfs(size int64, mode uint32, uid, gid uint32, owned bool) int {
	fs := b.sysOut(unix.SYS_FSOPEN, mem(b.str("tmpfs")), cst(unix.FSOPEN_CLOEXEC))
	if size > 0 {
		b.fsconfigString(fs, "size", strconv.FormatInt(size, 10))
	}
	b.fsconfigString(fs, "mode", strconv.FormatUint(uint64(mode), 8))
	if owned {
		b.fsconfigString(fs, "uid", strconv.FormatUint(uint64(uid), 10))
		b.fsconfigString(fs, "gid", strconv.FormatUint(uint64(gid), 10))
	}
	b.sys(unix.SYS_FSCONFIG, slot(fs), cst(unix.FSCONFIG_CMD_CREATE), cint(0), cint(0), cint(0))
	m := b.sysOut(unix.SYS_FSMOUNT, slot(fs), cst(unix.FSMOUNT_CLOEXEC), cst(unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV))
	b.closeSlot(fs)
	return m
}

// newFS emits rootfs.newFS.
func (b *rawBuilder) newFS(fstype, source, options string, attr uint64) int {
	fs := b.sysOut(unix.SYS_FSOPEN, mem(b.str(fstype)), cst(unix.FSOPEN_CLOEXEC))
	if source != "" {
		b.fsconfigString(fs, "source", source)
	}
	saved := b.cur
	for _, o := range strings.Split(options, ",") {
		if o == "" {
			continue
		}
		b.cur.pre = fmt.Sprintf("option %q: ", o)
		k, v, hasV := strings.Cut(o, "=")
		if hasV {
			b.fsconfigString(fs, k, v)
		} else {
			b.sys(unix.SYS_FSCONFIG, slot(fs), cst(unix.FSCONFIG_SET_FLAG), mem(b.str(k)), cint(0), cint(0))
		}
	}
	b.cur = saved
	b.sys(unix.SYS_FSCONFIG, slot(fs), cst(unix.FSCONFIG_CMD_CREATE), cint(0), cint(0), cint(0))
	m := b.sysOut(unix.SYS_FSMOUNT, slot(fs), cst(unix.FSMOUNT_CLOEXEC), cst(uintptr(attr)))
	b.closeSlot(fs)
	return m
}

// writeFile emits rootfs.writeFile.
func (b *rawBuilder) writeFile(root int, p string, content []byte, mode uint32) {
	parent := b.mkpath(root, path.Dir(path.Clean("/"+p)))
	b.writeFileIn(parent, p, content, mode)
	b.closeSlot(parent)
}

// writeFileIn writes file p (its base name) in the directory in slot parent.
func (b *rawBuilder) writeFileIn(parent int, p string, content []byte, mode uint32) {
	fd := b.sysOut(unix.SYS_OPENAT, slot(parent), mem(b.str(path.Base(p))),
		cst(unix.O_CREAT|unix.O_TRUNC|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC), cint(int(mode)))
	if len(content) > 0 {
		b.sys(macroWrite, slot(fd), mem(b.data(content)), cint(len(content)))
	}
	b.sys(unix.SYS_FCHMOD, slot(fd), cint(int(mode)))
	b.closeSlot(fd)
}

// skipTo makes the ops [from, to) that were given cond or skipOn continue
// at target when they skip.
func (b *rawBuilder) skipTo(from, to, target int) {
	for i := from; i < to; i++ {
		if (b.ops[i].cond >= 0 || b.ops[i].skipOn != 0) && b.ops[i].skip < 0 {
			b.ops[i].skip = int16(target)
		}
	}
}

// rawMaxFiles bounds the input files the raw program writes (a few ops
// and slots each; a program has at most 32767 of either). More go the Go
// path, where they cost no more than their writes anyway.
const rawMaxFiles = 2000

// rawUnsupported says why the raw path cannot run spec ("" if it can).
func rawUnsupported(spec *Spec) string {
	switch {
	case (spec.Collect != nil || len(spec.Files) > 0) && !spec.Namespaces.Mount:
		return "workspace files without a mount namespace"
	case len(spec.Files) > rawMaxFiles:
		return fmt.Sprintf("more than %d input files", rawMaxFiles)
	case !spec.Namespaces.PID:
		return "no pid namespace"
	}
	return ""
}

// rawOpts are the parts of a raw program that depend on the parent's state.
type rawOpts struct {
	// rootBase is where the new root is attached before pivot_root.
	rootBase string
	// trees are bind trees the parent opened (OpenBindTrees), by index in
	// Spec.Mounts; nil: PID 1 opens them.
	trees map[int]int
	// landlockABI is the kernel's Landlock ABI (landlock.ABI(); 0: none,
	// so a program compiled without it has no Landlock ops).
	landlockABI int
	// prepared: a jail built ahead of its command (prepared.go). The
	// command's process, once released, receives its request on the
	// request socket (argv, environment, PATH candidates and its stdio;
	// see rawProg.request) instead of having them compiled in.
	prepared bool
	// lowPrio: the jail is built at nice 19 (Prepare, as root): the
	// command's niceness is set by the parent when it sends the request,
	// not by an op (lowering it back needs CAP_SYS_NICE on the host).
	lowPrio bool
}

// compileRaw compiles spec into the child program.
func compileRaw(spec *Spec, filter *seccomp.Filter, o rawOpts) (*rawProg, error) {
	if why := rawUnsupported(spec); why != "" {
		return nil, fmt.Errorf("raw spawn: %s", why)
	}
	if o.rootBase == "" {
		o.rootBase = "/tmp"
	}
	b := newRawBuilder()
	p := &rawProg{inputTime: time.Now().Add(-2 * time.Second)}
	pol, err := landlockPlan(spec, o.landlockABI)
	if err != nil {
		return nil, err
	}
	switch {
	case pol != nil:
		p.landlock, p.landlockABI = LandlockApplied, pol.ABI
	case spec.Landlock == LandlockOff:
		p.landlock = LandlockNotApplied
	default:
		p.landlock = LandlockUnavailable
	}

	// The fd layout.
	k := 3
	for _, fd := range spec.PassFDs {
		if fd < 0 {
			return nil, fmt.Errorf("pass fd %d: invalid", fd)
		}
		if fd+1 > k {
			k = fd + 1
		}
	}
	p.ctlFD, p.repFD = int32(k), int32(k+1)
	extra := 0
	if o.prepared {
		p.prepared, p.reqFD = true, int32(k+2)
		extra = 1
	}
	// Parent-opened bind trees follow.
	var treeIdx []int
	for i := range o.trees {
		treeIdx = append(treeIdx, i)
	}
	sort.Ints(treeIdx)
	givenTrees := map[int]int{} // mount index -> slot holding the fd
	for j, i := range treeIdx {
		s := b.newSlot()
		b.preset = append(b.preset, [2]int{s, k + 2 + extra + j})
		givenTrees[i] = s
		p.treeFDs = append(p.treeFDs, int32(k+2+extra+j))
	}

	// Before the id maps exist (PID 1 runs as the parent's kuid, with
	// every capability in the new user namespace): make the mount tree
	// private and clone the host trees, while the parent writes the maps.
	var trees map[int]int
	var devs map[string]int
	if spec.Namespaces.Mount {
		trees, devs = b.hostTrees(spec, o.trees != nil, givenTrees)
	}
	p.preEnd = len(b.ops)

	// Identity: the jail's uid and gid inside the user namespace, with
	// just the capabilities setup needs (and those the command keeps);
	// non-dumpable, so nothing of the jail can ptrace or read PID 1.
	var kept uint64
	for _, c := range spec.KeepCaps {
		n, err := CapByName(c)
		if err != nil {
			return nil, err
		}
		kept |= 1 << uint(n)
	}
	setupCaps := kept
	for _, c := range initCaps {
		setupCaps |= 1 << uint(c)
	}
	capHdr := b.data(le32(unix.LINUX_CAPABILITY_VERSION_3, 0))
	capData := func(eff, perm, inh uint64) int {
		return b.data(le32(uint32(eff), uint32(perm), uint32(inh), uint32(eff>>32), uint32(perm>>32), uint32(inh>>32)))
	}
	b.at("set", "jail identity")
	b.sys(unix.SYS_PRCTL, cst(unix.PR_SET_NAME), mem(b.str("pycage-init")), cint(0), cint(0), cint(0))
	b.sys(unix.SYS_PRCTL, cst(unix.PR_SET_KEEPCAPS), cint(1), cint(0), cint(0), cint(0))
	b.at("setresgid", strconv.FormatUint(uint64(spec.GID), 10))
	b.sys(unix.SYS_SETRESGID, cint(int(spec.GID)), cint(int(spec.GID)), cint(int(spec.GID)))
	b.at("setresuid", strconv.FormatUint(uint64(spec.UID), 10))
	b.sys(unix.SYS_SETRESUID, cint(int(spec.UID)), cint(int(spec.UID)), cint(int(spec.UID)))
	b.at("set", "setup capabilities")
	b.sys(unix.SYS_CAPSET, mem(capHdr), mem(capData(setupCaps, setupCaps, 0)))
	b.at("set", "non-dumpable")
	b.sys(unix.SYS_PRCTL, cst(unix.PR_SET_DUMPABLE), cint(0), cint(0), cint(0), cint(0))
	if !spec.SkipSetsid {
		// Out of pycage's session and process group: terminal signals
		// reach the command through pycage's relay only.
		b.at("setsid", "(jail init)")
		b.sys(unix.SYS_SETSID)
	}
	// PID 1's signalfd (all signals stay blocked), the exec pipe (EOF:
	// the command's execve succeeded) and the go pipe (the command waits
	// on it until the jail is built and it is in the run's cgroups).
	b.at("signalfd", "(jail init)")
	var sigmask uint64
	for _, s := range []unix.Signal{unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT} {
		sigmask |= 1 << (uint(s) - 1)
	}
	p.slotSigFD = b.sysOut(unix.SYS_SIGNALFD4, cst(^uintptr(0)), mem(b.words(sigmask)), cint(8), cst(unix.SFD_CLOEXEC|unix.SFD_NONBLOCK))
	pipe := func(what string) int {
		b.at("pipe", what)
		r := b.newSlot()
		b.newSlot()
		i := b.sys(unix.SYS_PIPE2, cint(0), cst(unix.O_CLOEXEC))
		b.slotFix = append(b.slotFix, [3]int{i, 0, r})
		return r
	}
	p.slotExecR = pipe("(exec status)")
	p.slotExecW = p.slotExecR + 1
	p.slotGoR = pipe("(command start)")
	p.slotGoW = p.slotGoR + 1
	p.identEnd = len(b.ops)

	// PID 1 after forking the command process.
	b.at("fork", "command")
	p.forkOp = b.sys(unix.SYS_GETPID) // placeholder naming the fork for errors
	b.ops[p.forkOp].anyErr = true
	b.closeSlot(p.slotExecW)
	b.closeSlot(p.slotGoR)
	if o.prepared {
		b.at("close", "(request socket)")
		i := b.sys(unix.SYS_CLOSE, cint(int(p.reqFD)))
		b.ops[i].anyErr = true
	}
	p.forkedEnd = len(b.ops)

	// The world: file tree, network, hostname.
	if spec.Namespaces.Mount {
		if err := b.mounts(spec, p, o.rootBase, trees, devs); err != nil {
			return nil, err
		}
	}
	if spec.Namespaces.Net && spec.Net == NetLoopback {
		b.at("bring up", "lo")
		s := b.sysOut(unix.SYS_SOCKET, cst(unix.AF_INET), cst(unix.SOCK_DGRAM|unix.SOCK_CLOEXEC), cint(0))
		ifr := b.data(make([]byte, 40))
		copy(b.ar[ifr:], "lo")
		b.sys(unix.SYS_IOCTL, slot(s), cst(unix.SIOCGIFFLAGS), mem(ifr))
		b.sys(macroOr16, cint(ifr+unix.IFNAMSIZ), cst(unix.IFF_UP))
		b.sys(unix.SYS_IOCTL, slot(s), cst(unix.SIOCSIFFLAGS), mem(ifr))
		b.closeSlot(s)
	}
	if spec.Namespaces.UTS && spec.Hostname != "" {
		b.at("sethostname", spec.Hostname)
		b.sys(unix.SYS_SETHOSTNAME, mem(b.str(spec.Hostname)), cint(len(spec.Hostname)))
	}
	p.setupEnd = len(b.ops)

	// PID 1 once the command runs: no capabilities.
	b.at("drop capabilities", "(jail init)")
	zeroCaps := capData(0, 0, 0)
	j := b.sys(unix.SYS_CAPSET, mem(capHdr), mem(zeroCaps))
	b.ops[j].anyErr = true
	p.postEnd = len(b.ops)

	// The command: stage.go's steps, in its order.
	b.at("set", "command name")
	b.sys(unix.SYS_PRCTL, cst(unix.PR_SET_NAME), mem(b.str("pycage-cmd")), cint(0), cint(0), cint(0))
	b.at("chdir", spec.Cwd)
	b.sys(unix.SYS_CHDIR, mem(b.str(spec.Cwd)))
	for _, rl := range spec.Limits.Rlimits {
		res, ok := rlimitResources[rl.Resource]
		if !ok {
			return nil, fmt.Errorf("setrlimit %s: unknown resource", rl.Resource)
		}
		b.at("setrlimit", fmt.Sprintf("%s (soft %d, hard %d)", rl.Resource, rl.Soft, rl.Hard))
		b.sys(unix.SYS_PRLIMIT64, cint(0), cint(res), mem(b.words(rl.Soft, rl.Hard)), cint(0))
	}
	if spec.Nice != 0 && !o.lowPrio {
		b.at("setpriority", fmt.Sprintf("nice %d", spec.Nice))
		b.sys(unix.SYS_SETPRIORITY, cst(unix.PRIO_PROCESS), cint(0), cint(spec.Nice))
	}
	if spec.Namespaces.Cgroup {
		b.at("unshare", "cgroup namespace")
		b.sys(unix.SYS_UNSHARE, cst(unix.CLONE_NEWCGROUP))
	}
	if !spec.SkipSetsid {
		b.at("setsid", "(command)")
		b.sys(unix.SYS_SETSID)
	}
	// Landlock while the process still has CAP_SYS_ADMIN in the jail's
	// user namespace: landlock_restrict_self then needs no no_new_privs
	// (Spec.DisableNoNewPrivs may leave it unset).
	if pol != nil {
		b.landlock(pol)
	}
	b.at("drop capabilities", "")
	last := lastCap()
	for c := 0; c <= last; c++ {
		if kept&(1<<uint(c)) != 0 {
			continue
		}
		i := b.sys(unix.SYS_PRCTL, cst(unix.PR_CAPBSET_DROP), cint(c), cint(0), cint(0), cint(0))
		b.ops[i].ok[0] = uint16(unix.EINVAL)
	}
	b.sys(unix.SYS_PRCTL, cst(unix.PR_CAP_AMBIENT), cst(unix.PR_CAP_AMBIENT_CLEAR_ALL), cint(0), cint(0), cint(0))
	b.sys(unix.SYS_CAPSET, mem(capHdr), mem(capData(kept, kept, kept)))
	for c := 0; c <= 63; c++ {
		if kept&(1<<uint(c)) != 0 {
			b.sys(unix.SYS_PRCTL, cst(unix.PR_CAP_AMBIENT), cst(unix.PR_CAP_AMBIENT_RAISE), cint(c), cint(0), cint(0))
		}
	}
	// Default signal dispositions and an empty mask (ignored signals and
	// the mask survive execve).
	b.at("reset", "signals")
	dfl := b.words(0, 0, 0, 0)
	for s := 1; s <= 64; s++ {
		if s == int(unix.SIGKILL) || s == int(unix.SIGSTOP) {
			continue
		}
		i := b.sys(unix.SYS_RT_SIGACTION, cint(s), mem(dfl), cint(0), cint(8))
		b.ops[i].anyErr = true
	}
	b.sys(unix.SYS_RT_SIGPROCMASK, cst(unix.SIG_SETMASK), mem(b.words(0)), cint(0), cint(8))
	if !spec.DisableNoNewPrivs {
		b.at("set", "no_new_privs")
		b.sys(unix.SYS_PRCTL, cst(unix.PR_SET_NO_NEW_PRIVS), cint(1), cint(0), cint(0), cint(0))
	}
	// A prepared jail's command waits for its request here: all that is
	// left then is the filter and the execve. Installing the filter costs
	// 0.2-0.3 ms (the kernel JIT-compiles it and precomputes its verdict
	// for every syscall number), so when the filter allows the receive's
	// syscalls (setFilter checks), the wait moves past it: recvAfter.
	p.recvBefore, p.recvAfter = -1, -1
	if o.prepared {
		b.at("receive", "the request (argv, environment, stdio)")
		p.recvBefore = b.sys(macroRecvReq, cint(int(p.reqFD)))
	}
	p.filterOp = -1
	if spec.Seccomp != nil {
		// The filter is set later (setFilter), so that the program can
		// be compiled while the policy is. Until then the op fails
		// (EFAULT): never an execve without the filter.
		b.at("install", "seccomp filter")
		p.filterOp = b.sys(unix.SYS_SECCOMP, cst(unix.SECCOMP_SET_MODE_FILTER), cint(0), cint(0))
	}
	if o.prepared {
		b.at("receive", "the request (argv, environment, stdio; after the seccomp filter)")
		p.recvAfter = b.sys(macroNop)
	}
	// execve: the name as given, or each PATH candidate in turn.
	if o.prepared {
		b.at("exec", "(the request's command)")
		b.cur.exec = true
		p.execReqOp = b.sys(macroExecReq, cint(0)) // the region's word index: finish
	} else if err := b.exec(spec, p); err != nil {
		return nil, err
	}
	p, err = b.finish(p)
	if err == nil && filter != nil {
		err = p.setFilter(filter)
	}
	return p, err
}

// landlock emits the command's Landlock ruleset (internal/landlock's
// policy, computed by the parent) and its enforcement: create the ruleset;
// for each rule open its path O_PATH (in the jail's tree: these ops run in
// the command's process after pivot_root) and add it (macroLLRule: files
// get only the file rights); restrict self; close.
//
// The raw path cannot use go-landlock (or internal/landlock.Build): its
// command's process runs no Go code that may allocate, take locks or call
// into the runtime between the clone and execve (see rawspawn_child.go);
// it can only issue the syscalls the parent compiled, on memory laid out
// before the clone. So the parent compiles the same policy into ops.
func (b *rawBuilder) landlock(pol *landlock.Policy) {
	b.at("landlock create ruleset", "")
	attr := b.words(pol.HandledFS, 0, pol.Scoped) // struct landlock_ruleset_attr
	rs := b.sysOut(unix.SYS_LANDLOCK_CREATE_RULESET, mem(attr), cint(landlock.AttrSize(pol.ABI)), cint(0))
	fdcwd := unix.AT_FDCWD
	for _, r := range pol.Rules {
		b.at("landlock add rule", r.Object())
		from := len(b.ops)
		fd := b.sysOut(unix.SYS_OPENAT, cst(uintptr(fdcwd)), mem(b.str(r.Path)), cst(unix.O_PATH|unix.O_CLOEXEC), cint(0))
		if r.Optional {
			b.ops[len(b.ops)-1].skipOn = uint16(unix.ENOENT)
		}
		// struct landlock_path_beneath_attr (12 bytes, packed), filled
		// in by the child: the rights, then the fd.
		pa := b.words(0, 0)
		b.sys(macroLLRule, slot(rs), slot(fd), cst(uintptr(r.Access)), cint(pa), cst(landlock.FileRights))
		b.closeSlot(fd)
		b.skipTo(from, len(b.ops), len(b.ops))
	}
	b.at("landlock restrict self", "")
	b.sys(unix.SYS_LANDLOCK_RESTRICT_SELF, slot(rs), cint(0))
	b.closeSlot(rs)
}

// setFilter gives the program its seccomp filter.
func (p *rawProg) setFilter(f *seccomp.Filter) error {
	if p.filterOp < 0 {
		return nil
	}
	op := &p.ops[p.filterOp]
	if f == nil || len(f.Insns) == 0 {
		op.nr = macroNop
		return nil
	}
	if len(f.Insns) > 0xffff {
		return fmt.Errorf("seccomp filter too long (%d instructions)", len(f.Insns))
	}
	p.filterIns = make([]unix.SockFilter, len(f.Insns))
	for i, in := range f.Insns {
		p.filterIns[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	p.fprog = unix.SockFprog{Len: uint16(len(f.Insns)), Filter: &p.filterIns[0]}
	op.a[1] = uintptr(f.Flags)
	op.a[2] = uintptr(unsafe.Pointer(&p.fprog))
	if p.recvAfter >= 0 && p.filterAllowsRecv(f) {
		p.ops[p.recvAfter], p.ops[p.recvBefore] = p.ops[p.recvBefore], p.ops[p.recvAfter]
		p.desc[p.recvAfter], p.desc[p.recvBefore] = p.desc[p.recvBefore], p.desc[p.recvAfter]
	}
	return nil
}

// filterAllowsRecv says whether filter f allows (SECCOMP_RET_ALLOW, no
// logging) every syscall of recvReq as the command's process will make
// it: recvmsg on the request socket, then dup3 and close of the received
// fds (whose numbers are not known here: every fd up to 64 is tried).
// Anything else keeps the receive before the filter.
func (p *rawProg) filterAllowsRecv(f *seccomp.Filter) bool {
	arch := seccomp.NativeArch()
	eval, err := f.Evaluator(arch)
	if err != nil {
		return false
	}
	allow := func(name string, args ...uint64) bool {
		nr, ok := seccomp.SyscallNumber(arch, name)
		if !ok {
			return false
		}
		var a [6]uint64
		copy(a[:], args)
		v, err := eval(nr, a)
		return err == nil && v == seccomp.RetAllow
	}
	if !allow("recvmsg", uint64(p.reqFD), uint64(p.reqMsgAddr), unix.MSG_CMSG_CLOEXEC) || !allow("close", uint64(p.reqFD)) {
		return false
	}
	for fd := uint64(3); fd < 64; fd++ {
		if !allow("close", fd) || !allow("dup3", fd, 0, 0) || !allow("dup3", fd, 1, 0) || !allow("dup3", fd, 2, 0) {
			return false
		}
	}
	return true
}

func le32(v ...uint32) []byte {
	var out []byte
	for _, x := range v {
		out = binary.LittleEndian.AppendUint32(out, x)
	}
	return out
}

func noNUL(what string, s ...string) error {
	for _, x := range s {
		if strings.IndexByte(x, 0) >= 0 {
			return fmt.Errorf("%s %q: contains a NUL byte", what, x)
		}
	}
	return nil
}

func (b *rawBuilder) exec(spec *Spec, p *rawProg) error {
	if err := p.setExec(spec.Args, spec.Env, spec.ExecPath); err != nil {
		return err
	}
	w := []uint64{uint64(len(p.execNames))}
	for _, n := range p.execNames {
		w = append(w, uint64(b.str(n)))
	}
	tab := b.words(w...) / 8
	argv := make([]int, len(spec.Args))
	for i, a := range spec.Args {
		argv[i] = b.str(a)
	}
	envp := make([]int, len(spec.Env))
	for i, e := range spec.Env {
		envp[i] = b.str(e)
	}
	b.at("exec", p.execName)
	b.cur.exec = true
	b.sys(macroExec, cint(tab), mem(b.ptrs(argv)), mem(b.ptrs(envp)))
	return nil
}

// setExec checks the command line and environment and sets the name to
// execute and its candidates: the name as given when it has a slash, else
// one per directory of the environment's PATH (as execvp; the default PATH
// when there is none).
func (p *rawProg) setExec(args, env []string, execPath string) error {
	if len(args) == 0 {
		return fmt.Errorf("exec: no command")
	}
	name := args[0]
	if execPath != "" {
		name = execPath
	}
	if err := noNUL("exec", append([]string{name}, args...)...); err != nil {
		return err
	}
	if err := noNUL("environment", env...); err != nil {
		return err
	}
	p.execName, p.execNames, p.pathEnv = name, nil, ""
	if strings.Contains(name, "/") {
		p.execNames = []string{name}
		return nil
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v
		}
	}
	if pathEnv == "" {
		pathEnv = "/usr/local/bin:/usr/bin:/bin"
	}
	p.pathEnv = pathEnv
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p.execNames = append(p.execNames, filepath.Join(dir, name))
	}
	return nil
}

// rawReqMax bounds a prepared jail's request: the header, the PATH table,
// argv and envp pointers and their strings (a command line plus
// environment of up to ~350 KiB; the kernel's own limit for execve is 2 MiB
// with the default 8 MiB stack).
const rawReqMax = 384 << 10

// request lays out a prepared jail's request for the region at reqOff
// (the command's process receives it there, at the same address): words
// [table word index, argv, envp], the table [n, candidate offsets...],
// the NULL-terminated argv and envp pointer arrays, then the strings.
func (p *rawProg) request(args, env []string, execPath string) ([]byte, error) {
	if err := p.setExec(args, env, execPath); err != nil {
		return nil, err
	}
	nw := 3 + 1 + len(p.execNames) + len(args) + 1 + len(env) + 1
	size := nw * 8
	for _, l := range [][]string{p.execNames, args, env} {
		for _, s := range l {
			size += len(s) + 1
		}
	}
	if size > rawReqMax {
		return nil, fmt.Errorf("exec: command line and environment too large for a prepared jail (%d bytes with pointers, at most %d)", size, rawReqMax)
	}
	buf := make([]byte, nw*8, size)
	region := p.base + uintptr(p.reqOff) // the region's address in the child
	word := func(i int, v uint64) { binary.LittleEndian.PutUint64(buf[8*i:], v) }
	str := func(s string) int { // offset in the region
		off := len(buf)
		buf = append(append(buf, s...), 0)
		return off
	}
	tab := 3
	argv := tab + 1 + len(p.execNames)
	envp := argv + len(args) + 1
	word(0, uint64(p.reqOff/8+tab))
	word(1, uint64(region)+uint64(argv*8))
	word(2, uint64(region)+uint64(envp*8))
	word(tab, uint64(len(p.execNames)))
	for i, n := range p.execNames {
		word(tab+1+i, uint64(p.reqOff+str(n))) // arena offsets
	}
	for i, a := range args {
		word(argv+i, uint64(region)+uint64(str(a)))
	}
	for i, e := range env {
		word(envp+i, uint64(region)+uint64(str(e)))
	}
	return buf, nil
}

// hostTrees emits the first part of setupJail's mount-namespace work:
// make the tree private, then detached copies of every bind source (unless
// the parent opened them: given) and /dev node, before anything covers the
// host paths. It returns the slots of the trees by mount index and of the
// /dev nodes by name.
func (b *rawBuilder) hostTrees(spec *Spec, parentOpened bool, given map[int]int) (map[int]int, map[string]int) {
	b.at("make private", "/")
	b.sys(unix.SYS_MOUNT, mem(b.str("none")), mem(b.str("/")), cint(0), cst(unix.MS_REC|unix.MS_PRIVATE), cint(0))

	fdcwd := unix.AT_FDCWD
	trees := map[int]int{}
	for i, m := range spec.Mounts {
		if m.Kind != MountBind {
			continue
		}
		if parentOpened {
			if s, ok := given[i]; ok {
				trees[i] = s
			} else {
				trees[i] = 0 // an optional source that does not exist: slot 0 is -1
			}
			continue
		}
		obj := m.Src + " -> " + m.Dst
		from := len(b.ops)
		b.at("bind", obj)
		b.cur.enoent = "source does not exist (ENOENT)"
		t := b.sysOut(unix.SYS_OPEN_TREE, cst(uintptr(fdcwd)), mem(b.str(m.Src)), cst(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE))
		if !m.Mandatory {
			b.ops[len(b.ops)-1].skipOn = uint16(unix.ENOENT)
		}
		b.at("bind (set read-only)", obj)
		b.setattr(t, unix.AT_RECURSIVE, bindAttr(m), 0)
		b.skipTo(from, len(b.ops), len(b.ops))
		trees[i] = t
	}
	dev := map[string]int{}
	if spec.Dev {
		for _, n := range devNodes {
			b.at("bind", "/dev/"+n)
			t := b.sysOut(unix.SYS_OPEN_TREE, cst(uintptr(fdcwd)), mem(b.str("/dev/"+n)), cst(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC))
			b.at("bind (set nosuid)", "/dev/"+n)
			b.setattr(t, 0, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, 0)
			dev[n] = t
		}
	}
	return trees, dev
}

// mounts emits the rest of setupJail's mount-namespace part (rootfs.go), in
// its order: the new root, /dev, /proc, the mounts, /etc, pivot_root.
func (b *rawBuilder) mounts(spec *Spec, p *rawProg, rootBase string, trees map[int]int, dev map[string]int) error {
	fdcwd := unix.AT_FDCWD
	// mountRoot
	var etc int64
	for _, c := range spec.EtcFiles {
		etc += int64(len(c))
	}
	for _, m := range spec.Mounts {
		etc += int64(len(m.Content))
	}
	b.at("mount tmpfs", "(new root)")
	rm := b.newTmpfs(1<<20+etc, 0o755, 0, 0, false)
	b.at("mount tmpfs", "(new root) on "+rootBase)
	b.sys(unix.SYS_MOVE_MOUNT, slot(rm), mem(b.empty), cst(uintptr(fdcwd)), mem(b.str(rootBase)), cst(unix.MOVE_MOUNT_F_EMPTY_PATH))
	b.closeSlot(rm)
	b.at("open", "(new root) "+rootBase)
	root := b.sysOut(unix.SYS_OPENAT, cst(uintptr(fdcwd)), mem(b.str(rootBase)), cst(unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC), cint(0))

	// build: /dev, /proc, the mounts, /etc files.
	if spec.Dev {
		b.at("mount tmpfs", "/dev")
		d := b.newTmpfs(64<<10, 0o755, 0, 0, false)
		b.setattr(d, 0, 0, unix.MOUNT_ATTR_NODEV)
		b.attach(root, d, "/dev", pointDir, nil)
		b.closeSlot(d)
		// The new /dev is empty: its points are files created in it.
		b.at("open", "/dev")
		devfd := b.openDir(root, "/dev")
		for _, n := range devNodes {
			b.at("bind", "/dev/"+n)
			pt := b.sysOut(macroOpen, slot(devfd), mem(b.str(n)))
			b.moveMount(dev[n], pt)
			b.closeSlot(pt)
			b.closeSlot(dev[n])
		}
		shmSize := spec.Limits.Memory
		if shmSize <= 0 {
			shmSize = 64 << 20
		}
		b.at("mount tmpfs", "/dev/shm")
		shm := b.newTmpfs(shmSize, 0o1777, 0, 0, false)
		b.attach(root, shm, "/dev/shm", pointDir, nil)
		b.closeSlot(shm)
		links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2"}
		names := make([]string, 0, len(links))
		for n := range links {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			b.at("symlink", "/dev/"+n)
			b.sys(unix.SYS_SYMLINKAT, mem(b.str(links[n])), slot(devfd), mem(b.str(n)))
		}
		b.closeSlot(devfd)
	}
	if spec.Proc {
		b.at("mount proc", "/proc")
		pr := b.newFS("proc", "proc", "", unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		b.attach(root, pr, "/proc", pointDir, nil)
		b.closeSlot(pr)
		b.maskProc(root)
	}
	for i, m := range spec.Mounts {
		if err := b.mountOne(spec, root, i, m, trees); err != nil {
			return err
		}
	}
	names := make([]string, 0, len(spec.EtcFiles))
	for n := range spec.EtcFiles {
		names = append(names, n)
	}
	sort.Strings(names)
	// In a stable order; each parent directory opened once.
	parents := map[string]int{}
	for _, n := range names {
		b.at("write", n)
		dir := path.Dir(path.Clean("/" + n))
		pd, ok := parents[dir]
		if !ok {
			pd = b.mkpath(root, dir)
			parents[dir] = pd
		}
		b.writeFileIn(pd, n, []byte(spec.EtcFiles[n]), 0o644)
	}
	for _, n := range names {
		if pd, ok := parents[path.Dir(path.Clean("/"+n))]; ok {
			b.closeSlot(pd)
			delete(parents, path.Dir(path.Clean("/"+n)))
		}
	}
	if spec.Cwd != "" {
		b.at("mkdir", "(cwd) "+spec.Cwd)
		b.closeSlot(b.mkpath(root, spec.Cwd))
	}
	b.inputFiles(spec, root, p.inputTime)

	// pivot_root into the new root, detach the old one.
	b.at("chdir", "(new root)")
	b.sys(unix.SYS_FCHDIR, slot(root))
	b.at("pivot_root", "(new root)")
	dot := mem(b.str("."))
	b.sys(unix.SYS_PIVOT_ROOT, dot, dot)
	b.at("detach", "(old root)")
	b.sys(unix.SYS_UMOUNT2, dot, cst(unix.MNT_DETACH))
	b.at("chdir", "/")
	b.sys(unix.SYS_CHDIR, mem(b.str("/")))
	b.closeSlot(root)
	if !keepRootRW(spec) {
		b.at("remount read-only", "/")
		b.sys(unix.SYS_MOUNT_SETATTR, cst(uintptr(fdcwd)), mem(b.str("/")), cint(0), mem(b.mountAttr(unix.MOUNT_ATTR_RDONLY, 0)), cint(32))
	}
	if spec.Dev {
		b.at("remount read-only", "/dev")
		b.sys(unix.SYS_MOUNT_SETATTR, cst(uintptr(fdcwd)), mem(b.str("/dev")), cint(0), mem(b.mountAttr(unix.MOUNT_ATTR_RDONLY, 0)), cint(32))
	}
	if spec.Collect != nil {
		// The parent reads the output files through this directory
		// (after the run, when nothing of the jail runs any more): the
		// workspace the command got, whatever it does to its paths.
		b.at("open", "(workspace) "+spec.Cwd)
		ws := b.sysOut(unix.SYS_OPENAT, cst(uintptr(fdcwd)), mem(b.str(spec.Cwd)), cst(unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC), cint(0))
		b.at("send", "(workspace) "+spec.Cwd)
		b.sys(macroSendFD, cint(int(p.repFD)), slot(ws))
		b.closeSlot(ws)
	}
	return nil
}

// inputFiles emits writeInputFiles: Spec.Files in the workspace, written
// by PID 1 as the jail's user before pivot_root (the workspace is fresh:
// nothing of the run exists yet), each with modification time mtime.
func (b *rawBuilder) inputFiles(spec *Spec, root int, mtime time.Time) {
	if len(spec.Files) == 0 {
		return
	}
	ts := b.words(uint64(mtime.Unix()), uint64(mtime.Nanosecond()), uint64(mtime.Unix()), uint64(mtime.Nanosecond()))
	dirs := map[string]int{}
	for _, f := range spec.Files {
		dir := path.Join(spec.Cwd, path.Dir(f.Path))
		b.at("write file", f.Path)
		pd, ok := dirs[dir]
		if !ok {
			pd = b.mkpath(root, dir)
			dirs[dir] = pd
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		fd := b.sysOut(unix.SYS_OPENAT, slot(pd), mem(b.str(path.Base(f.Path))),
			cst(unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC), cint(int(mode)))
		if len(f.Content) > 0 {
			b.sys(macroWrite, slot(fd), mem(b.data(f.Content)), cint(len(f.Content)))
		}
		b.sys(unix.SYS_UTIMENSAT, slot(fd), cint(0), mem(ts), cint(0))
		b.closeSlot(fd)
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		b.closeSlot(dirs[d])
	}
}

// keepRootRW is rootfs.keepRootRW, known before the build: a writable file
// or directory lives directly in the root tmpfs.
func keepRootRW(spec *Spec) bool {
	for _, m := range spec.Mounts {
		if m.RW && (m.Kind == MountDir || m.Kind == MountFile && m.Mode == 0) {
			return true
		}
	}
	return false
}

// pid1Files are PID 1's files of a proc mount that show the parent's memory
// to anyone: on the raw path PID 1 never exec'd, so its command line is
// pycage's own (with the CLONE_VM variant, literally the parent's), which
// may hold what the jail should not see. They are masked with /dev/null.
var pid1Files = []string{"1/cmdline", "1/task/1/cmdline"}

// openDir opens directory p (absolute, inside the new root) as O_PATH, with
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS: after a mount on p, the mount's root.
func (b *rawBuilder) openDir(root int, p string) int {
	return b.sysOut(unix.SYS_OPENAT2, slot(root), mem(b.str(strings.TrimPrefix(path.Clean(p), "/"))), mem(b.howDirOff()), cint(24))
}

func (b *rawBuilder) howDirOff() int { return b.howDir }

// moveMount attaches the detached mount in slot m onto the point in slot pt.
func (b *rawBuilder) moveMount(m, pt int) {
	b.sys(unix.SYS_MOVE_MOUNT, slot(m), mem(b.empty), slot(pt), mem(b.empty),
		cst(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
}

// maskIn hides name (relative to the proc mount whose root is in slot dir,
// shown as dir/name in messages) behind a read-only /dev/null (a file) or
// an empty read-only tmpfs (a directory). The probe's O_PATH fd is the
// mount point. With optional, a name that does not exist is skipped.
func (b *rawBuilder) maskIn(dir int, shown, name string, isDir, optional bool) {
	b.at("mask", shown)
	from := len(b.ops)
	fl := uint64(unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC)
	if isDir {
		fl |= unix.O_DIRECTORY
	}
	probe := b.sysOut(unix.SYS_OPENAT2, slot(dir), mem(b.str(name)),
		mem(b.words(fl, 0, unix.RESOLVE_IN_ROOT|unix.RESOLVE_NO_MAGICLINKS)), cint(24))
	if optional {
		b.ops[len(b.ops)-1].skipOn = uint16(unix.ENOENT)
	}
	var m int
	if isDir {
		m = b.newTmpfs(4096, 0o555, 0, 0, false)
		b.setattr(m, 0, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOEXEC, 0)
	} else {
		fdcwd := unix.AT_FDCWD
		m = b.sysOut(unix.SYS_OPEN_TREE, cst(uintptr(fdcwd)), mem(b.str("/dev/null")), cst(unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC))
		b.setattr(m, 0, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NOEXEC, 0)
	}
	b.moveMount(m, probe)
	b.closeSlot(m)
	b.closeSlot(probe)
	b.skipTo(from, len(b.ops), len(b.ops))
}

// maskPID1 masks pid1Files of the proc mount at dir.
func (b *rawBuilder) maskPID1(root int, dir string) {
	b.at("open", dir)
	pd := b.openDir(root, dir)
	for _, f := range pid1Files {
		b.maskIn(pd, path.Join(dir, f), f, false, false)
	}
	b.closeSlot(pd)
}

// maskProc emits rootfs.maskProc, and masks PID 1's command line.
func (b *rawBuilder) maskProc(root int) {
	b.at("open", "/proc")
	pd := b.openDir(root, "/proc")
	for _, f := range pid1Files {
		b.maskIn(pd, path.Join("/proc", f), f, false, false)
	}
	for _, p := range maskedProcFiles {
		b.maskIn(pd, p, strings.TrimPrefix(p, "/proc/"), false, true)
	}
	for _, p := range maskedProcDirs {
		b.maskIn(pd, p, strings.TrimPrefix(p, "/proc/"), true, true)
	}
	b.closeSlot(pd)
}

// mountOne emits rootfs.mountOne.
func (b *rawBuilder) mountOne(spec *Spec, root, i int, m Mount, trees map[int]int) error {
	obj := m.Dst
	if m.Src != "" {
		obj = m.Src + " -> " + m.Dst
	}
	switch m.Kind {
	case MountBind:
		t := trees[i]
		b.at("bind", obj)
		from := len(b.ops)
		// An optional source that did not exist left the slot at -1:
		// skip the whole attach.
		pt := b.point(root, m.Dst, pointFstat, t, m.IsDir)
		b.ops[from].cond = int16(t)
		b.sys(unix.SYS_MOVE_MOUNT, slot(t), mem(b.empty), slot(pt), mem(b.empty),
			cst(unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH))
		b.closeSlot(pt)
		b.closeSlot(t)
		b.skipTo(from, len(b.ops), len(b.ops))
	case MountTmpfs:
		mode := m.Mode
		if mode == 0 {
			mode = 0o755
		}
		b.at("mount tmpfs", m.Dst)
		t := b.newTmpfs(m.Size, mode, spec.UID, spec.GID, m.Owned)
		if !m.RW {
			b.at("mount tmpfs (read-only)", m.Dst)
			b.setattr(t, 0, unix.MOUNT_ATTR_RDONLY, 0)
			b.at("mount tmpfs", m.Dst)
		}
		b.attach(root, t, m.Dst, pointDir, nil)
		b.closeSlot(t)
	case MountProc:
		b.at("mount proc", m.Dst)
		t := b.newFS("proc", "proc", m.Options, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
		b.attach(root, t, m.Dst, pointDir, nil)
		b.closeSlot(t)
		b.maskPID1(root, m.Dst)
	case MountOther:
		b.at("mount "+m.FSType, obj)
		t := b.newFS(m.FSType, m.Src, m.Options, bindAttr(m)) // the same flags as a bind's
		b.attach(root, t, m.Dst, pointDir, nil)
		b.closeSlot(t)
	case MountFile:
		mode := m.Mode
		if mode == 0 {
			mode = 0o444
			if m.RW {
				mode = 0o666
			}
		}
		b.at("write", m.Dst)
		b.writeFile(root, m.Dst, m.Content, mode)
	case MountSymlink:
		b.at("symlink", obj)
		parent := b.mkpath(root, path.Dir(path.Clean("/"+m.Dst)))
		i := b.sys(unix.SYS_SYMLINKAT, mem(b.str(m.Src)), slot(parent), mem(b.str(path.Base(m.Dst))))
		b.ops[i].ok[0] = uint16(unix.EEXIST)
		b.closeSlot(parent)
	case MountDir:
		b.at("mkdir", m.Dst)
		b.closeSlot(b.mkpath(root, m.Dst))
	default:
		return fmt.Errorf("mount %s: unknown mount kind %q", obj, m.Kind)
	}
	return nil
}

// finish lays out the arena and the slots.
func (b *rawBuilder) finish(p *rawProg) (*rawProg, error) {
	if len(b.ops) > 1<<15-1 || b.nslot > 1<<15-1 {
		return nil, fmt.Errorf("raw spawn: program too large (%d ops, %d slots)", len(b.ops), b.nslot)
	}
	b.align()
	// A prepared jail's request region follows the arena's contents (it
	// is not built in b.ar: no copy of rawReqMax zero bytes).
	words := len(b.ar)/8 + 1
	if p.prepared {
		p.reqOff = words * 8
		words += rawReqMax / 8
		b.ops[p.execReqOp].a[0] = uintptr(p.reqOff / 8)
	}
	p.mem = make([]uint64, words)
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&p.mem[0])), len(p.mem)*8), b.ar)
	p.base = uintptr(unsafe.Pointer(&p.mem[0]))
	for _, f := range b.fixes {
		p.mem[f[0]/8] = uint64(p.base) + uint64(f[1])
	}
	p.ops, p.desc = b.ops, b.desc
	p.slots = make([]int32, b.nslot+1)
	for i := range p.slots {
		p.slots[i] = -1
	}
	for _, ps := range b.preset {
		p.slots[ps[0]] = int32(ps[1])
	}
	for _, f := range b.slotFix {
		op := &p.ops[f[0]]
		op.a[f[1]] = uintptr(unsafe.Pointer(&p.slots[f[2]]))
		op.kind &^= 3 << (2 * f[1])
	}
	p.howDir = p.base + uintptr(b.howDir)
	p.tsAddr = uintptr(unsafe.Pointer(&p.ts))
	p.recAddr = uintptr(unsafe.Pointer(&p.rec))
	p.rec2Addr = uintptr(unsafe.Pointer(&p.rec2))
	p.ctlBufAddr = uintptr(unsafe.Pointer(&p.ctlBuf))
	p.goBufAddr = uintptr(unsafe.Pointer(&p.goBuf))
	p.sigBufAddr = uintptr(unsafe.Pointer(&p.sigBuf))
	p.pfdAddr = uintptr(unsafe.Pointer(&p.pfd))
	p.wsAddr = uintptr(unsafe.Pointer(&p.ws))
	p.statAddr = uintptr(unsafe.Pointer(&p.stat))
	p.allSigsAddr = uintptr(unsafe.Pointer(&p.allSigs))
	p.oldMaskAddr = uintptr(unsafe.Pointer(&p.oldMask))
	p.cloneArgsAddr = uintptr(unsafe.Pointer(&p.cargs))
	p.cmdStatAddr = uintptr(unsafe.Pointer(&p.cmdStat))
	p.allSigs = ^uint64(0)
	p.sfRec = rawRec{Kind: recWorkspace}
	p.sfIov.Base = (*byte)(unsafe.Pointer(&p.sfRec))
	p.sfIov.SetLen(rawRecSize)
	p.sfMsg.Iov = &p.sfIov
	p.sfMsg.SetIovlen(1)
	p.sfMsg.Control = &p.sfCmsg[0]
	p.sfMsg.SetControllen(len(p.sfCmsg))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&p.sfCmsg[0]))
	h.Level, h.Type = unix.SOL_SOCKET, unix.SCM_RIGHTS
	h.SetLen(unix.CmsgLen(4))
	p.sfMsgAddr = uintptr(unsafe.Pointer(&p.sfMsg))
	if p.prepared {
		p.reqIov.Base = (*byte)(unsafe.Pointer(&p.mem[p.reqOff/8]))
		p.reqIov.SetLen(rawReqMax)
		p.reqMsg.Iov = &p.reqIov
		p.reqMsg.SetIovlen(1)
		p.reqMsg.Control = &p.reqCmsg[0]
		p.reqMsgAddr = uintptr(unsafe.Pointer(&p.reqMsg))
	}
	// Every op must be well formed: the child cannot afford a panic.
	for i, op := range p.ops {
		for k := 0; k < 6; k++ {
			if (op.kind>>(2*k))&3 == argSlot && int(op.a[k]) >= len(p.slots) {
				return nil, fmt.Errorf("raw spawn: op %d: slot %d out of range", i, op.a[k])
			}
		}
		if op.out >= int16(len(p.slots)) || op.cond >= int16(len(p.slots)) {
			return nil, fmt.Errorf("raw spawn: op %d: slot out of range", i)
		}
		if (op.cond >= 0 || op.skipOn != 0) && (op.skip < 0 || int(op.skip) > len(p.ops)) {
			return nil, fmt.Errorf("raw spawn: op %d: bad skip target %d", i, op.skip)
		}
	}
	return p, nil
}

// message turns a failure record into the error text and exit code.
func (p *rawProg) message(op, errno, aux int) (string, int) {
	if op < 0 || op >= len(p.desc) {
		return fmt.Sprintf("jail init: step %d failed: %s", op, errText(unix.Errno(errno))), ExitSetup
	}
	d := p.desc[op]
	en := unix.Errno(errno)
	if d.exec {
		name := p.execName
		if aux >= 0 && aux < len(p.execNames) {
			name = p.execNames[aux]
		}
		switch {
		case en == unix.ENOENT && p.pathEnv != "":
			return fmt.Sprintf("exec %s: not found in PATH=%s inside the jail", p.execName, p.pathEnv), ExitNotFound
		case en == unix.ENOENT:
			return fmt.Sprintf("exec %s: not found inside the jail", name), ExitNotFound
		case en == unix.EACCES:
			return fmt.Sprintf("exec %s: not an executable file (EACCES)", name), ExitCannotExec
		}
		return fmt.Sprintf("exec %s: %s", name, errText(en)), ExitCannotExec
	}
	text := errText(en)
	if en == unix.ENOENT && d.enoent != "" {
		text = d.enoent
	}
	if d.object == "" {
		return fmt.Sprintf("%s: %s%s", d.step, d.pre, text), ExitSetup
	}
	return fmt.Sprintf("%s %s: %s%s", d.step, d.object, d.pre, text), ExitSetup
}

// rootBase is where the new root is attached before pivot_root.
func rootBase() string {
	if _, err := os.Stat("/tmp"); err != nil {
		return "/mnt"
	}
	return "/tmp"
}

// spawnRaw says whether a run takes the raw path: whenever the spec allows
// it, unless PYCAGE_SPAWN=go. (PYCAGE_SPAWN=rawfork keeps the raw path but
// without CLONE_VM; a raw path forced on a spec it cannot run falls back to
// the Go path.)
func spawnRaw(spec *Spec) bool {
	switch os.Getenv("PYCAGE_SPAWN") {
	case "go":
		return false
	}
	// "raw" and "rawfork" (the raw path without CLONE_VM) are the default.
	return rawUnsupported(spec) == ""
}

// rawProc is a jail started on the raw path.
type rawProc struct {
	prog  *rawProg
	pid   int
	pidfd int
	ctlW  *os.File
	repR  *os.File
	reqW  *os.File // a prepared jail's request socket (nil: none)
	// A prepared jail built at low priority (rawOpts.lowPrio): the
	// niceness PID 1 and the command get back with the request.
	lowPrio           bool
	pid1Nice, cmdNice int
	cmdPid            int // the command's process (host pid; 0: not looked up yet)
	evs               chan report
	t0                time.Time
	mono0             int64 // CLOCK_MONOTONIC at t0

	group interface{ AddAll(int) error } // the run's cgroups (nil: none)

	mu      sync.Mutex
	closed  bool
	placed  bool   // 'c' written
	pending []byte // signals waiting for 'c'

	tl *timeline

	// wsFD is the workspace's directory (recWorkspace; -1: none), wsSeen
	// when PID 1 sent it: the jail was built, the command not yet let go.
	wsFD   int
	wsSeen time.Time
}

// child converts a CLOCK_MONOTONIC time of the child into a time.Time.
func (p *rawProc) child(mono int64) time.Time { return p.t0.Add(time.Duration(mono - p.mono0)) }

func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// prepareRaw opens the bind trees (as root) and compiles the program
// without its seccomp filter (setFilter); Run calls it while it makes the
// cgroups and compiles the filter.
func prepareRaw(spec *Spec, ahead, lowPrio bool) (map[int]int, *rawProg, *SetupError) {
	// As root, the parent opens the bind trees (sources under directories
	// the jail's user cannot enter still work), as on the Go path.
	var trees map[int]int
	if spec.Namespaces.Mount && os.Geteuid() == 0 {
		t, err := OpenBindTrees(spec)
		if err != nil {
			return nil, nil, setupErr(ExitSetup, "%v", err)
		}
		trees = t
	}
	prog, err := compileRaw(spec, nil, rawOpts{rootBase: rootBase(), trees: trees, landlockABI: landlock.ABI(), prepared: ahead, lowPrio: lowPrio})
	if err != nil {
		return trees, nil, setupErr(ExitSetup, "%v", err)
	}
	return trees, prog, nil
}

// startRaw clones PID 1 with the prepared program and lets it run once the
// id maps are written (and its command's process once that is in the
// run's cgroups).
func (r *runner) startRaw(in, out, errw *os.File) (jailProc, *SetupError) {
	spec := r.spec
	if r.prep.progErr != nil {
		return nil, r.prep.progErr
	}
	prog, trees := r.prep.prog, r.prep.trees
	r.res.Landlock, r.res.LandlockABI = prog.landlock, prog.landlockABI
	ctlR, ctlW, err := os.Pipe()
	if err != nil {
		return nil, setupErr(ExitSetup, "pipe ctl: %v", err)
	}
	repR, repW, err := reportSocket()
	if err != nil {
		ctlR.Close()
		ctlW.Close()
		return nil, setupErr(ExitSetup, "socketpair report: %v", err)
	}
	defer ctlR.Close()
	defer repW.Close()
	var reqR, reqW *os.File
	if prog.prepared {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			ctlW.Close()
			repR.Close()
			return nil, setupErr(ExitSetup, "socketpair request: %v", err)
		}
		// A request up to rawReqMax in one message (as root; others get
		// what net.core.wmem_max allows and a clear error beyond it).
		if unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, rawReqMax+64<<10) != nil {
			unix.SetsockoptInt(fds[1], unix.SOL_SOCKET, unix.SO_SNDBUF, rawReqMax+64<<10)
		}
		reqR, reqW = os.NewFile(uintptr(fds[0]), "request (jail)"), os.NewFile(uintptr(fds[1]), "request")
		defer reqR.Close()
	}

	// The fd layout of PID 1 (see the package comment above).
	n := int(prog.repFD) + 1 + len(prog.treeFDs)
	if prog.prepared {
		n++
	}
	prog.fds = make([]rawFD, n)
	for i := range prog.fds {
		prog.fds[i].src = -1
	}
	set := func(t int, f uintptr, cloexec bool) {
		prog.fds[t].src = int32(f)
		if cloexec {
			prog.fds[t].cloexec = unix.FD_CLOEXEC
		}
	}
	set(0, in.Fd(), false)
	set(1, out.Fd(), false)
	set(2, errw.Fd(), false)
	for _, fd := range spec.PassFDs {
		set(fd, uintptr(fd), false)
	}
	set(int(prog.ctlFD), ctlR.Fd(), true)
	set(int(prog.repFD), repW.Fd(), true)
	if prog.prepared {
		set(int(prog.reqFD), reqR.Fd(), true)
	}
	treeIdx := make([]int, 0, len(trees))
	for i := range trees {
		treeIdx = append(treeIdx, i)
	}
	sort.Ints(treeIdx)
	for j, i := range treeIdx {
		set(int(prog.treeFDs[j]), uintptr(trees[i]), true)
	}
	next := int32(n)
	for _, f := range prog.fds {
		if f.src >= next {
			next = f.src + 1
		}
	}
	prog.fdNext = next

	ns := spec.Namespaces
	var flags uint64 = unix.CLONE_PIDFD
	for _, f := range []struct {
		on   bool
		flag uint64
	}{{ns.User, unix.CLONE_NEWUSER}, {ns.Mount, unix.CLONE_NEWNS}, {ns.PID, unix.CLONE_NEWPID},
		{ns.Net, unix.CLONE_NEWNET}, {ns.IPC, unix.CLONE_NEWIPC}, {ns.UTS, unix.CLONE_NEWUTS}} {
		if f.on {
			flags |= f.flag
		}
	}
	prog.pidfd = -1
	// PID 1 stays in pycage's cgroups; only the command's process joins
	// the run's (see placeCommand).
	prog.cargs = cloneArgs{flags: flags, exitSignal: uint64(unix.SIGCHLD), pidfd: uint64(uintptr(unsafe.Pointer(&prog.pidfd)))}

	// As root (on amd64), PID 1 shares the parent's memory: no copy of
	// the parent's address space per run, no copy-on-write faults in the
	// parent while the run lasts, nothing to tear down at exit or execve.
	// The shared mm becomes non-dumpable (PID 1 must be); that would stop
	// an unprivileged parent from writing the next run's id maps, so an
	// unprivileged caller gets the fork variant.
	if haveCloneVM && os.Geteuid() == 0 && os.Getenv("PYCAGE_SPAWN") != "rawfork" {
		prog.vm = true
		prog.childEntry, prog.commandEntry = rawChildEntry, rawCommandEntry
		prog.stack1 = make([]byte, rawStackSize)
		prog.stack2 = make([]byte, rawStackSize)
		prog.cargs.flags |= unix.CLONE_VM
		prog.cargs.stack = uint64(uintptr(unsafe.Pointer(&prog.stack1[0])))
		prog.cargs.stackSize = rawStackSize
		prog.cmdArgs = cloneArgs{flags: unix.CLONE_VM, exitSignal: uint64(unix.SIGCHLD),
			stack: uint64(uintptr(unsafe.Pointer(&prog.stack2[0]))), stackSize: rawStackSize}
	}
	prog.trace = traceOn
	p := &rawProc{prog: prog, ctlW: ctlW, repR: repR, reqW: reqW, lowPrio: r.lowPrio, pid1Nice: r.baseNice, cmdNice: r.baseNice, evs: make(chan report, 4), t0: time.Now(), mono0: monoNow(), tl: r.tl, wsFD: -1}
	runtime.LockOSThread()
	pid, e := rawClone(prog)
	runtime.UnlockOSThread()
	runtime.KeepAlive(prog)
	if e != 0 {
		ctlW.Close()
		repR.Close()
		if reqW != nil {
			reqW.Close()
		}
		return nil, setupErr(ExitSetup, "start jail init: clone3: %s", errText(unix.Errno(e)))
	}
	p.pid, p.pidfd = int(pid), int(prog.pidfd)
	if spec.Nice != 0 {
		p.cmdNice = spec.Nice
	}
	tCloned := time.Now()
	ctlR.Close()
	repW.Close()
	r.prep.release() // PID 1 has the bind trees now

	// On a failure from here, a failure PID 1 reported comes first (it
	// may be the cause: a map write fails when PID 1 died of a bad bind).
	fail := func(format string, a ...any) (jailProc, *SetupError) {
		p.kill()
		p.wait()
		var buf [rawRecSize]byte
		if _, err := readFull(p.repR, buf[:]); err == nil && binary.LittleEndian.Uint64(buf[0:]) == recError {
			msg, code := prog.message(int(binary.LittleEndian.Uint64(buf[8:])), int(binary.LittleEndian.Uint64(buf[16:])), int(binary.LittleEndian.Uint64(buf[24:])))
			p.release()
			return nil, setupErr(code, "%s", msg)
		}
		p.release()
		return nil, setupErr(ExitSetup, format, a...)
	}
	if ns.User {
		uids, gids := r.idMaps()
		if err := writeIDMap(p.pid, "uid_map", uids); err != nil {
			return fail("%v", err)
		}
		if err := writeProc(p.pid, "setgroups", "deny"); err != nil {
			return fail("write setgroups: %s", errText(err))
		}
		if err := writeIDMap(p.pid, "gid_map", gids); err != nil {
			return fail("%v", err)
		}
	}
	tMapped := time.Now()
	r.setProc(p)
	if r.group != nil {
		p.group = r.group
	}
	var err2 error
	if r.group == nil {
		err2 = p.sendC('g') // no cgroups to wait for
	} else {
		_, err2 = ctlW.Write([]byte{'g'})
	}
	if err2 != nil {
		return fail("start jail init: %v", err2)
	}
	p.tl.add(fmt.Sprintf("parent: clone3 of PID 1 (%s)", map[bool]string{true: "CLONE_VM", false: "fork"}[prog.vm]), p.t0)
	p.tl.add("parent: clone3 returned", tCloned)
	p.tl.add("parent: id maps written", tMapped)
	go p.readReports()
	return p, nil
}

// placeCommand puts the command's process, which PID 1 just forked and
// which waits for PID 1's go, into the run's cgroups, then tells PID 1 to
// let it go once the jail is built ('c'). Only the command's processes are
// in the run's cgroups: the pids limit counts exactly them, and PID 1 (which
// in the CLONE_VM variant shares the parent's memory) is never a candidate
// of the run's OOM killer. One migration burst (an RCU grace period on v1
// hierarchies), overlapped with PID 1's mount setup.
func (p *rawProc) placeCommand() error {
	if p.group == nil {
		return nil
	}
	pid, err := childPID(p.pid)
	t := time.Now()
	if err != nil {
		return fmt.Errorf("find the command's process: %v", err)
	}
	p.mu.Lock()
	p.cmdPid = pid
	p.mu.Unlock()
	if err := p.group.AddAll(pid); err != nil {
		return err
	}
	if err := p.sendC(); err != nil {
		return fmt.Errorf("start jail init: %v", err)
	}
	p.tl.add("parent: the command's process found", t)
	p.tl.add("parent: the command's process in the run's cgroups", time.Time{})
	return nil
}

// childPID is the pid of the only child of process pid.
func childPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err == nil {
		if f := strings.Fields(string(b)); len(f) == 1 {
			return strconv.Atoi(f[0])
		}
		return 0, fmt.Errorf("%d children", len(strings.Fields(string(b))))
	}
	// Without CONFIG_PROC_CHILDREN: look for it.
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	want := "PPid:\t" + strconv.Itoa(pid) + "\n"
	for _, e := range ents {
		c, err := strconv.Atoi(e.Name())
		if err != nil || c == pid {
			continue
		}
		st, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err == nil && strings.Contains(string(st), want) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("no child of %d", pid)
}

func writeIDMap(pid int, file string, m []syscall.SysProcIDMap) error {
	var sb strings.Builder
	for _, e := range m {
		fmt.Fprintf(&sb, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	if err := writeProc(pid, file, sb.String()); err != nil {
		return fmt.Errorf("write %s: %s", file, errText(err))
	}
	return nil
}

// writeProc writes /proc/PID/file in one write(2).
func writeProc(pid int, file, data string) error {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/"+file, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, []byte(data))
	if err == nil && n != len(data) {
		err = unix.EIO
	}
	return err
}

// reportSocket makes the report channel: one record per message, and a
// record may carry an fd (recWorkspace). The parent's end is non-blocking
// (Go's poller: closing it wakes a reader); PID 1's is blocking.
func reportSocket() (r, w *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "report"), os.NewFile(uintptr(fds[1]), "report (jail)"), nil
}

// recvRecord reads one record and the fds that came with it.
func recvRecord(f *os.File, buf []byte) (fds []int, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var oob [64]byte
	var n, oobn int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob[:], unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, m := range msgs {
				if r, perr := unix.ParseUnixRights(&m); perr == nil {
					fds = append(fds, r...)
				}
			}
		}
	}
	if err == nil && n != len(buf) {
		err = io.EOF
	}
	if err != nil {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, err
	}
	return fds, nil
}

// readReports turns the child's records into reports.
func (p *rawProc) readReports() {
	defer close(p.evs)
	var buf [rawRecSize]byte
	// placeErr: putting the command in the run's cgroups failed. PID 1 is
	// killed, and the error is reported at the end of its records unless
	// one of them is an error: then PID 1 failed first (the command died
	// with the pid namespace, hence ESRCH in the cgroup), and its error
	// names the step that failed.
	var placeErr error
	for {
		fds, err := recvRecord(p.repR, buf[:])
		if err != nil {
			if placeErr != nil {
				p.evs <- report{Kind: "error", Error: placeErr.Error(), ExitCode: ExitSetup}
			}
			return
		}
		if binary.LittleEndian.Uint64(buf[0:]) == recWorkspace && len(fds) == 1 {
			p.mu.Lock()
			if p.wsFD < 0 && !p.closed {
				p.wsFD = fds[0]
				p.wsSeen = p.child(int64(binary.LittleEndian.Uint64(buf[48:])))
				fds = nil
			}
			p.mu.Unlock()
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		var rec rawRec
		rec.Kind = int64(binary.LittleEndian.Uint64(buf[0:]))
		rec.Op = int64(binary.LittleEndian.Uint64(buf[8:]))
		rec.Errno = int64(binary.LittleEndian.Uint64(buf[16:]))
		rec.Aux = int64(binary.LittleEndian.Uint64(buf[24:]))
		rec.T1 = int64(binary.LittleEndian.Uint64(buf[32:]))
		rec.T2 = int64(binary.LittleEndian.Uint64(buf[40:]))
		rec.T3 = int64(binary.LittleEndian.Uint64(buf[48:]))
		switch rec.Kind {
		case recError:
			placeErr = nil
			msg, code := p.prog.message(int(rec.Op), int(rec.Errno), int(rec.Aux))
			p.evs <- report{Kind: "error", Error: msg, ExitCode: code}
		case recStarted:
			p.tl.add("PID 1: id maps seen ('g')", p.child(rec.T1))
			p.tl.add("PID 1: jail set up (then waits for 'c')", p.child(rec.T2))
			p.tl.add("PID 1: the command exec'd (exec pipe closed)", p.child(rec.T3))
			p.tl.add(fmt.Sprintf("parent: started reported (%d ops)", len(p.prog.ops)), time.Time{})
			p.evs <- report{Kind: "started", SetupNs: rec.T3 - rec.T1}
		case recExit:
			p.tl.add("PID 1: the command exited, all reaped, reported", p.child(rec.T3))
			p.evs <- report{Kind: "exit", Status: int(rec.Aux)}
		case recForked:
			p.tl.add("PID 1: identity set, the command's process forked", p.child(rec.T3))
			if err := p.placeCommand(); err != nil {
				placeErr = err
				p.kill()
			}
		case recWorkspace:
			p.tl.add("PID 1: workspace sent", p.wsSeen)
		case recReady:
			p.tl.add("command: waits for its request (prepared jail ready)", p.child(rec.T3))
			p.evs <- report{Kind: "ready"}
		case recTiming:
			p.tl.add("command: released by PID 1", p.child(rec.T1))
			p.tl.add("command: capabilities dropped, seccomp filter set", p.child(rec.T2))
			p.tl.add("command: first execve", p.child(rec.T3))
		}
	}
}

// sendRequest hands a prepared jail's command process its request and
// stdio (rawProg.request).
func (p *rawProc) sendRequest(req []byte, in, out, errw *os.File) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.reqW == nil {
		return fmt.Errorf("the prepared jail is gone")
	}
	rights := unix.UnixRights(int(in.Fd()), int(out.Fd()), int(errw.Fd()))
	if err := unix.Sendmsg(int(p.reqW.Fd()), req, rights, nil, 0); err != nil {
		return fmt.Errorf("send the request (%d bytes): %s", len(req), errText(err))
	}
	p.reqW.Close()
	p.reqW = nil
	return nil
}

// restoreNice gives a jail built at low priority (lowPrio) its niceness
// back once it is ready, both its processes waiting: PID 1 the niceness it
// was cloned from, the command the one a cold run gives it. (At the
// request it would cost the run two syscalls.)
func (p *rawProc) restoreNice() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lowPrio {
		return nil
	}
	if p.cmdPid == 0 {
		pid, err := childPID(p.pid)
		if err != nil {
			return fmt.Errorf("find the command's process: %v", err)
		}
		p.cmdPid = pid
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, p.pid, p.pid1Nice); err != nil {
		return fmt.Errorf("setpriority PID 1 (nice %d): %s", p.pid1Nice, errText(err))
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, p.cmdPid, p.cmdNice); err != nil {
		return fmt.Errorf("setpriority the command (nice %d): %s", p.cmdNice, errText(err))
	}
	return nil
}

// alive says whether a prepared jail still waits for its request: PID 1
// has not exited (its pidfd is not readable) and the command's process
// still holds its end of the request socket (no hang-up).
func (p *rawProc) alive() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || p.reqW == nil {
		return false
	}
	fds := []unix.PollFd{{Fd: int32(p.pidfd), Events: unix.POLLIN}, {Fd: int32(p.reqW.Fd()), Events: unix.POLLOUT}}
	n, err := unix.Poll(fds, 0)
	if err != nil {
		return false
	}
	return n == 1 && fds[0].Revents == 0 && fds[1].Revents&(unix.POLLHUP|unix.POLLERR) == 0
}

func readFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := f.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (p *rawProc) reports() <-chan report { return p.evs }

func (p *rawProc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		unix.PidfdSendSignal(p.pidfd, unix.SIGKILL, nil, 0)
	}
}

// killAll asks PID 1 to kill every process of the jail and still report.
func (p *rawProc) killAll() { p.ctlW.Write([]byte{'k', 0}) }

// signal relays sig to the command. Until PID 1 has its 'c', signals wait
// here: PID 1 reads the setup bytes one by one and nothing else may come
// before them.
func (p *rawProc) signal(sig unix.Signal) {
	if sig <= 0 || sig >= 256 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.placed {
		p.pending = append(p.pending, 's', byte(sig))
		return
	}
	p.ctlW.Write([]byte{'s', byte(sig)})
}

// sendC writes 'c' (and g before it when given), then the signals that
// waited for it.
func (p *rawProc) sendC(prefix ...byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := append(append(prefix, 'c'), p.pending...)
	p.pending = nil
	p.placed = true
	_, err := p.ctlW.Write(msg)
	return err
}

func (p *rawProc) wait() error {
	if p.prog.prepared {
		// A prepared jail's PID 1 waits for this word to exit once it
		// reported the command's end (rawReap).
		p.ctlW.Write([]byte{'q'})
	}
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(p.pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return nil
	case ws.Exited():
		return fmt.Errorf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Errorf("signal: %v", ws.Signal())
	}
	return fmt.Errorf("wait status %#x", uint32(ws))
}

func (p *rawProc) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		unix.Close(p.pidfd)
		p.ctlW.Close()
		p.repR.Close()
		if p.reqW != nil {
			p.reqW.Close()
		}
		if p.wsFD >= 0 {
			unix.Close(p.wsFD)
			p.wsFD = -1
		}
	}
}

// collect reads the run's output files through the workspace PID 1 sent.
// Call it only once every process of the jail is dead. The parent may be
// root: files and directories the jail's user could not read (hostUID and
// hostGID are its ids on the host) are skipped, as inside the jail.
func (p *rawProc) collect(c *CollectSpec, hostUID, hostGID uint32) ([]OutFile, string) {
	p.mu.Lock()
	fd, since := p.wsFD, p.wsSeen
	p.wsFD = -1
	p.mu.Unlock()
	if fd < 0 {
		return nil, "the workspace was not available for collecting files"
	}
	defer unix.Close(fd)
	// Files the run writes have a modification time after the jail was
	// built, less the granularity of coarse file-system timestamps; input
	// files were given an older one (rawProg.inputTime).
	since = since.Add(-50 * time.Millisecond)
	var access func(*unix.Stat_t, bool) bool
	if os.Geteuid() == 0 {
		access = func(st *unix.Stat_t, dir bool) bool { return jailCanRead(st, dir, hostUID, hostGID) }
	}
	return collectFrom(fd, c, since, access)
}
