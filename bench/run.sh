#!/usr/bin/env bash
# Runs a benchmark against a local Node `ws` echo server:
#   bench/run.sh [--connections 10000] [--window 20]   held connections, pings
#   bench/run.sh targets [--targets 1000]              /metrics render, reloads
# Needs a built tree (scripts/setup.sh) and node with npm.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WSPROBE_BUILD_DIR:-$repo/build}
bench_dir="$repo/bench"
if [ ! -d "$bench_dir/node_modules/ws" ]; then
  (cd "$bench_dir" && npm install --no-audit --no-fund --silent)
fi
ulimit -n "$(ulimit -Hn)"
port_file=$(mktemp)
node "$bench_dir/echo_server.js" >"$port_file" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$port_file"' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
port=$(head -n 1 "$port_file")
if [ "${1:-}" = targets ]; then
  shift
  "$build_dir/bench/wsprobe_bench_targets" --url "ws://127.0.0.1:$port/" "$@"
else
  "$build_dir/bench/wsprobe_bench_hold" --url "ws://127.0.0.1:$port/" "$@"
fi
