# Every Node command runs on the Node 24 that the `node` devDependency installs (the machine's may be older).
NODEJS := node_modules/.bin/node
VITEST := $(NODEJS) node_modules/vitest/vitest.mjs
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# `make run` and `make install` use the local control plane when it is up, else the usual kubeconfig.
KUBECONFIG ?= $(if $(wildcard .skillpod/kubeconfig),$(CURDIR)/.skillpod/kubeconfig,$(HOME)/.kube/config)
export KUBECONFIG

.PHONY: all setup build testbin executor cluster-up cluster-down install run test test-unit test-integration \
	test-executor test-e2e e2e-kind node lint typecheck crds check-node bench

all: build

# Debian packages the suites need: Lua for the Argo CD health checks; containerd, runc, CNI plugins, a static
# busybox and strip for the real test node (docs/testing.md).
DEB_PACKAGES := lua5.4 containerd runc containernetworking-plugins busybox-static binutils
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

## Everything a fresh machine needs before `make test`: the Debian packages, then Node 24 and the libraries.
setup:
	@dpkg -s $(DEB_PACKAGES) >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $(DEB_PACKAGES); }
	npm ci --no-audit --no-fund

check-node:
	@$(NODEJS) -e 'const m = +process.versions.node.split(".")[0]; if (m !== 24) { console.error(`Node 24 expected, got ${process.version}: run npm ci`); process.exit(1) }'

build: check-node
	$(NODEJS) node_modules/typescript/bin/tsc -p tsconfig.build.json

## The test control plane: etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet built from source.
testbin:
	@bash test/testbin/build.sh >/dev/null
	@bash test/testbin/build-helm.sh >/dev/null

## Images for the real test node (OCI tarballs, cached by content hash).
node: testbin executor
	@bash test/node/build.sh >/dev/null

## The skill executor, a static Go binary, to bin/skillpod-exec.
executor:
	$(MAKE) -C sidecar-images/executor build

## `make cluster-up NODE=1` adds a real node (kubelet, containerd, runc; see docs/testing.md).
cluster-up: testbin check-node $(if $(NODE),node)
	@$(NODEJS) test/harness/cli.ts up $(if $(NODE),--node)

cluster-down: check-node
	@$(NODEJS) test/harness/cli.ts down

crds: check-node
	$(NODEJS) operator/scripts/gen-crds.ts

install: check-node
	$(NODEJS) operator/scripts/install.ts

run: check-node
	$(NODEJS) --env-file-if-exists=.skillpod/operator.env operator/src/main.ts $(ARGS)

typecheck: check-node
	$(NODEJS) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit
	$(NODEJS) node_modules/typescript/bin/tsc -p examples/agent/tsconfig.json --noEmit

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

test-unit: check-node
	$(VITEST) run --project unit

test-integration: check-node testbin
	$(VITEST) run --project integration

test-e2e: check-node testbin node
	$(VITEST) run --project e2e

e2e-kind:
	@bash test/e2e-kind.sh

test-executor:
	$(MAKE) -C sidecar-images/executor test

## Executor vs direct exec, then the operator at 100/1,000/5,000 runs against a floor; both write docs/benchmarks.md.
bench: check-node testbin executor
	$(MAKE) -C sidecar-images/executor bench
	$(NODEJS) test/bench/operator.ts --write=docs/benchmarks.md
