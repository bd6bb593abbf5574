package seccomp

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

//go:generate go run mkdefault.go

// precompiledKey selects one precompiled default filter.
type precompiledKey struct {
	arch Arch
	log  bool
}

// DefaultPolicySum is the SHA-256 of the default policy's text: the
// precompiled filters (zdefault.go) are used only while it matches.
func DefaultPolicySum() string {
	s := sha256.Sum256([]byte(DefaultPolicy()))
	return hex.EncodeToString(s[:])
}

var precompiledOK = sync.OnceValue(func() bool { return DefaultPolicySum() == precompiledPolicySum })

// precompiled returns the default filter compiled at build time (go
// generate), or nil when there is none for arch or it is stale.
func precompiled(arch Arch, opt Options) *Filter {
	if !precompiledOK() {
		return nil
	}
	f := precompiledDefault[precompiledKey{arch, opt.Log}]
	if f == nil {
		return nil
	}
	c := *f
	return &c
}
