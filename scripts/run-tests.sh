#!/usr/bin/env bash
# Sets everything up, builds, and runs every test: unit, integration and
# end-to-end (ctest), then the alert-rule tests (promtool).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$("$repo/scripts/setup.sh" | tail -n 1)
cd "$build_dir"
ctest --output-on-failure --timeout 300 -j 2 "$@"
