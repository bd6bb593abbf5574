// Package seccomp compiles syscall policies into seccomp BPF filters and
// installs them.
//
// Policies are written in a subset of kafel, the language of nsjail's
// seccomp_string / seccomp_policy_file: #define, POLICY name { ... },
// USE name, DEFAULT action, action blocks (ALLOW, LOG, ERRNO(n), KILL,
// KILL_PROCESS, KILL_THREAD, TRAP(n)) over syscall names or SYSCALL[n],
// and argument conditions with == != < <= > >= & | && || ! and commas
// (a low-precedence ||). The first matching rule wins; DEFAULT applies
// when none matches (KILL when a policy gives none, as in kafel).
// Deviations from kafel, all documented where they are implemented:
// KILL kills the whole process (kafel: the thread); named constants
// (AF_INET, CLONE_NEWUSER, TIOCSTI, EPERM, ...) are built in; a syscall
// that exists only on another supported architecture is skipped instead of
// rejected; TRACE and USER_NOTIF are refused (pycage runs no tracer or
// supervisor); "# text" lines are comments; #include is not supported.
//
// Why pycage has its own compiler: elastic/go-seccomp-bpf (pure Go) only
// expresses lists of syscall names with simple per-argument checks, not
// kafel's boolean expressions (||, !, <, masked comparisons, argument
// against argument), and seccomp/libseccomp-golang needs cgo and the C
// libseccomp, while pycage is one static CGO_ENABLED=0 binary. So the
// compiler here resolves a policy to ordered per-syscall rules and emits
// classic BPF itself; golang.org/x/net/bpf is the assembler (instruction
// encodings), the disassembler and, in the tests, the virtual machine that
// runs filters on synthetic seccomp_data.
//
// The generated filter first checks seccomp_data.arch against the native
// architecture and kills the process on a mismatch (i386 int 0x80 on
// x86_64) or on an x32 syscall number, then finds the syscall's decision
// with a binary search over ranges of syscall numbers (neighbouring
// syscalls with the same unconditional action share one range): the
// default ~330-syscall allowlist compiles to about 115 instructions and
// decides a syscall in about ten. Conditional jumps farther than 255
// instructions go through "ja" trampolines, so large policies work up to
// the kernel's 4096-instruction limit. Argument checks compare 64-bit values word by word
// (high, then low), and only the low word of arguments the kernel reads as
// 32-bit values.
//
// Syscall numbers come from golang.org/x/sys/unix (see mksysnum.go and
// zsysnum.go) for amd64 and arm64.
package seccomp
