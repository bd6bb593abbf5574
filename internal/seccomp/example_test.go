package seccomp_test

import (
	"encoding/json"
	"fmt"

	"github.com/pycage/pycage/internal/seccomp"
)

// The engine compiles the policy on the host (errors point into the
// policy), sends the filter to the jail as JSON, and the jail's exec stage
// installs it as the very last step before execve.
func Example() {
	f, err := seccomp.Compile("policy.kafel", `
		POLICY sandbox { ALLOW { read, write, exit_group } }
		USE sandbox
		DEFAULT ERRNO(1)`, seccomp.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	js, _ := json.Marshal(f)

	// Inside the jail: decode, validate, prepare, then (thread locked,
	// no_new_privs set) InstallPrepared and execve with nothing between.
	var g seccomp.Filter
	if err := json.Unmarshal(js, &g); err != nil || g.Validate() != nil {
		return
	}
	prog := g.Prepare()
	_ = prog // seccomp.InstallPrepared(prog, g.Flags), then execve

	_, err = seccomp.Compile("policy.kafel", "ALLOW {\n  reed\n}", seccomp.Options{})
	fmt.Println(err)
	// Output: policy.kafel:2:3: unknown syscall "reed"
}
