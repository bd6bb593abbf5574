package seccomp

import (
	"encoding/binary"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// RetAllow is the action of an allowed syscall (SECCOMP_RET_ALLOW).
const RetAllow = unix.SECCOMP_RET_ALLOW

// Evaluator returns a function that runs the filter on one syscall of
// arch with args (the instruction pointer 0), as the kernel would, in
// golang.org/x/net/bpf's VM, and returns the action with its data
// (SECCOMP_RET_*).
func (f *Filter) Evaluator(arch Arch) (func(nr uint32, args [6]uint64) (uint32, error), error) {
	ai, err := lookupArch(arch)
	if err != nil {
		return nil, err
	}
	if err := f.Validate(); err != nil {
		return nil, err
	}
	insns := make([]bpf.Instruction, len(f.Insns))
	for i, in := range f.Insns {
		insns[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		return nil, err
	}
	return func(nr uint32, args [6]uint64) (uint32, error) {
		out, err := vm.Run(seccompData(nr, ai.audit, args))
		return uint32(out), err
	}, nil
}

// seccompData lays out struct seccomp_data for x/net/bpf's VM, which loads
// words big-endian (network order): each 32-bit field is stored big-endian
// so the VM reads the value the kernel reads natively.
func seccompData(nr, arch uint32, args [6]uint64) []byte {
	b := make([]byte, 64)
	binary.BigEndian.PutUint32(b[0:], nr)
	binary.BigEndian.PutUint32(b[4:], arch)
	for i, a := range args {
		binary.BigEndian.PutUint32(b[16+8*i:], uint32(a))
		binary.BigEndian.PutUint32(b[20+8*i:], uint32(a>>32))
	}
	return b
}
