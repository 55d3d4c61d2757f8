#!/usr/bin/env bash
# up.sh — start (or reuse) rudder's test control plane: a real etcd,
# kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1,
# and kwok simulating $RUDDER_TESTENV_NODES nodes (default 3) whose Pods
# start, become Ready and complete as kwok.yaml says (no containers run).
#
# Prints the path of an admin kubeconfig as the LAST line of stdout; all
# progress goes to stderr. If a healthy control plane from an earlier run is
# found in the state dir, it only prints the path. Needs go, openssl and curl.
#
# Binaries are built once (go build through the module proxy) into
# ${RUDDER_TESTENV_CACHE:-$HOME/.cache/rudder-testenv}/<k8s-version>/bin.
# State (certs, etcd data, logs, pids, kubeconfig) goes to
# ${RUDDER_TESTENV_DIR:-${TMPDIR:-/tmp}/rudder-testenv}; down.sh removes it.
# Other settings:
#   RUDDER_TESTENV_CONTROLLERS  kube-controller-manager --controllers value
#                               (default: the defaults minus node-only ones)
#   RUDDER_TESTENV_TIMEOUT      seconds to wait for readiness (default 120)
#   RUDDER_TESTENV_NODES        simulated nodes (default 3)
#   RUDDER_TESTENV_NAME         start a further, named control plane
#                               (state in ${TMPDIR:-/tmp}/rudder-testenv-NAME)
#   RUDDER_TESTENV_MINIMAL=1    only etcd and kube-apiserver (no controllers,
#                               scheduler or nodes): enough for objects that
#                               need no Pods, e.g. a second, remote cluster
#   RUDDER_TESTENV_APISERVER_ARGS  extra kube-apiserver flags, split on spaces
#                               (e.g. an audit log for scripts/bench-scale.py)
#   RUDDER_TESTENV_CONTROLLER_MANAGER_ARGS, RUDDER_TESTENV_SCHEDULER_ARGS
#                               extra flags of those, split on spaces (e.g. a
#                               client QPS sized for a 1,000-release benchmark)
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Keep stdout for the final path only; everything else goes to stderr.
exec 3>&1 1>&2

# Everything kube-controller-manager runs by default except the controllers
# that need real Nodes (IPAM, volume attachment, TTL, eviction). The node
# lifecycle controller runs: it lifts the not-ready taint once kwok reports
# a node Ready, and watches the leases kwok renews.
CONTROLLERS=${RUDDER_TESTENV_CONTROLLERS:-*,-node-ipam-controller,-ttl-controller,-persistentvolume-attach-detach-controller,-taint-eviction-controller,-device-taint-eviction-controller}
TIMEOUT=${RUDDER_TESTENV_TIMEOUT:-120}
NODES=${RUDDER_TESTENV_NODES:-3}
read -r -a APISERVER_ARGS <<<"${RUDDER_TESTENV_APISERVER_ARGS:-}"
read -r -a CONTROLLER_MANAGER_ARGS <<<"${RUDDER_TESTENV_CONTROLLER_MANAGER_ARGS:-}"
read -r -a SCHEDULER_ARGS <<<"${RUDDER_TESTENV_SCHEDULER_ARGS:-}"
KUBECONFIG_OUT=$STATE_DIR/kubeconfig

for tool in go openssl curl awk; do
    command -v "$tool" >/dev/null || die "$tool is required but not on PATH"
done
[[ -n $K8S_VERSION ]] || die "cannot read the k8s.io/kubernetes version from $TESTENV_SRC/go.mod"

# --- build --------------------------------------------------------------------

# Fingerprint of the sources; a change forces a rebuild into the same cache dir.
source_stamp() {
    (cd "$TESTENV_SRC" && cat go.mod go.sum cmd/*/main.go && echo "kwok $KWOK_VERSION") | openssl dgst -sha256 -r | awk '{ print $1 }'
}

build_binaries() {
    local stamp minor tmp
    stamp=$(source_stamp)
    # One build at a time per cache dir (fd 8), even across state dirs.
    mkdir -p "$CACHE_DIR"
    exec 8>"$CACHE_DIR/build.lock"
    if command -v flock >/dev/null; then flock 8; fi
    if [[ -x $BIN_DIR/etcd && -x $BIN_DIR/kube-apiserver && -x $BIN_DIR/kube-controller-manager &&
        -x $BIN_DIR/kube-scheduler && -x $BIN_DIR/kwok &&
        $(cat "$CACHE_DIR/stamp" 2>/dev/null) == "$stamp" ]]; then
        exec 8>&-
        return 0
    fi
    log "building etcd, kube-apiserver, kube-controller-manager, kube-scheduler $K8S_VERSION and kwok $KWOK_VERSION into $BIN_DIR (takes minutes when cold)"
    minor=${K8S_VERSION#v1.}
    minor=${minor%%.*}
    # Version strings that kubernetes' own build (hack/lib/version.sh) would stamp.
    local ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
        ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
    done
    tmp=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
    chmod 755 "$tmp"
    # GOEXPERIMENT=nojsonv2: a toolchain with the encoding/json v2 experiment on
    # builds an API server that serves its OpenAPI with Go field names, which
    # breaks kubectl apply; force the experiment off.
    if ! (cd "$TESTENV_SRC" && GOEXPERIMENT=nojsonv2 GOFLAGS="${GOFLAGS:-} -buildvcs=false" nice go build -trimpath \
        -ldflags "$ldflags" -o "$tmp/" ./cmd/etcd ./cmd/kube-apiserver ./cmd/kube-controller-manager \
        ./cmd/kube-scheduler); then
        rm -rf "$tmp"
        die "go build failed"
    fi
    # kwok builds with its own go.mod (its own k8s.io versions), from the
    # module proxy at the pinned version.
    if ! (cd "$tmp" && GOBIN="$tmp" GOFLAGS="-buildvcs=false" nice go install -ldflags "-s -w" \
        "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"); then
        rm -rf "$tmp"
        die "go install kwok failed"
    fi
    rm -rf "$BIN_DIR"
    mv "$tmp" "$BIN_DIR"
    echo "$stamp" >"$CACHE_DIR/stamp"
    exec 8>&-
}

# --- certificates -------------------------------------------------------------

# new_cert NAME SUBJECT EXTENSIONS: an EC key and a certificate signed by the CA.
new_cert() {
    local name=$1 subj=$2 ext=$3 pki=$STATE_DIR/pki
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "$ext" >"$pki/$name.ext"
    openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
        -days 365 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
    rm -f "$pki/$name.csr" "$pki/$name.ext"
}

make_pki() {
    local pki=$STATE_DIR/pki
    mkdir -p "$pki"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -keyout "$pki/ca.key" -out "$pki/ca.crt" -subj "/CN=rudder-testenv-ca" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    new_cert apiserver "/CN=kube-apiserver" \
        "extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    new_cert admin "/O=system:masters/CN=rudder-testenv-admin" "extendedKeyUsage=clientAuth"
    new_cert controller-manager "/CN=system:kube-controller-manager" "extendedKeyUsage=clientAuth"
    new_cert scheduler "/CN=system:kube-scheduler" "extendedKeyUsage=clientAuth"
    # kwok writes node and pod status, leases and events: an admin.
    new_cert kwok "/O=system:masters/CN=kwok" "extendedKeyUsage=clientAuth"
    # Service-account token signing key pair.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null
    openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub"
    chmod 600 "$pki"/*.key
}

# write_kubeconfig FILE CERT_NAME: a kubeconfig with embedded certificates.
write_kubeconfig() {
    local file=$1 name=$2 pki=$STATE_DIR/pki
    b64() { base64 <"$1" | tr -d '\n'; }
    cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: rudder-testenv
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: $name
  user:
    client-certificate-data: $(b64 "$pki/$name.crt")
    client-key-data: $(b64 "$pki/$name.key")
contexts:
- name: rudder-testenv
  context:
    cluster: rudder-testenv
    user: $name
current-context: rudder-testenv
EOF
    chmod 600 "$file"
}

# --- processes ----------------------------------------------------------------

# A free TCP port on 127.0.0.1 below the ephemeral range (nothing accepts a connection on it).
USED_PORTS=" "
pick_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000))
        [[ $USED_PORTS == *" $p "* ]] && continue
        if ! (exec 4<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            USED_PORTS+="$p "
            echo "$p"
            return 0
        fi
    done
    die "no free port found"
}

# start NAME ARGS...: run a binary detached (own session, no stdin, output to
# NAME.log) and record its PID.
start() {
    local name=$1
    shift
    # fds 3 (our stdout) and 9 (the lock) must not leak into the daemons.
    setsid "$BIN_DIR/$name" "$@" </dev/null >"$STATE_DIR/logs/$name.log" 2>&1 3>&- 9>&- &
    echo "$name $!" >>"$PIDS_FILE"
}

# wait_for NAME CHECK...: poll CHECK until it succeeds; fail if NAME died or time ran out.
wait_for() {
    local name=$1 pid i
    shift
    pid=$(awk -v n="$name" '$1 == n { print $2 }' "$PIDS_FILE")
    for ((i = 0; i < TIMEOUT * 5; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if ! is_ours "$pid"; then
            log "$name exited; last lines of $STATE_DIR/logs/$name.log:"
            tail -n 15 "$STATE_DIR/logs/$name.log" >&2 || true
            return 1
        fi
        sleep 0.2
    done
    log "timed out after ${TIMEOUT}s waiting for $name ($*)"
    return 1
}

# api PATH: GET from the API server as admin; succeeds on HTTP 2xx.
api() {
    local pki=$STATE_DIR/pki
    curl -sf --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
        "https://127.0.0.1:$API_PORT$1"
}

healthy() {
    [[ -f $STATE_DIR/$MARKER && -f $STATE_DIR/ports && -f $PIDS_FILE && -f $KUBECONFIG_OUT ]] || return 1
    local name pid
    while read -r name pid; do is_ours "$pid" || return 1; done <"$PIDS_FILE"
    # shellcheck source=/dev/null
    source "$STATE_DIR/ports"
    api /readyz >/dev/null 2>&1
}

start_etcd() {
    local peer=http://127.0.0.1:$ETCD_PEER_PORT
    start etcd --name testenv --data-dir "$STATE_DIR/etcd" \
        --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
        --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" --initial-cluster "testenv=$peer" \
        --unsafe-no-fsync --log-level warn
    wait_for etcd curl -sf --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"
}

start_apiserver() {
    local pki=$STATE_DIR/pki
    start kube-apiserver \
        --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
        --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$API_PORT" \
        --cert-dir "$STATE_DIR/apiserver" \
        --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
        --client-ca-file "$pki/ca.crt" --anonymous-auth=false \
        --authorization-mode Node,RBAC \
        --service-account-issuer https://kubernetes.default.svc.cluster.local \
        --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
        --service-cluster-ip-range 10.0.0.0/16 \
        --endpoint-reconciler-type none \
        --allow-privileged=true --profiling=false ${APISERVER_ARGS[@]+"${APISERVER_ARGS[@]}"}
    wait_for kube-apiserver api /readyz
}

start_controller_manager() {
    local pki=$STATE_DIR/pki
    write_kubeconfig "$STATE_DIR/controller-manager.kubeconfig" controller-manager
    # --secure-port 0: no health endpoint, so several test control planes can coexist.
    start kube-controller-manager \
        --kubeconfig "$STATE_DIR/controller-manager.kubeconfig" \
        --secure-port 0 --leader-elect=false \
        --use-service-account-credentials \
        --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
        --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
        --controllers "$CONTROLLERS" ${CONTROLLER_MANAGER_ARGS[@]+"${CONTROLLER_MANAGER_ARGS[@]}"}
    # The namespace "default" comes from the API server, its service account
    # from the controller manager's serviceaccount controller.
    wait_for kube-controller-manager api /api/v1/namespaces/default/serviceaccounts/default
}

start_scheduler() {
    write_kubeconfig "$STATE_DIR/scheduler.kubeconfig" scheduler
    # --secure-port 0: no health endpoint, so several test control planes can coexist.
    start kube-scheduler --kubeconfig "$STATE_DIR/scheduler.kubeconfig" \
        --secure-port 0 --leader-elect=false ${SCHEDULER_ARGS[@]+"${SCHEDULER_ARGS[@]}"}
}

# node_json NAME: a Node that kwok manages (annotation kwok.x-k8s.io/node).
node_json() {
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","annotations":{"kwok.x-k8s.io/node":"fake"},"labels":{"kubernetes.io/hostname":"%s","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64","type":"kwok"}}}' "$1" "$1"
}

node_ready() {
    api "/api/v1/nodes/$1?pretty=false" | grep -q '"type":"Ready","status":"True"'
}

start_kwok() {
    local i name pki=$STATE_DIR/pki
    write_kubeconfig "$STATE_DIR/kwok.kubeconfig" kwok
    start kwok --kubeconfig "$STATE_DIR/kwok.kubeconfig" --config "$TESTENV_SRC/kwok.yaml" \
        --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
        --cidr 10.244.0.0/16 --node-ip 10.240.0.1 --node-lease-duration-seconds 40
    for ((i = 0; i < NODES; i++)); do
        name=rudder-node-$i
        curl -sf --max-time 5 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
            -H 'Content-Type: application/json' -X POST --data "$(node_json "$name")" \
            "https://127.0.0.1:$API_PORT/api/v1/nodes" >/dev/null || return 1
    done
    for ((i = 0; i < NODES; i++)); do
        wait_for kwok node_ready "rudder-node-$i" || return 1
    done
}

# One attempt at a fresh control plane; fails (leaving processes for cleanup)
# if a component dies or does not become ready, e.g. because a port was taken.
start_plane() {
    ETCD_PORT=$(pick_port)
    ETCD_PEER_PORT=$(pick_port)
    API_PORT=$(pick_port)
    printf 'ETCD_PORT=%s\nETCD_PEER_PORT=%s\nAPI_PORT=%s\n' "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" >"$STATE_DIR/ports"
    log "starting etcd on 127.0.0.1:$ETCD_PORT"
    start_etcd || return 1
    log "starting kube-apiserver on https://127.0.0.1:$API_PORT"
    start_apiserver || return 1
    [[ ${RUDDER_TESTENV_MINIMAL:-} == 1 ]] && return 0
    log "starting kube-controller-manager"
    start_controller_manager || return 1
    log "starting kube-scheduler"
    start_scheduler || return 1
    log "starting kwok with $NODES simulated nodes"
    start_kwok || return 1
}

# --- main ---------------------------------------------------------------------

take_lock
if healthy; then
    echo "$KUBECONFIG_OUT" >&3
    exit 0
fi

build_binaries

for attempt in 1 2 3; do
    # Fresh state: stop leftovers of an earlier run and start from empty dirs.
    stop_recorded
    remove_state
    mkdir -p "$STATE_DIR/logs"
    touch "$STATE_DIR/$MARKER"
    make_pki
    if start_plane; then
        write_kubeconfig "$KUBECONFIG_OUT" admin
        log "ready ($K8S_VERSION); logs in $STATE_DIR/logs; stop with $TESTENV_SRC/down.sh"
        echo "$KUBECONFIG_OUT" >&3
        exit 0
    fi
    log "attempt $attempt failed"
done
stop_recorded
die "the control plane did not start; see the logs in $STATE_DIR/logs"
