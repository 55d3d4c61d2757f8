#!/usr/bin/env bash
# The rudder container image, built without a container daemon: one layer
# holding the static-pie `rudder` binary (scripts/build-release.sh), the
# host's CA certificates and /etc/passwd and /etc/group entries for the
# non-root user 65532; config with user 65532:65532, entrypoint
# `rudder run` and org.opencontainers.image.* labels (version from
# Cargo.toml, revision from git). go-containerregistry's `crane` (built once
# from the Go module proxy, cached under ~/.cache/rudder-image) writes the
# image: appended to an empty OCI base and mutated in a throwaway in-memory
# registry on 127.0.0.1, then pulled into an OCI image layout. Prints the
# image digest, then the layout directory as the last line.
#
# Usage: scripts/build-image.sh               build the image
#        scripts/build-image.sh push DIR REF  push the layout DIR to REF
#                                             (registry/repository:tag)
#
# Environment:
#   RUDDER_BINARY     use this binary instead of building it (it must be a
#                     static-pie ELF: the image has no libc)
#   RUDDER_PROFILE    cargo profile of the binary (default release; see
#                     scripts/build-release.sh)
#   IMAGE_OUT         layout directory (default <target dir>/image/rudder-oci)
#   IMAGE_SOURCE      org.opencontainers.image.source (default: the git
#                     remote `origin`; omitted when there is none)
#   CA_BUNDLE         CA certificates (default /etc/ssl/certs/ca-certificates.crt)
#   RUDDER_IMAGE_CACHE  where crane is built (default ~/.cache/rudder-image)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CRANE_VERSION=v0.22.1
CRANE_DIR=${RUDDER_IMAGE_CACHE:-$HOME/.cache/rudder-image}/crane-$CRANE_VERSION
CRANE=$CRANE_DIR/crane
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
OUT=${IMAGE_OUT:-$TARGET/image/rudder-oci}
USER_ID=65532

log() { printf 'image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# crane from the Go module proxy, once.
ensure_crane() {
    [[ -x $CRANE ]] && return 0
    command -v go >/dev/null || die "go is needed to build crane (Go >= 1.25)"
    log "building crane $CRANE_VERSION into $CRANE_DIR"
    mkdir -p "$CRANE_DIR"
    (cd "$CRANE_DIR" && GOBIN="$CRANE_DIR" GOFLAGS="-buildvcs=false" go install -trimpath \
        -ldflags "-s -w" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION") ||
        die "go install crane failed"
}

# The version field of Cargo.toml's [package].
cargo_version() {
    awk -F'"' '/^\[package\]/ { p = 1; next } /^\[/ { p = 0 } p && $1 ~ /^version *= */ { print $2; exit }' \
        "$ROOT/Cargo.toml"
}

# Refuses anything but a static position-independent executable: ELF type
# DYN (position independent) with no program interpreter (no dynamic loader).
check_static_pie() {
    local bin=$1
    command -v readelf >/dev/null || die "readelf (binutils) is needed to check $bin"
    readelf -h "$bin" | grep -Eq 'Type:[[:space:]]+DYN' || die "$bin is not position independent"
    if readelf -lW "$bin" | grep -q 'INTERP'; then
        die "$bin is dynamically linked (it asks for a program interpreter); the image has no libc"
    fi
}

# OCI architecture of an ELF binary.
elf_arch() {
    case $(readelf -h "$1" | sed -n 's/^ *Machine: *//p') in
        *X86-64*) echo amd64 ;;
        *AArch64*) echo arm64 ;;
        *) die "unsupported architecture of $1" ;;
    esac
}

# The image's file system as a layer tarball: files owned by root, a fixed
# modification time and sorted names, so the same inputs give the same layer.
write_layer() {
    local bin=$1 layer=$2 epoch=$3 root
    root=$(mktemp -d)
    install -D -m 0755 "$bin" "$root/usr/local/bin/rudder"
    install -D -m 0644 "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$root/tmp" && chmod 1777 "$root/tmp"
    printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%s:%s:nonroot:/tmp:/sbin/nologin\n' \
        "$USER_ID" "$USER_ID" >"$root/etc/passwd"
    printf 'root:x:0:\nnonroot:x:%s:\n' "$USER_ID" >"$root/etc/group"
    chmod 0644 "$root/etc/passwd" "$root/etc/group"
    tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
        --format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
        -C "$root" -cf "$layer" etc tmp usr
    rm -rf "$root"
}

# Starts crane's in-memory registry on a free 127.0.0.1 port; sets REGISTRY
# (host:port) and REGISTRY_PID.
start_registry() {
    local log_file=$1 i port=""
    "$CRANE" registry serve --address 127.0.0.1:0 >"$log_file" 2>&1 &
    REGISTRY_PID=$!
    for ((i = 0; i < 100; i++)); do
        port=$(sed -n 's/.*serving on port \([0-9]*\).*/\1/p' "$log_file")
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || die "crane registry did not start: $(cat "$log_file")"
    REGISTRY=127.0.0.1:$port
}

main() {
    command -v tar >/dev/null || die "GNU tar is needed"
    [[ -r $CA_BUNDLE ]] || die "no CA certificates at $CA_BUNDLE (Debian: apt-get install ca-certificates)"
    ensure_crane
    local bin=${RUDDER_BINARY:-}
    if [[ -z $bin ]]; then
        log "building the ${RUDDER_PROFILE:-release} binary"
        bin=$("$ROOT/scripts/build-release.sh" | tail -n 1)
    fi
    check_static_pie "$bin"

    local version revision epoch source arch
    version=$(cargo_version)
    [[ -n $version ]] || die "no version in $ROOT/Cargo.toml"
    revision=$(git -C "$ROOT" rev-parse HEAD)
    epoch=$(git -C "$ROOT" log -1 --format=%ct)
    source=${IMAGE_SOURCE-$(git -C "$ROOT" remote get-url origin 2>/dev/null || true)}
    arch=$(elf_arch "$bin")

    # Global, for the EXIT trap.
    WORK=$(mktemp -d)
    REGISTRY_PID=""
    trap 'if [[ -n $REGISTRY_PID ]]; then kill "$REGISTRY_PID" 2>/dev/null || true; fi; rm -rf "$WORK"' EXIT
    local work=$WORK
    write_layer "$bin" "$work/layer.tar" "$epoch"
    start_registry "$work/registry.log"

    local base=$REGISTRY/rudder:base ref=$REGISTRY/rudder:$version
    local labels=(
        -l "org.opencontainers.image.title=rudder"
        -l "org.opencontainers.image.description=Kubernetes operator that makes Helm releases declarative"
        -l "org.opencontainers.image.version=$version"
        -l "org.opencontainers.image.revision=$revision"
        -l "org.opencontainers.image.created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)"
    )
    if [[ -n $source ]]; then
        labels+=(-l "org.opencontainers.image.source=$source")
    else
        log "no git remote 'origin' and no IMAGE_SOURCE: leaving out org.opencontainers.image.source"
    fi
    "$CRANE" append --oci-empty-base --insecure -f "$work/layer.tar" -t "$base" >/dev/null
    "$CRANE" mutate --insecure "$base" -t "$ref" \
        --set-platform "linux/$arch" \
        --user "$USER_ID:$USER_ID" \
        --workdir / \
        --entrypoint /usr/local/bin/rudder,run \
        -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
        "${labels[@]}" >/dev/null

    rm -rf "$OUT"
    mkdir -p "$(dirname "$OUT")"
    "$CRANE" pull --insecure --format oci "$ref" "$OUT"
    local digest
    digest=$("$CRANE" digest --insecure "$ref")
    log "rudder $version (linux/$arch) at $revision"
    echo "digest: $digest"
    echo "$OUT"
}

if [[ ${1:-} == push ]]; then
    [[ $# -eq 3 ]] || die "usage: $0 push LAYOUT-DIR REGISTRY/REPOSITORY:TAG"
    ensure_crane
    "$CRANE" push "$2" "$3"
    exit 0
fi
main "$@"
