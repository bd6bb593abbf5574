//go:build linux && (arm64 || riscv64 || loong64 || ppc64le || s390x)

// Where there is no raw client (it is amd64's), the entry named by
// README.md's -ldflags=-E=main.fastEntry is the Go runtime's own.

#include "textflag.h"

TEXT ·fastEntry(SB),NOSPLIT|NOFRAME,$0
#ifdef GOARCH_arm64
	JMP	_rt0_arm64_linux(SB)
#endif
#ifdef GOARCH_riscv64
	JMP	_rt0_riscv64_linux(SB)
#endif
#ifdef GOARCH_loong64
	JMP	_rt0_loong64_linux(SB)
#endif
#ifdef GOARCH_ppc64le
	JMP	_rt0_ppc64le_linux(SB)
#endif
#ifdef GOARCH_s390x
	JMP	_rt0_s390x_linux(SB)
#endif
