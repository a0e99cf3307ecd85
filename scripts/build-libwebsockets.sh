#!/usr/bin/env bash
# Builds libwebsockets from Debian 13's ("trixie") source package, with its
# debian/patches applied, as a static library (PIC, OpenSSL, client and server
# roles, IPv6) and installs it into a cache prefix:
#
#   ${1:-${WSPROBE_CACHE_DIR:-$HOME/.cache/wsprobe}}/libwebsockets-<version>-<recipe hash>
#
# Why: Debian 12's libwebsockets 4.1.6 rewrites server close codes 1012-1015
# to 1002 before the application sees them; 4.3.5 passes them through.
#
# Nothing third-party is stored in the repository: the Debian archive is
# taken from this machine's apt configuration at run time, and the source is
# fetched with apt-get using a private sources list and private state
# directories (the system's apt state is not touched).
#
# Idempotent: a complete install ends with a stamp file; when it is present
# and matches this recipe the script only prints the prefix (no network).
#
# On success the LAST line of stdout is the install prefix:
#   prefix=$(scripts/build-libwebsockets.sh | tail -n 1)
# Progress goes to stderr.
#
# Environment:
#   WSPROBE_CACHE_DIR   cache directory (the first argument wins)
#   WSPROBE_DEBIAN_URI  Debian archive URI to use instead of the one in the
#                       apt configuration
set -euo pipefail

readonly LWS_VERSION=4.3.5        # upstream version expected from the source suite
readonly SOURCE_PACKAGE=libwebsockets
readonly SOURCE_SUITE=trixie
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly STAMP_NAME=.wsprobe-build-stamp

log() { printf 'build-libwebsockets: %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

usage() {
  cat >&2 <<EOF
usage: $0 [CACHE_DIR]
Builds static libwebsockets $LWS_VERSION (Debian $SOURCE_SUITE source + patches) into
CACHE_DIR/libwebsockets-$LWS_VERSION-<recipe hash> (default CACHE_DIR: \${WSPROBE_CACHE_DIR:-\$HOME/.cache/wsprobe})
and prints that prefix as the last line of stdout.
EOF
}

case ${1:-} in
  -h | --help)
    usage
    exit 0
    ;;
  -*)
    usage
    exit 2
    ;;
esac
[ $# -le 1 ] || {
  usage
  exit 2
}

# CMake options. Changing them changes the recipe hash and forces a rebuild.
cmake_options=(
  -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON
  -DLWS_STATIC_PIC=ON
  -DLWS_WITH_STATIC=ON
  -DLWS_WITH_SHARED=OFF
  -DLWS_WITHOUT_TESTAPPS=ON
  -DLWS_WITH_MINIMAL_EXAMPLES=OFF
  -DLWS_WITH_PLUGINS=OFF
  -DLWS_WITH_PLUGINS_BUILTIN=OFF
  -DLWS_WITH_EVLIB_PLUGINS=OFF
  -DLWS_WITH_LWSWS=OFF
  -DLWS_WITH_SSL=ON
  -DLWS_WITH_MBEDTLS=OFF
  -DLWS_WITHOUT_CLIENT=OFF
  -DLWS_WITHOUT_SERVER=OFF
  -DLWS_IPV6=ON
  -DLWS_WITHOUT_EXTENSIONS=ON
  -DLWS_WITH_ZLIB=OFF
  -DLWS_WITH_LIBUV=OFF
  -DLWS_WITH_LIBEVENT=OFF
  # libev: an epoll loop. The default poll() loop scans every socket on each
  # wake-up, which at thousands of held connections is most of the CPU.
  -DLWS_WITH_LIBEV=ON
  -DLWS_WITH_GLIB=OFF
  -DLWS_WITH_SDEVENT=OFF
  -DLWS_WITH_EXPORT_LWSTARGETS=ON
  -DLWS_WITH_SELFTESTS=OFF
  -DLWS_WITH_GCOV=OFF
  -DLWS_WITH_ASAN=OFF
  -DDISABLE_WERROR=ON
  -DLWS_CTEST_INTERNET_AVAILABLE=OFF
  # lws runs "git describe" in its source dir for the version string; the
  # build tree may sit inside some other git checkout, so keep git out and
  # name the Debian revision instead (LWS_BUILD_HASH, set at configure time).
  -DCMAKE_DISABLE_FIND_PACKAGE_Git=ON
)

recipe_hash() {
  { printf '%s\n' "$SOURCE_PACKAGE" "$LWS_VERSION" "$SOURCE_SUITE"; printf '%s\n' "${cmake_options[@]}"; } |
    sha256sum | cut -c1-16
}

cache_dir=${1:-${WSPROBE_CACHE_DIR:-${HOME:?HOME is not set}/.cache/wsprobe}}
mkdir -p -- "$cache_dir"
cache_dir=$(cd -- "$cache_dir" && pwd -P)
recipe=$(recipe_hash)
# The recipe is part of the name: a changed recipe builds beside the old one,
# and builds that use the old one are not disturbed.
prefix=$cache_dir/libwebsockets-$LWS_VERSION-$recipe

# Fast path: a complete install of this recipe is present.
install_is_complete() {
  local stamp=$prefix/$STAMP_NAME
  [ -f "$stamp" ] &&
    grep -qx "upstream_version=$LWS_VERSION" "$stamp" &&
    grep -qx "recipe=$recipe" "$stamp" &&
    [ -f "$prefix/lib/libwebsockets.a" ] &&
    [ -f "$prefix/include/libwebsockets.h" ] &&
    [ -f "$prefix/lib/cmake/libwebsockets/libwebsockets-config.cmake" ]
}

if install_is_complete; then
  log "up to date: $prefix"
  printf '%s\n' "$prefix"
  exit 0
fi

# ---------------------------------------------------------------------------
# Slow path: fetch, patch, build, install.

missing=()
for tool in apt-get apt-config tar gzip xz patch sha256sum sha512sum cmake make cc c++ awk sed find; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  die "missing tools: ${missing[*]} (Debian packages: build-essential cmake xz-utils patch dpkg-dev apt coreutils; run scripts/setup.sh)"
fi
[ -f /usr/include/openssl/ssl.h ] || die "OpenSSL headers not found (/usr/include/openssl/ssl.h): install libssl-dev"
[ -f /usr/include/ev.h ] || die "libev headers not found (/usr/include/ev.h): install libev-dev"
[ -r "$KEYRING" ] || die "keyring $KEYRING not readable: install debian-archive-keyring"

# One build at a time per cache directory.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$cache_dir/.libwebsockets-$LWS_VERSION.lock"
  if ! flock -n 9; then
    log "waiting for another build in $cache_dir"
    flock 9
  fi
  if install_is_complete; then
    log "up to date (built by another run): $prefix"
    printf '%s\n' "$prefix"
    exit 0
  fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-lws.XXXXXX")
stage=$(mktemp -d "$cache_dir/.libwebsockets-$LWS_VERSION.stage.XXXXXX")
cleanup() { rm -rf -- "$work" "$stage"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_seconds=$SECONDS

# --- Debian archive URI from the apt configuration -------------------------

host_suite=
if [ -r /etc/os-release ]; then
  host_suite=$(awk -F= '$1 == "VERSION_CODENAME" { gsub(/["\047]/, "", $2); print $2; exit }' /etc/os-release)
fi
host_suite=${host_suite:-bookworm}

# Prints "rank suffix uri" for each enabled deb/deb-src entry whose suites
# include $host_suite or its -security / -updates companion (suffix "-",
# "-security", "-updates") and whose components include main. Rank 0: signed by
# the Debian archive keyring (or no Signed-By at all); rank 1: anything else.
candidate_uris() {
  local source_list='' source_parts='' assignments
  # Resolved absolute paths of the main list and the parts directory.
  assignments=$(apt-config shell source_list Dir::Etc::sourcelist/f source_parts Dir::Etc::sourceparts/d 2>/dev/null) || true
  eval "$assignments"
  source_list=${source_list:-/etc/apt/sources.list}
  source_parts=${source_parts:-/etc/apt/sources.list.d}
  source_parts=${source_parts%/}

  local one_line=() deb822=() f
  [ -f "$source_list" ] && one_line+=("$source_list")
  for f in "$source_parts"/*.list; do [ -f "$f" ] && one_line+=("$f"); done
  for f in "$source_parts"/*.sources; do [ -f "$f" ] && deb822+=("$f"); done

  if [ ${#one_line[@]} -gt 0 ]; then
    awk -v suite="$host_suite" '
      { sub(/#.*/, "") }
      $1 != "deb" && $1 != "deb-src" { next }
      {
        i = 2; opts = ""
        if ($i ~ /^\[/) {
          while (i <= NF) { opts = opts " " $i; if ($i ~ /\]$/) { i++; break } i++ }
        }
        uri = $i; s = $(i + 1); main = 0
        for (j = i + 2; j <= NF; j++) if ($j == "main") main = 1
        if (s == suite) sfx = "-"
        else if (s == suite "-security") sfx = "-security"
        else if (s == suite "-updates") sfx = "-updates"
        else next
        if (!main || uri == "") next
        rank = (opts ~ /signed-by=/ && opts !~ /debian-archive-keyring/) ? 1 : 0
        print rank, sfx, uri
      }' "${one_line[@]}"
  fi
  if [ ${#deb822[@]} -gt 0 ]; then
    awk -v suite="$host_suite" '
      function flush(   n, ns, j, k, u, sl, main, cl, tl, deb, rank, sfx) {
        if (uris != "" && tolower(enabled) != "no") {
          deb = 0; n = split(types, tl, /[ \t]+/)
          for (k = 1; k <= n; k++) if (tl[k] == "deb" || tl[k] == "deb-src") deb = 1
          ns = split(suites, sl, /[ \t]+/)
          main = 0; n = split(comps, cl, /[ \t]+/)
          for (k = 1; k <= n; k++) if (cl[k] == "main") main = 1
          rank = (signedby != "" && signedby !~ /debian-archive-keyring/) ? 1 : 0
          if (deb && main) {
            n = split(uris, u, /[ \t]+/)
            for (j = 1; j <= ns; j++) {
              if (sl[j] == suite) sfx = "-"
              else if (sl[j] == suite "-security") sfx = "-security"
              else if (sl[j] == suite "-updates") sfx = "-updates"
              else continue
              for (k = 1; k <= n; k++) if (u[k] != "") print rank, sfx, u[k]
            }
          }
        }
        types = uris = suites = comps = enabled = signedby = ""; field = ""
      }
      FNR == 1 { flush() }
      /^#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { if (field == "signed-by") signedby = signedby " " $0; next }
      {
        field = tolower(substr($0, 1, index($0, ":") - 1))
        value = substr($0, index($0, ":") + 1)
        gsub(/^[ \t]+|[ \t]+$/, "", value)
        if (field == "types") types = value
        else if (field == "uris") uris = value
        else if (field == "suites") suites = value
        else if (field == "components") comps = value
        else if (field == "enabled") enabled = value
        else if (field == "signed-by") signedby = value
      }
      END { flush() }' "${deb822[@]}"
  fi
}

# "suffix uri" pairs: the archives to read $SOURCE_SUITE's source indexes
# from. The suffix ("-" for none, "-security", "-updates") maps the host's
# companion suites onto the source suite's: a security fix of the source
# package (a new Debian revision) is published only in <suite>-security.
archive_sources=()
if [ -n "${WSPROBE_DEBIAN_URI:-}" ]; then
  archive_sources=("- $WSPROBE_DEBIAN_URI")
else
  while IFS= read -r pair; do
    [ -n "$pair" ] && archive_sources+=("$pair")
  done < <(candidate_uris | sort -s -n -k1,1 | awk '!seen[$2 " " $3]++ { print $2, $3 }')
fi
archive_uris=()
for pair in "${archive_sources[@]}"; do archive_uris+=("${pair#* }"); done
[ ${#archive_uris[@]} -gt 0 ] ||
  die "no enabled apt source for suite '$host_suite' with component 'main' found in the apt configuration (set WSPROBE_DEBIAN_URI to a Debian archive URI)"

# --- private apt state ---------------------------------------------------------

apt_dir=$work/apt
dl_dir=$work/download
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/parts" "$dl_dir"
: >"$apt_dir/preferences"
chmod 755 "$work" "$apt_dir"
# apt downloads as the unprivileged user _apt when run as root.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
  chown _apt "$dl_dir"
fi

apt_options=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/parts"
  -o "Dir::Etc::Preferences=$apt_dir/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/parts"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Cache::pkgcache="
  -o "Dir::Cache::srcpkgcache="
  -o "Acquire::Languages=none"
  -o "APT::Get::List-Cleanup=false"
)

: >"$apt_dir/sources.list"
for pair in "${archive_sources[@]}"; do
  suffix=${pair%% *}
  uri=${pair#* }
  [ "$suffix" = - ] && suffix=
  printf 'deb-src [signed-by=%s] %s %s%s main\n' "$KEYRING" "${uri%/}" "$SOURCE_SUITE" "$suffix" >>"$apt_dir/sources.list"
done
log "fetching the $SOURCE_SUITE source indexes from: ${archive_uris[*]}"
update_log=$work/apt-update.log
apt-get "${apt_options[@]}" -q update >"$update_log" 2>&1 || true
if grep -qE '^(W|E): .*(NO_PUBKEY|not signed|is not valid|EXPKEYSIG)' "$update_log" ||
  ! find "$apt_dir/lists" -maxdepth 1 -name "*_dists_${SOURCE_SUITE}_main_source_Sources*" | grep -q .; then
  sed 's/^/  apt: /' "$update_log" >&2
  if grep -q NO_PUBKEY "$update_log"; then
    log "$SOURCE_SUITE is signed by a key missing from $KEYRING: upgrade the debian-archive-keyring package"
  fi
  die "could not fetch a signed '$SOURCE_SUITE main' source index from any archive in the apt configuration (${archive_uris[*]})"
fi
# A companion suite (-security, -updates) may be unreachable; the main one is enough.
grep -E '^(W|E): ' "$update_log" | sed 's/^/  apt (tolerated): /' >&2 || true

# --- download ------------------------------------------------------------------

print_uris=$(apt-get "${apt_options[@]}" -q source --print-uris "$SOURCE_PACKAGE/$SOURCE_SUITE" 2>"$work/print-uris.err") || {
  sed 's/^/  apt: /' "$work/print-uris.err" >&2
  die "apt-get source --print-uris $SOURCE_PACKAGE/$SOURCE_SUITE failed"
}
# Lines: 'URI' file size HASHTYPE:hash
orig_line=$(printf '%s\n' "$print_uris" | awk -v p="$SOURCE_PACKAGE" '/^\x27/ && $2 ~ ("^" p "_[^_]+\\.orig\\.tar\\.") { print; exit }')
debian_line=$(printf '%s\n' "$print_uris" | awk -v p="$SOURCE_PACKAGE" '/^\x27/ && $2 ~ ("^" p "_[^_]+\\.debian\\.tar\\.") { print; exit }')
if [ -z "$orig_line" ] || [ -z "$debian_line" ]; then
  printf '%s\n' "$print_uris" | sed 's/^/  apt: /' >&2
  die "could not find the .orig and .debian tarballs of $SOURCE_PACKAGE in $SOURCE_SUITE (expected source format 3.0 (quilt))"
fi
orig_file=$(printf '%s\n' "$orig_line" | awk '{ print $2 }')
debian_file=$(printf '%s\n' "$debian_line" | awk '{ print $2 }')
upstream_version=${orig_file#"${SOURCE_PACKAGE}"_}
upstream_version=${upstream_version%.orig.tar.*}
debian_version=${debian_file#"${SOURCE_PACKAGE}"_}
debian_version=${debian_version%.debian.tar.*}
[ "$upstream_version" = "$LWS_VERSION" ] ||
  die "$SOURCE_SUITE carries $SOURCE_PACKAGE $debian_version, but this script expects upstream $LWS_VERSION; check the close-code behaviour of the new version and update LWS_VERSION"
log "$SOURCE_SUITE carries $SOURCE_PACKAGE $debian_version"

# Checks a downloaded file against the hash apt printed ("SHA256:..." etc.).
hash_ok() {
  local file=$1 spec=$2 algo sum actual
  algo=${spec%%:*}
  sum=${spec#*:}
  [ -f "$file" ] || return 1
  case $algo in
    SHA256) actual=$(sha256sum <"$file") ;;
    SHA512) actual=$(sha512sum <"$file") ;;
    *) die "unsupported hash type '$algo' for $file" ;;
  esac
  [ "${actual%% *}" = "$sum" ]
}

log "downloading $orig_file and $debian_file"
if ! (cd "$dl_dir" && apt-get "${apt_options[@]}" -q source --download-only "$SOURCE_PACKAGE/$SOURCE_SUITE") >"$work/source.log" 2>&1; then
  log "apt-get source reported errors (a missing .dsc is tolerated); checking the tarballs"
  sed 's/^/  apt: /' "$work/source.log" >&2
fi
for line in "$orig_line" "$debian_line"; do
  read -r quoted_uri file _size spec <<<"$line"
  file_uri=${quoted_uri//\'/}
  # An archive may lack a file its index names (an orig tarball published
  # only in the main archive, a revision's patches only in -security): try
  # the same pool path in every configured archive. The hash comes from the
  # signed index, so where a file is found does not matter.
  relative=${file_uri#*/main/}
  for candidate in "$file_uri" "${archive_uris[@]/%//pool/main/$relative}" \
    "${archive_uris[@]/%//pool/updates/main/$relative}"; do
    hash_ok "$dl_dir/$file" "$spec" && break
    log "fetching $candidate"
    rm -f -- "$dl_dir/$file"
    /usr/lib/apt/apt-helper "${apt_options[@]}" download-file "$candidate" "$dl_dir/$file" "$spec" \
      >"$work/helper.log" 2>&1 || sed 's/^/  apt: /' "$work/helper.log" >&2
  done
  hash_ok "$dl_dir/$file" "$spec" || die "$file does not match $spec"
done

# --- unpack and patch ------------------------------------------------------------

src_root=$work/src
mkdir -p "$src_root"
tar -xf "$dl_dir/$orig_file" -C "$src_root"
top_dirs=()
while IFS= read -r -d '' d; do top_dirs+=("$d"); done < <(find "$src_root" -mindepth 1 -maxdepth 1 -type d -print0)
[ ${#top_dirs[@]} -eq 1 ] || die "$orig_file does not unpack into a single directory"
src_dir=${top_dirs[0]}
tar -xf "$dl_dir/$debian_file" -C "$src_dir"
[ -d "$src_dir/debian" ] || die "$debian_file has no debian/ directory"

if [ -f "$src_dir/debian/source/format" ] && ! grep -qx '3.0 (quilt)' "$src_dir/debian/source/format"; then
  log "warning: unexpected source format: $(cat "$src_dir/debian/source/format")"
fi

series=$src_dir/debian/patches/series
patch_names=()
patch_options=()
if [ -f "$series" ]; then
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%%#*}
    read -r -a words <<<"$line" || true
    [ ${#words[@]} -gt 0 ] || continue
    patch_names+=("${words[0]}")
    if [ ${#words[@]} -gt 1 ]; then patch_options+=("${words[*]:1}"); else patch_options+=("-p1"); fi
  done <"$series"
fi
series_hash=$(
  cd "$src_dir/debian/patches" 2>/dev/null || exit 0
  {
    printf '%s\n' "${patch_names[@]}"
    for name in "${patch_names[@]}"; do cat -- "$name"; done
  } | sha256sum | cut -d' ' -f1
)
for i in "${!patch_names[@]}"; do
  name=${patch_names[$i]}
  read -r -a options <<<"${patch_options[$i]}"
  log "applying debian/patches/$name"
  patch -d "$src_dir" --batch --forward --fuzz=0 --no-backup-if-mismatch --quiet \
    "${options[@]}" -i "$src_dir/debian/patches/$name" >&2 ||
    die "debian/patches/$name does not apply"
done
log "applied ${#patch_names[@]} patches (series sha256 ${series_hash:-none})"

# --- build and install -------------------------------------------------------------

build_dir=$work/build
jobs=$(nproc 2>/dev/null || echo 2)
log "configuring"
# Version string: "<upstream>-<Debian revision>", e.g. 4.3.5-1+deb13u2.
debian_revision=${debian_version#"${upstream_version}"-}
cmake -S "$src_dir" -B "$build_dir" "${cmake_options[@]}" -DLWS_BUILD_HASH="$debian_revision" \
  -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/cmake.log" 2>&1 || {
  cat "$work/cmake.log" >&2
  die "cmake configure failed"
}
log "building with $jobs jobs"
cmake --build "$build_dir" -j "$jobs" >"$work/build.log" 2>&1 || {
  tail -n 60 "$work/build.log" >&2
  die "build failed (log above)"
}
DESTDIR=$stage cmake --install "$build_dir" >"$work/install.log" 2>&1 || {
  cat "$work/install.log" >&2
  die "install failed"
}
staged=$stage$prefix
for f in lib/libwebsockets.a include/libwebsockets.h lib/cmake/libwebsockets/libwebsockets-config.cmake; do
  [ -f "$staged/$f" ] || die "the install lacks $f"
done
if find "$staged" -name '*.so*' -print | grep -q .; then
  die "the install unexpectedly contains shared objects"
fi

# Replace any previous (incomplete or outdated) install, then write the stamp last.
rm -rf -- "$prefix"
mv -- "$staged" "$prefix"
{
  printf 'upstream_version=%s\n' "$LWS_VERSION"
  printf 'debian_version=%s\n' "$debian_version"
  printf 'source_suite=%s\n' "$SOURCE_SUITE"
  printf 'patch_series_sha256=%s\n' "$series_hash"
  printf 'patches=%s\n' "${patch_names[*]}"
  printf 'orig_tarball=%s %s\n' "$orig_file" "${orig_line##* }"
  printf 'debian_tarball=%s %s\n' "$debian_file" "${debian_line##* }"
  printf 'recipe=%s\n' "$recipe"
} >"$prefix/$STAMP_NAME.tmp"
mv -- "$prefix/$STAMP_NAME.tmp" "$prefix/$STAMP_NAME"

log "installed $SOURCE_PACKAGE $debian_version into $prefix in $((SECONDS - start_seconds)) s"
printf '%s\n' "$prefix"
