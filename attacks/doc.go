// Package attacks is pycage's attack suite: hostile Python programs
// (progs/NN_name.py, each with a header comment that states the attack and
// the expected outcome) run by `go test ./attacks/` against the real pycage
// binary under its default policy.
//
// Every test checks three things: the program's own verdicts (it prints
// BLOCKED, ESCAPED or UNEXPECTED lines, see progs/attacklib.py), the run's
// --report (reason, exit code, signal, limits), and the host afterwards
// (canary files untouched, listeners without connections, host processes
// alive, no process with the run's marker, no cgroup of the run, no new
// mounts).
//
// Environment knobs, for people checking the suite itself:
//
//	PYCAGE_ATTACKS_EXTRA_FLAGS=...   extra pycage flags for every run (e.g.
//	                                 --no-seccomp, to watch the tests trip)
//	PYCAGE_ATTACKS_BIN=path          test this pycage binary instead of
//	                                 building ./cmd/pycage
//	PYCAGE_ATTACKS_PATHS=cold|daemon run on one path only (default both:
//	                                 every test runs cold and through a
//	                                 pycage daemon, in a prepared jail)
//
// See docs/security.md for the threat model and which test proves which
// isolation layer.
package attacks
