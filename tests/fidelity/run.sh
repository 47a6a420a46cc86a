#!/usr/bin/env bash
# Installs the pinned jsforce (npm ci) when node_modules is missing or older than the lock file,
# then runs the fidelity suite against the given sluice-sfsim binary.
#   tests/fidelity/run.sh build/bin/sluice-sfsim
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
SFSIM_BIN="$bin" exec node --test fidelity.test.mjs bulk.test.mjs
