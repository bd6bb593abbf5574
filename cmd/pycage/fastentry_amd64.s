// The ELF entry point of pycage when it is linked with
// -ldflags=-E=main.fastEntry (README.md): the raw client of `pycage run`
// through a daemon (fastclient_amd64.go) runs first, before the Go runtime
// exists; it either exits the process itself or returns, and then the
// process goes on exactly as if it had started at the runtime's own entry.

#include "textflag.h"

// A fake thread-local block: Go code reached through an ABI wrapper loads g
// from -8(FS), so FS points at fastData.tls+8 (fastData's first field,
// in the page that also holds the client's strings) and g reads as 0 (the
// raw client never uses g). The runtime sets FS itself in rt0_go.

// At entry SP points at argc, argv..., NULL, envp..., NULL, auxv (the
// kernel's initial stack). Every register but SP is scratch in Go's ABIs,
// so the initial SP is kept in the frame, at 8(SP) (fastMain's argument
// at 0(SP) is the callee's to clobber).
TEXT ·fastEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SP, R12
	MOVQ	$158, AX	// arch_prctl(ARCH_SET_FS, &fastData.tls+8)
	MOVQ	$0x1002, DI
	LEAQ	·fastData+8(SB), SI
	SYSCALL
	ANDQ	$~15, SP
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)	// fastMain(sp)
	MOVQ	R12, 8(SP)
	CALL	·fastMain(SB)
	MOVQ	8(SP), SP
	JMP	_rt0_amd64_linux(SB)	// the Go runtime's entry, with the kernel's stack as it was

// func fastSyscall6(nr, a0, a1, a2, a3, a4, a5 uintptr) (r, errno uintptr)
//
// The raw client's syscall: syscall.RawSyscall6 does the same, but its code
// and internal/runtime/syscall's sit on two more pages of the binary, each
// a page fault (~20 us on this VM) in every run of the client; this one
// sits next to fastEntry.
TEXT ·fastSyscall6(SB),NOSPLIT,$0-72
	MOVQ	nr+0(FP), AX
	MOVQ	a0+8(FP), DI
	MOVQ	a1+16(FP), SI
	MOVQ	a2+24(FP), DX
	MOVQ	a3+32(FP), R10
	MOVQ	a4+40(FP), R8
	MOVQ	a5+48(FP), R9
	SYSCALL
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	NEGQ	AX
	MOVQ	AX, errno+64(FP)
	MOVQ	$-1, r+56(FP)
	RET
ok:
	MOVQ	AX, r+56(FP)
	MOVQ	$0, errno+64(FP)
	RET
