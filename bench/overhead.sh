#!/usr/bin/env bash
# Startup overhead of `pycage run` against the same commands run bare, measured
# in one run (absolute times on a shared machine vary 2-3x; the added time and
# ratios are what to compare), for each spawn path (PYCAGE_SPAWN: raw is the
# default, rawfork the raw path without CLONE_VM, go the Go init), and for
# bench/jailrun, the engine without pycage's CLI and service packages. Also
# process start alone (bare /bin/true, an empty Go binary, `pycage version`:
# every package initialised, `pycage run --help`: the run path's start) and
# the timeline of pycage's own process around jail.Run (PYCAGE_T0 marks).
# All commands run interleaved, once per round. Binaries are built the way
# the README builds pycage.
# Usage: [COMPARE=<git revision>] bench/overhead.sh [runs] [spawn paths]
# COMPARE also builds pycage at that revision (in a temporary git worktree)
# and measures it in the same rounds ("compare" rows): before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
spawn=${2:-raw,rawfork,go}
export PATH=/usr/local/go/bin:$PATH
CGO_ENABLED=0 go build -o bench/pycage ./cmd/pycage
CGO_ENABLED=0 go build -o bench/results/jailrun ./bench/jailrun
CGO_ENABLED=0 go build -o bench/results/empty ./bench/overhead/empty
compare=()
if [ -n "${COMPARE:-}" ]; then
	wt=$(mktemp -d)
	git worktree add -q --detach "$wt" "$COMPARE"
	(cd "$wt" && CGO_ENABLED=0 go build -o "$OLDPWD/bench/results/pycage-compare" ./cmd/pycage)
	git worktree remove --force "$wt"
	compare=(-compare bench/results/pycage-compare)
fi
CGO_ENABLED=0 go run ./bench/overhead -runs "$runs" -pycage bench/pycage -spawn "$spawn" -jailrun bench/results/jailrun -empty bench/results/empty "${compare[@]}"
