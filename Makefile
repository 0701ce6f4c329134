# tso — the commands a user runs. Every target installs what it needs itself.
SHELL := /bin/bash
NODE_MODULES_STAMP := node_modules/.package-lock.json
TSO := node bin/tso.js

.PHONY: all deps nats-server test unit lint typecheck demo bench bench-compare pretrain clean

all: test

# npm ci only when the lockfile changed since the last install.
$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

deps: $(NODE_MODULES_STAMP)

# The integration tests spawn their own nats-server; install Debian's when it is missing.
nats-server:
	@command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || \
	  { echo "installing nats-server (Debian)"; (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server; }

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps
	npx eslint . && npx prettier --check .

# The README's test command: type check, lint, then every test; ends with "N passed, N failed".
test: deps nats-server typecheck lint
	node scripts/run-tests.mjs

unit: deps
	node scripts/run-tests.mjs test/unit

bench: deps
	$(TSO) bench --json

# Runs tso bench and the PyTorch yardstick side by side and prints the ratios.
bench-compare: deps
	node scripts/bench-compare.mjs

demo: deps nats-server
	$(TSO) demo

clean:
	rm -rf dist runs
