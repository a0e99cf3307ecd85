#!/usr/bin/env bash
# Installs what wsprobe needs on Debian 12 (apt-get), builds libwebsockets
# 4.3.5 into a cache when the system's is older, then configures and builds
# wsprobe into ./build. Safe to run again: it only does what is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WSPROBE_BUILD_DIR:-$repo/build}

packages=(
  build-essential cmake pkg-config git ca-certificates
  libssl-dev zlib1g-dev libcap-dev dpkg-dev xz-utils patch
  prometheus-cpp-dev libcivetweb-dev libtomlplusplus-dev libspdlog-dev
  catch2 libcli11-dev nlohmann-json3-dev libre2-dev libsystemd-dev
  nginx prometheus python3
)

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
fi
# nginx is started by the tests on their own ports; the packaged service is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  sudo_if_needed systemctl stop nginx >/dev/null 2>&1 || true
fi

lws_prefix=$("$repo/scripts/build-libwebsockets.sh" | tail -n 1)

cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$lws_prefix" -DWSPROBE_WARNINGS_AS_ERRORS=ON >&2
cmake --build "$build_dir" -j "$(nproc)" >&2
echo "$build_dir"
