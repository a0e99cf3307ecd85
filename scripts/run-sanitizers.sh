#!/usr/bin/env bash
# The test tiers under sanitizers, as CI runs them after the main tests:
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#            unit and integration
#   thread   ThreadSanitizer: integration
# Any report fails the run: a report ends the process (ASan, UBSan) or makes
# it exit 66 (TSan), and every report of every sanitized process, the tests'
# own children (the wsprobe binary) included, is also written to a log
# directory that must stay empty. Suppressions (tests/sanitizers/) hold only
# reports wholly inside third-party libraries, each with a comment.
#
# usage: scripts/run-sanitizers.sh [address] [thread]   (both when none given)
# Expects scripts/setup.sh to have run (packages, the Debian 13 libraries).
# Builds only the test executables (and the wsprobe binary they start) into
# build-asan/ and build-tsan/ (or $WSPROBE_SANITIZER_BUILD_ROOT/...), at -O1
# with line tables: fast to build, stacks usable.
#   WSPROBE_SANITIZER_JOBS   parallel compile jobs (default: nproc)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${WSPROBE_SANITIZER_BUILD_ROOT:-$repo}
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(address thread)

log() { printf 'run-sanitizers: %s\n' "$*" >&2; }

# The same libwebsockets, civetweb and toml++ as scripts/setup.sh (cached).
prefixes=()
for recipe in libwebsockets civetweb tomlplusplus; do
  prefixes+=("$("$repo/scripts/build-debian-source.sh" "$recipe" | tail -n 1)")
done
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
suppressions=$repo/tests/sanitizers
jobs=${WSPROBE_SANITIZER_JOBS:-$(nproc)}
work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-sanitizers.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

build() {  # build VARIANT DIR TARGET...
  local started=$SECONDS
  cmake -S "$repo" -B "$2" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" -DCMAKE_C_FLAGS="-O1 -g1" \
    "${launcher[@]}" -DCMAKE_PREFIX_PATH="$(IFS=';' && echo "${prefixes[*]}")" \
    -Dlibwebsockets_DIR="${prefixes[0]}/lib/cmake/libwebsockets" -Dcivetweb_DIR="${prefixes[1]}/lib/cmake/civetweb" \
    -DWSPROBE_WARNINGS_AS_ERRORS=ON -DWSPROBE_BUILD_BENCH=OFF -DWSPROBE_SANITIZE="$1" \
    >"$work/configure-$1.log" 2>&1 || {
    cat "$work/configure-$1.log" >&2
    return 1
  }
  cmake --build "$2" -j "$jobs" --target "${@:3}" >"$work/build-$1.log" 2>&1 || {
    tail -n 60 "$work/build-$1.log" >&2
    return 1
  }
  log "$1: built in $((SECONDS - started)) s"
}

status=0
for variant in "${variants[@]}"; do
  started=$SECONDS
  reports=$work/reports-$variant
  mkdir -p "$reports"
  case $variant in
    address)
      dir=$build_root/build-asan
      build address "$dir" wsprobe_unit_tests wsprobe_integration_tests || { status=1; continue; }
      # detect_leaks: the tests' own child processes and threads are joined,
      # so a leak is ours. Every report ends the process with an error.
      export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$reports/asan"
      export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
      export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$suppressions/ubsan.supp:log_path=$reports/ubsan"
      labels='^(unit|integration)$'
      ;;
    thread)
      dir=$build_root/build-tsan
      build thread "$dir" wsprobe_integration_tests || { status=1; continue; }
      # halt_on_error=0: see every race of a test; the process still exits 66.
      export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:suppressions=$suppressions/tsan.supp:log_path=$reports/tsan"
      labels='^integration$'
      ;;
    *)
      log "unknown variant '$variant' (address or thread)"
      exit 2
      ;;
  esac
  log "$variant: running the tests labelled $labels"
  if ! (cd "$dir" && ctest --output-on-failure --timeout 300 -j 2 -L "$labels" >&2); then
    status=1
    log "$variant: tests FAILED"
  fi
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS
  if [ -n "$(ls -A "$reports")" ]; then
    status=1
    log "$variant: sanitizer reports ($(ls "$reports" | wc -l) processes):"
    for report in "$reports"/*; do
      printf '==== %s\n' "$(basename "$report")" >&2
      cat "$report" >&2
    done
  fi
  log "$variant: $((SECONDS - started)) s in all"
done
exit $status
