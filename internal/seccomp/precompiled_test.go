package seccomp

import (
	"reflect"
	"testing"
)

// TestPrecompiledDefault fails when zdefault.go no longer matches what the
// compiler makes of default.kafel: run `go generate ./internal/seccomp`.
func TestPrecompiledDefault(t *testing.T) {
	if precompiledPolicySum != DefaultPolicySum() {
		t.Fatalf("zdefault.go was generated from another default.kafel: run go generate ./internal/seccomp")
	}
	for _, arch := range Arches() {
		for _, logged := range []bool{false, true} {
			opt := Options{Log: logged}
			want, err := CompileArch(DefaultPolicyName, DefaultPolicy(), arch, opt)
			if err != nil {
				t.Fatal(err)
			}
			got := precompiled(arch, opt)
			if got == nil || !reflect.DeepEqual(got.Insns, want.Insns) || got.Flags != want.Flags {
				t.Fatalf("%s log=%v: the precompiled filter differs from a fresh compile: run go generate ./internal/seccomp", arch, logged)
			}
		}
	}
}
