#!/usr/bin/env bash
# Builds a library from Debian 13's ("trixie") packages into a cache prefix:
#
#   scripts/build-debian-source.sh RECIPE [CACHE_DIR]
#   -> CACHE_DIR/<source package>-<upstream version>-<recipe hash>, printed as
#      the LAST line of stdout (progress goes to stderr)
#
# RECIPE names scripts/debian-source/RECIPE.sh, which says which package, the
# CMake options and the files a complete install has. The prefix's name holds
# a hash of the recipe: a changed recipe builds beside the old prefix.
# CACHE_DIR defaults to ${WSPROBE_CACHE_DIR:-$HOME/.cache/wsprobe}.
#
# apt does the fetching, against a private state directory in CACHE_DIR (its
# own sources list, lists and cache; the system's apt state is not touched):
# the index is verified with the Debian archive keyring's trixie keys, files
# with the index's checksums, and dpkg-source unpacks and applies the Debian
# patches. The archives are the ones this machine's apt configuration uses for
# Debian 12, with trixie, trixie-updates and trixie-security in place of the
# host's suites.
set -euo pipefail

readonly SUITE=trixie
readonly KEYRINGS=/usr/share/keyrings/debian-archive-trixie-stable.gpg,/usr/share/keyrings/debian-archive-trixie-automatic.gpg,/usr/share/keyrings/debian-archive-trixie-security-automatic.gpg
readonly STAMP=.wsprobe-build-stamp
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf 'build-debian-source: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] && [ "${1#-}" = "$1" ] ||
  { echo "usage: $0 RECIPE [CACHE_DIR]   (recipes: $(cd "$here/debian-source" && ls | sed 's/\.sh$//' | tr '\n' ' '))" >&2; exit 2; }
recipe_file=$here/debian-source/$1.sh
[ -f "$recipe_file" ] || die "no recipe $recipe_file"

# A recipe sets: source_package, upstream_version, expected_files (relative to
# the prefix), and either cmake_options (build the source package with CMake)
# or binary_package + binary_paths (unpack a binary package's files instead),
# and optionally patches (files beside it, applied to the unpacked tree).
# It is read again once the Debian version is known ($debian_revision).
debian_revision=
binary_package=
patches=()
# shellcheck source=/dev/null
. "$recipe_file"

cache_dir=${2:-${WSPROBE_CACHE_DIR:-${HOME:?HOME is not set}/.cache/wsprobe}}
mkdir -p -- "$cache_dir"
cache_dir=$(cd -- "$cache_dir" && pwd -P)
recipe_hash=$({ echo "$SUITE"; cd "$here/debian-source" && cat "$recipe_file" "${patches[@]}"; } | sha256sum | cut -c1-16)
prefix=$cache_dir/$source_package-$upstream_version-$recipe_hash

install_is_complete() {
  local f
  grep -qx "recipe=$recipe_hash" "$prefix/$STAMP" 2>/dev/null || return 1
  for f in "${expected_files[@]}"; do [ -e "$prefix/$f" ] || return 1; done
}
if install_is_complete; then
  log "up to date: $prefix"
  echo "$prefix"
  exit 0
fi

# --- slow path: one build at a time per cache directory ------------------------
exec 9>"$cache_dir/.debian-source.lock"
flock 9
if install_is_complete; then echo "$prefix"; exit 0; fi
for f in ${KEYRINGS//,/ }; do
  [ -r "$f" ] || die "$f is missing: install (or upgrade) debian-archive-keyring"
done
start=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/wsprobe-$source_package.XXXXXX")
stage=$(mktemp -d "$cache_dir/.stage.XXXXXX")
trap 'rm -rf -- "$work" "$stage"' EXIT
chmod 755 "$work"
mkdir "$work/download"
# apt downloads as the user _apt when run as root.
[ "$(id -u)" -ne 0 ] || chown _apt "$work/download" 2>/dev/null || true

# The private apt state: one sources file per trixie suite, on the archives the
# host's apt sources use for its Debian release (read with apt's own parser).
apt_dir=$cache_dir/apt-$SUITE
rm -rf -- "$apt_dir/sources"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/sources" "$apt_dir/none"
host_suite=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
arch=$(dpkg --print-architecture)
apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' | sort -u |
  while read -r uri release; do
    case $release in
      "$host_suite" | "$host_suite"-updates | "$host_suite"-security) ;;
      *) continue ;;
    esac
    suite=$SUITE${release#"$host_suite"}
    printf 'deb-src [signed-by=%s] %s %s main\ndeb [arch=%s signed-by=%s] %s %s main\n' \
      "$KEYRINGS" "$uri" "$suite" "$arch" "$KEYRINGS" "$uri" "$suite" >>"$apt_dir/sources/$suite.list"
  done
[ -f "$apt_dir/sources/$SUITE.list" ] ||
  die "the apt configuration has no archive for '$host_suite' (see /etc/apt/sources.list.d/)"
: >"$apt_dir/none/empty.list"

# apt with the private state; $1 is the sources list to use ("" for all suites).
apt_private() {
  local list=$1 parts=$apt_dir/sources
  shift
  if [ -n "$list" ]; then parts=$apt_dir/none; else list=$apt_dir/none/empty.list; fi
  "${apt_tool:-apt-get}" -q -o Dir::Etc::SourceList="$list" -o Dir::Etc::SourceParts="$parts" \
    -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
    -o Dir::Etc::Preferences="$apt_dir/none/preferences" -o Dir::Etc::PreferencesParts="$apt_dir/none" \
    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Acquire::Languages=none "$@"
}

log "updating the indexes of $(awk '{ print $(NF - 2) "#" $(NF - 1) }' "$apt_dir"/sources/*.list | sort -u | xargs)"
apt_private "" update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; die "apt-get update failed"; }
if grep -E '^(W|E): ' "$work/update.log" >&2; then
  ls "$apt_dir/lists" | grep -q "_dists_${SUITE}_main_source_Sources" || die "no signed $SUITE index"
fi

# The upstream version must be the recipe's: a new one needs a look first.
check_version() {
  local upstream=${debian_version#*:}
  upstream=${upstream%-*}
  case $upstream in
    "$upstream_version" | "$upstream_version"[+~]*) ;;
    *) die "$SUITE has $source_package $debian_version; $recipe_file expects $upstream_version" ;;
  esac
}

apply_patches() {
  local p
  for p in "${patches[@]}"; do
    log "applying $p"
    patch -d "$1" -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch --quiet <"$here/debian-source/$p" >&2 ||
      die "$p does not apply"
  done
}

cd "$work/download"
if [ -n "$binary_package" ]; then
  # --- a binary package's files (for a package whose source this archive lacks)
  apt_private "" download "$binary_package" >"$work/download.log" 2>&1 ||
    { cat "$work/download.log" >&2; die "apt-get download $binary_package failed"; }
  deb=$(ls ./*.deb)
  debian_version=$(dpkg-deb -f "$deb" Version)
  check_version
  dpkg-deb -x "$deb" "$work/root"
  apply_patches "$work/root"
  mkdir -p "$stage/$prefix"
  for path in "${binary_paths[@]}"; do  # "FROM TO": a path in the package, one in the prefix
    mkdir -p "$(dirname "$stage/$prefix/${path#* }")"
    cp -a "$work/root/${path%% *}" "$stage/$prefix/${path#* }"
  done
else
  # --- the source package, built with CMake --------------------------------------
  # The version apt selects over all three suites, and its files.
  uris=$(apt_private "" source --print-uris "$source_package" 2>"$work/uris.log") ||
    { cat "$work/uris.log" >&2; die "$source_package is not in $SUITE"; }
  files=$(echo "$uris" | awk '/^\x27/ { print $2 }')
  dsc=$(echo "$files" | grep '\.dsc$')
  # The index record that lists this .dsc (it is the .dsc's content).
  record=$(apt_tool=apt-cache apt_private "" showsrc --only-source "$source_package" |
    awk -v dsc=" $dsc" 'BEGIN { RS = ""; ORS = "\n" } index($0 "\n", dsc "\n") { print; exit }')
  debian_version=$(echo "$record" | sed -n 's/^Version: //p')
  check_version
  # A mirror may lack a file the index names (an orig tarball only in the main
  # archive, a security revision's patches only in -security): try each suite's
  # archive alone for what is missing. apt keeps what is already there.
  have_sources() {
    for f in $files; do [ "$f" = "$dsc" ] || [ -f "$f" ] || return 1; done
  }
  for list in "" "$apt_dir"/sources/*.list; do
    apt_private "$list" source --download-only "$source_package=$debian_version" \
      >>"$work/download.log" 2>&1 && break
    have_sources && break
  done
  if [ ! -f "$dsc" ]; then
    # The index record is the .dsc's content (less the lines naming the .dsc
    # itself), and apt checked its signature.
    log "the archive has no $dsc: writing it from the signed index"
    echo "$record" | grep -vF " $dsc" | sed 's/^Package:/Source:/' >"$dsc"
    # dpkg-source requires a Files (MD5) field, which some indexes drop; the
    # index's Checksums-Sha256 is what vouches for the files.
    if ! grep -q '^Files:' "$dsc"; then
      echo "Files:" >>"$dsc"
      for f in $files; do
        [ "$f" = "$dsc" ] || echo " $(md5sum <"$f" | cut -d' ' -f1) $(stat -c %s "$f") $f" >>"$dsc"
      done
    fi
  fi
  # dpkg-source checks every file against the .dsc's checksums, then applies debian/patches.
  dpkg-source -x "$dsc" "$work/src" >"$work/unpack.log" 2>&1 ||
    { cat "$work/download.log" "$work/unpack.log" >&2; die "dpkg-source -x $dsc failed"; }
  grep -E 'applying|warning' "$work/unpack.log" | sed 's/^/  /' >&2 || true
  apply_patches "$work/src"
  debian_revision=${debian_version##*-}
  # shellcheck source=/dev/null
  . "$recipe_file"
  log "configuring and building $source_package $debian_version"
  cmake -S "$work/src" -B "$work/build" -DCMAKE_INSTALL_PREFIX="$prefix" "${cmake_options[@]}" \
    >"$work/build.log" 2>&1 &&
    cmake --build "$work/build" -j "$(nproc)" >>"$work/build.log" 2>&1 &&
    DESTDIR=$stage cmake --install "$work/build" >>"$work/build.log" 2>&1 ||
    { tail -n 60 "$work/build.log" >&2; die "the build of $source_package failed"; }
fi

for f in "${expected_files[@]}"; do [ -e "$stage/$prefix/$f" ] || die "the install lacks $f"; done

rm -rf -- "$prefix"
mv -- "$stage/$prefix" "$prefix"
printf 'package=%s\ndebian_version=%s\nrecipe=%s\n' "$source_package" "$debian_version" "$recipe_hash" >"$prefix/$STAMP"
log "installed $source_package $debian_version into $prefix in $((SECONDS - start)) s"
echo "$prefix"
