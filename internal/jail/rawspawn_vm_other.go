//go:build !amd64

package jail

const haveCloneVM = false

var rawChildEntry, rawCommandEntry uintptr

// Never called: haveCloneVM is false.

//go:nosplit
//go:norace
func cloneVMInit(args *cloneArgs, size uintptr, p *rawProg) (uintptr, uintptr) {
	return 0, 38 // ENOSYS
}

//go:nosplit
//go:norace
func cloneVMCommand(args *cloneArgs, size uintptr, p *rawProg) (uintptr, uintptr) {
	return 0, 38 // ENOSYS
}
