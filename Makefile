# Every Node command runs on the Node 24 that the `node` devDependency installs (the machine's may be older).
NODEJS := node_modules/.bin/node
VITEST := $(NODEJS) node_modules/vitest/vitest.mjs
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# `make run` and `make install` use the local control plane when it is up, else the usual kubeconfig.
KUBECONFIG ?= $(if $(wildcard .skillpod/kubeconfig),$(CURDIR)/.skillpod/kubeconfig,$(HOME)/.kube/config)
export KUBECONFIG

.PHONY: all setup build testbin executor cluster-up cluster-down install run test test-unit test-integration \
	test-executor test-e2e e2e-kind node lint typecheck crds check-node bench help demo lint-workflows

## The operator compiled to dist/ (same as `make build`).
all: build

## This list: every target with its `##` comment.
help:
	@awk '/^## /{ doc = doc (doc ? "\n                     " : "") substr($$0, 4); next } \
		/^[a-zA-Z][a-zA-Z0-9_-]*:/{ if (doc) { t = $$1; sub(/:.*/, "", t); printf "  %-18s %s\n", t, doc } doc = ""; next } \
		{ doc = "" }' $(MAKEFILE_LIST)

# Debian packages the suites need: Lua for the Argo CD health checks; containerd, runc, CNI plugins, a static
# busybox and strip for the real test node (docs/testing.md).
DEB_PACKAGES := lua5.4 containerd runc containernetworking-plugins busybox-static binutils
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

## Everything a fresh machine needs before `make test`: the Debian packages, then Node 24 and the libraries.
setup:
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); }
	npm ci --no-audit --no-fund

## Fails unless node_modules/.bin/node is Node 24 (every target runs on it).
check-node:
	@$(NODEJS) -e 'const m = +process.versions.node.split(".")[0]; if (m !== 24) { console.error(`Node 24 expected, got ${process.version}: run npm ci`); process.exit(1) }'

## The operator compiled by tsc into dist/.
build: check-node
	$(NODEJS) node_modules/typescript/bin/tsc -p tsconfig.build.json

## The test control plane: etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet built from source; helm
## and promtool (the chart's PrometheusRule is checked with it).
testbin:
	@bash test/testbin/build.sh >/dev/null
	@bash test/testbin/build-helm.sh >/dev/null
	@bash test/testbin/build-promtool.sh >/dev/null

## Images for the real test node (OCI tarballs, cached by content hash), and those `make demo` runs.
node: testbin executor
	@bash test/node/build.sh >/dev/null
	@bash test/demo/images.sh >/dev/null

## The skill executor, a static Go binary, to bin/skillpod-exec.
executor:
	$(MAKE) -C sidecar-images/executor build

## The local control plane on loopback (prints `export KUBECONFIG=… PATH=…`); NODE=1 adds a real node
## (kubelet, containerd, runc; see docs/testing.md).
cluster-up: testbin check-node $(if $(NODE),node)
	@$(NODEJS) test/harness/cli.ts up $(if $(NODE),--node)

## From a clone with `make setup` done to a real agent's result: the local control plane with a real node, every
## image built locally, the Helm chart, examples/runs/inspect-namespace.yaml, its result and audit lines.
demo: check-node
	@bash test/demo/demo.sh

## Stops the local control plane (and its node) and leaves no process behind.
cluster-down: check-node
	@$(NODEJS) test/harness/cli.ts down

## Regenerates crds/ and docs/api.md from the zod schemas.
crds: check-node
	$(NODEJS) operator/scripts/gen-crds.ts

## CRDs, admission policies, built-in SkillPacks and the operator's RBAC, applied to the cluster of KUBECONFIG.
install: check-node
	$(NODEJS) operator/scripts/install.ts

## The operator in the foreground; health and metrics on 127.0.0.1:8080 unless SKILLPOD_SERVER_BIND_ADDRESS or
## ARGS="--server-bind-address=…" say otherwise (ARGS="--help" lists every setting).
run: check-node
	SKILLPOD_SERVER_BIND_ADDRESS=$${SKILLPOD_SERVER_BIND_ADDRESS:-127.0.0.1:8080} \
		$(NODEJS) $(if $(wildcard .skillpod/operator.env),--env-file=.skillpod/operator.env) operator/src/main.ts $(ARGS)

## tsc --noEmit over the operator, the tests and the example agent.
typecheck: check-node
	$(NODEJS) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
	$(NODEJS) node_modules/typescript/bin/tsc -p examples/agent/tsconfig.json --noEmit

## eslint over the repository.
lint: check-node
	$(NODEJS) node_modules/eslint/bin/eslint.js .

## Every suite: typecheck, lint, vitest (unit and integration, on a real control plane), the executor's Go tests.
## Ends with one line `N passed, N failed` that adds them all up (a failed typecheck, lint or vet counts as one).
test: check-node testbin executor node
	@rm -rf .test-results && mkdir -p .test-results
	@status=0; \
	for check in typecheck lint; do $(MAKE) --no-print-directory $$check || { status=1; touch .test-results/$$check.failed; }; done; \
	$(MAKE) --no-print-directory -C sidecar-images/executor vet || { status=1; touch .test-results/go-vet.failed; }; \
	SKILLPOD_TEST_REPORT=.test-results/vitest.json $(VITEST) run --project unit --project integration || status=1; \
	SKILLPOD_TEST_REPORT=.test-results/vitest-e2e.json $(VITEST) run --project e2e || status=1; \
	(cd sidecar-images/executor && go test -count=1 -timeout 10m -json ./... > ../../.test-results/go.json) || status=1; \
	$(NODEJS) test/summarize.ts .test-results || status=1; \
	exit $$status

## The unit suite only (no cluster).
test-unit: check-node
	$(VITEST) run --project unit

## The integration suite only (a real control plane, started and stopped by the suite).
test-integration: check-node testbin
	$(VITEST) run --project integration

## The end-to-end suite only (a control plane and a real node: runs really run).
test-e2e: check-node testbin node
	$(VITEST) run --project e2e

## For people with Docker: a kind cluster, the images, the chart, one run to completion.
e2e-kind:
	@bash test/e2e-kind.sh

## The executor's Go tests.
test-executor:
	$(MAKE) -C sidecar-images/executor test

## actionlint over .github/workflows/ (the release workflow), built once from the Go module proxy and cached.
lint-workflows:
	@bash test/release/actionlint.sh

## Executor vs direct exec, then the operator at 100/1,000/5,000 runs against a floor; both write docs/benchmarks.md.
bench: check-node testbin executor
	$(MAKE) -C sidecar-images/executor bench
	$(NODEJS) test/bench/operator.ts --write=docs/benchmarks.md
