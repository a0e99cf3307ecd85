#!/usr/bin/env bash
# e2e: the Debian package under a real systemd. Boots systemd as PID 1 of a
# container (systemd-nspawn) whose root file system is this machine's own,
# under a throw-away overlay, installs the .deb that cpack builds from this
# tree, and drives the unit as an operator would:
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
# The container's root: an overlayfs with the host's / as its read-only lower
# layer and a tmpfs as its upper layer, gone when the test ends. Nothing is
# downloaded or cached, and it boots in seconds (a debootstrap'd root took
# 2.5 to 16 minutes to build here). So that it stays a plain system: the
# services the host enables are not started (their *.wants links are removed
# in the overlay), procps is purged in the overlay (a minimal system has no
# /bin/kill, which the unit must not need), and an installed wsprobe is purged.
# What this does not check: that the .deb's Depends suffice on a minimal
# system (the host has everything; tests/e2e/package_test.sh installs it).
#
# usage: systemd_unit_test.sh BUILD_DIR SOURCE_DIR
# Needs root, systemd-nspawn, an overlayfs, node; exits 77 (skipped) without
# the tools or root.
set -euo pipefail

log() { printf 'systemd_unit_test: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
ok() { log "ok: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  log "skipped: needs root (systemd-nspawn, mount)"
  exit 77
fi
for tool in systemd-nspawn nsenter chroot node curl python3 cpack dpkg-deb; do
  command -v "$tool" >/dev/null 2>&1 || {
    log "skipped: $tool not found"
    exit 77
  }
done
[ -x /lib/systemd/systemd ] || {
  log "skipped: systemd is not installed on this machine"
  exit 77
}

build_dir=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: $0 BUILD_DIR SOURCE_DIR}
node_modules=$source_dir/tests/servers/node_modules
[ -d "$node_modules/ws" ] || fail "$node_modules/ws is missing (scripts/setup.sh runs npm ci there)"

work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-systemd-test.XXXXXX")
chmod 755 "$work"
machine=wstest-$$
layer=$work/layer
root=$work/root
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
  mountpoint -q "$root" && umount "$root"
  mountpoint -q "$layer" && umount "$layer"
  rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null
  # Only once nothing is mounted under it: never remove through a mount.
  mountpoint -q "$root" || mountpoint -q "$layer" || rm -rf -- "$work"
}
trap cleanup EXIT

# --- the package ----------------------------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build_dir/CPackConfig.cmake" | head -n 1)
[ -n "$version" ] || fail "no CPACK_PACKAGE_VERSION in $build_dir/CPackConfig.cmake"
log "building the package with cpack"
(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack -G DEB"
}
deb=$(ls "$work"/out/wsprobe_"$version"_*.deb)

# --- the container's root file system: the host's, under an overlay ---------------
mkdir -p "$layer" "$root"
mount -t tmpfs -o size=1g,mode=0755 wsprobe-systemd-test "$layer" || fail "mounting a tmpfs"
mkdir -p "$layer/upper" "$layer/work"
mount -t overlay -o "lowerdir=/,upperdir=$layer/upper,workdir=$layer/work" wsprobe-systemd-test "$root" ||
  fail "mounting an overlayfs over /"
# Changes below go through chroot, so that no path (an absolute symlink) can
# lead out of the overlay to the host's own files.
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"; }
in_root sh -c 'rm -f /etc/systemd/system/multi-user.target.wants/* /etc/systemd/system/sockets.target.wants/* \
  /etc/systemd/system/timers.target.wants/* /etc/systemd/system/getty.target.wants/*' ||
  fail "disabling the host's services in the overlay"
# (No `| grep -q` in this script: under pipefail, the writer's SIGPIPE when
# grep stops reading early would turn a match into a failure.)
installed() { [ "$(in_root dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }
if installed procps; then
  in_root dpkg --purge --force-depends procps >"$work/procps.log" 2>&1 || {
    cat "$work/procps.log" >&2
    fail "purging procps in the overlay"
  }
fi
# man-db's dpkg trigger reindexes every manual page of the host's packages at
# `dpkg -i` (a minute under load); a minimal system has no man-db.
in_root rm -f /var/lib/man-db/auto-update
in_root test ! -e /bin/kill || fail "/bin/kill is still there after purging procps in the overlay"
if installed wsprobe; then
  log "wsprobe is installed on the host: purged in the overlay"
  in_root dpkg --purge wsprobe >/dev/null 2>&1 || fail "purging the host's wsprobe in the overlay"
fi
machine_id=$(tr -d - </proc/sys/kernel/random/uuid)
in_root sh -c "echo wstest >/etc/hostname && echo $machine_id >/etc/machine-id" ||
  fail "writing the container's host name and machine id"
cp "$deb" "$root/var/tmp/wsprobe.deb"

# --- boot --------------------------------------------------------------------
booting=$SECONDS
setsid systemd-nspawn -q -D "$root" -M "$machine" --register=no --keep-unit --console=passive -b \
  >"$work/boot.log" 2>&1 </dev/null &
nspawn_pid=$!
leader=
for _ in $(seq 1 300); do
  leader=$(pgrep -P "$nspawn_pid" -x systemd || true)
  # systemd-nspawn may fork a helper first; PID 1 of the container is its child.
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
deadline=$((SECONDS + 90))
until booted; do
  [ $SECONDS -lt $deadline ] || {
    inside systemctl list-jobs --no-pager >&2
    fail "the container's systemd did not finish booting: $(inside systemctl is-system-running)"
  }
  sleep 0.2
done
ok "systemd booted in the container in $((SECONDS - booting)) s ($(inside systemctl --version | head -n 1))"

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
has_target() { grep -q "\"$1\"" <<<"$(targets)"; }
open_on_server() { [ "$(grep -c "^open /$1\$" "$server_log")" -ge "${2:-1}" ]; }

# --- install and start ---------------------------------------------------------
installing=$SECONDS
inside dpkg -i /var/tmp/wsprobe.deb >"$work/dpkg.log" 2>&1 || {
  cat "$work/dpkg.log" >&2
  fail "dpkg -i in the container"
}
ok "dpkg -i in $((SECONDS - installing)) s (the postinst starts the unit with the shipped configuration)"
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
# libwebsockets is built without netlink (LWS_WITH_NETLINK=OFF in
# scripts/debian-source/libwebsockets.sh); a build with it is said, not failed.
lws_dir=$(sed -n 's/^libwebsockets_DIR:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
if grep -qs '^#define LWS_WITH_NETLINK' "$lws_dir/../../../include/lws_config.h"; then
  log "not checked: libwebsockets is built with netlink ($lws_dir), so it logs 'unable to open netlink'"
elif grep -q 'unable to open netlink' <<<"$(inside journalctl -u wsprobe --no-pager)"; then
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
journal=$(inside journalctl -u wsprobe --no-pager)
grep -q 'wsprobe.toml:[0-9]*:[0-9]*' <<<"$journal" ||
  fail "the journal names the file, line and column: $(tail -n 20 <<<"$journal")"
ok "the journal names the file, line and column"

# --- sandbox -------------------------------------------------------------------
exposure=$(inside systemd-analyze security wsprobe.service --no-pager | sed -n 's/.*Overall exposure level for wsprobe.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security printed no exposure level"
log "systemd-analyze security: exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 1.5) }' || fail "exposure $exposure is above 1.5"
ok "systemd-analyze security exposure $exposure <= 1.5"
log "passed"
