# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# lib.sh — shared settings and helpers for up.sh and down.sh (sourced, not run).
#
# Environment:
#   RUDDER_TESTENV_DIR    state dir: certs, data, logs, pids, kubeconfig
#                         (default ${TMPDIR:-/tmp}/rudder-testenv, or
#                         ${TMPDIR:-/tmp}/rudder-testenv-$RUDDER_TESTENV_NAME)
#   RUDDER_TESTENV_NAME   names a further control plane (its own state dir
#                         and ports), e.g. a remote cluster for a test
#   RUDDER_TESTENV_CACHE  build cache root (default $HOME/.cache/rudder-testenv);
#                         binaries live in <cache>/<k8s-version>/bin

TESTENV_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE_DIR=${RUDDER_TESTENV_DIR:-${TMPDIR:-/tmp}/rudder-testenv${RUDDER_TESTENV_NAME:+-$RUDDER_TESTENV_NAME}}
STATE_DIR=${STATE_DIR%/}
# The Kubernetes version is whatever go.mod requires (single source of truth).
K8S_VERSION=$(awk '$1 == "k8s.io/kubernetes" { print $2; exit }' "$TESTENV_SRC/go.mod")
# kwok (simulated nodes), built from the module proxy at this version.
KWOK_VERSION=v0.7.0
CACHE_DIR=${RUDDER_TESTENV_CACHE:-$HOME/.cache/rudder-testenv}/$K8S_VERSION
BIN_DIR=$CACHE_DIR/bin
# A file that marks a directory as ours, so down.sh never deletes anything else.
MARKER=.rudder-testenv
PIDS_FILE=$STATE_DIR/pids

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Serialise concurrent up.sh/down.sh runs on the same state dir (fd 9).
take_lock() {
    mkdir -p "$(dirname "$STATE_DIR")"
    exec 9>"$STATE_DIR.lock"
    if command -v flock >/dev/null; then flock 9; fi
}

# True while PID runs and is one of ours: its command line names the state dir.
# (Guards against PID reuse; zombies count as gone.)
is_ours() {
    local pid=$1 state
    [[ -r /proc/$pid/cmdline ]] || return 1
    state=$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ $state != Z ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$STATE_DIR/"
}

# Stop every process recorded in the pids file, newest first: SIGTERM, wait up
# to 30s, then SIGKILL. Processes that are not ours are left alone.
stop_recorded() {
    [[ -f $PIDS_FILE ]] || return 0
    local name pid i
    tac "$PIDS_FILE" | while read -r name pid; do
        is_ours "$pid" || continue
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            is_ours "$pid" || break
            sleep 0.1
        done
        if is_ours "$pid"; then
            log "$name did not exit after 30s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
    done
    rm -f "$PIDS_FILE"
}

# Remove the state dir, but only if it is one we made.
remove_state() {
    [[ -d $STATE_DIR ]] || return 0
    [[ -f $STATE_DIR/$MARKER ]] || die "$STATE_DIR exists but was not made by up.sh; not removing it"
    rm -rf "$STATE_DIR"
}
