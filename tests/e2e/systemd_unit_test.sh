#!/usr/bin/env bash
# e2e: the Debian package under a real systemd. Boots systemd as PID 1 of a
# container (systemd-nspawn, a debootstrap minbase root file system), installs
# the .deb that cpack builds from this tree, and drives the unit as an
# operator would:
#   start        READY reached (systemctl start returns once READY=1 is sent),
#                /-/healthy answers 200, no libwebsockets netlink error logged
#   reload       a good file: systemctl reload exits 0 and the new target appears
#                a broken file: systemctl reload exits non-zero, the old targets stay
#   stop         the probed server sees close code 1001 on every connection
#   broken start a broken file at start: the unit fails and is not restarted for ever
#   security     systemd-analyze security wsprobe.service: exposure <= 1.5
# The probed server is a small Node `ws` server on the host's loopback (the
# container shares the host's network) that logs every close code it receives.
#
# usage: systemd_unit_test.sh BUILD_DIR SOURCE_DIR
#        systemd_unit_test.sh --prepare     (only build the cached root file system)
# Needs root, systemd-nspawn, debootstrap, node; exits 77 (skipped) without them.
#
# Cache: ~/.cache/wsprobe/systemd-root-<key>, keyed by the recipe below (suite,
# variant, packages). A second layer adds the package's dependencies (read from
# the .deb), keyed by the first and the Depends field. The mirror comes from the
# host's apt configuration at run time and is never written into the repository.
set -euo pipefail

log() { printf 'systemd_unit_test: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
ok() { log "ok: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  log "skipped: needs root (systemd-nspawn, debootstrap)"
  exit 77
fi
for tool in systemd-nspawn debootstrap nsenter node curl flock; do
  command -v "$tool" >/dev/null 2>&1 || {
    log "skipped: $tool not found"
    exit 77
  }
done

suite=bookworm
recipe="debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,adduser $suite v1"
cache=${WSPROBE_CACHE_DIR:-$HOME/.cache/wsprobe}
key=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
base=$cache/systemd-root-$key
mkdir -p "$cache"

# The first URI of the host's apt sources for Debian's main archive.
host_mirror() {
  local uri
  uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' |
    grep -v -- '-security' | head -n 1 || true)
  if [ -z "$uri" ]; then
    uri=$(grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      grep -v -- '-security' | awk '{for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' || true)
  fi
  [ -n "$uri" ] || fail "no Debian mirror in the host's apt configuration"
  printf '%s\n' "$uri"
}

# Builds the base root file system once; later runs reuse it.
prepare_base() {
  exec 9>"$cache/systemd-root.lock"
  flock 9
  if [ -f "$base/.complete" ]; then
    flock -u 9
    return
  fi
  local mirror
  mirror=$(host_mirror)
  log "building the container's root file system from $mirror (cached in $base)"
  rm -rf -- "$base" "$base.tmp"
  local started=$SECONDS
  debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,adduser \
    "$suite" "$base.tmp" "$mirror" >"$cache/debootstrap-systemd-root.log" 2>&1 || {
    tail -n 30 "$cache/debootstrap-systemd-root.log" >&2
    fail "debootstrap"
  }
  echo wstest >"$base.tmp/etc/hostname"
  touch "$base.tmp/.complete"
  mv "$base.tmp" "$base"
  # Only the newest root file system (and its layers) is kept.
  local old
  for old in "$cache"/systemd-root-[0-9a-f]*; do
    case $old in "$base" | "$base"-*) ;; *) rm -rf -- "$old" ;; esac
  done
  log "root file system built in $((SECONDS - started)) s"
  flock -u 9
}

if [ "${1:-}" = "--prepare" ]; then
  prepare_base
  exit 0
fi

build_dir=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: $0 BUILD_DIR SOURCE_DIR}
node_modules=$source_dir/tests/servers/node_modules
[ -d "$node_modules/ws" ] || fail "$node_modules/ws is missing (scripts/setup.sh runs npm ci there)"

work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-systemd-test.XXXXXX")
machine=wstest-$$
nspawn_pid=
server_pid=
cleanup() {
  set +e
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    kill "$nspawn_pid" # SIGTERM: systemd-nspawn halts the container cleanly
    for _ in $(seq 1 100); do
      kill -0 "$nspawn_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$nspawn_pid" 2>/dev/null
  fi
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; fi
  rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null
  rm -rf -- "$work"
}
trap cleanup EXIT

# --- the package and its dependencies -------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake" | head -n 1)
[ -n "$version" ] || fail "no CPACK_PACKAGE_VERSION in $build_dir/CPackConfig.cmake"
log "building the package with cpack"
(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack -G DEB"
}
deb=$(ls "$work"/out/wsprobe_"$version"_*.deb)

prepare_base
# "libc6 (>= 2.34), libssl3 (>= 3.0.0) | libssl1, adduser" -> "libc6 libssl3 adduser"
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g' |
  grep -v '^$' | sort -u | tr '\n' ' ')
deps_key=$(printf '%s|%s' "$key" "$depends" | sha256sum | cut -c1-16)
layer=$cache/systemd-root-$key-deps-$deps_key
exec 9>"$cache/systemd-root.lock"
flock 9
if [ ! -f "$layer/.complete" ]; then
  log "installing the package's dependencies into a copy of the root file system: $depends"
  rm -rf -- "$layer.tmp"
  cp -a "$base" "$layer.tmp"
  # shellcheck disable=SC2086 # one word per package
  systemd-nspawn -q -D "$layer.tmp" --register=no --keep-unit --pipe \
    env DEBIAN_FRONTEND=noninteractive sh -c "apt-get update -qq && apt-get install -y -qq \
      --no-install-recommends $depends && apt-get clean" >"$work/deps.log" 2>&1 </dev/null || {
    tail -n 30 "$work/deps.log" >&2
    fail "installing $depends in the container"
  }
  touch "$layer.tmp/.complete"
  for old in "$base"-deps-*; do
    case $old in "$layer.tmp") ;; *) rm -rf -- "$old" ;; esac
  done
  mv "$layer.tmp" "$layer"
fi
flock -u 9

# --- boot --------------------------------------------------------------------
root=$work/root
cp -a "$layer" "$root"
cp "$deb" "$root/tmp/wsprobe.deb"
setsid systemd-nspawn -q -D "$root" -M "$machine" --register=no --keep-unit --console=passive -b \
  >"$work/boot.log" 2>&1 </dev/null &
nspawn_pid=$!
leader=
for _ in $(seq 1 300); do
  leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
  # systemd-nspawn forks a helper first; PID 1 of the container is its child.
  [ -n "$leader" ] || leader=$(for child in $(pgrep -P "$nspawn_pid"); do pgrep -P "$child" -x systemd; done | head -n 1 || true)
  [ -n "$leader" ] && break
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$leader" ] || {
  cat "$work/boot.log" >&2
  fail "systemd did not start in the container"
}
inside() { nsenter -t "$leader" -m -u -i -n -p -C -r -w -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }
booted() {
  local state
  state=$(inside systemctl is-system-running 2>/dev/null || true)
  [ "$state" = running ] || [ "$state" = degraded ]
}
deadline=$((SECONDS + 60))
until booted; do
  [ $SECONDS -lt $deadline ] || fail "the container's systemd did not finish booting: $(inside systemctl is-system-running)"
  sleep 0.2
done
ok "systemd booted in the container"

# --- a probed server on the host's loopback ---------------------------------------
server_log=$work/server.log
NODE_PATH=$node_modules node -e '
const { WebSocketServer } = require("ws");
const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
server.on("listening", () => console.log(`port ${server.address().port}`));
server.on("connection", (socket, request) => {
  console.log(`open ${request.url}`);
  socket.on("close", (code) => console.log(`close ${request.url} ${code}`));
});
' >"$server_log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^port ' "$server_log" && break
  sleep 0.1
done
server_port=$(sed -n 's/^port //p' "$server_log")
[ -n "$server_port" ] || fail "the test server did not start: $(cat "$server_log")"

# A free loopback port for the daemon's listener (the network is the host's).
web_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base_url=http://127.0.0.1:$web_port
write_config() {  # write_config TARGET_NAME...
  {
    printf '[web]\nlisten_address = "127.0.0.1:%s"\n\n[defaults]\nping_interval = "1s"\n' "$web_port"
    for name in "$@"; do
      printf '\n[[target]]\nname = "%s"\nurl = "ws://127.0.0.1:%s/%s"\n' "$name" "$server_port" "$name"
    done
  } >"$root/etc/wsprobe/wsprobe.toml.new"
  mv "$root/etc/wsprobe/wsprobe.toml.new" "$root/etc/wsprobe/wsprobe.toml"
}
write_broken_config() {
  printf '[web]\nlisten_address = "127.0.0.1:%s"\n\n[[target]]\nname = "broken"\nurl = 42\n' "$web_port" \
    >"$root/etc/wsprobe/wsprobe.toml"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || fail "$what (waited ${seconds} s)"
    sleep 0.2
  done
  ok "$what"
}
unit_active() { [ "$(inside systemctl show -p ActiveState --value wsprobe.service)" = active ]; }
targets() { curl -fsS --max-time 5 "$base_url/api/v1/targets" 2>/dev/null; }
has_target() { targets | grep -q "\"$1\""; }
open_on_server() { [ "$(grep -c "^open /$1\$" "$server_log")" -ge "${2:-1}" ]; }

# --- install and start ---------------------------------------------------------
inside dpkg -i /tmp/wsprobe.deb >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i in the container"
}
ok "dpkg -i (the postinst starts the unit with the shipped configuration)"
inside systemctl stop wsprobe.service
write_config alpha
started=$(date +%s%N)
inside systemctl start wsprobe.service || {
  inside journalctl -u wsprobe --no-pager | tail -n 30 >&2
  fail "systemctl start"
}
log "systemctl start returned after $((($(date +%s%N) - started) / 1000000)) ms"
[ "$(inside systemctl show -p ActiveState --value wsprobe.service)" = active ] || fail "active after start"
ok "started: Type=notify, so systemctl start returned once READY=1 was sent"
wait_for 10 "/-/healthy answers 200" bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $base_url/-/healthy)\" = 200 ]"
wait_for 15 "the probed server sees the target's connection" open_on_server alpha

# --- reload --------------------------------------------------------------------
write_config alpha beta
inside systemctl reload wsprobe.service || fail "systemctl reload with a good file exits 0"
ok "systemctl reload with a good file exits 0"
wait_for 15 "after the reload the new target appears in /api/v1/targets" has_target beta
wait_for 15 "the new target's connection reaches the server" open_on_server beta

write_broken_config
if inside systemctl reload wsprobe.service >"$work/reload.log" 2>&1; then
  fail "systemctl reload with a broken file must exit non-zero"
fi
ok "systemctl reload with a broken file exits non-zero"
# The daemon's own reload (RELOADING=1 ... READY=1) may still be under way.
wait_for 10 "still active after the failed reload" unit_active
has_target alpha && has_target beta || fail "the old targets stay after a failed reload: $(targets)"
ok "the old targets stay after a failed reload"
metrics=$(curl -fsS --max-time 5 "$base_url/metrics")
grep -qx 'wsprobe_config_last_reload_successful 0' <<<"$metrics" ||
  fail "wsprobe_config_last_reload_successful is 0 after a failed reload"
ok "wsprobe_config_last_reload_successful 0 after the failed reload"

# --- stop ----------------------------------------------------------------------
write_config alpha beta
closes_before=$(grep -c '^close ' "$server_log" || true)
inside systemctl stop wsprobe.service
wait_for 10 "the server saw the held connections end" \
  bash -c "[ \$(grep -c '^close ' '$server_log') -ge $((closes_before + 2)) ]"
new_closes=$(tail -n +1 "$server_log" | grep '^close ' | tail -n +$((closes_before + 1)))
log "closes seen by the server at stop: $(tr '\n' ';' <<<"$new_closes")"
if grep -qv ' 1001$' <<<"$new_closes"; then fail "every connection ends with 1001 at stop"; fi
ok "every connection ended with 1001 at stop"

# --- libwebsockets must not log its netlink error (RestrictAddressFamilies) ------
# Checked once libwebsockets is built without netlink (LWS_WITH_NETLINK=OFF in
# scripts/build-libwebsockets.sh); until then the line is expected, and said.
lws_dir=$(sed -n 's/^libwebsockets_DIR:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
if grep -qs '^#define LWS_WITH_NETLINK' "$lws_dir/../../../include/lws_config.h"; then
  log "not checked: libwebsockets is built with netlink ($lws_dir), so it logs 'unable to open netlink'"
elif inside journalctl -u wsprobe --no-pager | grep -q 'unable to open netlink'; then
  fail "the journal holds libwebsockets' 'unable to open netlink' error"
else
  ok "no netlink error in the journal"
fi

# --- a broken file at start -------------------------------------------------------
write_broken_config
inside systemctl reset-failed wsprobe.service 2>/dev/null || true
if inside systemctl start wsprobe.service 2>/dev/null; then fail "start with a broken file must fail"; fi
ok "systemctl start with a broken file fails"
unit_failed() {
  [ "$(inside systemctl show -p ActiveState --value wsprobe.service)" = failed ] &&
    [ "$(inside systemctl show -p SubState --value wsprobe.service)" = failed ]
}
wait_for 60 "the unit ends in state failed" unit_failed
restarts=$(inside systemctl show -p NRestarts --value wsprobe.service)
result=$(inside systemctl show -p Result --value wsprobe.service)
log "after a broken start: Result=$result NRestarts=$restarts"
sleep 7 # longer than RestartSec: a restart loop would have started again
[ "$(inside systemctl show -p ActiveState --value wsprobe.service)" = failed ] ||
  fail "the unit stays failed (no restart loop)"
[ "$(inside systemctl show -p NRestarts --value wsprobe.service)" = "$restarts" ] ||
  fail "no restarts after the unit failed"
ok "the unit stays failed: no restart loop"
inside journalctl -u wsprobe --no-pager | grep -q 'wsprobe.toml:[0-9]*:[0-9]*' ||
  fail "the journal names the file, line and column"
ok "the journal names the file, line and column"

# --- sandbox -------------------------------------------------------------------
exposure=$(inside systemd-analyze security wsprobe.service --no-pager | sed -n 's/.*Overall exposure level for wsprobe.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
log "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || fail "exposure $exposure is above 1.5"
ok "systemd-analyze security exposure $exposure <= 1.5"
log "passed"
