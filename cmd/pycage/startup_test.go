package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRunSkipsServiceInit checks that `pycage run` runs before Go
// initialises the service's packages (runcmd's init, see
// internal/runcmd/start.go): an import that makes runcmd depend on them
// would silently add their start-up to every run.
func TestRunSkipsServiceInit(t *testing.T) {
	inits := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(pycageBin, args...)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("pycage %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	service := []string{"net/http", "github.com/prometheus/client_golang/prometheus", "github.com/pycage/pycage/internal/server"}
	// The check sees these packages where they are initialised.
	all := inits("version")
	for _, p := range service {
		if !strings.Contains(all, "init "+p+" @") {
			t.Fatalf("pycage version: no init of %s in GODEBUG=inittrace=1 output:\n%s", p, all)
		}
	}
	run := inits("run", "--", "/bin/true")
	for _, p := range service {
		if strings.Contains(run, "init "+p+" @") {
			t.Errorf("pycage run initialises %s before running", p)
		}
	}
}
