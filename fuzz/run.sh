#!/usr/bin/env bash
# Builds every libFuzzer target in fuzz/ with clang and runs each for N
# seconds (default 30) on its committed seed corpus. Fails when a fuzzer
# finds a crash (the input is left in the work directory; commit it as a seed
# under fuzz/corpus/<name>/ with the fix).
#
#   fuzz/run.sh [seconds] [fuzzer-name ...]
#   WSPROBE_FUZZ_BUILD_DIR   build directory (default: build-fuzz at the top)
#   WSPROBE_FUZZ_JOBS        parallel compile jobs (default 2)
#   WSPROBE_FUZZ_PARALLEL    fuzzers run at a time (default 2)
#   WSPROBE_FUZZ_SEED        libFuzzer's random seed (default: a new one each
#                            run). CI fixes it, so a run it fails can be
#                            repeated; discovery runs leave it unset.
#   WSPROBE_FUZZ_PREBUILT    1: run the fuzzers already built in the build
#                            directory, without configuring or building (CI:
#                            build-asan/, where scripts/run-sanitizers.sh builds them)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
build=${WSPROBE_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${WSPROBE_FUZZ_JOBS:-2}

if [[ ${WSPROBE_FUZZ_PREBUILT:-0} != 1 ]]; then
  # libwebsockets, civetweb and toml++ from the cache scripts/setup.sh builds (run setup first).
  prefixes=()
  for recipe in libwebsockets civetweb tomlplusplus; do
    prefixes+=("$("$root/scripts/build-debian-source.sh" "$recipe" | tail -n 1)")
  done

  launcher=()
  if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache); fi

  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWSPROBE_FUZZ=ON -DWSPROBE_BUILD_TESTS=OFF -DWSPROBE_BUILD_BENCH=OFF \
    -DCMAKE_PREFIX_PATH="$(IFS=';' && echo "${prefixes[*]}")" -Dlibwebsockets_DIR="${prefixes[0]}/lib/cmake/libwebsockets" \
    -Dcivetweb_DIR="${prefixes[1]}/lib/cmake/civetweb" \
    "${launcher[@]}" >/dev/null
fi

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for source in "$root"/fuzz/*_fuzzer.cpp; do names+=("$(basename "$source" .cpp)"); done
fi
[[ ${WSPROBE_FUZZ_PREBUILT:-0} == 1 ]] || cmake --build "$build" -j"$jobs" --target "${names[@]}"

# Each fuzzer runs on one core; WSPROBE_FUZZ_PARALLEL of them at a time.
parallel=${WSPROBE_FUZZ_PARALLEL:-2}
run_one() {  # run_one NAME: its output goes to fuzz-work/NAME/run.log
  local name=$1
  local corpus_seeds=$root/fuzz/corpus/${name%_fuzzer}
  # New inputs go to a scratch corpus, so the committed seeds stay as they are.
  local work=$build/fuzz-work/$name
  mkdir -p "$work/corpus" "$corpus_seeds"
  echo "== $name: ${seconds}s on $(find "$corpus_seeds" -type f | wc -l) seeds" >"$work/run.log"
  local seed=()
  [[ -z ${WSPROBE_FUZZ_SEED:-} ]] || seed=(-seed="$WSPROBE_FUZZ_SEED")
  (cd "$work" && "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    "${seed[@]}" -print_final_stats=1 "$work/corpus" "$corpus_seeds" >>"$work/run.log" 2>&1)
}
report() {  # report NAME STATUS
  local work=$build/fuzz-work/$1
  tail -n 15 "$work/run.log"
  summary+=("$1: $(grep -E '^Done [0-9]+ runs in' "$work/run.log" | tail -n 1 || true)")
  if [[ $2 -ne 0 ]]; then
    failed+=("$1")
    echo "== $1 FAILED: crash input in $work (crash-* / leak-* / timeout-*)"
  fi
}

failed=()
summary=()
started=$SECONDS
pending=("${names[@]}")
while [[ ${#pending[@]} -gt 0 ]]; do
  batch=("${pending[@]:0:parallel}")
  pending=("${pending[@]:parallel}")
  pids=()
  for name in "${batch[@]}"; do
    run_one "$name" &
    pids+=($!)
  done
  for i in "${!batch[@]}"; do
    status=0
    wait "${pids[$i]}" || status=$?
    report "${batch[$i]}" "$status"
  done
done
echo "== ${#names[@]} fuzzers, ${parallel} at a time: $((SECONDS - started)) s"
printf '==   %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzers that found a crash: ${failed[*]}"
  exit 1
fi
echo "fuzzers clean: ${names[*]}"
