#!/usr/bin/env bash
# bench-scale-flux.sh — build Flux's helm-controller and source-controller
# from the published Go modules for scripts/bench-scale.py, once, into
# ${RUDDER_BENCH_CACHE:-$HOME/.cache/rudder-bench}/flux/<versions>/, and copy
# their CRDs (config/crd/bases of the module zips) next to the binaries.
# Prints that directory as the last line of stdout; progress goes to stderr.
#
# Each controller's go.mod replaces its nested ./api module with the folder,
# which a module download does not contain. So each is built from a small
# temporary module that requires the controller and its published api module
# at the same version, and repeats the controller's other replace directives.
set -euo pipefail
exec 3>&1 1>&2

HC_VERSION=${FLUX_HELM_CONTROLLER_VERSION:-v1.4.0}
SC_VERSION=${FLUX_SOURCE_CONTROLLER_VERSION:-v1.7.0}
OUT=${RUDDER_BENCH_CACHE:-$HOME/.cache/rudder-bench}/flux/helm-controller-$HC_VERSION+source-controller-$SC_VERSION

log() { printf 'bench-scale-flux: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
command -v go >/dev/null || die "go is required"

mkdir -p "$OUT"
exec 8>"$OUT/build.lock"
if command -v flock >/dev/null; then flock 8; fi
if [[ -x $OUT/helm-controller && -x $OUT/source-controller && -d $OUT/crds ]]; then
    echo "$OUT" >&3
    exit 0
fi

# build NAME VERSION: go build github.com/fluxcd/NAME@VERSION into $OUT/NAME.
build() {
    local name=$1 version=$2 mod=github.com/fluxcd/$1 tmp dir
    dir=$(go mod download -json "$mod@$version" | awk -F'"' '$2 == "Dir" { print $4 }')
    [[ -n $dir && -f $dir/go.mod ]] || die "cannot download $mod@$version"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/rudder-bench-flux.XXXXXX")
    mkdir -p "$OUT/crds"
    cp "$dir"/config/crd/bases/*.yaml "$OUT/crds/"
    chmod -R u+w "$OUT/crds"
    {
        echo "module rudder.dev/bench/$name"
        echo
        awk '$1 == "go" { print; exit }' "$dir/go.mod"
        echo
        echo "require ("
        echo "	$mod $version"
        echo "	$mod/api $version"
        echo ")"
        echo
        # The controller's replace directives, except the one of its ./api folder.
        awk '
            /^replace \(/ { block = 1; next }
            block && /^\)/ { block = 0; next }
            block { if ($0 !~ /=> \.\//) print "replace " $0; next }
            /^replace / && $0 !~ /=> \.\// { print }
        ' "$dir/go.mod" | sed 's/^replace[[:space:]]*/replace /'
    } >"$tmp/go.mod"
    cp "$dir/go.sum" "$tmp/go.sum"
    chmod u+w "$tmp/go.sum"
    log "building $mod $version (minutes when cold)"
    # The controllers were released with Go 1.25, without encoding/json v2.
    (cd "$tmp" && GOEXPERIMENT=nojsonv2 GOFLAGS="-mod=mod -buildvcs=false" nice go build -trimpath \
        -ldflags "-s -w" -o "$OUT/$name.new" "$mod") || { rm -rf "$tmp"; die "go build $mod failed"; }
    rm -rf "$tmp"
    mv "$OUT/$name.new" "$OUT/$name"
}

build source-controller "$SC_VERSION"
build helm-controller "$HC_VERSION"
log "built into $OUT"
echo "$OUT" >&3
