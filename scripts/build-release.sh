#!/usr/bin/env bash
# The shipped `rudder` binary: the release profile, and on Linux with glibc
# statically linked as a position-independent executable (static-pie: no
# shared libraries to load, and the kernel still places it at a random
# address, so ASLR protects the operator that parses untrusted charts). It
# runs on any image (scratch, distroless) with no libc installed. Prints the
# binary's path.
# Usage: scripts/build-release.sh   (honours CARGO_TARGET_DIR)
# RUDDER_PROFILE=dev builds the same static-pie linkage unoptimised (the
# image test uses it, sparing CI a fat-LTO build).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
rustc_version=$(rustc -vV)
triple=$(sed -n 's/^host: //p' <<< "$rustc_version")
flags=${RUSTFLAGS:-}
# Flags of the final link only (`cargo rustc`): the dependencies stay built.
link=""
case "$triple" in
  *-linux-gnu)
    # --target keeps these flags off build scripts and proc-macros, which
    # must stay dynamic.
    flags="$flags -C target-feature=+crt-static -C relocation-model=pie"
    # Relative relocations packed (DT_RELR): the table the binary walks
    # to relocate itself at start shrinks from about a megabyte to a few
    # kilobytes, pages that otherwise stay resident. glibc's static start
    # code reads that form from 2.36 on.
    glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
    if [[ -n $glibc ]] && printf '2.36\n%s\n' "$glibc" | sort -V -C; then
      link="-C link-arg=-Wl,-z,pack-relative-relocs"
    fi
    ;;
esac
# rustc links x86_64 Linux GNU binaries with its own LLD from 1.90 on.
ld_is_lld() {
  local version
  version=$(sed -n 's/^release: //p' <<< "$rustc_version")
  [[ $1 == x86_64-unknown-linux-gnu ]] && printf '1.90.0\n%s\n' "${version%%-*}" | sort -V -C
}
# Code layout: the functions the operator and `rudder template` run, placed
# together at the start of the code (scripts/train-layout.sh made the list),
# so the blocks of code the kernel maps around each page fault are mostly
# theirs, not cold code's. Only the order changes. rustc links with LLD
# here, which reads the list; RUDDER_LAYOUT=off links in the compiler's
# order.
order=$ROOT/scripts/hot-functions.txt
if [[ ${RUDDER_LAYOUT:-on} != off && -f $order ]] && ld_is_lld "$triple"; then
  # Cargo relinks when the flags change, not when a file they name does:
  # the list is passed under a name made of its content's digest.
  digest=$(sha256sum "$order" | cut -c1-16)
  mkdir -p "$TARGET/layout"
  cp "$order" "$TARGET/layout/hot-functions-$digest.txt"
  order=$TARGET/layout/hot-functions-$digest.txt
  link="$link -C link-arg=-Wl,--symbol-ordering-file=$order -C link-arg=-Wl,--no-warn-symbol-ordering"
else
  order=""
fi
profile=${RUDDER_PROFILE:-release}
# Cargo puts the dev profile's output under debug/.
dir=$profile
[[ $profile == dev ]] && dir=debug
# shellcheck disable=SC2086 # $link is a list of flags
(cd "$ROOT" && RUSTFLAGS="$flags" cargo rustc --profile "$profile" --quiet --target "$triple" --bin rudder -- $link)
bin=$TARGET/$triple/$dir/rudder
if [[ -n $order ]] && command -v nm >/dev/null; then
  listed=$(grep -cv '^#' "$order")
  found=$(nm --defined-only "$bin" | awk '{print $NF}' | LC_ALL=C sort -u |
    LC_ALL=C comm -12 - <(grep -v '^#' "$order" | LC_ALL=C sort -u) | wc -l)
  echo "build-release: layout: $found of $listed listed functions are symbols of this build (scripts/train-layout.sh refreshes the list)" >&2
fi
echo "$bin"
