package runcmd

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Start-up time. Go initialises every package linked into the binary before
// main runs, whether the command uses it or not: in pycage that is the
// service's net/http, crypto/tls and Prometheus client (its default
// registry with process and Go collectors, procfs, expvar) and
// internal/server, 3-4 ms per process on the development VM
// (docs/benchmarks.md). `pycage run` needs none of them, so it runs from
// this package's init and exits there. The Go spec (since Go 1.21) fixes
// the order: a package is initialised after everything it imports, and
// among the packages that are ready, the first by import path goes first.
// This init therefore runs as soon as jail, runtimes and the standard
// packages they import are ready, before net/http and everything built on
// it (TestRunSkipsServiceInit in cmd/pycage checks that). Packages that
// sort before this one's late imports (os/exec, path/filepath, regexp,
// runtime/debug) and are ready earlier still run first: protobuf,
// nsjailcfg, parts of crypto and of the Prometheus data model.
//
// During package initialisation the main goroutine is locked to the main
// thread; the run stays on it (on a goroutine of its own it measured about
// 1 ms more CPU per run, in hand-offs between threads). jail.Run does not
// mind.
func init() {
	mark("run package init")
	// The Go spawn path's init and stage (this binary re-executed, argv[0]
	// pycage:init or pycage:stage) still start in main, after every package
	// init: the stage sets the command's RLIMIT_AS before it has done
	// allocating, and from here (a smaller heap) it failed more often with
	// "runtime: cannot allocate memory" (TestNsjailKeepCapsBothPaths, 2 of 80
	// vs 0 of 40).
	if len(os.Args) > 1 && os.Args[1] == "run" && !IsNsjail(os.Args[2:]) {
		os.Exit(Run(os.Args[2:]))
	}
}

// markOn: PYCAGE_T0 is set (by bench/overhead's timeline): mark prints
// CLOCK_MONOTONIC at the steps of pycage's own start and end.
var markOn = os.Getenv("PYCAGE_T0") != ""

// mark prints "T0 <what> <CLOCK_MONOTONIC ns>" to stderr when markOn.
func mark(what string) {
	if !markOn {
		return
	}
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	fmt.Fprintf(os.Stderr, "T0 %s %d\n", what, ts.Nano())
}
