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
triple=$(rustc -vV | sed -n 's/^host: //p')
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
profile=${RUDDER_PROFILE:-release}
# Cargo puts the dev profile's output under debug/.
dir=$profile
[[ $profile == dev ]] && dir=debug
# shellcheck disable=SC2086 # $link is a list of flags
(cd "$ROOT" && RUSTFLAGS="$flags" cargo rustc --profile "$profile" --quiet --target "$triple" --bin rudder -- $link)
echo "$TARGET/$triple/$dir/rudder"
