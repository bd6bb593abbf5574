#!/usr/bin/env bash
# Startup overhead of `pycage run` against the same commands run bare, measured
# in one run (absolute times on a shared machine vary 2-3x; the added time and
# ratios are what to compare). Usage: bench/overhead.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
export PATH=/usr/local/go/bin:$PATH
CGO_ENABLED=0 go build -o bench/pycage ./cmd/pycage
CGO_ENABLED=0 go run ./bench/overhead -runs "$runs" -pycage bench/pycage
