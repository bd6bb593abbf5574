// Command jailrun is `pycage run -- CMD` reduced to the engine: the default
// policy (jail.DefaultSpec, plus the CLI's system mounts and workspace) and
// jail.Run, without the CLI's flags and the HTTP service's packages. The
// overhead benchmark runs it next to pycage to split the time pycage adds
// into the engine's part and the part of pycage's own start-up (package
// initialisation of everything linked into the binary).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pycage/pycage/internal/jail"
	"golang.org/x/sys/unix"
)

// mark prints CLOCK_MONOTONIC when PYCAGE_T0 is set (the benchmark's clock
// at spawn), to split pycage's own start from the engine's time.
func mark(what string) {
	if os.Getenv("PYCAGE_T0") == "" {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	fmt.Fprintf(os.Stderr, "T0 %s %d\n", what, ts.Nano())
}

func main() {
	mark("main entered")
	jail.Main()
	if len(os.Args) < 2 {
		os.Stderr.WriteString("usage: jailrun CMD ARGS...\n")
		os.Exit(jail.ExitSetup)
	}
	spec := jail.DefaultSpec(os.Args[1:])
	res, err := jail.Run(context.Background(), spec, jail.IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	mark("jail.Run returned")
	if err != nil {
		os.Stderr.WriteString("jailrun: " + err.Error() + "\n")
	}
	os.Exit(res.ExitCode)
}
