//go:build linux && (arm64 || riscv64 || loong64 || ppc64le || s390x)

package main

// fastEntry is the ELF entry point with -ldflags=-E=main.fastEntry: here
// only a jump to the Go runtime's (fastentry_other.s).
func fastEntry()
