#!/usr/bin/env bash
# Installs what wsprobe needs on Debian 12 (apt-get), builds Debian 13's
# libwebsockets, civetweb and toml++ into a cache (scripts/debian-source/),
# then configures and builds wsprobe into ./build. Safe to run again: it only
# does what is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WSPROBE_BUILD_DIR:-$repo/build}

packages=(
  build-essential cmake pkg-config git ca-certificates debian-archive-keyring
  libssl-dev zlib1g-dev libcap-dev libev-dev dpkg-dev xz-utils patch
  prometheus-cpp-dev libspdlog-dev
  catch2 libcli11-dev nlohmann-json3-dev libre2-dev libsystemd-dev
  nginx prometheus python3 python3-yaml
  # The listener's basic auth (bcrypt); the package, status-page and HTTPS
  # tests: chromium headless, curl, openssl, systemd-analyze, adduser.
  libcrypt-dev chromium curl openssl systemd adduser
  # Real protocol peers for the application-protocol tests, fault tests and
  # tools: MQTT, STOMP (RabbitMQ web-stomp), ActionCable, captures, nftables,
  # a container with systemd, clang for fuzzing and sanitizers, YAML for the
  # web configuration, ccache for repeated builds.
  mosquitto mosquitto-clients rabbitmq-server ruby-actioncable puma tshark nftables iproute2 haproxy
  systemd-container debootstrap clang libclang-rt-14-dev libyaml-cpp-dev zlib1g-dev ccache
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

# The dashboard check (tools/grafana-schema) runs tsc on node. Debian's nodejs
# comes without npm; a nodejs from NodeSource includes npm and conflicts with
# Debian's npm package, so only ask apt for what is missing.
node_packages=()
command -v node >/dev/null 2>&1 || node_packages+=(nodejs)
command -v npm >/dev/null 2>&1 || node_packages+=(npm)
if [ ${#node_packages[@]} -gt 0 ]; then
  echo "setup: installing ${node_packages[*]}" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${node_packages[@]}" >&2
fi
# Versions pinned by tools/grafana-schema/package-lock.json.
if [ ! -d "$repo/tools/grafana-schema/node_modules/@grafana/schema" ] ||
   [ ! -d "$repo/tools/grafana-schema/node_modules/typescript" ]; then
  (cd "$repo/tools/grafana-schema" && npm ci --no-audit --no-fund >&2)
fi

# The Kubernetes manifests test renders packaging/kubernetes with kubectl's
# kustomize (this machine image's kubectl 1.32; Debian's kubernetes-client
# where there is none) and validates the objects with kubernetes-models.
if ! command -v kubectl >/dev/null 2>&1; then
  echo "setup: installing kubernetes-client (kubectl)" >&2
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    kubernetes-client >&2
fi
if [ ! -d "$repo/tools/kubernetes-schema/node_modules/kubernetes-models" ] ||
   ! cmp -s "$repo/tools/kubernetes-schema/package-lock.json" \
     "$repo/tools/kubernetes-schema/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$repo/tools/kubernetes-schema" && npm ci --no-audit --no-fund >&2 &&
    cp package-lock.json node_modules/.package-lock.json.installed)
fi

# The npm protocol servers the integration tests start (socket.io, graphql-ws,
# subscriptions-transport-ws, sockjs, ws), pinned by tests/servers/package-lock.json.
if [ ! -d "$repo/tests/servers/node_modules/socket.io" ] ||
   ! cmp -s "$repo/tests/servers/package-lock.json" "$repo/tests/servers/node_modules/.package-lock.json.installed" 2>/dev/null; then
  (cd "$repo/tests/servers" && npm ci --no-audit --no-fund >&2 &&
    cp package-lock.json node_modules/.package-lock.json.installed)
fi

# Debian 13's libwebsockets, civetweb and toml++, each in its own prefix in
# ~/.cache/wsprobe (built once per recipe: scripts/build-debian-source.sh).
prefixes=()
for recipe in libwebsockets civetweb tomlplusplus; do
  prefixes+=("$("$repo/scripts/build-debian-source.sh" "$recipe" | tail -n 1)")
done

launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$repo" -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" \
  -DCMAKE_PREFIX_PATH="$(IFS=';' && echo "${prefixes[*]}")" \
  -Dlibwebsockets_DIR="${prefixes[0]}/lib/cmake/libwebsockets" -Dcivetweb_DIR="${prefixes[1]}/lib/cmake/civetweb" \
  -DWSPROBE_WARNINGS_AS_ERRORS=ON >&2
cmake --build "$build_dir" -j "$(nproc)" >&2
echo "$build_dir"
