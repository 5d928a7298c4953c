# Every Node command runs on the Node 24 that the `node` devDependency installs (the machine's may be older).
NODE := node_modules/.bin/node
VITEST := $(NODE) node_modules/vitest/vitest.mjs
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
# `make run` and `make install` use the local control plane when it is up, else the usual kubeconfig.
KUBECONFIG ?= $(if $(wildcard .skillpod/kubeconfig),$(CURDIR)/.skillpod/kubeconfig,$(HOME)/.kube/config)
export KUBECONFIG

.PHONY: all build testbin executor cluster-up cluster-down install run test test-unit test-integration \
	test-executor lint typecheck crds check-node bench

all: build

check-node:
	@$(NODE) -e 'const m = +process.versions.node.split(".")[0]; if (m !== 24) { console.error(`Node 24 expected, got ${process.version}: run npm ci`); process.exit(1) }'

build: check-node
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.build.json

## The test control plane: etcd, kube-apiserver, kube-controller-manager, kubectl, kubelet built from source.
testbin:
	@bash test/testbin/build.sh >/dev/null

## The skill executor, a static Go binary, to bin/skillpod-exec.
executor:
	$(MAKE) -C sidecar-images/executor build

cluster-up: testbin check-node
	@$(NODE) test/harness/cli.ts up

cluster-down: check-node
	@$(NODE) test/harness/cli.ts down

crds: check-node
	$(NODE) operator/scripts/gen-crds.ts

install: check-node
	$(NODE) operator/scripts/install.ts

run: check-node
	$(NODE) operator/src/main.ts $(ARGS)

typecheck: check-node
	$(NODE) node_modules/typescript/bin/tsc -p tsconfig.json --noEmit

lint: check-node
	$(NODE) node_modules/eslint/bin/eslint.js .

## Every suite: typecheck, lint, vitest (unit and integration, on a real control plane), the executor's Go tests.
## Ends with one line `N passed, N failed` that adds them all up.
test: check-node testbin executor
	@rm -rf .test-results && mkdir -p .test-results
	@status=0; \
	$(MAKE) --no-print-directory typecheck lint || status=1; \
	$(MAKE) --no-print-directory -C sidecar-images/executor vet || status=1; \
	SKILLPOD_TEST_REPORT=.test-results/vitest.json $(VITEST) run || status=1; \
	(cd sidecar-images/executor && go test -count=1 -timeout 10m -json ./... > ../../.test-results/go.json) || status=1; \
	$(NODE) test/summarize.ts .test-results || status=1; \
	exit $$status

test-unit: check-node
	$(VITEST) run --project unit

test-integration: check-node testbin
	$(VITEST) run --project integration

test-executor:
	$(MAKE) -C sidecar-images/executor test

bench: check-node testbin executor
	$(MAKE) -C sidecar-images/executor bench
