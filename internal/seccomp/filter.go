package seccomp

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Options change how a policy is compiled and installed.
type Options struct {
	// Log makes the kernel log every syscall the filter does not allow:
	// the filter is installed with SECCOMP_FILTER_FLAG_LOG, so refusals
	// (ERRNO, TRAP) are logged like kills and LOG rules always are. The
	// refusals themselves stay in force: Log never turns a deny into
	// SECCOMP_RET_LOG (allow and log), which would disable the sandbox.
	Log bool
}

// Insn is one classic BPF instruction (struct sock_filter).
type Insn struct {
	Code uint16 `json:"code"`
	Jt   uint8  `json:"jt"`
	Jf   uint8  `json:"jf"`
	K    uint32 `json:"k"`
}

// Filter is a compiled seccomp filter. It is plain data so that it can
// travel to the jail as JSON.
type Filter struct {
	Insns []Insn `json:"insns"`
	// Flags are the SECCOMP_FILTER_FLAG_* passed to seccomp(2).
	Flags uint `json:"flags"`
}

// Compile compiles a kafel policy for the native architecture. An empty
// text compiles pycage's default Python policy (DefaultPolicy), cached
// per process. name is the policy's source in error messages, which read
// "name:line:col: message".
func Compile(name, text string, opt Options) (*Filter, error) {
	arch := NativeArch()
	if arch == "" {
		return nil, fmt.Errorf("seccomp: no filter support for this architecture")
	}
	if text == "" {
		return compileDefault(arch, opt)
	}
	return CompileArch(name, text, arch, opt)
}

// CompileArch compiles a kafel policy for arch.
func CompileArch(name, text string, arch Arch, opt Options) (*Filter, error) {
	if name == "" {
		name = "policy"
	}
	ai, err := lookupArch(arch)
	if err != nil {
		return nil, err
	}
	prog, err := parse(name, text, arch)
	if err != nil {
		return nil, err
	}
	raw, err := generate(prog, ai)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f := &Filter{Insns: make([]Insn, len(raw))}
	for i, r := range raw {
		f.Insns[i] = Insn{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	if opt.Log {
		f.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
	}
	return f, nil
}

type defaultKey struct {
	arch Arch
	opt  Options
}

var (
	defaultMu    sync.Mutex
	defaultCache = map[defaultKey]*Filter{}
)

func compileDefault(arch Arch, opt Options) (*Filter, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	k := defaultKey{arch, opt}
	if f := defaultCache[k]; f != nil {
		c := *f // the Insns are shared: callers must not modify them
		return &c, nil
	}
	f := precompiled(arch, opt)
	if f == nil {
		var err error
		f, err = CompileArch(DefaultPolicyName, DefaultPolicy(), arch, opt)
		if err != nil {
			return nil, err
		}
	}
	defaultCache[k] = f
	c := *f
	return &c, nil
}

// Validate checks the structural rules the kernel enforces, so that a
// filter received as JSON fails with a clear error before it is installed.
func (f *Filter) Validate() error {
	n := len(f.Insns)
	if n == 0 {
		return errors.New("seccomp: empty filter")
	}
	if n > maxInsns {
		return fmt.Errorf("seccomp: filter has %d instructions (limit %d)", n, maxInsns)
	}
	for i, ins := range f.Insns {
		switch ins.Code & 0x07 {
		case 0x05: // BPF_JMP
			if ins.Code&0xf0 == 0x00 { // BPF_JA
				if uint64(i)+1+uint64(ins.K) >= uint64(n) {
					return fmt.Errorf("seccomp: instruction %d jumps out of the filter", i)
				}
			} else if i+1+int(max(ins.Jt, ins.Jf)) >= n {
				return fmt.Errorf("seccomp: instruction %d jumps out of the filter", i)
			}
		}
	}
	if f.Insns[n-1].Code&0x07 != 0x06 { // BPF_RET
		return errors.New("seccomp: the filter does not end with a return")
	}
	if f.Flags&^uint(unix.SECCOMP_FILTER_FLAG_LOG|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW) != 0 {
		return fmt.Errorf("seccomp: unsupported filter flags %#x", f.Flags)
	}
	return nil
}

// Prepare builds the kernel's sock_fprog for f. It allocates, so call it
// before the point where the caller may no longer allocate; the returned
// program keeps its instructions alive.
func (f *Filter) Prepare() *unix.SockFprog {
	ins := make([]unix.SockFilter, len(f.Insns))
	for i, in := range f.Insns {
		ins[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	p := &unix.SockFprog{Len: uint16(len(ins))}
	if len(ins) > 0 {
		p.Filter = &ins[0]
	}
	return p
}

// InstallPrepared loads a prepared filter for the calling thread with
// seccomp(SECCOMP_SET_MODE_FILTER, flags, p): one raw syscall, no
// allocation, safe right before execve. The caller must have set
// no_new_privs (or hold CAP_SYS_ADMIN). It returns 0 on success.
//
// The filter applies to the calling thread only, which is what execve
// hands on to the new program; the caller must hold its OS thread locked
// from here to execve. Between the two, the Go runtime may still deliver a
// preemption signal to the thread, whose handler returns through
// rt_sigreturn: run that stage with GODEBUG=asyncpreemptoff=1, or use
// policies that allow rt_sigreturn (the default one does). The policy
// must allow execve itself, as with nsjail.
func InstallPrepared(p *unix.SockFprog, flags uint) syscall.Errno {
	_, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(p)))
	return e
}

// Install validates, prepares and installs f for the calling thread (a
// convenience for callers that may allocate).
func (f *Filter) Install() error {
	if err := f.Validate(); err != nil {
		return err
	}
	if e := InstallPrepared(f.Prepare(), f.Flags); e != 0 {
		return fmt.Errorf("seccomp(SECCOMP_SET_MODE_FILTER): %w", e)
	}
	return nil
}

// Disassemble renders the filter one instruction a line, with absolute
// jump targets and actions in kafel notation, for debugging.
func (f *Filter) Disassemble() string {
	var sb strings.Builder
	for i, in := range f.Insns {
		ins := bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble()
		var text string
		switch ins := ins.(type) {
		case bpf.RetConstant:
			text = "ret " + actionString(ins.Val)
		case bpf.Jump:
			text = fmt.Sprintf("ja %d", i+1+int(ins.Skip))
		case bpf.JumpIf:
			text = fmt.Sprintf("%s #%#x, %d, %d", jumpName(ins.Cond), ins.Val, i+1+int(ins.SkipTrue), i+1+int(ins.SkipFalse))
		case bpf.JumpIfX:
			text = fmt.Sprintf("%s x, %d, %d", jumpName(ins.Cond), i+1+int(ins.SkipTrue), i+1+int(ins.SkipFalse))
		case bpf.LoadAbsolute:
			text = fmt.Sprintf("ld [%d]", ins.Off)
		case fmt.Stringer:
			text = ins.String()
		default:
			text = fmt.Sprintf("%#v", ins)
		}
		fmt.Fprintf(&sb, "%4d: %s\n", i, text)
	}
	return sb.String()
}

func jumpName(c bpf.JumpTest) string {
	switch c {
	case bpf.JumpEqual:
		return "jeq"
	case bpf.JumpNotEqual:
		return "jne"
	case bpf.JumpGreaterThan:
		return "jgt"
	case bpf.JumpLessThan:
		return "jlt"
	case bpf.JumpGreaterOrEqual:
		return "jge"
	case bpf.JumpLessOrEqual:
		return "jle"
	case bpf.JumpBitsSet:
		return "jset"
	case bpf.JumpBitsNotSet:
		return "jnset"
	}
	return fmt.Sprintf("j?%d", c)
}
