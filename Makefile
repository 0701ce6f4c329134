# tso — the commands a user runs. Every target installs what it needs itself.
SHELL := /bin/bash
NODE_MODULES_STAMP := node_modules/.package-lock.json
TSO := node bin/tso.js
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -qq

.PHONY: all deps system-deps torch-deps test unit lint typecheck demo bench bench-compare bench-transport bench-growth chaos pretrain clean ui-screenshots

all: test

# npm ci only when the lockfile changed since the last install.
$(NODE_MODULES_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(NODE_MODULES_STAMP)

deps: $(NODE_MODULES_STAMP)

# nats-server (required: the cluster and its tests spawn their own), chromium (optional: the UI's browser
# test) and Python grpcio (optional: the test that a client in another language can call a node).
# Installed from Debian when missing.
system-deps:
	@command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ] || \
	  { echo "installing nats-server (Debian)"; (apt-get update -qq || true) && $(APT_INSTALL) nats-server; }
	@[ -x /usr/bin/chromium ] || \
	  { echo "installing chromium (Debian, for the UI's browser test)"; (apt-get update -qq || true) && \
	    $(APT_INSTALL) chromium || echo "warning: could not install chromium; the UI's browser test will be skipped"; }
	@/usr/bin/python3 -c 'import grpc_tools' >/dev/null 2>&1 || \
	  { echo "installing python3-grpcio + python3-grpc-tools (Debian, for the cross-language test)"; \
	    (apt-get update -qq || true) && $(APT_INSTALL) python3-grpcio python3-grpc-tools python3-protobuf \
	    || echo "warning: could not install python3-grpc-tools; the cross-language test will be skipped"; }

# The PyTorch yardstick: Debian's torch, with OpenBLAS (the reference BLAS is ~6x slower).
torch-deps:
	@/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 && dpkg -s libopenblas0-pthread >/dev/null 2>&1 || \
	  { echo "installing python3-torch + libopenblas0-pthread (Debian)"; (apt-get update -qq || true) && \
	    $(APT_INSTALL) python3-torch libopenblas0-pthread; }

typecheck: deps
	npx tsc -p tsconfig.json --noEmit

lint: deps
	npx eslint . && npx prettier --check .

# The README's test command: type check, lint, then every test; ends with "N passed, N failed".
test: deps system-deps typecheck lint
	node scripts/run-tests.mjs

unit: deps
	node scripts/run-tests.mjs test/unit

bench: deps
	$(TSO) bench

# tso bench and the PyTorch reference side by side, same shape, same thread count; prints the ratios.
bench-compare: deps torch-deps
	$(TSO) bench --compare

# What moving a model's bytes costs: gradient exchange and reference refresh against raw NATS / loopback.
bench-transport: deps system-deps
	$(TSO) bench --transport

# The cluster's costs at ~0.1M, 0.87M, 4.9M and 19M parameters (3 generators) and with 1, 2, 4, 8
# generators (0.87M): JSON in runs/bench-growth-<time>.json, the README's tables on stderr (~14 min on 2 cores).
bench-growth: deps system-deps
	@mkdir -p runs
	$(TSO) bench --growth --iters 3 > runs/bench-growth-$$(date +%Y%m%d-%H%M%S).json

# 20 small cluster runs, each with a random kill -9 / SIGSTOP of a node, and 3 with a coordinator kill
# and `tso resume`: every run must complete, replica and coordinator faults bit-identical (README table).
chaos: deps system-deps
	node --import tsx test/chaos/chaos.ts --runs 20 --resumes 3

# Re-trains the shipped model matrix and initial policy (seeded; the results are committed in models/).
pretrain: deps
	$(TSO) pretrain --out models

demo: deps system-deps
	$(TSO) demo

clean:
	rm -rf dist runs

# The README's pictures of the dashboard and the labelling page (docs/*.png), from a demo-sized run.
ui-screenshots: deps system-deps
	npx tsx scripts/ui-screenshots.ts
