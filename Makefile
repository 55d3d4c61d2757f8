# rudder — developer entry points. The two set-up commands are `make run`
# and `make test`; see README.md.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

CARGO ?= cargo
TESTENV := e2e/testenv
# helm and kubectl from ../shared/tools/install-helm live here.
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: build release layout image image-push test crds run testenv-up testenv-down lint bench bench-scale

## build: compile the crate (library + `rudder` binary)
build:
	$(CARGO) build

## release: the shipped binary (optimised; static on Linux/glibc); prints its path
release:
	scripts/build-release.sh

## layout: retrain the release binary's code layout (scripts/train-layout.sh:
## the functions `rudder run` and `rudder template` execute, listed in
## scripts/hot-functions.txt for the release link); needs valgrind
layout:
	scripts/train-layout.sh

## image: the container image as an OCI layout, built without a container
## daemon (scripts/build-image.sh); prints the digest, then the layout directory
image:
	scripts/build-image.sh

## image-push: build the image and push it to IMAGE_REF (registry/repository:tag)
image-push:
	[[ -n "$${IMAGE_REF:-}" ]] || { echo "set IMAGE_REF=registry/repository:tag" >&2; exit 2; }
	layout=$$(scripts/build-image.sh | tail -n 1); scripts/build-image.sh push "$$layout" "$$IMAGE_REF"

## test: unit and integration tests; the integration tests run against the
## local test control plane, started here (or reused) unless
## RUDDER_KUBECONFIG points at one already
test:
	kc="$${RUDDER_KUBECONFIG:-}"; \
	if [[ -z "$$kc" ]]; then kc=$$($(TESTENV)/up.sh | tail -n 1); fi; \
	RUDDER_KUBECONFIG="$$kc" $(CARGO) test

## crds: regenerate crds/ and the Helm chart's copy from the API types
crds:
	$(CARGO) run --quiet -- crds --out-dir crds
	cp crds/helm.rudder.dev_*.yaml charts/rudder/crds/

## run: the operator against the current kubeconfig; without one, against
## the local test control plane (started, CRDs installed). RUN_ARGS adds flags.
run: build
	scripts/run-local.sh $(RUN_ARGS)

## testenv-up: start (or reuse) the local test control plane; prints the kubeconfig path
testenv-up:
	$(TESTENV)/up.sh

## testenv-down: stop the local test control plane
testenv-down:
	$(TESTENV)/down.sh

## lint: formatting, clippy with warnings denied, the module layers
## (tests/layers.rs), and helm lint of the chart
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) test --quiet --test layers
	if command -v helm >/dev/null; then helm lint --quiet charts/rudder; \
	else echo "helm not found: skipping helm lint (../shared/tools/install-helm installs it)"; fi

## bench: benchmarks (scripts/bench.sh once there are any)
bench:
	if [[ -x scripts/bench.sh ]]; then scripts/bench.sh; else echo "no benchmarks yet"; fi

## bench-scale: N HelmReleases with rudder, the helm CLI, the bare-apply floor
## and Flux, each on a fresh control plane (not part of `make test`).
## BENCH_SCALE_ARGS adds flags, e.g. "--releases 1000 --tools rudder,flux
## --rudder-binary PATH"; see scripts/bench-scale.py --help
bench-scale:
	scripts/bench-scale.py $(BENCH_SCALE_ARGS)
