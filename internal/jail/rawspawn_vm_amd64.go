package jail

import "unsafe"

// haveCloneVM: this architecture has the CLONE_VM trampoline.
const haveCloneVM = true

// cloneVM is in rawspawn_amd64.s: clone3 with a child on its own stack
// running fn(p), fn being the ABIInternal entry of rawChild or rawCommand.
//
//go:noescape
func cloneVM(args *cloneArgs, size uintptr, p *rawProg, fn uintptr) (pid uintptr, errno uintptr)

// funcEntry is the code address of a Go function value: its ABIInternal
// entry, not an ABI0 wrapper (which the race detector instruments).
func funcEntry(f func(*rawProg)) uintptr { return **(**uintptr)(unsafe.Pointer(&f)) }

var (
	rawChildEntry   = funcEntry(rawChild)
	rawCommandEntry = funcEntry(rawCommand)
)

//go:nosplit
//go:norace
func cloneVMInit(args *cloneArgs, size uintptr, p *rawProg) (uintptr, uintptr) {
	return cloneVM(args, size, p, p.childEntry)
}

//go:nosplit
//go:norace
func cloneVMCommand(args *cloneArgs, size uintptr, p *rawProg) (uintptr, uintptr) {
	return cloneVM(args, size, p, p.commandEntry)
}
