package seccomp

import (
	"testing"

	"golang.org/x/net/bpf"
)

// data is a synthetic struct seccomp_data.
type data struct {
	nr   uint32
	arch uint32
	args [6]uint64
}

// bytes lays out seccomp_data for x/net/bpf's VM (seccompData).
func (d data) bytes() []byte { return seccompData(d.nr, d.arch, d.args) }

func newVM(t testing.TB, f *Filter) *bpf.VM {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	insns := make([]bpf.Instruction, len(f.Insns))
	for i, in := range f.Insns {
		insns[i] = bpf.RawInstruction{Op: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}.Disassemble()
	}
	vm, err := bpf.NewVM(insns)
	if err != nil {
		t.Fatalf("x/net/bpf refuses the filter: %v\n%s", err, f.Disassemble())
	}
	return vm
}

func runVM(t testing.TB, vm *bpf.VM, d data) uint32 {
	t.Helper()
	out, err := vm.Run(d.bytes())
	if err != nil {
		t.Fatal(err)
	}
	return uint32(out)
}

func mustCompile(t testing.TB, arch Arch, src string) *Filter {
	t.Helper()
	f, err := CompileArch("test.kafel", src, arch, Options{})
	if err != nil {
		t.Fatalf("compile: %v\npolicy:\n%s", err, src)
	}
	return f
}

func nr(t testing.TB, arch Arch, name string) uint32 {
	t.Helper()
	n, ok := SyscallNumber(arch, name)
	if !ok {
		t.Fatalf("no syscall %s on %s", name, arch)
	}
	return n
}
