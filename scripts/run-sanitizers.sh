#!/usr/bin/env bash
# The test tiers under sanitizers, as CI (.ci/run) runs them after the main tests:
#   address  AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer):
#            unit and integration. The same build (build-asan/) has libFuzzer's
#            coverage instrumentation and holds the fuzz/ targets (fuzz/run.sh
#            runs them from there with WSPROBE_FUZZ_BUILD_DIR), so CI compiles
#            the project twice under sanitizers, not three times.
#   thread   ThreadSanitizer: integration (build-tsan/).
# Any report fails the run: a report ends the process (ASan, UBSan) or makes
# it exit 66 (TSan), and every report of every sanitized process, the tests'
# own children (the wsprobe binary) included, is also written to a directory
# that must stay empty. Suppressions (tests/sanitizers/) hold only reports
# wholly inside third-party libraries, each with a comment.
#
# usage: scripts/run-sanitizers.sh [build|test|all] [address] [thread]
#   build: configure and build only; test: run the tests of a built tree;
#   all (the default): both. Both variants when none is given.
# Expects scripts/setup.sh to have run (packages, the Debian 13 libraries).
# Builds with clang only the targets the tests need (the test executables and
# the wsprobe binary they start, plus the fuzzers for address), with line
# tables only (stacks usable): ThreadSanitizer's at -O1, the ASan + UBSan
# tree at -O0, which compiles it in about 40 % less CPU time (UBSan's checks
# make -O1 expensive) and keeps CI under 30 minutes; the tests mostly wait.
#
# Sanitized code is slower, so the tests' deadlines are scaled
# (WSPROBE_TEST_TIME_SCALE, tests/support/time_scale.h). A test that fails
# is run once more, but only when no sanitizer report was written and at most
# a few failed (timing under load); the retried tests are named in the log.
#   WSPROBE_SANITIZER_JOBS        parallel compile jobs (default: nproc)
#   WSPROBE_SANITIZER_TEST_JOBS   parallel tests (default: 2)
#   WSPROBE_SANITIZER_BUILD_ROOT  where build-asan/ and build-tsan/ go (default: the repository)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_root=${WSPROBE_SANITIZER_BUILD_ROOT:-$repo}
phase=all
case ${1:-} in build | test | all) phase=$1 && shift ;; esac
variants=("$@")
[ ${#variants[@]} -gt 0 ] || variants=(address thread)

log() { printf 'run-sanitizers: %s\n' "$*" >&2; }

suppressions=$repo/tests/sanitizers
jobs=${WSPROBE_SANITIZER_JOBS:-$(nproc)}
test_jobs=${WSPROBE_SANITIZER_TEST_JOBS:-2}
max_retried=8  # more failures than this is not timing: no retry

build() {  # build VARIANT DIR OPTIMIZATION CMAKE-OPTION... -- TARGET...
  local variant=$1 dir=$2 flags="$3 -gline-tables-only" started=$SECONDS options=() targets=()
  shift 3
  while [ $# -gt 0 ] && [ "$1" != -- ]; do options+=("$1") && shift; done
  shift
  targets=("$@")
  # The same libwebsockets, civetweb and toml++ as scripts/setup.sh (cached).
  # No ccache: CI builds each tree once, from nothing.
  local prefixes=()
  for recipe in libwebsockets civetweb tomlplusplus; do
    prefixes+=("$("$repo/scripts/build-debian-source.sh" "$recipe" | tail -n 1)")
  done
  mkdir -p "$dir"
  rm -f "$dir/.built"  # written once the build succeeded (.ci/run waits on it)
  CC=clang CXX=clang++ cmake -S "$repo" -B "$dir" -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" \
    -DCMAKE_PREFIX_PATH="$(IFS=';' && echo "${prefixes[*]}")" \
    -Dlibwebsockets_DIR="${prefixes[0]}/lib/cmake/libwebsockets" -Dcivetweb_DIR="${prefixes[1]}/lib/cmake/civetweb" \
    -DWSPROBE_WARNINGS_AS_ERRORS=ON -DWSPROBE_BUILD_BENCH=OFF -DWSPROBE_PRECOMPILE_HEADERS=ON "${options[@]}" \
    >"$dir/configure.log" 2>&1 || {
    cat "$dir/configure.log" >&2
    return 1
  }
  cmake --build "$dir" -j "$jobs" --target "${targets[@]}" >"$dir/build.log" 2>&1 || {
    grep -B2 -A20 -m 5 'error' "$dir/build.log" >&2 || tail -n 60 "$dir/build.log" >&2
    return 1
  }
  touch "$dir/.built"
  log "$variant: built in $((SECONDS - started)) s"
}

fuzzers() {
  local source
  for source in "$repo"/fuzz/*_fuzzer.cpp; do basename "$source" .cpp; done
}

show_reports() {  # show_reports VARIANT DIR: fails when DIR holds a report
  if [ -n "$(ls -A "$2")" ]; then
    log "$1: sanitizer reports ($(ls "$2" | wc -l) processes):"
    for report in "$2"/*; do
      printf '==== %s\n' "$(basename "$report")" >&2
      cat "$report" >&2
    done
    return 1
  fi
}

run_tests() {  # run_tests VARIANT DIR LABELS
  local variant=$1 dir=$2 labels=$3 reports=$2/sanitizer-reports status=0
  rm -rf "$reports" && mkdir -p "$reports"
  # 64 civetweb workers per listener, not 1,100: each thread's start and stop
  # costs milliseconds under a sanitizer, seconds per test for 1,100
  # (agent/http_server.cpp; the listener's load test keeps all of them).
  export WSPROBE_SANITIZER_HTTP_WORKERS=64
  case $variant in
    address)
      # detect_leaks: the tests' own child processes and threads are joined,
      # so a leak is ours. Every report ends the process with an error.
      export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1:log_path=$reports/asan"
      export LSAN_OPTIONS="suppressions=$suppressions/lsan.supp:print_suppressions=0"
      export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$suppressions/ubsan.supp:log_path=$reports/ubsan"
      export WSPROBE_TEST_TIME_SCALE=${WSPROBE_TEST_TIME_SCALE:-3}
      ;;
    thread)
      # halt_on_error=0: see every race of a test; the process still exits 66.
      export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:history_size=4:suppressions=$suppressions/tsan.supp:log_path=$reports/tsan"
      export WSPROBE_TEST_TIME_SCALE=${WSPROBE_TEST_TIME_SCALE:-4}
      ;;
  esac
  log "$variant: the tests labelled $labels, deadlines x$WSPROBE_TEST_TIME_SCALE"
  local started=$SECONDS
  (cd "$dir" && ctest --timeout 300 -j "$test_jobs" -L "$labels" -E "$(excluded "$variant")" \
    --output-on-failure >"$dir/ctest-$variant.log" 2>&1) || status=$?
  grep -E '^[0-9]+% tests passed|Total Test time' "$dir/ctest-$variant.log" >&2 || true
  log "$variant: ran in $((SECONDS - started)) s"
  if [ $status -ne 0 ]; then
    local failed_list=$dir/Testing/Temporary/LastTestsFailed.log failed_count
    failed_count=$(wc -l <"$failed_list" 2>/dev/null || echo 0)
    log "$variant: $failed_count tests failed:"
    sed 's/^/run-sanitizers:   /' "$failed_list" >&2 || true
    if [ -n "$(ls -A "$reports")" ] || [ "$failed_count" -eq 0 ] || [ "$failed_count" -gt $max_retried ]; then
      grep -B5 -A60 'Failed\|\*\*\*' "$dir/ctest-$variant.log" | head -n 400 >&2 || true
    else
      log "$variant: no sanitizer report: running the $failed_count failed tests once more (RETRIED, timing):"
      status=0
      # By name, not --rerun-failed: the numbers in LastTestsFailed.log need
      # not be the numbers of the next run (CI once retried test 83 of another
      # listing, a test that had passed, and not the one that failed).
      (cd "$dir" && ctest --timeout 300 -j "$test_jobs" -R "$(failed_tests_regex "$failed_list")" \
        --output-on-failure >"$dir/ctest-$variant-retry.log" 2>&1) || status=$?
      local retried
      retried=$(grep -cE '^ *[0-9]+/[0-9]+ Test' "$dir/ctest-$variant-retry.log" || true)
      if [ "$retried" -ne "$failed_count" ]; then
        log "$variant: the retry ran $retried tests, not the $failed_count that failed"
        status=1
      fi
      grep -E '^ *[0-9]+/[0-9]+ Test|tests passed' "$dir/ctest-$variant-retry.log" >&2 || true
      [ $status -eq 0 ] || grep -B5 -A60 'Failed\|\*\*\*' "$dir/ctest-$variant-retry.log" | head -n 400 >&2 || true
    fi
  fi
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS TSAN_OPTIONS WSPROBE_TEST_TIME_SCALE WSPROBE_SANITIZER_HTTP_WORKERS
  show_reports "$variant" "$reports" || status=1
  [ $status -eq 0 ] || log "$variant: tests FAILED"
  return $status
}

# failed_tests_regex LIST: a ctest -R expression matching exactly the tests
# named in LIST (ctest's LastTestsFailed.log: NUMBER:NAME a line).
failed_tests_regex() {
  sed -e 's/^[0-9]*://' -e 's/[][\\.*^$+?(){}|]/\\&/g' -e 's/^/^/' -e 's/$/$/' "$1" | paste -sd'|'
}

# Tests not run under a sanitizer, each with its reason (a regular
# expression for ctest -E; empty: none).
excluded() {
  case $1 in
    # Asserts this process's resident memory, which the sanitizers' own
    # allocators (quarantine, shadow memory) make meaningless.
    *) echo 'resident memory stays flat' ;;
  esac
}

status=0
for variant in "${variants[@]}"; do
  case $variant in
    address)
      dir=$build_root/build-asan
      # WSPROBE_FUZZ adds libFuzzer's coverage to every target (fuzzer-no-link).
      if [ "$phase" != test ]; then
        build address "$dir" -O0 -DWSPROBE_SANITIZE=address -DWSPROBE_FUZZ=ON -- \
          wsprobe_unit_tests wsprobe_integration_tests wsprobe $(fuzzers) || { status=1 && continue; }
      fi
      labels='^(unit|integration)$'
      ;;
    thread)
      dir=$build_root/build-tsan
      if [ "$phase" != test ]; then
        build thread "$dir" -O1 -DWSPROBE_SANITIZE=thread -DWSPROBE_FUZZ=OFF -- \
          wsprobe_integration_tests wsprobe || { status=1 && continue; }
      fi
      labels='^integration$'
      ;;
    *)
      log "unknown variant '$variant' (address or thread)"
      exit 2
      ;;
  esac
  if [ "$phase" != build ]; then
    run_tests "$variant" "$dir" "$labels" || status=1
  fi
done
exit $status
