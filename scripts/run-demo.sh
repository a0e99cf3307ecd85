#!/usr/bin/env bash
# Sets everything up, builds, and starts `wsprobe demo`: local misbehaving
# endpoints, probed; metrics and the status page on http://127.0.0.1:9713/.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$("$repo/scripts/setup.sh" | tail -n 1)
exec "$build_dir/agent/wsprobe" demo --web.listen-address="${WSPROBE_LISTEN:-127.0.0.1:9713}" "$@"
