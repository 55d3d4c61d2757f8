#!/usr/bin/env bash
# run-local.sh — what `make run` does: run the built rudder against the
# current kubeconfig ($KUBECONFIG, ~/.kube/config, or in-cluster); when there
# is none, start (or reuse) the local test control plane from e2e/testenv,
# install the CRDs into it, and run against that. Extra arguments go to
# `rudder run`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rudder=${RUDDER_BIN:-target/debug/rudder}

have_kubeconfig() {
    if [[ -n ${KUBERNETES_SERVICE_HOST:-} ]]; then return 0; fi
    local IFS=:
    for f in ${KUBECONFIG:-}; do [[ -s $f ]] && return 0; done
    [[ -z ${KUBECONFIG:-} && -s $HOME/.kube/config ]]
}

if have_kubeconfig; then
    echo "run-local: using the current kubeconfig (${KUBECONFIG:-$HOME/.kube/config})" >&2
    echo "run-local: CRDs not installed there? target/debug/rudder crds | kubectl apply --server-side -f -" >&2
else
    echo "run-local: no kubeconfig; starting the local test control plane (e2e/testenv/up.sh)" >&2
    KUBECONFIG=$(e2e/testenv/up.sh | tail -n 1)
    export KUBECONFIG
    command -v kubectl >/dev/null || { echo "run-local: kubectl is required (../shared/tools/install-helm)" >&2; exit 1; }
    "$rudder" crds | kubectl apply --server-side --field-manager=rudder-make-run -f - >&2
    kubectl wait --for=condition=Established --timeout=60s \
        crd/helmrepositories.helm.rudder.dev crd/helmreleases.helm.rudder.dev >&2
    echo "run-local: KUBECONFIG=$KUBECONFIG  (stop the control plane with: make testenv-down)" >&2
fi
exec "$rudder" run "$@"
