// Package compat shows that normal Python keeps working under pycage's
// default policy: `go test ./compat/` runs a subset of CPython's own
// regression tests (`python -m test`, regrtest) inside `pycage run`, with
// the default seccomp allowlist, the default namespaces and file tree,
// and Landlock where the kernel has it.
//
// Two jails run side by side:
//
//   - "default": no network at all, as every run gets by default; threads,
//     subprocess, signals, select/poll, mmap, os/posix, time, fcntl,
//     resource, sqlite3, ctypes, json, re, tempfile, shutil, random,
//     secrets, faulthandler.
//   - "loopback": the same filter and tree with `--net loopback` (a private
//     lo, the one network option an operator has), for the tests that talk
//     TCP/UDP to 127.0.0.1: epoll, socket, asyncio, multiprocessing (fork,
//     spawn, forkserver), concurrent.futures, os.sendfile.
//
// Only resource limits are raised (wall and CPU time, memory, tasks, /tmp
// size, output); isolation flags stay at their defaults. Every test case
// that fails for a legitimate reason in a jail (no pseudo-terminals, one
// mapped uid, the file-size limit, no /etc/services, ...) is
// excluded by its unittest id in cpython_test.go, each with the reason;
// the exclusions that come from the policy itself are marked as such.
//
// A refused syscall often turns into a skip ("operating system does not
// support pidfds") rather than a failure, so every skip reason must be one
// a run under the current policy gave (testdata/skips-GROUP.txt).
//
// The interpreter is a pyenv CPython 3.13 (its Lib/test is complete; the
// 3.11.7 and 3.12.1 builds here lack test_multiprocessing_* and
// test_concurrent_futures). Without one the tests skip, saying so.
//
// Environment knobs:
//
//	PYCAGE_COMPAT_PYTHON=path      the interpreter (a CPython 3.13 with its test package)
//	PYCAGE_COMPAT_BIN=path         test this pycage binary instead of building ./cmd/pycage
//	PYCAGE_COMPAT_EXTRA_FLAGS=...  extra pycage flags for every run (e.g. --no-seccomp,
//	                               a control run that tells the filter from the jail,
//	                               or --seccomp-policy FILE to try a policy change)
//	PYCAGE_COMPAT_UPDATE_SKIPS=1   rewrite testdata/skips-*.txt from this run's skips
//
// See "CPython regression tests under the policy" in docs/security.md.
package compat
