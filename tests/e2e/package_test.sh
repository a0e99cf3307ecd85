#!/usr/bin/env bash
# e2e: the Debian package. Builds it with cpack from a configured and built
# tree, checks its contents and metadata with dpkg-deb, installs it with
# dpkg -i, runs the installed binary (--version, --config.check on the shipped
# config as the service user, HTTPS with basic auth), checks the unit with
# systemd-analyze, then removes and purges it, checking what each step leaves.
#
# usage: package_test.sh BUILD_DIR SOURCE_DIR
# Needs root and dpkg; exits 77 (skipped) without them. It owns the `wsprobe`
# package on this machine: an installed one is replaced and purged at the end.
# Where systemd is not PID 1 (containers, CI) the maintainer scripts must
# still succeed, and the service is not started.
set -euo pipefail

build_dir=${1:?usage: $0 BUILD_DIR SOURCE_DIR}
source_dir=${2:?usage: $0 BUILD_DIR SOURCE_DIR}

log() { printf 'package_test: %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  exit 1
}
check() {  # check DESCRIPTION COMMAND...: run, and fail with the description if it fails
  local what=$1
  shift
  if "$@"; then log "ok: $what"; else fail "$what"; fi
}

if [ "$(id -u)" -ne 0 ]; then
  log "skipped: needs root to install a package"
  exit 77
fi
for tool in dpkg dpkg-deb cpack openssl curl; do
  command -v "$tool" >/dev/null 2>&1 || {
    log "skipped: $tool not found"
    exit 77
  }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-package-test.XXXXXX")
daemon_pid=
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; fi
  dpkg --purge wsprobe >/dev/null 2>&1 || true
  rm -rf -- "$work"
}
trap cleanup EXIT
chmod 755 "$work"

# --- build ------------------------------------------------------------------
version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' \
  "$build_dir/CPackConfig.cmake" | head -n 1)
[ -n "$version" ] || fail "no CPACK_PACKAGE_VERSION in $build_dir/CPackConfig.cmake"
arch=$(dpkg --print-architecture)
log "building wsprobe_${version}_${arch}.deb with cpack"
(cd "$build_dir" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || {
  cat "$work/cpack.log" >&2
  fail "cpack -G DEB"
}
deb=$work/out/wsprobe_${version}_${arch}.deb
check "the package is named wsprobe_<version>_<arch>.deb" test -f "$deb"

# --- contents and metadata ----------------------------------------------------
dpkg-deb -c "$deb" >"$work/contents"
dpkg-deb -f "$deb" >"$work/control"
dpkg-deb -e "$deb" "$work/control.d"
has_file() { grep -qE " \./${1#/}\$" "$work/contents"; }
for path in /usr/bin/wsprobe /etc/wsprobe/wsprobe.toml /etc/default/wsprobe \
  /lib/systemd/system/wsprobe.service \
  /usr/share/man/man1/wsprobe.1.gz /usr/share/bash-completion/completions/wsprobe; do
  check "the package holds $path" has_file "$path"
done
# Whatever dashboards and rules the tree has, the package has under /usr/share/wsprobe.
for file in "$source_dir"/dashboards/*.json "$source_dir"/alerts/*.yml; do
  [ -e "$file" ] || continue
  sub=$(basename "$(dirname "$file")")
  check "the package holds /usr/share/wsprobe/$sub/$(basename "$file")" \
    has_file "/usr/share/wsprobe/$sub/$(basename "$file")"
done
check "no test fixtures are shipped" bash -c "! grep -qE '/(tests/|[^/]*\.sh$|[^/]*\.py$)' '$work/contents'"
check "the config is a conffile" grep -qx /etc/wsprobe/wsprobe.toml "$work/control.d/conffiles"
check "/etc/default/wsprobe is a conffile" grep -qx /etc/default/wsprobe "$work/control.d/conffiles"
check "/etc/default/wsprobe ships readable by root only" grep -qE '^-rw------- root/root .* \./etc/default/wsprobe$' "$work/contents"
depends=$(sed -n 's/^Depends: //p' "$work/control")
log "Depends: $depends"
# From dpkg-shlibdeps over the linked libraries, not a hand-kept list.
for package in libssl3 libprometheus-cpp-core1.0 libcrypt1 libc6 adduser; do
  check "Depends names $package" grep -qE "(^|, )$package( |,|$)" <<<"$depends"
done
# civetweb and toml++ are Debian 13's, built into the binary.
for package in libcivetweb1 libtomlplusplus3; do
  check "Depends does not name $package" bash -c "! grep -qE '(^|, )$package' <<<'$depends'"
done
check "no shared library is shipped" bash -c "! grep -qE '\.so(\.[0-9]+)*\$' '$work/contents'"
for script in postinst prerm postrm; do
  check "$script is executable" test -x "$work/control.d/$script"
done
log "package size: $(stat -c %s "$deb") bytes; installed size: $(sed -n 's/^Installed-Size: //p' "$work/control") KiB"

# --- install ------------------------------------------------------------------
dpkg --purge wsprobe >/dev/null 2>&1 || true
log "dpkg -i (systemd is $( [ -d /run/systemd/system ] && echo running || echo 'not PID 1'))"
dpkg -i "$deb" >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  fail "dpkg -i"
}
check "the package is installed" bash -c "dpkg-query -W -f='\${Status}' wsprobe | grep -q 'install ok installed'"
check "a system user wsprobe exists" getent passwd wsprobe
shell=$(getent passwd wsprobe | cut -d: -f7)
uid=$(id -u wsprobe)
check "the user cannot log in ($shell)" bash -c "[ '$shell' = /usr/sbin/nologin ] || [ '$shell' = /bin/false ]"
check "the user is a system user (uid $uid)" test "$uid" -lt 1000
check "/var/lib/wsprobe belongs to wsprobe" test "$(stat -c %U:%a /var/lib/wsprobe)" = wsprobe:750
check "the config is readable by the service's group only" test "$(stat -c %U:%G:%a /etc/wsprobe/wsprobe.toml)" = root:wsprobe:640
check "/etc/default/wsprobe is root's only" test "$(stat -c %U:%a /etc/default/wsprobe)" = root:600

version_output=$(/usr/bin/wsprobe --version)
log "wsprobe --version: $version_output"
check "wsprobe --version names the package version" grep -q "wsprobe $version" <<<"$version_output"
check_output=$(runuser -u wsprobe -- /usr/bin/wsprobe --config.check --config.file=/etc/wsprobe/wsprobe.toml)
log "wsprobe --config.check: $check_output"
check "the shipped config passes --config.check as the service user" grep -q '^SUCCESS' <<<"$check_output"

# civetweb links OpenSSL 3 itself: no unversioned libssl.so (libssl-dev's) is loaded.
check "wsprobe links libssl.so.3, no unversioned name" bash -c "ldd /usr/bin/wsprobe | grep -q 'libssl.so.3 ' && ! ldd /usr/bin/wsprobe | grep -qE 'lib(ssl|crypto)\.so '"

# --- the installed binary serves HTTPS with basic auth, as the service user ---
tls=$work/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
hash=$(/usr/bin/python3 -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))' 2>/dev/null)
case $hash in
  '$2'*) ;;
  *) fail "could not make a bcrypt hash with python3's crypt module" ;;
esac
chown -R wsprobe "$tls"
cat >"$tls/wsprobe.toml" <<EOF
[web]
listen_address = "127.0.0.1:0"
tls_cert_file = "$tls/cert.pem"
tls_key_file = "$tls/key.pem"
[web.basic_auth_users]
prometheus = "$hash"
EOF
chown wsprobe "$tls/wsprobe.toml"
# setpriv execs (runuser would stay in between and not pass SIGTERM on).
setpriv --reuid=wsprobe --regid=wsprobe --init-groups /usr/bin/wsprobe --config.file="$tls/wsprobe.toml" \
  >"$tls/log" 2>&1 &
daemon_pid=$!
port=
for _ in $(seq 1 250); do  # up to 5 s
  port=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$tls/log" | head -n 1)
  [ -n "$port" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.02
done
[ -n "$port" ] || {
  cat "$tls/log" >&2
  fail "the installed wsprobe did not start HTTPS"
}
status() { curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$tls/cert.pem" "$@" "https://127.0.0.1:$port/metrics"; }
check "installed binary: HTTPS /metrics without credentials is 401" test "$(status)" = 401
check "installed binary: HTTPS /metrics with a wrong password is 401" test "$(status -u prometheus:wrong)" = 401
check "installed binary: HTTPS /metrics with the password is 200" test "$(status -u prometheus:s3cret)" = 200
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "the installed wsprobe did not exit 0 on SIGTERM"
daemon_pid=

# --- the unit ---------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
  (cd "$work" && systemd-analyze verify /lib/systemd/system/wsprobe.service) >"$work/verify.log" 2>&1 || {
    cat "$work/verify.log" >&2
    fail "systemd-analyze verify"
  }
  log "ok: systemd-analyze verify accepts the unit"
  exposure=$(cd "$work" && systemd-analyze security --offline=true /lib/systemd/system/wsprobe.service 2>&1 |
    sed -n 's/.*Overall exposure level for wsprobe.service: \([0-9.]*\).*/\1/p')
  log "systemd-analyze security: exposure $exposure"
  check "the unit's exposure is at most 2.0 (systemd's 'OK' band)" \
    awk -v e="$exposure" 'BEGIN { exit !(e != "" && e + 0 <= 2.0) }'
else
  log "systemd-analyze not found: unit checks skipped"
fi

# --- remove, then purge -------------------------------------------------------
dpkg --remove wsprobe >"$work/remove.log" 2>&1 || {
  cat "$work/remove.log" >&2
  fail "dpkg --remove"
}
check "remove: the binary is gone" test ! -e /usr/bin/wsprobe
check "remove: the unit is gone" test ! -e /lib/systemd/system/wsprobe.service
check "remove: the config stays (conffile)" test -f /etc/wsprobe/wsprobe.toml
check "remove: the state stays" test -d /var/lib/wsprobe
dpkg --purge wsprobe >"$work/purge.log" 2>&1 || {
  cat "$work/purge.log" >&2
  fail "dpkg --purge"
}
check "purge: the config is gone" test ! -e /etc/wsprobe/wsprobe.toml
check "purge: /etc/default/wsprobe is gone" test ! -e /etc/default/wsprobe
check "purge: the state directory is gone" test ! -e /var/lib/wsprobe
check "purge: no enablement link is left" test ! -e /etc/systemd/system/multi-user.target.wants/wsprobe.service
check "purge: dpkg forgot the package" bash -c "! dpkg-query -W -f='\${Status}' wsprobe 2>/dev/null | grep -q installed"
log "passed"
