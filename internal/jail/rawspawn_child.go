package jail

// Child side of the raw spawn path: the code that runs in the cloned jail
// process (PID 1 of the new pid namespace) and in the command's process
// before execve. It interprets the syscall program compiled by the parent
// (rawspawn.go) with raw syscalls on memory allocated before the clone.
//
// The discipline is the one of Go's own syscall.forkAndExecInChild: after
// the clone there is exactly one thread, a copy of the parent's, whose Go
// runtime state (locks, the scheduler, the heap) belongs to a process that
// is no longer there. So from the clone on, this code must not allocate,
// must not grow the stack, must not call into the runtime and must not
// store pointers (write barriers). Every function here is //go:nosplit (the
// linker checks that the whole call chain fits in the stack guard),
// //go:norace (no race-detector calls) and //go:nocheckptr. Only
// syscall.RawSyscall6 is called, which is nosplit and goes straight to the
// assembly syscall stub. All signals are blocked by the parent before the
// clone and stay blocked in PID 1, which takes SIGCHLD (and the relayed
// signals) from a signalfd.

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Record kinds of the report pipe (child -> parent), rawRec.Kind.
const (
	recError   = 1 // Op failed with Errno; Aux is the exec candidate for the exec op
	recStarted = 2 // the command's execve succeeded
	recExit    = 3 // the command exited; Aux is its raw wait status
	recTiming  = 4 // traces only: T1 the command's process released, T2 its seccomp filter set, T3 its first execve
	recForked  = 5 // PID 1 forked the command's process (Aux: its pid in the jail)
	// recWorkspace carries (SCM_RIGHTS) a directory fd of the workspace,
	// opened by PID 1 once the jail is built: the parent collects the
	// run's output files through it after the run (Spec.Collect).
	recWorkspace = 6
	// recReady: a prepared jail's command process waits for its request
	// (written by the command's process on the exec pipe, passed on by
	// PID 1).
	recReady = 7
)

// rawRec is one fixed-size record on the report pipe.
type rawRec struct {
	Kind  int64
	Op    int64
	Errno int64
	Aux   int64
	T1    int64 // CLOCK_MONOTONIC ns: ready (after the parent's go), for traces
	T2    int64 // CLOCK_MONOTONIC ns: setup done
	T3    int64 // CLOCK_MONOTONIC ns: record written
}

const rawRecSize = 56

// Argument kinds of rawOp.kind, two bits per argument.
const (
	argConst = 0 // the value itself
	argMem   = 1 // offset into the arena: the address base+value
	argSlot  = 2 // the (sign-extended) int32 in slots[value]
)

// Pseudo syscall numbers for the few steps that are loops or branches.
const (
	rawMacro     = 1 << 20
	macroMkpath  = rawMacro + iota // a0 root fd, a1 table word index, a2 depth: O_PATH fd of the directory (created as needed)
	macroIsDir                     // a0 fd, a1 forced (0: fstat decides, 1: file, 2: dir): 0 for a directory, else -1
	macroOpen                      // a0 parent fd, a1 name: a file mount point (created as needed), see rootfs.mountPoint
	macroWrite                     // a0 fd, a1 buffer, a2 length: write all
	macroOr16                      // a0 arena offset, a1 value: *(uint16*)(arena+a0) |= a1
	macroExec                      // a0 table word index, a1 argv, a2 envp: execve every candidate in turn
	macroNop                       // nothing (with cond on the always -1 slot 0: a jump)
	macroSendFD                    // a0 socket, a1 fd: send a recWorkspace record carrying fd a1
	macroLLRule                    // a0 ruleset, a1 O_PATH fd, a2 rights, a3 arena offset of the attr, a4 file rights: landlock_add_rule
	macroRecvReq                   // a0 request socket: report recReady, receive the request, its 3 fds onto 0, 1, 2
	macroExecReq                   // a0 word index of the request region: macroExec with the request's table, argv, envp
)

// rawOp is one step of the program: a syscall with up to six arguments.
type rawOp struct {
	nr   uintptr
	a    [6]uintptr
	kind uint16 // argument kinds, 2 bits each
	out  int16  // slot that receives the result, -1: none
	cond int16  // >= 0: run only if slots[cond] >= 0, else continue at skip
	skip int16  // where to continue when skipped (cond, skipOn)
	// ok are errnos that count as success (the result is then -1).
	ok [2]uint16
	// skipOn is an errno that skips to skip (out gets -1).
	skipOn uint16
	anyErr bool // every error counts as success
}

// rawFD is one fd of PID 1's layout: the parent's fd src becomes the fd
// of its index; cloexec is FD_CLOEXEC or 0.
type rawFD struct {
	src     int32
	cloexec uint8
}

// pollFd is struct pollfd.
type pollFd struct {
	fd      int32
	events  int16
	revents int16
}

//go:nosplit
//go:norace
func rawSys(nr, a0, a1, a2, a3, a4, a5 uintptr) (uintptr, uintptr) {
	r, _, e := syscall.RawSyscall6(nr, a0, a1, a2, a3, a4, a5)
	return r, uintptr(e)
}

//go:nosplit
//go:norace
func rawExit(code uintptr) {
	for {
		syscall.RawSyscall6(unix.SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0)
	}
}

// now returns CLOCK_MONOTONIC in ns (the syscall, not the vDSO).
//
//go:nosplit
//go:norace
func (p *rawProg) now() int64 {
	syscall.RawSyscall6(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, p.tsAddr, 0, 0, 0, 0)
	return p.ts[0]*1e9 + p.ts[1]
}

// report writes one record to fd.
//
//go:nosplit
//go:norace
func (p *rawProg) report(fd uintptr, kind, op, errno, aux int64) {
	p.reportT(fd, kind, op, errno, aux, p.tReady, p.tSetup)
}

// reportT writes one record with the times t1 and t2.
//
//go:nosplit
//go:norace
func (p *rawProg) reportT(fd uintptr, kind, op, errno, aux, t1, t2 int64) {
	p.rec.Kind, p.rec.Op, p.rec.Errno, p.rec.Aux = kind, op, errno, aux
	p.rec.T1, p.rec.T2 = t1, t2
	p.rec.T3 = p.now()
	syscall.RawSyscall6(unix.SYS_WRITE, fd, p.recAddr, rawRecSize, 0, 0, 0)
}

// word returns arena word i (0 when out of range: the child cannot panic).
//
//go:nosplit
//go:norace
func (p *rawProg) word(i int) uintptr {
	if uint(i) < uint(len(p.mem)) {
		return uintptr(p.mem[i])
	}
	return 0
}

//go:nosplit
//go:norace
func (p *rawProg) slot(i int) int32 {
	if uint(i) < uint(len(p.slots)) {
		return p.slots[i]
	}
	return -1
}

//go:nosplit
//go:norace
func (p *rawProg) setSlot(i int, v int32) {
	if uint(i) < uint(len(p.slots)) {
		p.slots[i] = v
	}
}

// run interprets ops[from:to]. It returns -1, or the index of the op that
// failed (its errno in p.errno).
//
//go:nosplit
//go:norace
//go:nocheckptr
func (p *rawProg) run(from, to int) int {
	var a [6]uintptr
	if to > len(p.ops) {
		to = len(p.ops)
	}
	i := from
	for i >= 0 && i < to {
		op := &p.ops[i]
		if op.cond >= 0 && p.slot(int(op.cond)) < 0 {
			i = int(op.skip)
			continue
		}
		for k := 0; k < 6; k++ {
			v := op.a[k]
			switch (op.kind >> (2 * k)) & 3 {
			case argMem:
				v += p.base
			case argSlot:
				v = uintptr(p.slot(int(v)))
			}
			a[k] = v
		}
		var r, e uintptr
		switch op.nr {
		case macroMkpath:
			r, e = p.mkpath(a[0], int(a[1]), int(a[2]))
		case macroIsDir:
			r = 0
			if a[1] == 0 {
				if _, e = rawSys(unix.SYS_FSTAT, a[0], p.statAddr, 0, 0, 0, 0); e == 0 && p.stat.Mode&unix.S_IFMT != unix.S_IFDIR {
					r = ^uintptr(0)
				}
			} else if a[1] == 1 {
				r = ^uintptr(0)
			}
		case macroOpen:
			r, e = rawSys(unix.SYS_OPENAT, a[0], a[1], unix.O_CREAT|unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644, 0, 0)
			switch e {
			case 0, uintptr(unix.EISDIR), uintptr(unix.ELOOP), uintptr(unix.ENXIO), uintptr(unix.ENODEV):
			default:
				// The point may exist as something we may not open
				// for reading (a device bound earlier, a procfs file):
				// open it as a path.
				r, e = rawSys(unix.SYS_OPENAT, a[0], a[1], unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0, 0, 0)
			}
		case macroWrite:
			for a[2] > 0 {
				var w uintptr
				w, e = rawSys(unix.SYS_WRITE, a[0], a[1], a[2], 0, 0, 0)
				if e == uintptr(unix.EINTR) {
					e = 0
					continue
				}
				if e == 0 && w == 0 {
					e = uintptr(unix.EIO)
				}
				if e != 0 {
					break
				}
				a[1] += w
				a[2] -= w
			}
		case macroOr16:
			if w := a[0] / 8; w < uintptr(len(p.mem)) {
				p.mem[w] |= uint64(a[1]&0xffff) << ((a[0] % 8) * 8)
			}
		case macroExec:
			r, e = p.execve(int(a[0]), a[1], a[2])
		case macroNop:
		case macroSendFD:
			r, e = p.sendFD(a[0], a[1])
		case macroLLRule:
			r, e = p.llRule(a[0], a[1], a[2], a[3], a[4])
		case macroRecvReq:
			r, e = p.recvReq(a[0])
		case macroExecReq:
			w := int(a[0])
			r, e = p.execve(int(p.word(w)), p.word(w+1), p.word(w+2))
		default:
			r, e = rawSys(op.nr, a[0], a[1], a[2], a[3], a[4], a[5])
		}
		if e != 0 {
			switch {
			case op.anyErr || e == uintptr(op.ok[0]) || e == uintptr(op.ok[1]):
				r = ^uintptr(0)
			case e == uintptr(op.skipOn):
				p.setSlot(int(op.out), -1)
				i = int(op.skip)
				continue
			default:
				p.errno = e
				return i
			}
		}
		p.setSlot(int(op.out), int32(r))
		i++
	}
	return -1
}

// mkpath opens (creating what is missing) the directory whose path
// components are described by the table at word t of the arena:
// [n, prefix0, name0, prefix1, name1, ...] (arena offsets of NUL-terminated
// strings; prefix i is components 0..i joined, relative to the new root).
// Only the first depth components are used. Every lookup is openat2 with
// RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS relative to root, so a symlink in
// the tree is resolved inside the new root, never into the host.
//
//go:nosplit
//go:norace
func (p *rawProg) mkpath(root uintptr, t, depth int) (uintptr, uintptr) {
	if depth == 0 {
		return rawSys(unix.SYS_FCNTL, root, unix.F_DUPFD_CLOEXEC, 0, 0, 0, 0)
	}
	fd, e := rawSys(unix.SYS_OPENAT2, root, p.base+p.word(t+1+2*(depth-1)), p.howDir, 24, 0, 0)
	if e != uintptr(unix.ENOENT) {
		return fd, e
	}
	prev := root
	for i := 0; i < depth; i++ {
		pre := p.base + p.word(t+1+2*i)
		fd, e = rawSys(unix.SYS_OPENAT2, root, pre, p.howDir, 24, 0, 0)
		if e == uintptr(unix.ENOENT) {
			if _, e = rawSys(unix.SYS_MKDIRAT, prev, p.base+p.word(t+2+2*i), 0o755, 0, 0, 0); e == 0 || e == uintptr(unix.EEXIST) {
				fd, e = rawSys(unix.SYS_OPENAT2, root, pre, p.howDir, 24, 0, 0)
			}
		}
		if prev != root {
			rawSys(unix.SYS_CLOSE, prev, 0, 0, 0, 0, 0)
		}
		if e != 0 {
			return 0, e
		}
		prev = fd
	}
	return prev, 0
}

// sendFD sends the recWorkspace record with fd attached (SCM_RIGHTS) on
// the report socket. The message header, its iovec and the control
// buffer were laid out by the parent (finish); only the fd is filled in.
//
//go:nosplit
//go:norace
func (p *rawProg) sendFD(sock, fd uintptr) (uintptr, uintptr) {
	p.sfCmsg[16] = byte(fd)
	p.sfCmsg[17] = byte(fd >> 8)
	p.sfCmsg[18] = byte(fd >> 16)
	p.sfCmsg[19] = byte(fd >> 24)
	p.sfRec.T3 = p.now()
	for {
		r, e := rawSys(unix.SYS_SENDMSG, sock, p.sfMsgAddr, 0, 0, 0, 0)
		if e != uintptr(unix.EINTR) {
			return r, e
		}
	}
}

// llRule adds the Landlock rule "rights beneath the object of fd" to the
// ruleset rs. When the object is not a directory only the rights in
// fileRights are granted (a file rule with directory rights is EINVAL).
// The struct landlock_path_beneath_attr is the 16 arena bytes at off,
// filled in here: rights (u64), then the fd (s32), packed.
//
//go:nosplit
//go:norace
//go:nocheckptr
func (p *rawProg) llRule(rs, fd, rights, off, fileRights uintptr) (uintptr, uintptr) {
	if _, e := rawSys(unix.SYS_FSTAT, fd, p.cmdStatAddr, 0, 0, 0, 0); e != 0 {
		return 0, e
	}
	if p.cmdStat.Mode&unix.S_IFMT != unix.S_IFDIR {
		rights &= fileRights
	}
	w := off / 8
	if off%8 != 0 || w+1 >= uintptr(len(p.mem)) {
		return 0, uintptr(unix.EINVAL)
	}
	p.mem[w] = uint64(rights)
	*(*int32)(unsafe.Pointer(&p.mem[w+1])) = int32(fd)
	return rawSys(unix.SYS_LANDLOCK_ADD_RULE, rs, unix.LANDLOCK_RULE_PATH_BENEATH, p.base+off, 0, 0, 0)
}

// execve tries every candidate path of the table at word t ([n, path...])
// in turn, as execvp does: ENOENT and ENOTDIR go on to the next one, EACCES
// too but is reported if nothing else works. It returns only on failure,
// with the index of the reported candidate in p.execIdx.
//
//go:nosplit
//go:norace
func (p *rawProg) execve(t int, argv, envp uintptr) (uintptr, uintptr) {
	n := int(p.word(t))
	eacces := -1
	for i := 0; i < n; i++ {
		_, e := rawSys(unix.SYS_EXECVE, p.base+p.word(t+1+i), argv, envp, 0, 0, 0)
		switch e {
		case uintptr(unix.ENOENT), uintptr(unix.ENOTDIR):
			p.execIdx = i
		case uintptr(unix.EACCES):
			if eacces < 0 {
				eacces = i
			}
		default:
			p.execIdx = i
			return 0, e
		}
	}
	if eacces >= 0 {
		p.execIdx = eacces
		return 0, uintptr(unix.EACCES)
	}
	return 0, uintptr(unix.ENOENT)
}

// recvReq is a prepared jail's command process taking its request: it
// tells the parent (recReady, via PID 1) that the jail is ready, then
// receives one message on the request socket: the request region's bytes
// (header, PATH table, argv, envp; laid out by the parent for this very
// address, see rawProg.request) and exactly 3 fds, which become its
// stdin, stdout and stderr.
//
//go:nosplit
//go:norace
//go:nocheckptr
func (p *rawProg) recvReq(sock uintptr) (uintptr, uintptr) {
	p.reportT(uintptr(p.slot(p.slotExecW)), recReady, 0, 0, 0, 0, 0)
	var n, e uintptr
	for {
		p.reqMsg.Controllen = uint64(len(p.reqCmsg))
		p.reqMsg.Flags = 0
		n, e = rawSys(unix.SYS_RECVMSG, sock, p.reqMsgAddr, unix.MSG_CMSG_CLOEXEC, 0, 0, 0)
		if e != uintptr(unix.EINTR) {
			break
		}
	}
	if e != 0 {
		return 0, e
	}
	if n == 0 {
		return 0, uintptr(unix.EPIPE) // the parent closed without a request
	}
	if p.reqMsg.Flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		return 0, uintptr(unix.EMSGSIZE)
	}
	// One SCM_RIGHTS header (16 bytes) with 3 fds.
	c := &p.reqCmsg
	if n < 24 || p.reqMsg.Controllen < 28 || c[8] != unix.SOL_SOCKET || c[12] != unix.SCM_RIGHTS ||
		uint64(c[0])|uint64(c[1])<<8 != 28 {
		return 0, uintptr(unix.EINVAL)
	}
	for i := uintptr(0); i < 3; i++ {
		k := 16 + 4*i
		fd := uintptr(c[k]) | uintptr(c[k+1])<<8 | uintptr(c[k+2])<<16
		if fd < 3 {
			return 0, uintptr(unix.EINVAL)
		}
		if _, e = rawSys(unix.SYS_DUP3, fd, i, 0, 0, 0, 0); e != 0 {
			return 0, e
		}
		rawSys(unix.SYS_CLOSE, fd, 0, 0, 0, 0, 0)
	}
	rawSys(unix.SYS_CLOSE, sock, 0, 0, 0, 0, 0)
	return n, 0
}

// waitCtl reads one byte from the ctl pipe and says whether it is want.
//
//go:nosplit
//go:norace
func (p *rawProg) waitCtl(want byte) bool {
	for {
		r, e := rawSys(unix.SYS_READ, uintptr(p.ctlFD), p.ctlBufAddr, 1, 0, 0, 0)
		if e == uintptr(unix.EINTR) {
			continue
		}
		return e == 0 && r == 1 && p.ctlBuf[0] == want
	}
}

// rawChild is the jail's PID 1 from the clone on. It never returns.
//
//go:nosplit
//go:norace
//go:nocheckptr
func rawChild(p *rawProg) {
	// Move the fds the jail gets to their numbers (as forkAndExecInChild
	// does): first every source below its target out of the way, then
	// dup3 each one onto its target; then close everything else the
	// parent had open (other runs' pipes included).
	n := len(p.fds)
	for t := range p.fds {
		if s := p.fds[t].src; s >= 0 && int(s) < t {
			r, e := rawSys(unix.SYS_FCNTL, uintptr(s), unix.F_DUPFD_CLOEXEC, uintptr(p.fdNext), 0, 0, 0)
			if e != 0 {
				rawExit(125)
			}
			p.fds[t].src = int32(r)
		}
	}
	for t := range p.fds {
		s := p.fds[t].src
		var e uintptr
		switch {
		case s < 0:
			rawSys(unix.SYS_CLOSE, uintptr(t), 0, 0, 0, 0, 0)
		case int(s) == t:
			_, e = rawSys(unix.SYS_FCNTL, uintptr(t), unix.F_SETFD, uintptr(p.fds[t].cloexec), 0, 0, 0)
		default:
			fl := uintptr(0)
			if p.fds[t].cloexec != 0 {
				fl = unix.O_CLOEXEC
			}
			_, e = rawSys(unix.SYS_DUP3, uintptr(s), uintptr(t), fl, 0, 0, 0)
		}
		if e != 0 {
			rawExit(125)
		}
	}
	rawSys(unix.SYS_CLOSE_RANGE, uintptr(n), ^uintptr(0)>>32, 0, 0, 0, 0)

	// The jail dies with the parent's thread. The parent may be gone
	// already: then the reads below see EOF (we hold no write end).
	rawSys(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0, 0)
	rep := uintptr(p.repFD)
	// While the parent writes the id maps: the host trees.
	if i := p.run(0, p.preEnd); i >= 0 {
		p.report(rep, recError, int64(i), int64(p.errno), 0)
		rawExit(1)
	}
	// 'g': the id maps are written. The identity, then the command's
	// process at once: it waits on the go pipe while the parent puts it
	// in the run's cgroups (PID 1 itself stays in pycage's) and PID 1
	// builds the jail.
	if !p.waitCtl('g') {
		rawExit(1)
	}
	p.tReady = p.now()
	if i := p.run(p.preEnd, p.identEnd); i >= 0 {
		p.report(rep, recError, int64(i), int64(p.errno), 0)
		rawExit(1)
	}
	var pid, e uintptr
	if p.vm {
		pid, e = cloneVMCommand(&p.cmdArgs, unsafeSizeofCloneArgs, p)
	} else {
		pid, e = rawSys(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if e == 0 && pid == 0 {
			rawCommand(p)
		}
	}
	if e != 0 {
		p.report(rep, recError, int64(p.forkOp), int64(e), 0)
		rawExit(1)
	}
	p.cmdPid = int32(pid)
	p.run(p.identEnd, p.forkedEnd) // errors do not matter
	p.report(rep, recForked, 0, 0, int64(pid))
	if i := p.run(p.forkedEnd, p.setupEnd); i >= 0 {
		p.report(rep, recError, int64(i), int64(p.errno), 0)
		rawExit(1) // the command's process dies with the pid namespace
	}
	p.tSetup = p.now()
	// 'c': the command's process is in the run's cgroups. Let it go.
	if !p.waitCtl('c') {
		rawExit(1)
	}
	goW := uintptr(p.slot(p.slotGoW))
	rawSys(unix.SYS_WRITE, goW, p.ctlBufAddr, 1, 0, 0, 0)
	rawSys(unix.SYS_CLOSE, goW, 0, 0, 0, 0, 0)
	// EOF on the exec pipe: the execve succeeded. A record: it failed.
	execR := uintptr(p.slot(p.slotExecR))
	for {
		r, e := rawSys(unix.SYS_READ, execR, p.rec2Addr, rawRecSize, 0, 0, 0)
		if e == uintptr(unix.EINTR) {
			continue
		}
		if e == 0 && r == rawRecSize && (p.rec2.Kind == recTiming || p.rec2.Kind == recReady) {
			syscall.RawSyscall6(unix.SYS_WRITE, rep, p.rec2Addr, rawRecSize, 0, 0, 0)
			continue
		}
		if e == 0 && r == rawRecSize {
			syscall.RawSyscall6(unix.SYS_WRITE, rep, p.rec2Addr, rawRecSize, 0, 0, 0)
			syscall.RawSyscall6(unix.SYS_WAIT4, pid, 0, 0, 0, 0, 0)
			rawExit(1)
		}
		break
	}
	p.run(p.setupEnd, p.postEnd) // PID 1 drops its capabilities
	rawSys(unix.SYS_CLOSE, execR, 0, 0, 0, 0, 0)
	p.report(rep, recStarted, 0, 0, 0)
	rawReap(p)
}

// rawCommand is the command's process from its fork to execve: its section
// of the program ends with the exec op, which returns only on failure. With
// the CLONE_VM variant it shares PID 1's memory: it writes only what PID 1
// does not use meanwhile (PID 1 waits on the exec pipe): rec, cmdT, goBuf,
// cmdStat and the Landlock rules' attrs in the arena (its own ops').
//
//go:nosplit
//go:norace
//go:nocheckptr
func rawCommand(p *rawProg) {
	// Wait for PID 1: the jail is built, we are in the run's cgroups.
	// EOF: PID 1 failed (and we die with the pid namespace).
	rawSys(unix.SYS_CLOSE, uintptr(p.slot(p.slotGoW)), 0, 0, 0, 0, 0)
	for {
		r, e := rawSys(unix.SYS_READ, uintptr(p.slot(p.slotGoR)), p.goBufAddr, 1, 0, 0, 0)
		if e == uintptr(unix.EINTR) {
			continue
		}
		if e != 0 || r != 1 {
			rawExit(125)
		}
		break
	}
	var i int
	w := uintptr(p.slot(p.slotExecW))
	if p.trace {
		p.cmdT1 = p.now()
		i = p.run(p.postEnd, len(p.ops)-1)
		if i < 0 {
			p.cmdT2 = p.now()
			p.reportT(w, recTiming, 0, 0, 0, p.cmdT1, p.cmdT2)
			i = p.run(len(p.ops)-1, len(p.ops))
		}
	} else {
		i = p.run(p.postEnd, len(p.ops))
	}
	p.reportT(w, recError, int64(i), int64(p.errno), int64(p.execIdx), 0, 0)
	rawExit(125)
}

// rawReap is PID 1 while the command runs: it reaps every process,
// relays the signals the parent asks for (ctl pipe) and those sent to it
// from outside the jail, and when the command exits kills what is left and
// reports the command's wait status.
//
//go:nosplit
//go:norace
//go:nocheckptr
func rawReap(p *rawProg) {
	ctl := uintptr(p.ctlFD)
	sfd := uintptr(p.slot(p.slotSigFD))
	p.pfd[0] = pollFd{fd: p.ctlFD, events: unix.POLLIN}
	p.pfd[1] = pollFd{fd: int32(sfd), events: unix.POLLIN}
	cmd := uintptr(p.cmdPid)
	status := int64(-1)
	for status < 0 {
		p.pfd[0].revents, p.pfd[1].revents = 0, 0
		if _, e := rawSys(unix.SYS_PPOLL, p.pfdAddr, 2, 0, 0, 0, 0); e != 0 {
			continue // EINTR cannot happen (all signals blocked); retry anyway
		}
		if p.pfd[1].revents != 0 {
			r, e := rawSys(unix.SYS_READ, sfd, p.sigBufAddr, uintptr(len(p.sigBuf))*128, 0, 0, 0)
			if e == 0 {
				for k := 0; k < int(r/128) && k < len(p.sigBuf); k++ {
					sig := p.sigBuf[k][0]
					code := int32(p.sigBuf[k][2])
					from := p.sigBuf[k][3]
					// A signal sent by a process outside the jail
					// (its pid is 0 in our namespace) is passed on;
					// one from inside the jail is dropped.
					if sig != uint32(unix.SIGCHLD) && code <= 0 && from == 0 {
						rawSys(unix.SYS_KILL, cmd, uintptr(sig), 0, 0, 0, 0)
					}
				}
			}
			for {
				pid, e := rawSys(unix.SYS_WAIT4, ^uintptr(0), p.wsAddr, unix.WNOHANG, 0, 0, 0)
				if e == uintptr(unix.EINTR) {
					continue
				}
				if e != 0 || pid == 0 {
					break
				}
				if pid == cmd {
					status = int64(p.ws)
					rawSys(unix.SYS_KILL, ^uintptr(0), uintptr(unix.SIGKILL), 0, 0, 0, 0)
				}
			}
		}
		if p.pfd[0].revents != 0 {
			r, e := rawSys(unix.SYS_READ, ctl, p.ctlBufAddr, uintptr(len(p.ctlBuf)), 0, 0, 0)
			if e == uintptr(unix.EINTR) || e == uintptr(unix.EAGAIN) {
				continue
			}
			if e != 0 || r == 0 {
				// The parent is gone or done with us: end the run.
				rawSys(unix.SYS_KILL, ^uintptr(0), uintptr(unix.SIGKILL), 0, 0, 0, 0)
				p.pfd[0].fd = -1
				continue
			}
			for k := 0; k+1 < int(r); k += 2 {
				switch p.ctlBuf[k] {
				case 'k':
					rawSys(unix.SYS_KILL, ^uintptr(0), uintptr(unix.SIGKILL), 0, 0, 0, 0)
				case 's':
					rawSys(unix.SYS_KILL, cmd, uintptr(p.ctlBuf[k+1]), 0, 0, 0, 0)
				}
			}
		}
	}
	// Nothing of the run may outlive the command.
	rawSys(unix.SYS_KILL, ^uintptr(0), uintptr(unix.SIGKILL), 0, 0, 0, 0)
	for {
		_, e := rawSys(unix.SYS_WAIT4, ^uintptr(0), 0, 0, 0, 0, 0)
		if e != 0 && e != uintptr(unix.EINTR) {
			break // ECHILD
		}
	}
	p.report(uintptr(p.repFD), recExit, 0, 0, status)
	if p.prepared && p.pfd[0].fd >= 0 {
		// A prepared jail's parent answers at this record; our exit
		// (the jail's mounts and namespaces are torn down with it) waits
		// for its word (any byte on ctl, or EOF), after the answer.
		p.pfd[0].revents = 0
		for {
			_, e := rawSys(unix.SYS_PPOLL, p.pfdAddr, 1, 0, 0, 0, 0)
			if e == 0 {
				break
			}
		}
		rawSys(unix.SYS_READ, ctl, p.ctlBufAddr, 1, 0, 0, 0)
	}
	rawExit(0)
}

// rawClone blocks every signal on the calling (locked) thread, clones the
// jail's PID 1 with clone3 and restores the signal mask in the parent. The
// child runs rawChild and never returns from here. With p.vm, the child
// shares the parent's memory (CLONE_VM) and runs on its own stack.
//
//go:nosplit
//go:norace
//go:nocheckptr
func rawClone(p *rawProg) (uintptr, uintptr) {
	rawSys(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, p.allSigsAddr, p.oldMaskAddr, 8, 0, 0)
	var pid, e uintptr
	if p.vm {
		pid, e = cloneVMInit(&p.cargs, unsafeSizeofCloneArgs, p)
	} else {
		pid, e = rawSys(unix.SYS_CLONE3, p.cloneArgsAddr, unsafeSizeofCloneArgs, 0, 0, 0, 0)
		if e == 0 && pid == 0 {
			rawChild(p)
			rawExit(125)
		}
	}
	rawSys(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, p.oldMaskAddr, 0, 8, 0, 0)
	return pid, e
}
