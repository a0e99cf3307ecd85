#!/usr/bin/env bash
# Checks the rule file and runs its unit tests (alerts/tests/*.yml) with
# promtool. Exits non-zero when either fails. PROMTOOL overrides the binary.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
promtool=${PROMTOOL:-promtool}
if ! command -v "$promtool" >/dev/null 2>&1; then
  echo "test.sh: $promtool not found (Debian: apt-get install prometheus)" >&2
  exit 2
fi
"$promtool" check rules "$here/wsprobe-rules.yml"
"$promtool" test rules "$here"/tests/*.yml
