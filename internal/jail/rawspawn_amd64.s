// The CLONE_VM trampoline of the raw spawn path (rawspawn_vm_amd64.go).

#include "textflag.h"

// func cloneVM(args *cloneArgs, size uintptr, p *rawProg, fn uintptr) (pid uintptr, errno uintptr)
//
// clone3(args, size). The parent returns pid or errno. The child runs on
// the stack given in args: it shares the caller's memory, so it must not
// touch the caller's frames. It calls fn(p), the ABIInternal entry of a
// nosplit, norace Go function that never returns (rawChild, rawCommand):
// p in AX, X15 zero, and no g (R14 = 0: the child may not use the
// runtime, and must fault rather than touch the parent's goroutine). The
// call goes through a register, so the linker's nosplit check does not
// follow it as if it ran on the caller's stack. If fn returns, the child
// exits with 125.
TEXT ·cloneVM(SB),NOSPLIT|NOFRAME,$0-48
	MOVQ	args+0(FP), DI
	MOVQ	size+8(FP), SI
	MOVQ	p+16(FP), R12
	MOVQ	fn+24(FP), R13
	MOVQ	$435, AX	// SYS_clone3
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+32(FP)
	NEGQ	AX
	MOVQ	AX, errno+40(FP)
	RET
ok:
	MOVQ	AX, pid+32(FP)
	MOVQ	$0, errno+40(FP)
	RET
child:
	ANDQ	$~15, SP
	SUBQ	$16, SP	// the callee's spill slot for p
	MOVQ	R12, AX
	XORQ	R14, R14
	XORPS	X15, X15
	CALL	R13
exit:
	MOVL	$125, DI
	MOVL	$231, AX	// SYS_exit_group
	SYSCALL
	JMP	exit
