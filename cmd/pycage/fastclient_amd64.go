package main

// The raw client of `pycage run` through a daemon (docs/daemon.md, protocol
// v2): with PYCAGE_DAEMON set, the client side of a run is all pycage does,
// and a Go program's start alone (the runtime, every package init) costs
// more than the 4 ms a run through a daemon may add. So when pycage is
// linked with -ldflags=-E=main.fastEntry (README.md), the process starts
// in fastEntry (fastentry_amd64.s), which calls fastMain on the kernel's
// initial stack before the Go runtime exists. fastMain either does the
// whole run (send the request, relay signals, exit with the daemon's
// code) and never returns, or returns at once and the process
// starts the Go runtime as if nothing had happened: not `pycage run`, no
// PYCAGE_DAEMON, an nsjail config, or any failure before the request is
// sent (the Go client, runcmd's client.go, then redoes the same and prints
// its error). It must behave exactly as the Go client does: same request
// bytes (the arguments after "run", os.Environ()'s environment), same fds,
// same messages and exit codes (TestFastClient* in fastclient_test.go).
//
// There is no runtime, so the discipline is rawspawn_child.go's, stricter:
// every function is //go:nosplit (the linker checks the chain fits the
// stack guard; the kernel's stack is much larger), //go:norace and
// //go:nocheckptr; only fastSyscall6 (fastentry_amd64.s) enters the
// kernel; nothing allocates; nothing stores a pointer into memory other
// than the stack (all state is uintptr and bytes in the static fc); no
// index can be out of range (a bounds check's panic would call into the
// runtime: g is nil here).
// TestFastClientNoRuntimeCalls checks the machine code for calls.

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fastEntry is the ELF entry point (fastentry_amd64.s).
func fastEntry()

const (
	fastMaxRequest = 196608 // wire.MaxRequest
	fastSndBuf     = 262144 // wire.SndBuf
	fastHeader     = 12     // "PCR2" argc envc
	fastNumFDs     = 5      // stdin, stdout, stderr, cwd, the reply socket
	// fastMaxEnv bounds the environment the raw client dedups (quadratic,
	// see fastDupKey); a larger one goes to the Go client.
	fastMaxEnv = 1024
	fastRecv   = 16 // the Go client's receive buffer: longer messages are errors
	exitSetup  = 125
	// fastAtFDCWD is AT_FDCWD (-100) as a syscall argument.
	fastAtFDCWD = ^uintptr(99)
)

type fastMsghdr struct {
	name       uint64
	namelen    uint32
	_          uint32
	iov        uint64
	iovlen     uint64
	control    uint64
	controllen uint64
	flags      int32
	_          int32
}

// fastCmsg is one SCM_RIGHTS control message of fastNumFDs fds: len is
// CMSG_LEN (36), the message's buffer CMSG_SPACE (40, fastCmsgSpace).
type fastCmsg struct {
	len   uint64
	level int32
	typ   int32
	fds   [fastNumFDs]int32
	_     int32
}

const (
	fastCmsgLen   = 16 + 4*fastNumFDs
	fastCmsgSpace = 16 + (4*fastNumFDs+7)&^7
)

type fastPollfd struct {
	fd      int32
	events  int16
	revents int16
}

// fc is all of the raw client's memory (bss: only the pages used are ever
// touched, each a page fault). The small fields come first and the
// request's buffer after them: a usual run touches one or two pages.
var fc struct {
	rbuf    [fastRecv]byte
	sig     [2]byte
	si      [128]byte // struct signalfd_siginfo
	addr    [2 + 108]byte
	iov     [2]uint64
	riov    [2]uint64
	hdr     fastMsghdr
	rhdr    fastMsghdr
	cmsg    fastCmsg
	pair    [2]int32
	pfd     [2]fastPollfd
	mask    uint64
	oldMask uint64
	sndbuf  int32
	addrlen uintptr
	sockLen int // of the socket's path, in fc.addr
	// fd is the client's end of the reply socket pair (signals out, the
	// exit message in), reply the daemon's end, dg the datagram socket
	// the request leaves on; ^0: not open.
	fd, reply uintptr
	dg, sfd   uintptr
	cwd       uintptr
	requestN  int
	msg       [fastMaxRequest]byte
	out       [1024]byte // an error line
}

// fastData is the fake thread-local block of fastEntry (tls, first) and
// the C strings of the raw client's usual path, in one symbol of the data
// segment: as Go string constants (or composite literals' templates) they
// would be in rodata, on other pages of the binary, each a page fault in
// every run (~20 us here). Error messages stay string constants.
var fastData = struct {
	tls                  [2]uint64
	run                  [4]byte
	daemonEnv            [15]byte
	dashDash, dashC, dot [3]byte
	config               [9]byte
	configEq, devNull    [10]byte
}{
	run:       [4]byte{'r', 'u', 'n', 0},
	daemonEnv: [15]byte{'P', 'Y', 'C', 'A', 'G', 'E', '_', 'D', 'A', 'E', 'M', 'O', 'N', '=', 0},
	dashDash:  [3]byte{'-', '-', 0},
	dashC:     [3]byte{'-', 'C', 0},
	dot:       [3]byte{'.', 0, 0},
	config:    [9]byte{'-', '-', 'c', 'o', 'n', 'f', 'i', 'g', 0},
	configEq:  [10]byte{'-', '-', 'c', 'o', 'n', 'f', 'i', 'g', '=', 0},
	devNull:   [10]byte{'/', 'd', 'e', 'v', '/', 'n', 'u', 'l', 'l', 0},
}

// fastSyscall6 is in fastentry_amd64.s.
func fastSyscall6(nr, a0, a1, a2, a3, a4, a5 uintptr) (r, errno uintptr)

//go:nosplit
//go:norace
func fastSys(nr, a0, a1, a2, a3, a4, a5 uintptr) (uintptr, syscall.Errno) {
	r, e := fastSyscall6(nr, a0, a1, a2, a3, a4, a5)
	return r, syscall.Errno(e)
}

//go:nosplit
//go:norace
func fastExit(code uintptr) {
	for {
		fastSyscall6(unix.SYS_EXIT_GROUP, code, 0, 0, 0, 0, 0)
	}
}

// fastArg is the i-th pointer of the NULL-terminated vector v.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastArg(v unsafe.Pointer, i int) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Add(v, 8*i))
}

//go:nosplit
//go:norace
//go:nocheckptr
func fastByte(p unsafe.Pointer, i int) byte {
	return *(*byte)(unsafe.Add(p, i))
}

// fastHasPrefix: the C string p starts with the C string s.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastHasPrefix(p unsafe.Pointer, s *byte) bool {
	q := unsafe.Pointer(s)
	for i := 0; fastByte(q, i) != 0; i++ {
		if fastByte(p, i) != fastByte(q, i) {
			return false
		}
	}
	return true
}

// fastIs: the C string p is the C string s.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastIs(p unsafe.Pointer, s *byte) bool {
	q := unsafe.Pointer(s)
	for i := 0; ; i++ {
		c := fastByte(q, i)
		if fastByte(p, i) != c {
			return false
		}
		if c == 0 {
			return true
		}
	}
}

// fastMain is called by fastEntry with sp at argc, argv..., NULL, envp...,
// NULL. It returns only when the Go runtime is to start.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastMain(sp unsafe.Pointer) {
	argc := *(*int)(sp)
	argv := unsafe.Add(sp, 8)
	if argc < 2 || !fastIs(fastArg(argv, 1), &fastData.run[0]) {
		return
	}
	envp := unsafe.Add(argv, 8*(argc+1))
	// os.Getenv: the first PYCAGE_DAEMON= wins; unset or empty is a cold run.
	var sock unsafe.Pointer
	for i := 0; fastArg(envp, i) != nil; i++ {
		if e := fastArg(envp, i); fastHasPrefix(e, &fastData.daemonEnv[0]) {
			sock = unsafe.Add(e, len(fastData.daemonEnv)-1)
			break
		}
	}
	if sock == nil || fastByte(sock, 0) == 0 {
		return
	}
	// runcmd.IsNsjail: an nsjail config runs cold, in nsjail mode.
	for i := 2; i < argc; i++ {
		a := fastArg(argv, i)
		if fastIs(a, &fastData.dashDash[0]) {
			break
		}
		if fastIs(a, &fastData.config[0]) || fastIs(a, &fastData.dashC[0]) || fastHasPrefix(a, &fastData.configEq[0]) {
			return
		}
	}
	fastRun(argv, argc, envp, sock)
}

// fastCwd opens the working directory (O_PATH) as fc.cwd. It lands on the
// lowest free fd, so above 2 exactly when fds 0, 1 and 2 are all open;
// otherwise the closed ones become /dev/null first, as the Go runtime's
// checkfds does (the Go client sends those).
//
//go:nosplit
//go:norace
func fastCwd() bool {
	for try := 0; try < 2; try++ {
		r, e := fastSys(unix.SYS_OPENAT, fastAtFDCWD, uintptr(unsafe.Pointer(&fastData.dot[0])), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			return false
		}
		if r > 2 {
			fc.cwd = r
			return true
		}
		fastSys(unix.SYS_CLOSE, r, 0, 0, 0, 0, 0)
		if !fastStdFDs() {
			return false
		}
	}
	return false
}

// fastStdFDs opens /dev/null on each of fds 0, 1 and 2 that is closed.
//
//go:nosplit
//go:norace
func fastStdFDs() bool {
	for fd := uintptr(0); fd < 3; fd++ {
		if _, e := fastSys(unix.SYS_FCNTL, fd, unix.F_GETFD, 0, 0, 0, 0); e != unix.EBADF {
			continue
		}
		r, e := fastSys(unix.SYS_OPENAT, fastAtFDCWD, uintptr(unsafe.Pointer(&fastData.devNull[0])), unix.O_RDWR, 0, 0, 0)
		if e != 0 || r != fd {
			return false
		}
	}
	return true
}

// fastPut appends the C string p and its NUL to the request at n.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastPut(n int, p unsafe.Pointer) (int, bool) {
	for i := 0; ; i++ {
		if n < 0 || n >= len(fc.msg) {
			return n, false
		}
		c := fastByte(p, i)
		fc.msg[n] = c
		n++
		if c == 0 {
			return n, true
		}
	}
}

// fastDupKey: envp[i] (e) has the key of an earlier entry (os.Environ drops
// those, syscall.copyenv keeps the first).
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastDupKey(envp unsafe.Pointer, i int, e unsafe.Pointer) bool {
	k := 0
	for fastByte(e, k) != '=' {
		if fastByte(e, k) == 0 {
			return false // no key
		}
		k++
	}
	for j := 0; j < i; j++ {
		f := fastArg(envp, j)
		m := 0
		for m < k && fastByte(f, m) == fastByte(e, m) {
			m++
		}
		if m == k && fastByte(f, k) == '=' {
			return true
		}
	}
	return false
}

//go:nosplit
//go:norace
func fastPutU32(at int, v uint32) {
	if at >= 0 && at+4 <= len(fc.msg) {
		fc.msg[at] = byte(v)
		fc.msg[at+1] = byte(v >> 8)
		fc.msg[at+2] = byte(v >> 16)
		fc.msg[at+3] = byte(v >> 24)
	}
}

// fastRequest builds the request payload in fc.msg: wire.EncodeRequest of
// os.Args[2:] and os.Environ(). False: too large (or an environment of
// more than fastMaxEnv entries): the Go client's business.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastRequest(argv unsafe.Pointer, argc int, envp unsafe.Pointer) bool {
	n := fastHeader
	ok := true
	for i := 2; i < argc; i++ {
		if n, ok = fastPut(n, fastArg(argv, i)); !ok {
			return false
		}
	}
	envc := 0
	for i := 0; fastArg(envp, i) != nil; i++ {
		if i >= fastMaxEnv {
			return false
		}
		e := fastArg(envp, i)
		if fastByte(e, 0) == 0 || fastDupKey(envp, i, e) {
			continue
		}
		if n, ok = fastPut(n, e); !ok {
			return false
		}
		envc++
	}
	fc.msg[0], fc.msg[1], fc.msg[2], fc.msg[3] = 'P', 'C', 'R', '2'
	fastPutU32(4, uint32(argc-2))
	fastPutU32(8, uint32(envc))
	fc.requestN = n
	return true
}

// fastAddr fills fc.addr as unix.SockaddrUnix{Name: sock} does ('@': an
// abstract address). False: too long (the Go client's error).
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastAddr(sock unsafe.Pointer) bool {
	fc.addr[0], fc.addr[1] = unix.AF_UNIX, 0
	n := 0
	for fastByte(sock, n) != 0 {
		if n >= 107 {
			return false
		}
		fastSetAddr(2+n, fastByte(sock, n))
		n++
	}
	for i := 2 + n; i < len(fc.addr); i++ {
		fastSetAddr(i, 0)
	}
	fc.sockLen = n
	fc.addrlen = uintptr(2 + n + 1)
	if fc.addr[2] == '@' {
		fc.addr[2] = 0
		fc.addrlen--
	}
	return true
}

// fastUndo closes what fastRun opened and restores the signal mask: the Go
// runtime starts as if the raw client had not run.
//
//go:nosplit
//go:norace
func fastUndo() {
	fastClose(&fc.fd)
	fastClose(&fc.reply)
	fastClose(&fc.dg)
	fastClose(&fc.sfd)
	fastClose(&fc.cwd)
	fastSys(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&fc.oldMask)), 0, 8, 0, 0)
}

// fastClose closes *fd unless it is ^0, and sets it to ^0.
//
//go:nosplit
//go:norace
func fastClose(fd *uintptr) {
	if *fd != ^uintptr(0) {
		fastSys(unix.SYS_CLOSE, *fd, 0, 0, 0, 0, 0)
		*fd = ^uintptr(0)
	}
}

// fastRun is the client up to the request; once the request is sent it
// does not return. Protocol v2: the request is one datagram to the
// daemon's SOCK_DGRAM socket, carrying (the 5th fd) the daemon's end of a
// SOCK_SEQPACKET socket pair, the run's channel from then on. So the
// daemon wakes once, at the sendmsg, with everything it needs (a v1
// connect woke it before the request followed). Against a v1 daemon (a
// SOCK_SEQPACKET socket) the sendmsg fails (EPROTOTYPE), and the Go client
// takes over like after any other failure before the request is sent.
// SIGPIPE stays as the process got it (every send is MSG_NOSIGNAL): an
// error line to a broken stderr then kills the raw client with SIGPIPE as
// the Go runtime kills the Go client (TestFastClientBrokenStderr).
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastRun(argv unsafe.Pointer, argc int, envp unsafe.Pointer, sock unsafe.Pointer) {
	if !fastRequest(argv, argc, envp) || !fastAddr(sock) {
		return
	}
	fc.fd, fc.reply, fc.dg, fc.sfd, fc.cwd = ^uintptr(0), ^uintptr(0), ^uintptr(0), ^uintptr(0), ^uintptr(0)
	if !fastCwd() {
		return
	}
	// The signals the Go client relays, blocked from here on and read from
	// a signalfd: those that come before the run starts are relayed once
	// it does, as in the Go client (signal.Notify before the request).
	fc.mask = 1<<(unix.SIGINT-1) | 1<<(unix.SIGTERM-1) | 1<<(unix.SIGHUP-1) | 1<<(unix.SIGQUIT-1)
	if _, e := fastSys(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, uintptr(unsafe.Pointer(&fc.mask)), uintptr(unsafe.Pointer(&fc.oldMask)), 8, 0, 0); e != 0 {
		fastClose(&fc.cwd)
		return
	}
	r, e := fastSys(unix.SYS_SIGNALFD4, ^uintptr(0), uintptr(unsafe.Pointer(&fc.mask)), 8, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC, 0, 0)
	if e != 0 {
		fastUndo()
		return
	}
	fc.sfd = r
	if _, e = fastSys(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0, uintptr(unsafe.Pointer(&fc.pair)), 0, 0); e != 0 {
		fastUndo()
		return
	}
	fc.fd, fc.reply = uintptr(fc.pair[0]), uintptr(fc.pair[1])
	r, e = fastSys(unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, 0, 0, 0)
	if e != 0 {
		fastUndo()
		return
	}
	fc.dg = r
	// Field by field: a composite literal would be copied from a template
	// in rodata (another page).
	fc.cmsg.len, fc.cmsg.level, fc.cmsg.typ = fastCmsgLen, unix.SOL_SOCKET, unix.SCM_RIGHTS
	fc.cmsg.fds[0], fc.cmsg.fds[1], fc.cmsg.fds[2], fc.cmsg.fds[3], fc.cmsg.fds[4] = 0, 1, 2, int32(fc.cwd), int32(fc.reply)
	fc.iov[0], fc.iov[1] = uint64(uintptr(unsafe.Pointer(&fc.msg[0]))), uint64(fc.requestN)
	fc.hdr.name, fc.hdr.namelen = uint64(uintptr(unsafe.Pointer(&fc.addr))), uint32(fc.addrlen)
	fc.hdr.iov, fc.hdr.iovlen = uint64(uintptr(unsafe.Pointer(&fc.iov))), 1
	fc.hdr.control, fc.hdr.controllen = uint64(uintptr(unsafe.Pointer(&fc.cmsg))), fastCmsgSpace
	sndbuf := false
	for {
		_, e = fastSys(unix.SYS_SENDMSG, fc.dg, uintptr(unsafe.Pointer(&fc.hdr)), unix.MSG_NOSIGNAL, 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		// A request larger than the socket's default send buffer: the
		// buffer the Go client sets (wire.SndBuf), and again. The usual
		// request fits and costs no setsockopt.
		if e == unix.EMSGSIZE && !sndbuf {
			sndbuf = true
			fc.sndbuf = fastSndBuf
			if _, e = fastSys(unix.SYS_SETSOCKOPT, fc.dg, unix.SOL_SOCKET, unix.SO_SNDBUF, uintptr(unsafe.Pointer(&fc.sndbuf)), 4, 0); e == 0 {
				continue
			}
		}
		break
	}
	if e != 0 {
		fastUndo()
		return
	}
	// The daemon holds its own copies now. The reply end must go: the
	// daemon closing its copy (or dying) is then the end of the
	// connection here. The cwd and the datagram socket go at the exit.
	fastClose(&fc.reply)
	fastWait()
}

// fastWait relays signals and waits for the daemon's exit message.
//
//go:nosplit
//go:norace
//go:nocheckptr
func fastWait() {
	fc.riov[0], fc.riov[1] = uint64(uintptr(unsafe.Pointer(&fc.rbuf[0]))), fastRecv
	for {
		fc.pfd[0].fd, fc.pfd[0].events, fc.pfd[0].revents = int32(fc.fd), unix.POLLIN, 0
		fc.pfd[1].fd, fc.pfd[1].events, fc.pfd[1].revents = int32(fc.sfd), unix.POLLIN, 0
		if _, e := fastSys(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&fc.pfd)), 2, 0, 0, 8, 0); e != 0 {
			if e == unix.EINTR || e == unix.EAGAIN {
				continue
			}
			fastFailErrno("receive: ", e)
		}
		if fc.pfd[1].revents != 0 {
			fastRelay()
		}
		if fc.pfd[0].revents == 0 {
			continue
		}
		fc.rhdr.iov, fc.rhdr.iovlen, fc.rhdr.flags = uint64(uintptr(unsafe.Pointer(&fc.riov))), 1, 0
		n, e := fastSys(unix.SYS_RECVMSG, fc.fd, uintptr(unsafe.Pointer(&fc.rhdr)), 0, 0, 0, 0)
		switch {
		case e == unix.EINTR:
			continue
		case e != 0:
			fastFailErrno("receive: ", e)
		case n == 0:
			fastFail(fastOut(fastPrefix(), "connection lost"))
		case fc.rhdr.flags&unix.MSG_TRUNC != 0:
			fastFail(fastOut(fastPrefix(), "protocol error: a message of more than 16 bytes"))
		case n == 2 && fc.rbuf[0] == 'X':
			fastExit(uintptr(fc.rbuf[1]))
		default:
			// wire.DecodeExit's error
			o := fastOut(fastPrefix(), "protocol error: unexpected message ")
			o = fastQuote(o, int(n))
			fastFail(fastOut(o, " (want 'X' and an exit code)"))
		}
	}
}

// fastRelay sends every pending signal of the signalfd to the daemon ('S'
// signo); an error (the daemon is gone) shows in the receive.
//
//go:nosplit
//go:norace
func fastRelay() {
	for {
		n, e := fastSys(unix.SYS_READ, fc.sfd, uintptr(unsafe.Pointer(&fc.si)), uintptr(len(fc.si)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n != uintptr(len(fc.si)) {
			return
		}
		fc.sig[0], fc.sig[1] = 'S', fc.si[0] // ssi_signo, little endian
		fastSys(unix.SYS_SENDTO, fc.fd, uintptr(unsafe.Pointer(&fc.sig)), 2, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
	}
}

// fastRB is fc.rbuf[i] (0 out of range: nothing here may panic).
//
//go:nosplit
//go:norace
func fastRB(i int) byte {
	if uint(i) < uint(len(fc.rbuf)) {
		return fc.rbuf[i]
	}
	return 0
}

//go:nosplit
//go:norace
func fastAddrAt(i int) byte {
	if uint(i) < uint(len(fc.addr)) {
		return fc.addr[i]
	}
	return 0
}

//go:nosplit
//go:norace
func fastSetAddr(i int, c byte) {
	if uint(i) < uint(len(fc.addr)) {
		fc.addr[i] = c
	}
}

// fastOut appends s to the error line at o.
//
//go:nosplit
//go:norace
func fastOut(o int, s string) int {
	for i := 0; i < len(s); i++ {
		if o >= 0 && o < len(fc.out) {
			fc.out[o] = s[i]
			o++
		}
	}
	return o
}

//go:nosplit
//go:norace
func fastOutByte(o int, c byte) int {
	if o >= 0 && o < len(fc.out) {
		fc.out[o] = c
		o++
	}
	return o
}

// fastQuote appends %q of fc.rbuf[:n] (strconv.Quote: ASCII exactly;
// a valid multi-byte UTF-8 rune is copied as it is, which Go does for the
// printable ones).
//
//go:nosplit
//go:norace
func fastQuote(o, n int) int {
	const hex = "0123456789abcdef"
	o = fastOutByte(o, '"')
	for i := 0; i < n && i < len(fc.rbuf); i++ {
		c := fastRB(i)
		switch {
		case c == '"' || c == '\\':
			o = fastOutByte(fastOutByte(o, '\\'), c)
		case c >= ' ' && c < 0x7f:
			o = fastOutByte(o, c)
		case c == '\a':
			o = fastOut(o, `\a`)
		case c == '\b':
			o = fastOut(o, `\b`)
		case c == '\f':
			o = fastOut(o, `\f`)
		case c == '\n':
			o = fastOut(o, `\n`)
		case c == '\r':
			o = fastOut(o, `\r`)
		case c == '\t':
			o = fastOut(o, `\t`)
		case c == '\v':
			o = fastOut(o, `\v`)
		default:
			if w := fastRuneLen(i, n); w > 1 {
				for k := 0; k < w; k++ {
					o = fastOutByte(o, fastRB(i+k))
				}
				i += w - 1
				continue
			}
			o = fastOutByte(fastOutByte(fastOut(o, `\x`), hex[c>>4]), hex[c&15])
		}
	}
	return fastOutByte(o, '"')
}

// fastRuneLen is the length of the valid UTF-8 sequence at fc.rbuf[i:n]
// (0: none).
//
//go:nosplit
//go:norace
func fastRuneLen(i, n int) int {
	if n > len(fc.rbuf) {
		n = len(fc.rbuf)
	}
	if i < 0 || i >= n {
		return 0
	}
	c := fastRB(i)
	var w int
	var r, min uint32
	switch {
	case c&0xe0 == 0xc0:
		w, r, min = 2, uint32(c&0x1f), 0x80
	case c&0xf0 == 0xe0:
		w, r, min = 3, uint32(c&0x0f), 0x800
	case c&0xf8 == 0xf0:
		w, r, min = 4, uint32(c&0x07), 0x10000
	default:
		return 0
	}
	if i+w > n {
		return 0
	}
	for k := 1; k < w; k++ {
		d := fastRB(i + k)
		if d&0xc0 != 0x80 {
			return 0
		}
		r = r<<6 | uint32(d&0x3f)
	}
	if r < min || r > 0x10ffff || r >= 0xd800 && r < 0xe000 {
		return 0
	}
	return w
}

// fastErrno is syscall.Errno(e).Error() for the errnos a receive can
// return ("errno N" for the others; TestFastErrnoText).
//
//go:nosplit
//go:norace
func fastErrno(o int, e syscall.Errno) int {
	switch e {
	case unix.EIO:
		return fastOut(o, "input/output error")
	case unix.EBADF:
		return fastOut(o, "bad file descriptor")
	case unix.EAGAIN:
		return fastOut(o, "resource temporarily unavailable")
	case unix.ENOMEM:
		return fastOut(o, "cannot allocate memory")
	case unix.EFAULT:
		return fastOut(o, "bad address")
	case unix.EINVAL:
		return fastOut(o, "invalid argument")
	case unix.EPIPE:
		return fastOut(o, "broken pipe")
	case unix.ENOTSOCK:
		return fastOut(o, "socket operation on non-socket")
	case unix.ECONNRESET:
		return fastOut(o, "connection reset by peer")
	case unix.ENOBUFS:
		return fastOut(o, "no buffer space available")
	case unix.ENOTCONN:
		return fastOut(o, "transport endpoint is not connected")
	case unix.ETIMEDOUT:
		return fastOut(o, "connection timed out")
	case unix.ECONNREFUSED:
		return fastOut(o, "connection refused")
	}
	o = fastOut(o, "errno ")
	div := uint64(1)
	for v := uint64(e); v >= 10; v /= 10 {
		div *= 10
	}
	for ; div > 0; div /= 10 {
		o = fastOutByte(o, byte('0'+uint64(e)/div%10))
	}
	return o
}

//go:nosplit
//go:norace
func fastFailErrno(what string, e syscall.Errno) {
	fastFail(fastErrno(fastOut(fastPrefix(), what), e))
}

// fastPrefix starts the error line: "pycage run: daemon SOCK: " (the Go
// client's fail), and returns its length.
//
//go:nosplit
//go:norace
func fastPrefix() int {
	o := fastOut(0, "pycage run: daemon ")
	for i := 0; i < fc.sockLen; i++ {
		c := fastAddrAt(2 + i)
		if i == 0 && c == 0 {
			c = '@' // an abstract address (fastAddr)
		}
		o = fastOutByte(o, c)
	}
	return fastOut(o, ": ")
}

// fastFail writes the first n bytes of fc.out and a newline to stderr and
// exits 125.
//
//go:nosplit
//go:norace
func fastFail(n int) {
	n = fastOutByte(n, '\n')
	if n > len(fc.out) {
		n = len(fc.out)
	}
	for p := 0; p < n; {
		w, e := fastSys(unix.SYS_WRITE, 2, uintptr(unsafe.Pointer(&fc.out))+uintptr(p), uintptr(n-p), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || w == 0 {
			break
		}
		p += int(w)
	}
	fastExit(exitSetup)
}
