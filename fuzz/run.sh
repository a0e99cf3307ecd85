#!/usr/bin/env bash
# Builds every libFuzzer target in fuzz/ with clang and runs each for N
# seconds (default 30) on its committed seed corpus. Fails when a fuzzer
# finds a crash (the input is left in the work directory; commit it as a seed
# under fuzz/corpus/<name>/ with the fix).
#
#   fuzz/run.sh [seconds] [fuzzer-name ...]
#   WSPROBE_FUZZ_BUILD_DIR   build directory (default: build-fuzz at the top)
#   WSPROBE_FUZZ_JOBS        parallel compile jobs (default 2)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
shift || true
build=${WSPROBE_FUZZ_BUILD_DIR:-$root/build-fuzz}
jobs=${WSPROBE_FUZZ_JOBS:-2}

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

names=("$@")
if [[ ${#names[@]} -eq 0 ]]; then
  for source in "$root"/fuzz/*_fuzzer.cpp; do names+=("$(basename "$source" .cpp)"); done
fi
cmake --build "$build" -j"$jobs" --target "${names[@]}"

failed=()
for name in "${names[@]}"; do
  corpus_seeds=$root/fuzz/corpus/${name%_fuzzer}
  # New inputs go to a scratch corpus, so the committed seeds stay as they are.
  work=$build/fuzz-work/$name
  mkdir -p "$work/corpus" "$corpus_seeds"
  echo "== $name: ${seconds}s on $(find "$corpus_seeds" -type f | wc -l) seeds"
  if ! (cd "$work" && "$build/fuzz/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 "$work/corpus" "$corpus_seeds" 2>&1 | tail -n 40); then
    failed+=("$name")
    echo "== $name FAILED: crash input in $work (crash-* / leak-* / timeout-*)"
  fi
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzers that found a crash: ${failed[*]}"
  exit 1
fi
echo "fuzzers clean: ${names[*]}"
