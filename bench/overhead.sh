#!/usr/bin/env bash
# Startup overhead of `pycage run` against the same commands run bare, measured
# in one run (absolute times on a shared machine vary 2-3x; the added time and
# ratios are what to compare), for each spawn path (PYCAGE_SPAWN: raw is the
# default, rawfork the raw path without CLONE_VM, go the Go init), and for
# bench/jailrun, the engine without pycage's CLI and service packages. Also
# process start alone (bare /bin/true, an empty Go binary, `pycage version`:
# every package initialised, `pycage run --help`: the run path's start) and
# the timeline of pycage's own process around jail.Run (PYCAGE_T0 marks),
# and runs through a `pycage daemon` the bench starts on a temporary socket
# (PYCAGE_DAEMON set: "daemon" rows; "daemon, Go client": the same binary
# built without the raw client's -E flag).
# All commands run interleaved, once per round. Binaries are built the way
# the README builds pycage (build_pycage).
# Usage: [COMPARE=<git revision>] bench/overhead.sh [runs] [spawn paths | daemon]
# "daemon": only the bare commands and the same through `pycage daemon`.
# COMPARE also builds pycage at that revision (in a temporary git worktree)
# and measures it in the same rounds ("compare" rows): before and after;
# with "daemon", that build's client through that build's own daemon
# ("daemon, compare" rows).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
spawn=${2:-raw,rawfork,go}
export PATH=/usr/local/go/bin:$PATH
# build_pycage OUT [go-client]: README.md's build of ./cmd/pycage in the
# current directory (-E=main.fastEntry where the tree has that entry, i.e.
# since the raw client; "go-client": without it).
build_pycage() {
	local ld=()
	if [ -e cmd/pycage/fastentry_amd64.s ] && [ "${2:-}" != go-client ]; then
		ld=(-ldflags=-E=main.fastEntry)
	fi
	CGO_ENABLED=0 go build "${ld[@]}" -o "$1" ./cmd/pycage
}
build_pycage bench/pycage
build_pycage bench/results/pycage-goclient go-client
CGO_ENABLED=0 go build -o bench/results/jailrun ./bench/jailrun
CGO_ENABLED=0 go build -o bench/results/empty ./bench/overhead/empty
compare=()
if [ -n "${COMPARE:-}" ]; then
	wt=$(mktemp -d)
	git worktree add -q --detach "$wt" "$COMPARE"
	(cd "$wt" && build_pycage "$OLDPWD/bench/results/pycage-compare")
	git worktree remove --force "$wt"
	compare=(-compare bench/results/pycage-compare)
fi
CGO_ENABLED=0 go run ./bench/overhead -runs "$runs" -pycage bench/pycage -spawn "$spawn" -jailrun bench/results/jailrun -empty bench/results/empty \
	-daemon -goclient bench/results/pycage-goclient "${compare[@]}"
