// The ELF entry point of pycage when it is linked with
// -ldflags=-E=main.fastEntry (README.md): the raw client of `pycage run`
// through a daemon (fastclient_amd64.go) runs first, before the Go runtime
// exists; it either exits the process itself or returns, and then the
// process goes on exactly as if it had started at the runtime's own entry.

#include "textflag.h"

// A fake thread-local block: Go code reached through an ABI wrapper loads g
// from -8(FS), so FS points at fastTLS+8 and g reads as 0 (the raw client
// never uses g). The runtime sets FS itself in rt0_go.
DATA ·fastTLS+0(SB)/8, $0
DATA ·fastTLS+8(SB)/8, $0
GLOBL ·fastTLS(SB), NOPTR, $16

// At entry SP points at argc, argv..., NULL, envp..., NULL, auxv (the
// kernel's initial stack). Every register but SP is scratch in Go's ABIs,
// so the initial SP is kept in the frame, at 8(SP) (fastMain's argument
// at 0(SP) is the callee's to clobber).
TEXT ·fastEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SP, R12
	MOVQ	$158, AX	// arch_prctl(ARCH_SET_FS, &fastTLS+8)
	MOVQ	$0x1002, DI
	LEAQ	·fastTLS+8(SB), SI
	SYSCALL
	ANDQ	$~15, SP
	SUBQ	$16, SP
	MOVQ	R12, 0(SP)	// fastMain(sp)
	MOVQ	R12, 8(SP)
	CALL	·fastMain(SB)
	MOVQ	8(SP), SP
	JMP	_rt0_amd64_linux(SB)	// the Go runtime's entry, with the kernel's stack as it was
